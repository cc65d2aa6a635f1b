"""NodeAffinity: ``nodeSelector`` and required node affinity (filter); preferred terms' weights (score)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kybernetes.scheduler import framework as fw
from kybernetes.scheduler.nodeinfo import NodeInfo, PodInfo
from kybernetes.scheduler.plugins.helpers import node_selector_term_matches, required_node_affinity_matches

NAME = "NodeAffinity"
WEIGHT = 2
ERR_REASON = "node(s) didn't match Pod's node affinity/selector"
REJECTED = fw.Status.unresolvable(ERR_REASON, plugin=NAME)  # immutable: shared by every rejected node


def has_required(spec: dict[str, Any]) -> bool:
    node_affinity = (spec.get("affinity") or {}).get("nodeAffinity") or {}
    return bool(spec.get("nodeSelector")) or node_affinity.get(
        "requiredDuringSchedulingIgnoredDuringExecution") is not None


def preferred_terms(spec: dict[str, Any]) -> list[dict[str, Any]]:
    node_affinity = (spec.get("affinity") or {}).get("nodeAffinity") or {}
    return [t for t in node_affinity.get("preferredDuringSchedulingIgnoredDuringExecution") or []
            if int(t.get("weight") or 0)]


def preferred_score(terms: list[dict[str, Any]], node: NodeInfo) -> int:
    return sum(int(t.get("weight") or 0) for t in terms
               if node_selector_term_matches(t.get("preference") or {}, node.labels, node.name))


class NodeAffinity:
    name = NAME
    weight = WEIGHT
    events = frozenset({fw.NODE_ADD, fw.NODE_UPDATE})

    def pre_filter(self, state: fw.CycleState, pod: PodInfo,
                   snapshot: fw.Snapshot) -> tuple[fw.PreFilterResult | None, fw.Status | None]:
        if not has_required(pod.spec):
            return None, fw.SKIP
        node_affinity = (pod.spec.get("affinity") or {}).get("nodeAffinity") or {}
        only_selector = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution") is None
        state[NAME + "/selector"] = tuple((pod.spec.get("nodeSelector") or {}).items()) if only_selector else None
        return None, None

    def filter(self, state: fw.CycleState, pod: PodInfo, node: NodeInfo) -> fw.Status | None:
        selector = state.get(NAME + "/selector")
        if selector is not None:  # nodeSelector only: the fast path
            labels = node.labels
            if all(labels.get(k) == v for k, v in selector):
                return None
        elif required_node_affinity_matches(pod.spec, node.labels, node.name):
            return None
        return REJECTED

    def filter_nodes(self, state: fw.CycleState, pod: PodInfo, nodes: list[NodeInfo],
                     statuses: dict[str, fw.Status]) -> list[NodeInfo]:
        selector = state.get(NAME + "/selector")
        if selector is None:
            return fw.filter_rest(self, state, pod, nodes, statuses)
        if len(selector) == 1:
            (key, value), = selector
            passed = [n for n in nodes if n.labels.get(key) == value]
        else:
            passed = [n for n in nodes if all(n.labels.get(k) == v for k, v in selector)]
        if len(passed) != len(nodes):
            ok = set(passed)
            for n in nodes:
                if n not in ok:
                    statuses[n.name] = REJECTED
        return passed

    def pre_score(self, state: fw.CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> fw.Status | None:
        terms = preferred_terms(pod.spec)
        if not terms:
            return fw.SKIP
        state[NAME] = terms
        return None

    def score(self, state: fw.CycleState, pod: PodInfo, node: NodeInfo) -> int:
        return preferred_score(state[NAME], node)

    def normalize(self, state: fw.CycleState, pod: PodInfo, scores: list[int]) -> None:
        fw.default_normalize(scores)


def new() -> NodeAffinity:
    return NodeAffinity()


_f: fw.FilterPlugin = NodeAffinity()
_s: fw.ScorePlugin = NodeAffinity()
