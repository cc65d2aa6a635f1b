"""When each simulated node renews its Lease and posts its status: one heap for every node, no I/O.

A kubelet with node leases renews its Lease every ``lease_interval`` (10 s = 0.25 x the 40 s lease duration) and
posts node status only when it changed or every ``status_interval`` (``nodeStatusReportFrequency``, 5 min).  One
agent process runs thousands of nodes, so instead of a task and a timer per node, :class:`HeartbeatSchedule` keeps
one heap of due times that a single loop drains (:meth:`pop_due`), and the loop sleeps until :meth:`next_due`.

Each node has exactly one live heap entry; :meth:`now` (a node must heartbeat at once: it came back, or the
server's view of it is wrong) supersedes the pending entry, which is skipped when it surfaces.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Beat:
    """One node's heartbeat: renew its Lease, and post its status first when ``status`` is set."""

    node: str
    status: bool


class HeartbeatSchedule:
    def __init__(self, names: Iterable[str], *, lease_interval: float, status_interval: float, now: float,
                 rng: random.Random | None = None) -> None:
        """Schedule ``names`` from ``now``: first renewals spread evenly over one lease interval (the agent just
        registered them), first status posts at a random point of the second half of a status interval."""
        rand = rng or random.Random()
        self.lease_interval = lease_interval
        self.status_interval = status_interval
        self._heap: list[tuple[float, str]] = []
        self._lease_due: dict[str, float] = {}
        self._status_due: dict[str, float] = {}
        for name in names:
            self._lease_due[name] = due = now + rand.uniform(0, lease_interval)
            self._heap.append((due, name))
            self._status_due[name] = now + rand.uniform(0.5, 1.0) * status_interval
        heapq.heapify(self._heap)

    def __contains__(self, name: str) -> bool:
        return name in self._lease_due

    def next_due(self) -> float | None:
        """When the earliest heartbeat is due (None without nodes)."""
        heap = self._heap
        while heap and self._lease_due.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)  # superseded by :meth:`now`
        return heap[0][0] if heap else None

    def now(self, name: str, now: float) -> None:
        """``name`` heartbeats (status included) at the next :meth:`pop_due`."""
        if name not in self._lease_due:
            return
        self._status_due[name] = now
        if self._lease_due[name] > now:
            self._lease_due[name] = now
            heapq.heappush(self._heap, (now, name))

    def pop_due(self, now: float) -> list[Beat]:
        """Every heartbeat due at ``now``, each node rescheduled one lease interval after its due time (or after
        ``now`` when the loop fell that far behind), status posts one status interval after ``now``."""
        heap = self._heap
        beats: list[Beat] = []
        while heap and heap[0][0] <= now:
            due, name = heapq.heappop(heap)
            if self._lease_due.get(name) != due:
                continue
            following = due + self.lease_interval
            if following <= now:
                following = now + self.lease_interval
            self._lease_due[name] = following
            heapq.heappush(heap, (following, name))
            status = self._status_due[name] <= now
            if status:
                self._status_due[name] = now + self.status_interval
            beats.append(Beat(name, status))
        return beats
