"""The last version this API server wrote of recently written keys: the starting point of the next update.

An update is a read, a computation and a compare-and-swap.  A pod is written several times in quick succession
(created, bound, its status reported), and every write goes through this process, so the version it wrote last is
almost always the current one: starting from it saves the read.  It is only a suggestion, like upstream's cached
object in ``GuaranteedUpdate``: when it is stale the swap fails with a conflict and the caller reads the store.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from kybernetes.storage.interface import KeyValue

DEFAULT_SIZE = 2048


class Suggestions:
    """A bounded map key → the KeyValue last written (least recently written dropped first), with the written
    object itself when the writer handed it over (decoded, in storage form, shared: nobody may change it)."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._kvs: OrderedDict[str, tuple[KeyValue, Any]] = OrderedDict()

    def get(self, key: str) -> KeyValue | None:
        entry = self._kvs.get(key)
        return entry[0] if entry is not None else None

    def decoded(self, kv: KeyValue) -> Any:
        """The object remembered with ``kv`` (None when there is none, or a newer version replaced it)."""
        entry = self._kvs.get(kv.key)
        return entry[1] if entry is not None and entry[0] is kv else None

    def remember(self, kv: KeyValue, obj: Any = None) -> None:
        self._kvs[kv.key] = (kv, obj)
        self._kvs.move_to_end(kv.key)
        if len(self._kvs) > self.size:
            self._kvs.popitem(last=False)

    def forget(self, key: str) -> None:
        self._kvs.pop(key, None)
