"""NodeResourcesFit: requests (incl. init containers and overhead) against allocatable, and the pod count (filter);
LeastAllocated scoring over cpu and memory (weights 1, 1)."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence

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


ResourceKey = tuple[int, int, int, int, int, int]  # NodeInfo.resource_key
_RESOURCE_ID = operator.attrgetter("resource_id")


def least_allocated_score(pod: PodInfo, node: NodeInfo) -> int:
    """Mean of cpu and memory LeastAllocated scores, with non-zero (defaulted) requests like upstream."""
    return least_allocated_of(pod, node.resource_key)


def least_allocated_of(pod: PodInfo, key: ResourceKey) -> int:
    cap_cpu, cap_mem, _, _, nz_cpu, nz_mem = key
    req_cpu, req_mem = nz_cpu + pod.non_zero_cpu, nz_mem + pod.non_zero_memory
    cpu = (cap_cpu - req_cpu) * 100 // cap_cpu if cap_cpu > 0 and req_cpu <= cap_cpu else 0
    mem = (cap_mem - req_mem) * 100 // cap_mem if cap_mem > 0 and req_mem <= cap_mem else 0
    return (cpu + mem) // 2


def memo_scores(nodes: Sequence[NodeInfo], score_of: Callable[[ResourceKey], int]) -> list[int]:
    """``[score_of(n.resource_key) for n in nodes]``, computed once per distinct ``resource_id`` (a homogeneous
    cluster has a handful)."""
    ids = list(map(_RESOURCE_ID, nodes))
    distinct = set(ids)
    if len(distinct) <= 8:  # find one node per id with list.index (C speed)
        by_id = {rid: score_of(nodes[ids.index(rid)].resource_key) for rid in distinct}
    else:
        by_id = {rid: score_of(node.resource_key) for rid, node in dict(zip(ids, nodes, strict=True)).items()}
    return list(map(by_id.__getitem__, ids))


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

    def filter_nodes(self, state: fw.CycleState, pod: PodInfo, nodes: list[NodeInfo],
                     statuses: dict[str, fw.Status]) -> list[NodeInfo]:
        req = pod.requests
        cpu, mem, eph = req.milli_cpu, req.memory, req.ephemeral_storage
        if req.scalar:
            suspects = nodes
        elif cpu or mem or eph:
            suspects = [n for n in nodes
                        if n.pod_room <= 0 or cpu > n.free_cpu or mem > n.free_memory or eph > n.free_ephemeral]
        else:
            suspects = [n for n in nodes if n.pod_room <= 0]
        return fw.reject_some(self, state, pod, nodes, suspects, statuses)

    def pre_score(self, state: fw.CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> fw.Status | None:
        return None

    def score(self, state: fw.CycleState, pod: PodInfo, node: NodeInfo) -> int:
        return least_allocated_score(pod, node)

    def score_nodes(self, state: fw.CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
        return memo_scores(nodes, lambda key: least_allocated_of(pod, key))

    def normalize(self, state: fw.CycleState, pod: PodInfo, scores: list[int]) -> None:
        return None


def new() -> NodeResourcesFit:
    return NodeResourcesFit()


_f: fw.FilterPlugin = NodeResourcesFit()
_s: fw.ScorePlugin = NodeResourcesFit()
