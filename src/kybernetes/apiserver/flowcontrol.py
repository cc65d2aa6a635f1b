"""API Priority and Fairness, as much of it as a one-process API server needs.

Every request that is not long-running (watches, exec/attach/port-forward, followed logs) and not exempt is
classified by its user, like upstream's suggested FlowSchemas, into a priority level:

====================  ====================================================================  ======
level                 who                                                                     shares
====================  ====================================================================  ======
exempt                ``system:masters``, unauthenticated health probes                       (none)
leader-election       controller manager and scheduler on ``kube-system`` Leases                  10
node-high             ``system:nodes`` on nodes, nodes/status and Leases                          40
system                ``system:nodes`` otherwise (pods/status, events…)                           30
workload-high         ``system:kube-controller-manager``, ``system:kube-scheduler``               40
workload-low          service accounts                                                           100
global-default        everyone else                                                               20
====================  ====================================================================  ======

Each level gets seats in proportion to its shares of the server's concurrency limit (``--max-requests-inflight``
plus ``--max-mutating-requests-inflight``, rounded up).  A request waits for a seat of its level in arrival order;
one that waited ``queue_timeout`` seconds is refused with 429 ``TooManyRequests`` and ``Retry-After: 1`` (clients
retry).  So when the server is saturated, the nodes' status reports keep their share instead of queuing behind a
controller creating thousands of pods.

Upstream's defaults (400 + 200) are sized for a Go server on many cores; one Python process does far less at once,
so :data:`DEFAULT_INFLIGHT` and :data:`DEFAULT_MUTATING_INFLIGHT` are smaller.  Not implemented: shuffle-sharded
queues per flow within a level (a level is one FIFO queue), borrowing of idle seats between levels, and the
FlowSchema/PriorityLevelConfiguration objects themselves.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

from kybernetes.api import errors
from kybernetes.apiserver.certs import User

DEFAULT_INFLIGHT = 100
DEFAULT_MUTATING_INFLIGHT = 50
QUEUE_TIMEOUT = 15.0  # upstream waits at most a quarter of the 60 s request timeout

# catch-all (unauthenticated requests other than probes, which never pass authentication here) keeps its
# upstream share so the other levels get upstream's proportions
SHARES = {"leader-election": 10, "node-high": 40, "system": 30, "workload-high": 40, "workload-low": 100,
          "global-default": 20, "catch-all": 5}
EXEMPT = "exempt"
CONTROL_PLANE = frozenset({"system:kube-controller-manager", "system:kube-scheduler"})
NODE_HIGH_RESOURCES = frozenset({"nodes", "leases"})


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What classification looks at (parsed from the path by the caller)."""

    namespace: str = ""
    resource: str = ""


def classify(user: User | None, facts: RequestFacts) -> str:
    """The priority level of a request by ``user`` (None: unauthenticated, only health probes get that far)."""
    if user is None or "system:masters" in user.groups:
        return EXEMPT
    if user.name in CONTROL_PLANE:
        if facts.resource == "leases" and facts.namespace == "kube-system":
            return "leader-election"
        return "workload-high"
    if "system:nodes" in user.groups:
        return "node-high" if facts.resource in NODE_HIGH_RESOURCES else "system"
    if user.name.startswith("system:serviceaccount:"):
        return "workload-low"
    return "global-default"


def seats(total: int, shares: dict[str, int] = SHARES) -> dict[str, int]:
    """Seats per level: ``total`` split by shares, rounded up (upstream's nominal concurrency limits)."""
    whole = sum(shares.values())
    return {level: max(1, math.ceil(total * share / whole)) for level, share in shares.items()}


class FlowControl:
    """The seats of every level.  ``admit`` is an async context manager around one request's handling."""

    def __init__(self, total: int = DEFAULT_INFLIGHT + DEFAULT_MUTATING_INFLIGHT,
                 queue_timeout: float = QUEUE_TIMEOUT) -> None:
        self.limits = seats(total)
        self.queue_timeout = queue_timeout
        self._seats = {level: asyncio.Semaphore(n) for level, n in self.limits.items()}
        self.rejected: dict[str, int] = dict.fromkeys(self.limits, 0)

    def admit(self, level: str) -> _Seat:
        return _Seat(self, level)


class _Seat:
    def __init__(self, control: FlowControl, level: str) -> None:
        self._control = control
        self._semaphore = control._seats.get(level)
        self._level = level

    async def __aenter__(self) -> None:
        if self._semaphore is None:  # exempt
            return
        if not self._semaphore.locked():  # a free seat and nobody queued: no timer to arm
            await self._semaphore.acquire()
            return
        try:
            async with asyncio.timeout(self._control.queue_timeout):
                await self._semaphore.acquire()
        except TimeoutError:
            self._control.rejected[self._level] += 1
            exc = errors.StatusError(429, "TooManyRequests", "Too many requests, please try again later.",
                                     {"retryAfterSeconds": 1})
            exc.headers["Retry-After"] = "1"
            raise exc from None

    async def __aexit__(self, *exc: object) -> None:
        if self._semaphore is not None:
            self._semaphore.release()
