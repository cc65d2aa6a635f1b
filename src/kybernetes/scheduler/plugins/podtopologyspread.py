"""PodTopologySpread: ``topologySpreadConstraints`` — DoNotSchedule constraints filter nodes whose domain would
exceed ``maxSkew``; ScheduleAnyway constraints score nodes with fewer matching pods higher.

Counting follows upstream: only nodes that pass the pod's required node affinity (``nodeAffinityPolicy: Honor``,
the default) and carry every constraint's topology key are domains; pods count if they are in the pod's
namespace, match the constraint's selector (plus ``matchLabelKeys``) and are not terminating.  With fewer
domains than ``minDomains`` the global minimum is taken as 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kybernetes.api.errors import StatusError
from kybernetes.api.selectors import LabelSelector, Requirement, selector_from_label_selector
from kybernetes.scheduler import framework as fw
from kybernetes.scheduler.nodeinfo import NodeInfo, PodInfo
from kybernetes.scheduler.plugins.helpers import first_untolerated_taint, required_node_affinity_matches

NAME = "PodTopologySpread"
WEIGHT = 2
ERR_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints"
ERR_MISSING_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)"
_PRE_FILTER_KEY = NAME + "/filter"
_PRE_SCORE_KEY = NAME + "/score"


@dataclass(frozen=True, slots=True)
class Constraint:
    max_skew: int
    topology_key: str
    selector: LabelSelector
    min_domains: int = 1
    honor_affinity: bool = True
    honor_taints: bool = False


def constraints(pod: PodInfo, when: str) -> list[Constraint]:
    out: list[Constraint] = []
    for c in pod.spec.get("topologySpreadConstraints") or []:
        if c.get("whenUnsatisfiable", "DoNotSchedule") != when:
            continue
        try:
            sel = selector_from_label_selector(c.get("labelSelector"))
        except StatusError:
            sel = LabelSelector(nothing=True)
        extra = tuple(Requirement(k, "in", (pod.labels[k],)) for k in c.get("matchLabelKeys") or [] if k in pod.labels)
        if extra and not sel.nothing:
            sel = LabelSelector(sel.requirements + extra)
        out.append(Constraint(int(c.get("maxSkew") or 1), str(c.get("topologyKey") or ""), sel,
                              int(c.get("minDomains") or 1), c.get("nodeAffinityPolicy", "Honor") == "Honor",
                              c.get("nodeTaintsPolicy", "Ignore") == "Honor"))
    return out


def count_matching(node: NodeInfo, namespace: str, selector: LabelSelector) -> int:
    reqs = selector.requirements
    if len(reqs) == 1 and not selector.nothing and reqs[0].operator in ("=", "==", "in") \
            and len(reqs[0].values) == 1:
        return node.label_counts.get((namespace, reqs[0].key, reqs[0].values[0]), 0)
    return sum(1 for p in node.pods.values()
               if p.namespace == namespace and not p.terminating and selector.matches(p.labels))


def eligible(pod: PodInfo, node: NodeInfo, cons: Sequence[Constraint]) -> bool:
    labels = node.labels
    for c in cons:
        if c.topology_key not in labels:
            return False
    if any(c.honor_affinity for c in cons) and not required_node_affinity_matches(pod.spec, node.labels, node.name):
        return False
    return not (any(c.honor_taints for c in cons)
                and first_untolerated_taint(node.taints, pod.tolerations, ("NoSchedule", "NoExecute")))


def domain_counts(pod: PodInfo, nodes: Iterable[NodeInfo], cons: Sequence[Constraint]) -> list[dict[str, int]]:
    """Per constraint: topology value → matching pods, over eligible nodes."""
    counts: list[dict[str, int]] = [{} for _ in cons]
    for node in nodes:
        if not eligible(pod, node, cons):
            continue
        for i, c in enumerate(cons):
            value = node.labels[c.topology_key]
            counts[i][value] = counts[i].get(value, 0) + count_matching(node, pod.namespace, c.selector)
    return counts


def filter_node(pod: PodInfo, node: NodeInfo, cons: Sequence[Constraint],
                counts: list[dict[str, int]]) -> fw.Status | None:
    for c, domain in zip(cons, counts, strict=True):
        value = node.labels.get(c.topology_key)
        if value is None:
            return fw.Status.unresolvable(ERR_MISSING_LABEL, plugin=NAME)
        minimum = min(domain.values(), default=0) if len(domain) >= c.min_domains else 0
        self_match = 1 if c.selector.matches(pod.labels) else 0
        if domain.get(value, 0) + self_match - minimum > c.max_skew:
            return fw.Status.unschedulable(ERR_CONSTRAINTS_NOT_MATCH, plugin=NAME)
    return None


def normalize_spread(scores: list[int], ignored: list[bool]) -> None:
    """Upstream's NormalizeScore: fewer matching pods → higher; ignored nodes (no topology label) → 0."""
    present = [s for s, ign in zip(scores, ignored, strict=True) if not ign]
    if not present:
        scores[:] = [0] * len(scores)
        return
    lo, hi = min(present), max(present)
    for i, s in enumerate(scores):
        if ignored[i]:
            scores[i] = 0
        elif hi == 0:
            scores[i] = fw.MAX_NODE_SCORE
        else:
            scores[i] = fw.MAX_NODE_SCORE * (hi + lo - s) // hi


