"""NodeUnschedulable: cordoned nodes (``spec.unschedulable``) reject pods that do not tolerate
``node.kubernetes.io/unschedulable:NoSchedule``."""

from __future__ import annotations

import operator

from kybernetes.scheduler import framework as fw
from kybernetes.scheduler.nodeinfo import NodeInfo, PodInfo
from kybernetes.scheduler.plugins.helpers import tolerated

NAME = "NodeUnschedulable"
ERR_REASON = "node(s) were unschedulable"
_CORDONED = operator.attrgetter("unschedulable")
TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


def fits(pod: PodInfo, node: NodeInfo) -> bool:
    return not node.unschedulable or tolerated(TAINT, pod.tolerations)


class NodeUnschedulable:
    name = NAME
    events = frozenset({fw.NODE_ADD, fw.NODE_UPDATE})

    def filter(self, state: fw.CycleState, pod: PodInfo, node: NodeInfo) -> fw.Status | None:
        if not node.unschedulable or fits(pod, node):
            return None
        return fw.Status.unresolvable(ERR_REASON, plugin=NAME)

    def filter_nodes(self, state: fw.CycleState, pod: PodInfo, nodes: list[NodeInfo],
                     statuses: dict[str, fw.Status]) -> list[NodeInfo]:
        return fw.reject_some(self, state, pod, nodes, list(filter(_CORDONED, nodes)), statuses)


def new() -> NodeUnschedulable:
    return NodeUnschedulable()


_: fw.FilterPlugin = NodeUnschedulable()
