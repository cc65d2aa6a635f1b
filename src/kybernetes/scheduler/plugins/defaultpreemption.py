"""DefaultPreemption (PostFilter): explains whether evicting lower-priority pods could help.

This version nominates no victims yet (no pod is evicted); it produces upstream's message for the
FailedScheduling event: ``preemption: 0/N nodes are available: <histogram>.`` where nodes rejected with
``UnschedulableAndUnresolvable`` count as "Preemption is not helpful for scheduling" and the others as "No
preemption victims found for incoming pod." (a node whose lower-priority pods would make room counts as a
candidate and is reported in the message too, but is not acted on).
"""

from __future__ import annotations

from collections.abc import Callable

from kybernetes.scheduler import framework as fw
from kybernetes.scheduler.nodeinfo import NodeInfo, PodInfo

NAME = "DefaultPreemption"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_ELIGIBLE_NEVER = "not eligible due to preemptionPolicy=Never."

FilterFn = Callable[[PodInfo, NodeInfo], fw.Status | None]


def histogram_message(total: int, reasons: dict[str, int]) -> str:
    parts = sorted(f"{n} {reason}" for reason, n in reasons.items())
    return f"0/{total} nodes are available: {', '.join(parts)}."


def preemption_message(pod: PodInfo, nodes: dict[str, NodeInfo], statuses: dict[str, fw.Status], total: int,
                       run_filters: FilterFn | None = None) -> str:
    """The ``preemption: ...`` message; ``run_filters`` re-checks a node without lower-priority pods."""
    if pod.spec.get("preemptionPolicy") == "Never":
        return "preemption: " + NOT_ELIGIBLE_NEVER
    reasons: dict[str, int] = {}
    for name, status in statuses.items():
        if status.code == fw.Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
            reasons[NOT_HELPFUL] = reasons.get(NOT_HELPFUL, 0) + 1
            continue
        node = nodes.get(name)
        victims = {k for k, p in node.pods.items() if p.priority < pod.priority} if node is not None else set()
        if node is not None and victims and run_filters is not None \
                and run_filters(pod, node.without_pods(victims)) is None:
            continue  # a candidate: upstream would preempt here
        reasons[NO_VICTIMS] = reasons.get(NO_VICTIMS, 0) + 1
    if not reasons:
        return ""
    return "preemption: " + histogram_message(total, reasons)


class DefaultPreemption:
    name = NAME

    def __init__(self, run_filters: FilterFn | None = None) -> None:
        self.run_filters = run_filters

    def post_filter(self, state: fw.CycleState, pod: PodInfo, snapshot: fw.Snapshot,
                    statuses: dict[str, fw.Status]) -> tuple[str, fw.Status]:
        message = preemption_message(pod, snapshot.by_name, statuses, len(snapshot), self.run_filters)
        return "", fw.Status.unschedulable(message, plugin=NAME)


def new() -> DefaultPreemption:
    return DefaultPreemption()


_: fw.PostFilterPlugin = DefaultPreemption()
