"""NodeName: a pod that names a node fits only that node."""

from __future__ import annotations

from kybernetes.scheduler import framework as fw
from kybernetes.scheduler.nodeinfo import NodeInfo, PodInfo

NAME = "NodeName"
ERR_REASON = "node(s) didn't match the requested node name"


def fits(pod: PodInfo, node: NodeInfo) -> bool:
    return not pod.node_name or pod.node_name == node.name


class NodeName:
    name = NAME
    events = frozenset({fw.NODE_ADD})

    def pre_filter(self, state: fw.CycleState, pod: PodInfo,
                   snapshot: fw.Snapshot) -> tuple[fw.PreFilterResult | None, fw.Status | None]:
        return None, (None if pod.node_name else fw.SKIP)

    def filter(self, state: fw.CycleState, pod: PodInfo, node: NodeInfo) -> fw.Status | None:
        return None if fits(pod, node) else fw.Status.unresolvable(ERR_REASON, plugin=NAME)


def new() -> NodeName:
    return NodeName()


_: fw.FilterPlugin = NodeName()
