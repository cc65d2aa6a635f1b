"""The scheduling loop: pop → snapshot → PreFilter → Filter (a rotating sample of nodes) → PostFilter on failure
→ PreScore/Score/normalize → select (ties broken at random) → Reserve → assume → bind asynchronously.

:meth:`Scheduler.schedule` is the synchronous, pure-over-the-snapshot decision (no awaits: the cache cannot change
under it); :meth:`Scheduler.run` drives it from the queue and performs side effects through narrow seams: the
bind plugin, an :class:`EventSink` (``EventRecorder``) and a ``StatusWriter``.

Messages are upstream's: ``Successfully assigned <ns>/<name> to <node>``; on failure :func:`fit_error_message`
(``0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, 2 Insufficient cpu. preemption: ...``) or
``no nodes available to schedule pods``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import operator
import random
from dataclasses import dataclass, field
from typing import Any, Protocol

from kybernetes.client.metrics import SCHEDULE_ATTEMPTS
from kybernetes.scheduler import framework as fw
from kybernetes.scheduler.binder import StatusWriter
from kybernetes.scheduler.cache import SchedulerCache
from kybernetes.scheduler.nodeinfo import NodeInfo, PodInfo
from kybernetes.scheduler.queue import QueuedPod, SchedulingQueue

log = logging.getLogger(__name__)

Obj = dict[str, Any]

NO_NODES = "no nodes available to schedule pods"
MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE = 5
DEFAULT_PERCENTAGE_OF_NODES_TO_SCORE = 0  # 0 = adaptive, like upstream


class EventSink(Protocol):
    def record(self, obj: Obj, event_type: str, reason: str, message: str) -> None: ...


def num_feasible_nodes_to_find(num_all: int, percentage: int = DEFAULT_PERCENTAGE_OF_NODES_TO_SCORE) -> int:
    """Upstream's ``numFeasibleNodesToFind``: all nodes below 100; else an adaptive share (50% - n/125, ≥5%),
    at least 100."""
    if num_all < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all
    pct = percentage
    if pct == 0:
        pct = max(50 - num_all // 125, MIN_FEASIBLE_NODES_PERCENTAGE)
    if pct >= 100:
        return num_all
    return max(num_all * pct // 100, MIN_FEASIBLE_NODES_TO_FIND)


@dataclass
class FitError(Exception):
    """No node fits: per-node statuses plus PreFilter/PostFilter messages, rendered by ``fit_error_message``."""

    num_all_nodes: int
    statuses: dict[str, fw.Status] = field(default_factory=dict)
    pre_filter_msg: str = ""
    post_filter_msg: str = ""
    plugins: set[str] = field(default_factory=set)

    def __str__(self) -> str:
        return fit_error_message(self.num_all_nodes, self.statuses, self.pre_filter_msg, self.post_filter_msg)


def fit_error_message(num_all: int, statuses: dict[str, fw.Status], pre_filter_msg: str = "",
                      post_filter_msg: str = "") -> str:
    """Upstream's ``FitError.Error()``: a sorted histogram of reasons over nodes, then the PostFilter message."""
    msg = f"0/{num_all} nodes are available:"
    if pre_filter_msg:
        msg += f" {pre_filter_msg}."
    else:
        counts: dict[str, int] = {}
        for status in statuses.values():
            for reason in status.reasons:
                counts[reason] = counts.get(reason, 0) + 1
        histogram = sorted(f"{n} {reason}" for reason, n in counts.items())
        if histogram:
            msg += f" {', '.join(histogram)}."
    if post_filter_msg:
        msg += f" {post_filter_msg}"
    return msg


def select_index(scores: list[int], rng: random.Random) -> int:
    """The index of the highest score; ties broken uniformly at random (like upstream's reservoir sampling)."""
    best = max(scores)
    n_ties = scores.count(best)
    if n_ties == 1:
        return scores.index(best)
    pick = rng.randrange(n_ties)  # the pick-th of the tied indices, found at C speed
    return next(itertools.islice(itertools.compress(itertools.count(), map(best.__eq__, scores)), pick, None))


