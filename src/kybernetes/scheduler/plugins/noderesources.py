"""NodeResourcesFit: requests (incl. init containers and overhead) against allocatable, and the pod count (filter);
LeastAllocated scoring over cpu and memory (weights 1, 1)."""

from __future__ import annotations

from collections.abc import Sequence

from kybernetes.scheduler import framework as fw
from kybernetes.scheduler.nodeinfo import EPHEMERAL, NodeInfo, PodInfo

NAME = "NodeResourcesFit"
WEIGHT = 1
TOO_MANY_PODS = "Too many pods"


def insufficient(pod: PodInfo, node: NodeInfo) -> list[str]:
    """Upstream's ``fitsRequest``: the reasons (in upstream's order) the pod does not fit; empty if it fits."""
    reasons: list[str] = []
    if len(node.pods) + 1 > node.allocatable.allowed_pods:
        reasons.append(TOO_MANY_PODS)
    req = pod.requests
    if not (req.milli_cpu or req.memory or req.ephemeral_storage or req.scalar):
        return reasons
    alloc, used = node.allocatable, node.requested
    if req.milli_cpu > 0 and req.milli_cpu > alloc.milli_cpu - used.milli_cpu:
        reasons.append("Insufficient cpu")
    if req.memory > 0 and req.memory > alloc.memory - used.memory:
        reasons.append("Insufficient memory")
    if req.ephemeral_storage > 0 and req.ephemeral_storage > alloc.ephemeral_storage - used.ephemeral_storage:
        reasons.append(f"Insufficient {EPHEMERAL}")
    for name, value in sorted(req.scalar.items()) if req.scalar else ():
        if value > 0 and value > alloc.scalar.get(name, 0) - used.scalar.get(name, 0):
            reasons.append(f"Insufficient {name}")
    return reasons


def least_allocated(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * fw.MAX_NODE_SCORE // capacity


def least_allocated_score(pod: PodInfo, node: NodeInfo) -> int:
    """Mean of cpu and memory LeastAllocated scores, with non-zero (defaulted) requests like upstream."""
    cap_cpu, cap_mem = node.allocatable.milli_cpu, node.allocatable.memory
    req_cpu, req_mem = node.non_zero_cpu + pod.non_zero_cpu, node.non_zero_memory + pod.non_zero_memory
    cpu = (cap_cpu - req_cpu) * 100 // cap_cpu if cap_cpu > 0 and req_cpu <= cap_cpu else 0
    mem = (cap_mem - req_mem) * 100 // cap_mem if cap_mem > 0 and req_mem <= cap_mem else 0
    return (cpu + mem) // 2


class NodeResourcesFit:
    name = NAME
    weight = WEIGHT
    events = frozenset({fw.NODE_ADD, fw.NODE_UPDATE, fw.POD_DELETE})

    def filter(self, state: fw.CycleState, pod: PodInfo, node: NodeInfo) -> fw.Status | None:
        req, alloc, used = pod.requests, node.allocatable, node.requested
        if (len(node.pods) < alloc.allowed_pods and req.milli_cpu <= alloc.milli_cpu - used.milli_cpu
                and req.memory <= alloc.memory - used.memory and not req.scalar
                and req.ephemeral_storage <= alloc.ephemeral_storage - used.ephemeral_storage):
            return None  # the common case, without building a reason list
        reasons = insufficient(pod, node)
        return fw.Status.unschedulable(*reasons, plugin=NAME) if reasons else None

    def pre_score(self, state: fw.CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> fw.Status | None:
        return None

    def score(self, state: fw.CycleState, pod: PodInfo, node: NodeInfo) -> int:
        return least_allocated_score(pod, node)

    def normalize(self, state: fw.CycleState, pod: PodInfo, scores: list[int]) -> None:
        return None


def new() -> NodeResourcesFit:
    return NodeResourcesFit()


_f: fw.FilterPlugin = NodeResourcesFit()
_s: fw.ScorePlugin = NodeResourcesFit()
