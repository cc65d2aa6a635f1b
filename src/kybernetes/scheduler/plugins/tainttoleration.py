"""TaintToleration: NoSchedule/NoExecute taints must be tolerated (filter); fewer untolerated PreferNoSchedule
taints score higher (score, reversed normalization)."""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence

from kybernetes.scheduler import framework as fw
from kybernetes.scheduler.nodeinfo import NodeInfo, PodInfo
from kybernetes.scheduler.plugins.helpers import first_untolerated_taint, tolerated

NAME = "TaintToleration"
WEIGHT = 3
_FILTER_EFFECTS = ("NoSchedule", "NoExecute")
_TAINTS = operator.attrgetter("taints")


def untolerated_reason(taint: dict[str, str]) -> str:
    return f"node(s) had untolerated taint {{{taint.get('key', '')}: {taint.get('value', '') or ''}}}"


def filter_taints(pod: PodInfo, node: NodeInfo) -> fw.Status | None:
    if not node.taints:
        return None
    taint = first_untolerated_taint(node.taints, pod.tolerations, _FILTER_EFFECTS)
    return None if taint is None else _untolerated_status(str(taint.get("key", "")), str(taint.get("value", "") or ""))


@functools.lru_cache(maxsize=1024)
def _untolerated_status(key: str, value: str) -> fw.Status:
    return fw.Status.unresolvable(untolerated_reason({"key": key, "value": value}), plugin=NAME)


def prefer_no_schedule_tolerations(pod: PodInfo) -> list[dict[str, str]]:
    return [t for t in pod.tolerations if not t.get("effect") or t.get("effect") == "PreferNoSchedule"]


def count_intolerable(node: NodeInfo, tolerations: list[dict[str, str]]) -> int:
    return sum(1 for t in node.taints if t.get("effect") == "PreferNoSchedule" and not tolerated(t, tolerations))


class TaintToleration:
    name = NAME
    weight = WEIGHT
    events = frozenset({fw.NODE_ADD, fw.NODE_UPDATE})

    def filter(self, state: fw.CycleState, pod: PodInfo, node: NodeInfo) -> fw.Status | None:
        return filter_taints(pod, node) if node.taints else None

    def filter_nodes(self, state: fw.CycleState, pod: PodInfo, nodes: list[NodeInfo],
                     statuses: dict[str, fw.Status]) -> list[NodeInfo]:
        return fw.reject_some(self, state, pod, nodes, list(filter(_TAINTS, nodes)), statuses)

    def pre_score(self, state: fw.CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> fw.Status | None:
        if next(filter(_TAINTS, nodes), None) is None:
            return fw.SKIP
        state[NAME] = prefer_no_schedule_tolerations(pod)
        return None

    def score(self, state: fw.CycleState, pod: PodInfo, node: NodeInfo) -> int:
        return count_intolerable(node, state[NAME]) if node.taints else 0

    def score_nodes(self, state: fw.CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
        tolerations = state[NAME]
        return [count_intolerable(n, tolerations) if n.taints else 0 for n in nodes]

    def normalize(self, state: fw.CycleState, pod: PodInfo, scores: list[int]) -> None:
        fw.default_normalize(scores, reverse=True)


def new() -> TaintToleration:
    return TaintToleration()


_f: fw.FilterPlugin = TaintToleration()
_s: fw.ScorePlugin = TaintToleration()