class Scheduler:
    def __init__(self, cache: SchedulerCache, queue: SchedulingQueue, profile: fw.Profile, *,
                 events: EventSink, status_writer: StatusWriter, rng: random.Random | None = None,
                 percentage_of_nodes_to_score: int = DEFAULT_PERCENTAGE_OF_NODES_TO_SCORE,
                 bind_concurrency: int = 64) -> None:
        self.cache = cache
        self.queue = queue
        self.profile = profile
        self.events = events
        self.status_writer = status_writer
        self.rng = rng or random.Random()
        self.percentage = percentage_of_nodes_to_score
        self.next_start_node_index = 0
        self.bind_concurrency = bind_concurrency
        for p in profile.post_filter:  # preemption's what-if runs our filters
            if getattr(p, "run_filters", "absent") is None:
                p.run_filters = self.run_filters  # type: ignore[attr-defined]

    # -- the decision (synchronous) -------------------------------------------------------------------------

    def run_filters(self, pod: PodInfo, node: NodeInfo, state: fw.CycleState | None = None) -> fw.Status | None:
        """Every filter on one node (PreFilter state recomputed when not given); first rejection wins."""
        if state is None:
            state = fw.CycleState()
            snapshot = self.cache.snapshot()
            skip: set[str] = set()
            for p in self.profile.pre_filter:
                _, st = p.pre_filter(state, pod, snapshot)
                if st is not None and st.code == fw.Code.SKIP:
                    skip.add(p.name)
                elif st is not None:
                    return st
            filters = [f for f in self.profile.filter if f.name not in skip]
        else:
            filters = self.profile.filter
        for f in filters:
            st = f.filter(state, pod, node)
            if st is not None:
                return st
        return None

    def schedule(self, pod: PodInfo) -> str:
        """The node for ``pod``; raises :class:`FitError` (or ``RuntimeError`` for plugin errors)."""
        snapshot = self.cache.snapshot()
        total = len(snapshot)
        if total == 0:
            raise FitError(0, pre_filter_msg="")
        state = fw.CycleState()
        state[fw.SNAPSHOT_KEY] = snapshot
        skip: set[str] = set()
        allowed: set[str] | None = None
        for p in self.profile.pre_filter:
            result, st = p.pre_filter(state, pod, snapshot)
            if st is not None:
                if st.code == fw.Code.SKIP:
                    skip.add(p.name)
                    continue
                if st.is_rejected:
                    st = st.with_plugin(p.name)
                    err = FitError(total, {n.name: st for n in snapshot.nodes}, st.message, plugins={p.name})
                    self._post_filter(state, pod, snapshot, err)
                    raise err
                raise RuntimeError(f"running PreFilter plugin {p.name}: {st.message}")
            if result is not None and result.node_names is not None:
                allowed = result.node_names if allowed is None else allowed & result.node_names
        filters = [f for f in self.profile.filter if f.name not in skip]
        nodes = snapshot.nodes if allowed is None else [n for n in snapshot.nodes if n.name in allowed]
        feasible, statuses = self._find_feasible(state, pod, nodes, filters)
        if not feasible:
            err = FitError(total, statuses, plugins={s.plugin for s in statuses.values() if s.plugin})
            self._post_filter(state, pod, snapshot, err)
            raise err
        if len(feasible) == 1:
            return feasible[0].name
        return self._select(state, pod, feasible)

    def _find_feasible(self, state: fw.CycleState, pod: PodInfo, nodes: list[NodeInfo],
                       filters: list[fw.FilterPlugin]) -> tuple[list[NodeInfo], dict[str, fw.Status]]:
        """Upstream's findNodesThatPassFilters: from the rotating start index, the first ``want`` nodes that pass
        every filter; the start index then moves past the nodes examined.

        Nodes go through the filters in chunks (each filter over the chunk's survivors, so every node still
        stops at its first rejection); a chunk is never longer than the feasible nodes still wanted, so the nodes
        examined are exactly those a node-by-node search examines."""
        n = len(nodes)
        if n == 0:
            return [], {}
        want = num_feasible_nodes_to_find(n, self.percentage)
        start = self.next_start_node_index % n
        feasible: list[NodeInfo] = []
        statuses: dict[str, fw.Status] = {}
        processed = 0
        while processed < n and len(feasible) < want:
            size = min(want - len(feasible), n - processed)
            first = (start + processed) % n
            chunk = nodes[first:first + size]
            if len(chunk) < size:
                chunk += nodes[:size - len(chunk)]
            processed += size
            for f in filters:
                chunk = fw.filter_nodes(f, state, pod, chunk, statuses)
                if not chunk:
                    break
            feasible += chunk
        self.next_start_node_index = (start + processed) % n
        for name, st in statuses.items():
            if st.code == fw.Code.ERROR:
                raise RuntimeError(f"running Filter plugin {st.plugin} on {name}: {st.message}")
        return feasible, statuses

    def _post_filter(self, state: fw.CycleState, pod: PodInfo, snapshot: fw.Snapshot, err: FitError) -> None:
        messages = []
        for p in self.profile.post_filter:
            _, st = p.post_filter(state, pod, snapshot, err.statuses)
            if st.message:
                messages.append(st.message)
        err.post_filter_msg = " ".join(messages)

    def _select(self, state: fw.CycleState, pod: PodInfo, feasible: list[NodeInfo]) -> str:
        totals: list[int] | None = None
        for p in self.profile.score:
            pre = getattr(p, "pre_score", None)
            if pre is not None:
                st = pre(state, pod, feasible)
                if st is not None:
                    if st.code == fw.Code.SKIP:
                        continue
                    raise RuntimeError(f"running PreScore plugin {p.name}: {st.message}")
            scores = fw.score_nodes(p, state, pod, feasible)
            p.normalize(state, pod, scores)
            w = p.weight
            if w != 1:
                scores = list(map(w.__mul__, scores))
            totals = scores if totals is None else list(map(operator.add, totals, scores))
        if totals is None:  # no score plugin ran: every node ties
            return feasible[self.rng.randrange(len(feasible))].name
        return feasible[select_index(totals, self.rng)].name

    # -- one cycle with side effects ------------------------------------------------------------------------

    def schedule_one(self, qp: QueuedPod, tg: asyncio.TaskGroup, binds: asyncio.Semaphore | None = None) -> None:
        """Decide for one popped pod; start its binding (or failure handling) as a task in ``tg``."""
        pod = qp.pod
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp") or (pod.get("spec") or {}).get("nodeName"):
            self.queue.done(qp.key)
            return
        pi = PodInfo(pod)
        cycle = self.queue.scheduling_cycle
        try:
            node_name = self.schedule(pi)
        except FitError as err:
            SCHEDULE_ATTEMPTS.labels("unschedulable", "default-scheduler").inc()
            self._failed(qp, str(err) if err.num_all_nodes else NO_NODES, err.plugins, cycle, tg)
            return
        except RuntimeError as exc:
            log.warning("scheduling %s: %s", qp.key, exc)
            SCHEDULE_ATTEMPTS.labels("error", "default-scheduler").inc()
            self.events.record(pod, "Warning", "FailedScheduling", str(exc))
            self.queue.add_backoff(qp)
            return
        for r in self.profile.reserve:
            st = r.reserve(fw.CycleState(), pi, node_name)
            if st is not None:
                self.queue.add_backoff(qp)
                return
        self.cache.assume(pi, node_name)
        tg.create_task(self._bind(qp, pi, node_name, binds), name=f"bind {qp.key}")

    def _failed(self, qp: QueuedPod, message: str, plugins: set[str], cycle: int, tg: asyncio.TaskGroup) -> None:
        self.events.record(qp.pod, "Warning", "FailedScheduling", message)
        self.queue.add_unschedulable(qp, plugins, cycle)
        tg.create_task(self._write_status(qp.pod, message), name=f"status {qp.key}")

    async def _write_status(self, pod: Obj, message: str) -> None:
        try:
            await self.status_writer.set_unschedulable(pod, message)
        except Exception as exc:  # an API error must not stop the scheduler
            log.debug("updating the PodScheduled condition: %s", exc)

    async def _bind(self, qp: QueuedPod, pi: PodInfo, node_name: str, binds: asyncio.Semaphore | None) -> None:
        async with binds if binds is not None else contextlib.nullcontext():
            st = await self.profile.bind[0].bind(pi, node_name)
        if st is None:
            self.queue.done(qp.key)
            SCHEDULE_ATTEMPTS.labels("scheduled", "default-scheduler").inc()
            self.events.record(qp.pod, "Normal", "Scheduled",
                               f"Successfully assigned {pi.namespace}/{pi.name} to {node_name}")
            return
        self.cache.forget(pi.key)
        for r in self.profile.reserve:
            r.unreserve(fw.CycleState(), pi, node_name)
        self.events.record(qp.pod, "Warning", "FailedScheduling", f"Binding rejected: {st.message}")
        self.queue.add_backoff(qp)
        self.queue.move_on_event(fw.POD_DELETE)  # the assumed pod's room is free again

    async def run(self) -> None:
        """Schedule until cancelled; bindings run concurrently (at most ``bind_concurrency``)."""
        binds = asyncio.Semaphore(self.bind_concurrency)
        async with asyncio.TaskGroup() as tg:
            flusher = tg.create_task(self.queue.run(), name="scheduling queue flush")
            while True:
                qp = await self.queue.pop()
                if qp is None:
                    flusher.cancel()
                    return
                self.schedule_one(qp, tg, binds)
                await asyncio.sleep(0)  # let informers and bindings run between cycles
