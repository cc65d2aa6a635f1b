"""NodePorts: a pod's hostPorts must be free on the node (same protocol and port, overlapping IP)."""

from __future__ import annotations

from kybernetes.scheduler import framework as fw
from kybernetes.scheduler.nodeinfo import HostPort, NodeInfo, PodInfo

NAME = "NodePorts"
ERR_REASON = "node(s) didn't have free ports for the requested pod ports"


def fits(wanted: tuple[HostPort, ...], used: list[HostPort]) -> bool:
    return not any(w.conflicts(u) for w in wanted for u in used)


class NodePorts:
    name = NAME
    events = frozenset({fw.NODE_ADD, fw.POD_DELETE})

    def pre_filter(self, state: fw.CycleState, pod: PodInfo,
                   snapshot: fw.Snapshot) -> tuple[fw.PreFilterResult | None, fw.Status | None]:
        return None, (None if pod.ports else fw.SKIP)

    def filter(self, state: fw.CycleState, pod: PodInfo, node: NodeInfo) -> fw.Status | None:
        return None if fits(pod.ports, node.used_ports) else fw.Status.unschedulable(ERR_REASON, plugin=NAME)


def new() -> NodePorts:
    return NodePorts()


_: fw.FilterPlugin = NodePorts()
