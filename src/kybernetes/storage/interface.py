"""The storage protocol every backend implements (SQLite now, etcd later).

Keys are strings (``/registry/pods/default/web``), values opaque bytes (the API server stores JSON without
``metadata.resourceVersion``; it sets that from ``mod_revision`` on every read).  One global, strictly increasing
revision numbers every change; it is the resourceVersion clients see.

Contract, shared by all backends and checked by ``tests/conformance``:

* ``create`` fails with :class:`KeyExistsError` when the key is live.
* ``update`` and ``delete`` with ``expected_revision`` > 0 fail with :class:`ConflictError` unless the key's
  ``mod_revision`` equals it; a missing key gives :class:`KeyNotFoundError`.
* ``list`` at ``revision`` 0 reads the newest state; at an older revision it reads history, or raises
  :class:`CompactedError` when compaction removed it.  Items come in key order; ``start_after`` and ``limit`` page.
* ``watch`` yields every change under a prefix after ``revision`` in revision order, first from history (raising
  :class:`CompactedError` if it is gone), then live, until the iterator is closed or the store closes.
* All methods are coroutines safe to call concurrently from one event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol


class StorageError(Exception):
    """Base of the errors a backend raises; the API server maps them to Status per verb."""

    def __init__(self, key: str = "", message: str = "") -> None:
        super().__init__(message or key)
        self.key = key


class KeyNotFoundError(StorageError):
    pass


class KeyExistsError(StorageError):
    pass


class ConflictError(StorageError):
    """The key changed since ``expected_revision`` (optimistic concurrency)."""


class CompactedError(StorageError):
    """The requested revision is older than the compacted revision (HTTP 410)."""

    def __init__(self, requested: int, compacted: int) -> None:
        super().__init__("", f"required revision {requested} has been compacted (oldest is {compacted})")
        self.requested = requested
        self.compacted = compacted


class UnavailableError(StorageError):
    """The backend cannot serve right now (HTTP 503/500)."""


class WatchOverflowError(UnavailableError):
    """A watcher fell too far behind and its watch was ended; the caller re-lists and watches again."""


class FutureRevisionError(StorageError):
    """A read asked for a revision newer than the store's newest (upstream: "Too large resource version")."""


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int


class EventType(Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Event:
    """One change.  For DELETE, ``kv.value`` is the last value and ``kv.mod_revision`` the deletion's revision."""

    type: EventType
    kv: KeyValue
    prev: KeyValue | None = None


@dataclass(frozen=True, slots=True)
class ListResult:
    items: list[KeyValue]
    revision: int  # the revision the list was read at
    more: bool  # more items exist after the last one returned
    remaining: int = 0  # how many more (0 when unknown or none)


class Storage(Protocol):
    async def create(self, key: str, value: bytes) -> KeyValue:
        """Create ``key``; returns the stored KeyValue with its revision."""
        ...

    async def get(self, key: str) -> KeyValue:
        """The newest live value of ``key``."""
        ...

    async def list(self, prefix: str, *, revision: int = 0, limit: int = 0, start_after: str = "") -> ListResult:
        """Live keys under ``prefix`` at ``revision`` (0 = newest), after ``start_after``, at most ``limit``."""
        ...

    async def count(self, prefix: str) -> int:
        ...

    async def update(self, key: str, value: bytes, expected_revision: int = 0, *,
                     current: KeyValue | None = None) -> KeyValue:
        """Replace ``key``'s value; ``expected_revision`` 0 means unconditional.  ``current``: the caller's copy of
        the version at ``expected_revision`` (a hint a backend may use instead of reading the key again; the
        outcome is the same)."""
        ...

    async def delete(self, key: str, expected_revision: int = 0) -> KeyValue:
        """Delete ``key``; returns the last value with the deletion's revision as ``mod_revision``."""
        ...

    def watch(self, prefix: str, revision: int) -> AsyncIterator[Event]:
        """Changes under ``prefix`` with revision > ``revision`` (0 = from now on)."""
        ...

    async def current_revision(self) -> int:
        ...

    async def compacted_revision(self) -> int:
        ...

    async def compact(self, revision: int) -> None:
        """Forget history at and below ``revision`` (the newest value of every live key is kept)."""
        ...

    async def close(self) -> None:
        ...


async def guaranteed_update(
    store: Storage,
    key: str,
    update: Callable[[KeyValue], Awaitable[bytes | None]],
    *,
    attempts: int = 16,
) -> KeyValue:
    """Read ``key``, compute a new value with ``update`` and write it if nothing changed in between; retry on
    conflict.  ``update`` returning ``None`` means "no change" and returns the current KeyValue.  Errors raised
    by ``update`` propagate unchanged.
    """
    last: ConflictError | None = None
    for _ in range(attempts):
        current = await store.get(key)
        new_value = await update(current)
        if new_value is None:
            return current
        try:
            return await store.update(key, new_value, current.mod_revision)
        except ConflictError as exc:
            last = exc
    assert last is not None
    raise last
