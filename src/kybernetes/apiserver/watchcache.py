"""A watch cache per stored resource: one store watch feeds every client watch of that resource.

The cache keeps a ring of the most recent events.  A client watch from a revision the ring still covers is
served from memory (replay, then live); an older one falls back to a direct store watch, which replays history
or fails with 410 when compaction removed it.  Replay and registration happen without an ``await`` between them,
so no event is lost or repeated at the handover.

A watcher whose queue overflows (a client that does not read) is closed; the client re-watches from its last
resourceVersion like every reflector does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass

from kybernetes.storage.interface import CompactedError, Event, Storage, StorageError

log = logging.getLogger(__name__)

RING_SIZE = 2048
WATCHER_QUEUE = 4096


class WatcherOverflow(Exception):
    """The watcher fell too far behind and was dropped."""


@dataclass(eq=False)
class _Watcher:
    queue: asyncio.Queue[Event | None]
    after: int  # deliver only events with revision > after
    overflowed: bool = False


class WatchCache:
    def __init__(self, storage: Storage, prefix: str, ring_size: int = RING_SIZE) -> None:
        self.storage = storage
        self.prefix = prefix
        self._ring: deque[Event] = deque(maxlen=ring_size)
        self._watchers: set[_Watcher] = set()
        self._task: asyncio.Task[None] | None = None
        self._horizon = 0  # the ring holds every event of the prefix with revision > _horizon
        self.revision = 0  # the newest revision the cache knows about (for bookmarks)
        self._ready = asyncio.Event()

    async def start(self) -> None:
        if self._task is not None:
            await self._ready.wait()
            return
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"watchcache {self.prefix}")
        await self._ready.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for w in list(self._watchers):
            self._close(w)

    async def _run(self) -> None:
        rev = await self.storage.current_revision()
        self._horizon = self.revision = rev
        self._ready.set()
        while True:
            try:
                async with contextlib.aclosing(self.storage.watch(self.prefix, rev)) as stream:  # type: ignore[type-var]
                    async for event in stream:
                        rev = event.kv.mod_revision
                        self._dispatch(event)
                return
            except CompactedError:
                # we fell behind compaction: start over from now; watchers must re-list
                log.warning("watch cache %s behind compaction; resetting", self.prefix)
                for w in list(self._watchers):
                    self._close(w)
                self._ring.clear()
                rev = await self.storage.current_revision()
                self._horizon = self.revision = rev
            except StorageError:
                log.exception("watch cache %s: store watch failed; retrying", self.prefix)
                await asyncio.sleep(0.5)

    def _dispatch(self, event: Event) -> None:
        if len(self._ring) == self._ring.maxlen:
            self._horizon = self._ring[0].kv.mod_revision
        self._ring.append(event)
        self.revision = event.kv.mod_revision
        for w in list(self._watchers):
            if event.kv.mod_revision <= w.after:
                continue
            try:
                w.queue.put_nowait(event)
            except asyncio.QueueFull:
                w.overflowed = True
                self._close(w)

    def _close(self, w: _Watcher) -> None:
        self._watchers.discard(w)
        with contextlib.suppress(asyncio.QueueFull):
            w.queue.put_nowait(None)
        if w.queue.full():
            # make room for the end marker: the watcher is being dropped anyway
            with contextlib.suppress(asyncio.QueueEmpty):
                w.queue.get_nowait()
            w.queue.put_nowait(None)

    async def subscribe(self, after: int) -> Subscription:
        """A subscription to events with revision > ``after``; close it when done."""
        await self.start()
        if after < self._horizon:
            return _DirectSubscription(self.storage, self.prefix, after)
        w = _Watcher(asyncio.Queue(WATCHER_QUEUE), after)
        for event in self._ring:
            if event.kv.mod_revision > after:
                w.queue.put_nowait(event)
        self._watchers.add(w)
        return _CachedSubscription(self, w)


class Subscription:
    """The events of one client watch.  ``get`` returns the next event, None at the end of the stream, or
    raises CompactedError (the revision is gone: 410) or WatcherOverflow (the client was too slow)."""

    async def get(self, wait: float) -> Event | _Timeout | None:
        raise NotImplementedError

    def ready(self) -> bool:
        """Whether ``get`` would return at once (so a watch can write queued events together)."""
        return False

    async def close(self) -> None:
        raise NotImplementedError


class _Timeout:
    pass


TIMEOUT = _Timeout()


class _CachedSubscription(Subscription):
    def __init__(self, cache: WatchCache, watcher: _Watcher) -> None:
        self._cache = cache
        self._w = watcher

    async def get(self, wait: float) -> Event | _Timeout | None:
        queue = self._w.queue
        if not queue.empty():
            item = queue.get_nowait()  # the common case under load: no timer, no task
        else:
            try:
                async with asyncio.timeout(wait):  # a timer, where wait_for would also make a task
                    item = await queue.get()
            except TimeoutError:
                return TIMEOUT
        if item is None and self._w.overflowed:
            raise WatcherOverflow(self._cache.prefix)
        return item

    def ready(self) -> bool:
        return not self._w.queue.empty()

    async def close(self) -> None:
        self._cache._watchers.discard(self._w)


class _DirectSubscription(Subscription):
    """A watch older than the cache's ring: straight from the store, pumped by a task into a queue."""

    def __init__(self, storage: Storage, prefix: str, after: int) -> None:
        self._queue: asyncio.Queue[Event | BaseException | None] = asyncio.Queue(WATCHER_QUEUE)
        self._task = asyncio.get_running_loop().create_task(self._pump(storage, prefix, after))

    async def _pump(self, storage: Storage, prefix: str, after: int) -> None:
        stream = storage.watch(prefix, after)
        try:
            async for event in stream:
                await self._queue.put(event)
            await self._queue.put(None)
        except (StorageError, WatcherOverflow) as exc:
            await self._queue.put(exc)
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()

    async def get(self, wait: float) -> Event | _Timeout | None:
        if not self._queue.empty():
            item = self._queue.get_nowait()
        else:
            try:
                item = await asyncio.wait_for(self._queue.get(), wait)
            except TimeoutError:
                return TIMEOUT
        if isinstance(item, BaseException):
            raise item
        return item

    def ready(self) -> bool:
        return not self._queue.empty()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class WatchCaches:
    """The caches of one API server, created on first use per store prefix."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._caches: dict[str, WatchCache] = {}

    def get(self, prefix: str) -> WatchCache:
        cache = self._caches.get(prefix)
        if cache is None:
            cache = WatchCache(self.storage, prefix)
            self._caches[prefix] = cache
        return cache

    async def stop(self) -> None:
        for cache in self._caches.values():
            await cache.stop()
