"""NodeResourcesBalancedAllocation: favour nodes whose cpu and memory utilisation stay balanced after placing the
pod (score = (1 - std) * 100 over the requested fractions)."""

from __future__ import annotations

from collections.abc import Sequence

from kybernetes.scheduler import framework as fw
from kybernetes.scheduler.nodeinfo import NodeInfo, PodInfo
from kybernetes.scheduler.plugins.noderesources import ResourceKey, memo_scores

NAME = "NodeResourcesBalancedAllocation"
WEIGHT = 1


def balanced_score(cpu_req: int, cpu_cap: int, mem_req: int, mem_cap: int) -> int:
    fractions = []
    if cpu_cap:
        fractions.append(min(cpu_req / cpu_cap, 1.0))
    if mem_cap:
        fractions.append(min(mem_req / mem_cap, 1.0))
    if len(fractions) < 2:
        return fw.MAX_NODE_SCORE
    std = abs(fractions[0] - fractions[1]) / 2
    return int((1 - std) * fw.MAX_NODE_SCORE)


def balanced_of(pod: PodInfo, key: ResourceKey) -> int:
    """The score from the node's allocatable and requested cpu/memory (``NodeInfo.resource_key``)."""
    cap_cpu, cap_mem, used_cpu, used_mem, _, _ = key
    req = pod.requests
    if cap_cpu and cap_mem:  # the common case of balanced_score, inlined
        f_cpu = (used_cpu + req.milli_cpu) / cap_cpu
        f_mem = (used_mem + req.memory) / cap_mem
        return int((1 - abs((f_cpu if f_cpu < 1 else 1.0) - (f_mem if f_mem < 1 else 1.0)) / 2) * 100)
    return balanced_score(used_cpu + req.milli_cpu, cap_cpu, used_mem + req.memory, cap_mem)


class BalancedAllocation:
    name = NAME
    weight = WEIGHT

    def score(self, state: fw.CycleState, pod: PodInfo, node: NodeInfo) -> int:
        return balanced_of(pod, node.resource_key)

    def score_nodes(self, state: fw.CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
        return memo_scores(nodes, lambda key: balanced_of(pod, key))

    def normalize(self, state: fw.CycleState, pod: PodInfo, scores: list[int]) -> None:
        return None


def new() -> BalancedAllocation:
    return BalancedAllocation()


_s: fw.ScorePlugin = BalancedAllocation()
