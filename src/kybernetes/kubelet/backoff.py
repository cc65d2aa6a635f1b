"""Per-key exponential back-off, with upstream's ``flowcontrol.Backoff`` semantics.

Used for CrashLoopBackOff (10 s doubling to 300 s) and image pulls.  ``next(key, event_time)`` records one more
failure; ``in_backoff_since(key, event_time)`` says whether a retry must still wait, counting from
``event_time`` (for containers: when the last instance finished).  An entry not touched for ``2 * max`` (10 min
with the defaults) is forgotten, which resets the delay.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

INITIAL = 10.0
MAX = 300.0


@dataclass
class _Entry:
    backoff: float
    last_update: float


class Backoff:
    def __init__(self, initial: float = INITIAL, maximum: float = MAX,
                 clock: Callable[[], float] = time.time) -> None:
        self.initial = initial
        self.maximum = maximum
        self.clock = clock
        self._entries: dict[str, _Entry] = {}

    def _expired(self, event_time: float, entry: _Entry) -> bool:
        return event_time - entry.last_update > 2 * self.maximum

    def get(self, key: str) -> float:
        """The current delay for ``key`` (0 when none)."""
        entry = self._entries.get(key)
        return entry.backoff if entry else 0.0

    def next(self, key: str, event_time: float) -> float:
        """Record a failure: start at ``initial`` (or after expiry), else double up to ``maximum``."""
        entry = self._entries.get(key)
        if entry is None or self._expired(event_time, entry):
            entry = _Entry(self.initial, 0.0)
        else:
            entry.backoff = min(entry.backoff * 2, self.maximum)
        entry.last_update = self.clock()
        self._entries[key] = entry
        return entry.backoff

    def in_backoff_since(self, key: str, event_time: float) -> bool:
        entry = self._entries.get(key)
        if entry is None or self._expired(event_time, entry):
            return False
        return self.clock() - event_time < entry.backoff

    def remaining(self, key: str, event_time: float) -> float:
        """Seconds until ``in_backoff_since`` turns False (0 when not in back-off)."""
        entry = self._entries.get(key)
        if entry is None or self._expired(event_time, entry):
            return 0.0
        return max(0.0, entry.backoff - (self.clock() - event_time))

    def reset(self, key: str) -> None:
        self._entries.pop(key, None)

    def gc(self) -> None:
        """Forget entries older than ``2 * max``."""
        now = self.clock()
        for key in [k for k, e in self._entries.items() if self._expired(now, e)]:
            del self._entries[key]
