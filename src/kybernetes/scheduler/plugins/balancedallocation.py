"""NodeResourcesBalancedAllocation: favour nodes whose cpu and memory utilisation stay balanced after placing the
pod (score = (1 - std) * 100 over the requested fractions)."""

from __future__ import annotations

from kybernetes.scheduler import framework as fw
from kybernetes.scheduler.nodeinfo import NodeInfo, PodInfo

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


class BalancedAllocation:
    name = NAME
    weight = WEIGHT

    def score(self, state: fw.CycleState, pod: PodInfo, node: NodeInfo) -> int:
        alloc = node.allocatable
        return balanced_score(node.requested.milli_cpu + pod.requests.milli_cpu, alloc.milli_cpu,
                              node.requested.memory + pod.requests.memory, alloc.memory)

    def normalize(self, state: fw.CycleState, pod: PodInfo, scores: list[int]) -> None:
        return None


def new() -> BalancedAllocation:
    return BalancedAllocation()


_s: fw.ScorePlugin = BalancedAllocation()
