"""The scheduling queue: activeQ, backoffQ and unschedulable pods, like upstream's ``PriorityQueue``.

* ``activeQ`` pops the highest ``spec.priority`` first, then the oldest (PrioritySort).
* A pod that failed gets ``backoff = 1 s * 2^(attempts-1)``, capped at 10 s (``podInitialBackoffDuration``,
  ``podMaxBackoffDuration``).  Rejected pods wait in ``unschedulable`` until a cluster event one of the rejecting
  plugins registered for (``move_on_event``), or for 5 minutes at most; then they go to ``backoffQ`` if still
  backing off, otherwise straight to ``activeQ``.  Pods that failed with an error go to ``backoffQ``.
* A cluster event that arrives while a pod is being scheduled is remembered (``move_request_cycle``), so a pod
  rejected by a now-stale snapshot is retried instead of parked (upstream's moveRequestCycle).
* The clock is injectable (``now``); ``flush()`` moves due pods and is called by ``run()`` every second.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 10.0
MAX_UNSCHEDULABLE = 300.0
FLUSH_INTERVAL = 1.0


def backoff_duration(attempts: int, initial: float = INITIAL_BACKOFF, maximum: float = MAX_BACKOFF) -> float:
    duration = initial
    for _ in range(1, attempts):
        duration *= 2
        if duration > maximum:
            return maximum
    return min(duration, maximum)


def pod_key(pod: Obj) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


@dataclass(slots=True)
class QueuedPod:
    pod: Obj
    key: str
    timestamp: float  # when first queued (for ordering)
    attempts: int = 0
    last_failure: float = 0.0
    unschedulable_plugins: set[str] = field(default_factory=set)
    unschedulable_since: float = 0.0

    @property
    def priority(self) -> int:
        return int((self.pod.get("spec") or {}).get("priority") or 0)


class SchedulingQueue:
    def __init__(self, *, now: Callable[[], float] = time.monotonic,
                 plugin_events: dict[str, frozenset[str]] | None = None,
                 initial_backoff: float = INITIAL_BACKOFF, max_backoff: float = MAX_BACKOFF) -> None:
        self.now = now
        self.plugin_events = plugin_events or {}
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self._active: list[tuple[int, float, int, str]] = []  # (-priority, timestamp, seq, key)
        self._backoff: list[tuple[float, int, str]] = []  # (expiry, seq, key)
        self._where: dict[str, str] = {}  # key → "active" | "backoff" | "unschedulable" | "inflight"
        self._pods: dict[str, QueuedPod] = {}
        self._unschedulable: dict[str, QueuedPod] = {}
        self._seq = itertools.count()
        self._wakeup = asyncio.Event()
        self._backoff_changed = asyncio.Event()
        self.scheduling_cycle = 0
        self.move_request_cycle = -1
        self._closed = False

    # -- inspection -----------------------------------------------------------------------------------------

    def location(self, key: str) -> str | None:
        return self._where.get(key)

    def __len__(self) -> int:
        return len(self._pods)

    def pending(self) -> dict[str, int]:
        counts = {"active": 0, "backoff": 0, "unschedulable": 0, "inflight": 0}
        for where in self._where.values():
            counts[where] += 1
        return counts

    # -- adding and removing --------------------------------------------------------------------------------

    def _push_active(self, qp: QueuedPod) -> None:
        self._unschedulable.pop(qp.key, None)
        self._where[qp.key] = "active"
        heapq.heappush(self._active, (-qp.priority, qp.timestamp, next(self._seq), qp.key))
        self._wakeup.set()

    def _push_backoff(self, qp: QueuedPod) -> None:
        self._unschedulable.pop(qp.key, None)
        self._where[qp.key] = "backoff"
        heapq.heappush(self._backoff, (self.backoff_expiry(qp), next(self._seq), qp.key))
        if self._backoff[0][2] == qp.key:
            self._backoff_changed.set()  # the flusher may be sleeping past this pod's expiry

    def backoff_expiry(self, qp: QueuedPod) -> float:
        return qp.last_failure + backoff_duration(qp.attempts, self.initial_backoff, self.max_backoff)

    def add(self, pod: Obj) -> None:
        """A new pending pod (or one seen again): straight to activeQ unless already queued."""
        key = pod_key(pod)
        qp = self._pods.get(key)
        if qp is not None:
            qp.pod = pod
            return
        qp = QueuedPod(pod, key, self.now())
        self._pods[key] = qp
        self._push_active(qp)

    def update(self, pod: Obj) -> None:
        """A pending pod changed: keep the newest object; an unschedulable pod is retried (it may fit now)."""
        key = pod_key(pod)
        qp = self._pods.get(key)
        if qp is None:
            self.add(pod)
            return
        qp.pod = pod
        if self._where.get(key) == "unschedulable":
            self._requeue(qp)

    def delete(self, key: str) -> None:
        self._pods.pop(key, None)
        self._unschedulable.pop(key, None)
        self._where.pop(key, None)  # stale heap entries are skipped when popped

    def _requeue(self, qp: QueuedPod) -> None:
        if qp.attempts and self.backoff_expiry(qp) > self.now():
            self._push_backoff(qp)
        else:
            self._push_active(qp)

    # -- the scheduling loop's side -------------------------------------------------------------------------

    def _pop_ready(self) -> QueuedPod | None:
        while self._active:
            _, _, _, key = heapq.heappop(self._active)
            if self._where.get(key) == "active":
                qp = self._pods[key]
                self._where[key] = "inflight"
                self.scheduling_cycle += 1
                qp.attempts += 1
                return qp
        return None

    async def pop(self) -> QueuedPod | None:
        """The next pod to schedule (its ``attempts`` already counted); None once closed."""
        while True:
            qp = self._pop_ready()
            if qp is not None:
                return qp
            if self._closed:
                return None
            self._wakeup.clear()
            await self._wakeup.wait()

    def pop_nowait(self) -> QueuedPod | None:
        return self._pop_ready()

    def done(self, key: str) -> None:
        """The pod was scheduled (bound or assumed): forget it."""
        if self._where.get(key) == "inflight":
            self.delete(key)

    def add_unschedulable(self, qp: QueuedPod, plugins: Iterable[str], cycle: int) -> None:
        """Park a rejected pod, or retry it at once if a cluster event arrived during its cycle."""
        if qp.key not in self._pods:
            return  # deleted meanwhile
        qp.last_failure = self.now()
        qp.unschedulable_plugins = set(plugins)
        if self.move_request_cycle >= cycle:
            self._push_backoff(qp)
            return
        qp.unschedulable_since = qp.last_failure
        self._where[qp.key] = "unschedulable"
        self._unschedulable[qp.key] = qp

    def add_backoff(self, qp: QueuedPod) -> None:
        """Retry after back-off (errors, failed binds)."""
        if qp.key not in self._pods:
            return
        qp.last_failure = self.now()
        self._push_backoff(qp)

    # -- cluster events -------------------------------------------------------------------------------------

    def _interested(self, qp: QueuedPod, event: str) -> bool:
        if not qp.unschedulable_plugins:
            return True
        return any(event in self.plugin_events.get(p, frozenset()) for p in qp.unschedulable_plugins)

    def move_on_event(self, event: str, pred: Callable[[QueuedPod], bool] | None = None) -> int:
        """Move unschedulable pods some rejecting plugin waits for ``event`` on; returns how many moved."""
        moved = 0
        self.move_request_cycle = self.scheduling_cycle
        if not self._unschedulable:
            return 0
        for qp in list(self._unschedulable.values()):
            if self._interested(qp, event) and (pred is None or pred(qp)):
                self._requeue(qp)
                moved += 1
        return moved

    def flush(self) -> None:
        """Move pods whose back-off expired to activeQ, and pods parked too long out of unschedulable."""
        now = self.now()
        while self._backoff and self._backoff[0][0] <= now:
            _, _, key = heapq.heappop(self._backoff)
            if self._where.get(key) == "backoff":
                self._push_active(self._pods[key])
        for qp in list(self._unschedulable.values()):
            if now - qp.unschedulable_since >= MAX_UNSCHEDULABLE:
                self._requeue(qp)

    def next_flush_in(self, interval: float = FLUSH_INTERVAL) -> float:
        """Seconds until the next flush: the earliest back-off expiry, at most ``interval``."""
        if not self._backoff:
            return interval
        return max(0.0, min(interval, self._backoff[0][0] - self.now()))

    async def run(self, interval: float = FLUSH_INTERVAL) -> None:
        """Flush until cancelled: when the earliest back-off expires, and at least every ``interval`` (an idle
        queue wakes once a second, like upstream's flush loops)."""
        while True:
            self._backoff_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._backoff_changed.wait(), self.next_flush_in(interval))
            self.flush()

    def close(self) -> None:
        self._closed = True
        self._wakeup.set()
