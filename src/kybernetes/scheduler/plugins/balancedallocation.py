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
        alloc, used, req = node.allocatable, node.requested, pod.requests
        cap_cpu, cap_mem = alloc.milli_cpu, alloc.memory
        if cap_cpu and cap_mem:  # the common case of balanced_score, inlined
            f_cpu = (used.milli_cpu + req.milli_cpu) / cap_cpu
            f_mem = (used.memory + req.memory) / cap_mem
            return int((1 - abs((f_cpu if f_cpu < 1 else 1.0) - (f_mem if f_mem < 1 else 1.0)) / 2) * 100)
        return balanced_score(used.milli_cpu + req.milli_cpu, cap_cpu, used.memory + req.memory, cap_mem)

    def normalize(self, state: fw.CycleState, pod: PodInfo, scores: list[int]) -> None:
        return None


def new() -> BalancedAllocation:
    return BalancedAllocation()


_s: fw.ScorePlugin = BalancedAllocation()
