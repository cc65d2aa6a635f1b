"""A work queue with client-go's semantics, in asyncio ("fair, stingy").

* A key added several times before a worker picks it up is processed once (the *dirty* set).
* A key is never processed by two workers at once: added while processing, it is queued again only after
  ``done(key)`` (the *processing* set).
* ``add_rate_limited`` requeues with per-key exponential back-off (5 ms doubling to 1000 s) combined with an
  overall token bucket (10/s, burst 100), like ``DefaultControllerRateLimiter``; ``forget`` resets a key's back-off.
* ``add_after`` delays an add; the clock is injectable (``Clock``) so tests can run time forward.

Usage in a worker::

    while (key := await queue.get()) is not None:
        try:
            await sync(key)
            queue.forget(key)
        except Exception:
            queue.add_rate_limited(key)
        finally:
            queue.done(key)
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import deque
from collections.abc import Callable, Hashable
from typing import Protocol

from kybernetes.client.metrics import WORKQUEUE_ADDS, WORKQUEUE_DEPTH


class Clock(Protocol):
    def now(self) -> float: ...
    def call_later(self, delay: float, callback: Callable[[], None]) -> object: ...


class LoopClock:
    """The event loop's monotonic clock."""

    def now(self) -> float:
        return time.monotonic()

    def call_later(self, delay: float, callback: Callable[[], None]) -> object:
        return asyncio.get_running_loop().call_later(delay, callback)


class FakeClock:
    """A clock tests move by hand with ``advance``."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def call_later(self, delay: float, callback: Callable[[], None]) -> object:
        heapq.heappush(self._timers, (self._now + max(delay, 0.0), next(self._seq), callback))
        return None

    def advance(self, seconds: float) -> None:
        target = self._now + seconds
        while self._timers and self._timers[0][0] <= target:
            when, _, callback = heapq.heappop(self._timers)
            self._now = when
            callback()
        self._now = target


class ItemExponentialRateLimiter:
    def __init__(self, base: float = 0.005, maximum: float = 1000.0) -> None:
        self.base = base
        self.maximum = maximum
        self._failures: dict[Hashable, int] = {}

    def when(self, item: Hashable, now: float) -> float:
        n = self._failures.get(item, 0)
        self._failures[item] = n + 1
        return float(min(self.base * (2 ** n), self.maximum))

    def forget(self, item: Hashable) -> None:
        self._failures.pop(item, None)

    def retries(self, item: Hashable) -> int:
        return self._failures.get(item, 0)


class BucketRateLimiter:
    """Overall token bucket: ``rate`` tokens per second, ``burst`` deep."""

    def __init__(self, rate: float = 10.0, burst: int = 100) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._last: float | None = None

    def when(self, item: Hashable, now: float) -> float:
        if self._last is None:
            self._last = now
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def forget(self, item: Hashable) -> None:
        return None

    def retries(self, item: Hashable) -> int:
        return 0


class DefaultRateLimiter:
    """The max of per-item exponential back-off and the overall bucket."""

    def __init__(self, base: float = 0.005, maximum: float = 1000.0, rate: float = 10.0, burst: int = 100) -> None:
        self.item = ItemExponentialRateLimiter(base, maximum)
        self.bucket = BucketRateLimiter(rate, burst)

    def when(self, item: Hashable, now: float) -> float:
        return max(self.item.when(item, now), self.bucket.when(item, now))

    def forget(self, item: Hashable) -> None:
        self.item.forget(item)

    def retries(self, item: Hashable) -> int:
        return self.item.retries(item)


class WorkQueue:
    def __init__(self, name: str = "", *, clock: Clock | None = None,
                 rate_limiter: DefaultRateLimiter | ItemExponentialRateLimiter | None = None) -> None:
        self.name = name
        self.clock: Clock = clock or LoopClock()
        self.rate_limiter = rate_limiter or DefaultRateLimiter()
        self._queue: deque[Hashable] = deque()
        self._dirty: set[Hashable] = set()
        self._processing: set[Hashable] = set()
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False
        self._waiting_for: dict[Hashable, float] = {}  # key → when a delayed add is due

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def add(self, item: Hashable) -> None:
        if self._shutting_down or item in self._dirty:
            return
        self._dirty.add(item)
        if item in self._processing:
            return
        self._queue.append(item)
        WORKQUEUE_ADDS.labels(self.name).inc()
        WORKQUEUE_DEPTH.labels(self.name).set(len(self._queue))
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def get(self) -> Hashable | None:
        """The next key to process, or None once the queue is shut down and drained of waiting workers."""
        while not self._queue:
            if self._shutting_down:
                return None
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # pass the wake-up on
                raise
        item = self._queue.popleft()
        WORKQUEUE_DEPTH.labels(self.name).set(len(self._queue))
        self._processing.add(item)
        self._dirty.discard(item)
        return item

    def done(self, item: Hashable) -> None:
        self._processing.discard(item)
        if item in self._dirty:
            self._queue.append(item)
            self._wake_one()

    def add_after(self, item: Hashable, delay: float) -> None:
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(item)
            return
        due = self.clock.now() + delay
        previous = self._waiting_for.get(item)
        if previous is not None and previous <= due:
            return
        self._waiting_for[item] = due

        def fire() -> None:
            if self._waiting_for.get(item) == due:
                del self._waiting_for[item]
                self.add(item)

        self.clock.call_later(delay, fire)

    def add_rate_limited(self, item: Hashable) -> None:
        self.add_after(item, self.rate_limiter.when(item, self.clock.now()))

    def forget(self, item: Hashable) -> None:
        self.rate_limiter.forget(item)

    def retries(self, item: Hashable) -> int:
        return self.rate_limiter.retries(item)

    def shutdown(self) -> None:
        self._shutting_down = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