class PodTopologySpread:
    name = NAME
    weight = WEIGHT
    events = frozenset({fw.NODE_ADD, fw.NODE_UPDATE, fw.NODE_DELETE, fw.POD_ADD, fw.POD_UPDATE, fw.POD_DELETE})

    def pre_filter(self, state: fw.CycleState, pod: PodInfo,
                   snapshot: fw.Snapshot) -> tuple[fw.PreFilterResult | None, fw.Status | None]:
        cons = constraints(pod, "DoNotSchedule")
        if not cons:
            return None, fw.SKIP
        state[_PRE_FILTER_KEY] = (cons, domain_counts(pod, snapshot.nodes, cons))
        return None, None

    def filter(self, state: fw.CycleState, pod: PodInfo, node: NodeInfo) -> fw.Status | None:
        cons, counts = state[_PRE_FILTER_KEY]
        return filter_node(pod, node, cons, counts)

    def pre_score(self, state: fw.CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> fw.Status | None:
        cons = constraints(pod, "ScheduleAnyway")
        if not cons:
            return fw.SKIP
        snapshot: fw.Snapshot | None = state.get(fw.SNAPSHOT_KEY)
        counts = domain_counts(pod, snapshot.nodes if snapshot is not None else nodes, cons)
        weights = [math.log(len(d) + 2) for d in counts]
        state[_PRE_SCORE_KEY] = (cons, counts, weights, [])
        return None

    def score(self, state: fw.CycleState, pod: PodInfo, node: NodeInfo) -> int:
        cons, counts, weights, ignored = state[_PRE_SCORE_KEY]
        if any(c.topology_key not in node.labels for c in cons):
            ignored.append(True)
            return 0
        ignored.append(False)
        total = 0.0
        for c, domain, weight in zip(cons, counts, weights, strict=True):
            value = node.labels[c.topology_key]
            cnt = domain.get(value, 0) if value in domain else count_matching(node, pod.namespace, c.selector)
            total += cnt * weight + (c.max_skew - 1)
        return round(total)

    def normalize(self, state: fw.CycleState, pod: PodInfo, scores: list[int]) -> None:
        ignored: list[bool] = state[_PRE_SCORE_KEY][3]
        normalize_spread(scores, ignored)


def new() -> PodTopologySpread:
    return PodTopologySpread()


_f: fw.FilterPlugin = PodTopologySpread()
_s: fw.ScorePlugin = PodTopologySpread()
