"""Fan-out of committed events to watchers, and the watch iterator that replays history then goes live.

Contract of :class:`HistoryWatch` (what ``Storage.watch`` returns for backends that broadcast their own
commits):

* It yields every event under its prefix with revision > the start revision, in revision order, with no gap
  and no duplicate.  History is read in pages by ``read_history(after)`` (which raises CompactedError when
  history after ``after`` is gone); once a page comes back short, the watch registers with the hub and, if
  the hub delivered anything newer than that page's read revision meanwhile, reads history once more.  From
  then on live events arrive through the hub; events at or below the last yielded revision are skipped, so
  the overlap between the last read and the registration is neither lost nor duplicated.
* Start revision 0 means "from now on": the watch registers at once and starts after ``hub.revision``.
* Each watcher buffers at most ``queue_size`` live events.  A watcher that falls further behind is ended:
  it yields what it had buffered, then raises :class:`WatchOverflowError`.  Writers never wait for watchers.
* ``aclose()`` unregisters (also from another task while one awaits the next event, which then ends).
  When the hub closes, watches end after yielding what they buffered.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any

from kybernetes.storage.interface import Event, WatchOverflowError

ReadHistory = Callable[[int], Awaitable[tuple[list[Event], int]]]


class _Subscriber:
    __slots__ = ("buffer", "ended", "error", "limit", "prefix", "wakeup")

    def __init__(self, prefix: str, limit: int) -> None:
        self.prefix = prefix
        self.limit = limit
        self.buffer: deque[Event] = deque()
        self.error: WatchOverflowError | None = None
        self.ended = False
        self.wakeup = asyncio.Event()

    def push(self, event: Event) -> None:
        if self.error is not None or self.ended:
            return
        if len(self.buffer) >= self.limit:
            self.error = WatchOverflowError(
                self.prefix, f"watch on {self.prefix!r} fell more than {self.limit} events behind"
            )
        else:
            self.buffer.append(event)
        self.wakeup.set()

    def end(self) -> None:
        self.ended = True
        self.wakeup.set()


class WatchHub:
    """Registered watchers and the newest revision delivered to them (loop-thread only)."""

    def __init__(self, revision: int, queue_size: int) -> None:
        self.revision = revision
        self.queue_size = queue_size
        self.closed = False
        self._subscribers: set[_Subscriber] = set()

    def __len__(self) -> int:
        return len(self._subscribers)

    def register(self, prefix: str) -> _Subscriber:
        sub = _Subscriber(prefix, self.queue_size)
        if self.closed:
            sub.end()
        else:
            self._subscribers.add(sub)
        return sub

    def unregister(self, sub: _Subscriber) -> None:
        self._subscribers.discard(sub)

    def broadcast(self, events: Iterable[Event]) -> None:
        """Hand committed events (ascending revisions) to every matching watcher; never blocks."""
        subs = self._subscribers
        for event in events:
            key = event.kv.key
            for sub in subs:
                if key.startswith(sub.prefix):
                    sub.push(event)
            self.revision = max(self.revision, event.kv.mod_revision)

    def close(self) -> None:
        self.closed = True
        for sub in self._subscribers:
            sub.end()
        self._subscribers.clear()


class HistoryWatch(AsyncGenerator[Event, None]):
    """One watch: history from ``read_history`` pages, then live events from ``hub``; see the module doc."""

    def __init__(
        self, hub: WatchHub, prefix: str, revision: int, read_history: ReadHistory, page: int
    ) -> None:
        self._hub = hub
        self._prefix = prefix
        self._last = revision
        self._read_history = read_history
        self._page = page
        self._pending: deque[Event] = deque()
        self._sub: _Subscriber | None = None
        self._live = False
        self._closed = False
        if revision <= 0:
            self._sub = hub.register(prefix)
            self._last = hub.revision
            self._live = True

    def __aiter__(self) -> HistoryWatch:
        return self

    async def __anext__(self) -> Event:
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._pending:
                event = self._pending.popleft()
                if event.kv.mod_revision <= self._last:
                    continue
                self._last = event.kv.mod_revision
                return event
            if not self._live:
                await self._read_step()
                continue
            sub = self._sub
            assert sub is not None
            if sub.buffer:
                self._pending, sub.buffer = sub.buffer, self._pending
                continue
            if sub.error is not None:
                error = sub.error
                await self.aclose()
                raise error
            if sub.ended:
                await self.aclose()
                raise StopAsyncIteration
            sub.wakeup.clear()
            await sub.wakeup.wait()

    async def _read_step(self) -> None:
        if self._hub.closed:
            await self.aclose()
            return
        registered_before = self._sub is not None
        try:
            events, read_revision = await self._read_history(self._last)
        except BaseException:
            await self.aclose()
            if self._hub.closed:  # the store closed under the read: end like a live watch does
                return
            raise
        self._pending.extend(events)
        if len(events) < self._page:
            if registered_before:
                self._live = True
                return
            self._sub = self._hub.register(self._prefix)
            # Commits delivered between that read and now reached no one: read once more if there were any.
            self._live = self._hub.revision <= read_revision

    async def asend(self, value: None) -> Event:
        return await self.__anext__()

    async def athrow(
        self,
        typ: type[BaseException] | BaseException,
        val: Any = None,
        tb: TracebackType | None = None,
    ) -> Event:
        await self.aclose()
        if isinstance(typ, BaseException):
            raise typ
        raise typ() if val is None else val

    async def aclose(self) -> None:
        """Stop the watch and unregister it; a concurrent ``__anext__`` ends with StopAsyncIteration."""
        self._closed = True
        self._pending.clear()
        if self._sub is not None:
            self._hub.unregister(self._sub)
            self._sub.wakeup.set()
