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


def label_count_key(namespace: str, selector: LabelSelector) -> tuple[str, str, str] | None:
    """The ``NodeInfo.label_counts`` key that counts the pods ``selector`` matches, if it is one equality."""
    reqs = selector.requirements
    if len(reqs) == 1 and not selector.nothing and reqs[0].operator in ("=", "==", "in") \
            and len(reqs[0].values) == 1:
        return namespace, reqs[0].key, reqs[0].values[0]
    return None


def count_matching(node: NodeInfo, namespace: str, selector: LabelSelector) -> int:
    key = label_count_key(namespace, selector)
    if key is not None:
        return node.label_counts.get(key, 0)
    return sum(1 for p in node.pods.values()
               if p.namespace == namespace and not p.terminating and selector.matches(p.labels))


def has_required_node_affinity(pod: PodInfo) -> bool:
    spec = pod.spec
    return bool(spec.get("nodeSelector")) or (
        ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
        is not None)


def eligible(pod: PodInfo, node: NodeInfo, cons: Sequence[Constraint], check_affinity: bool = True) -> bool:
    """Whether ``node`` is a domain for counting; ``check_affinity=False`` when the pod has no required node
    affinity or selector (every node then matches it)."""
    labels = node.labels
    for c in cons:
        if c.topology_key not in labels:
            return False
    if check_affinity and any(c.honor_affinity for c in cons) \
            and not required_node_affinity_matches(pod.spec, node.labels, node.name):
        return False
    return not (any(c.honor_taints for c in cons)
                and first_untolerated_taint(node.taints, pod.tolerations, ("NoSchedule", "NoExecute")))


def domain_counts(pod: PodInfo, nodes: Iterable[NodeInfo], cons: Sequence[Constraint]) -> list[dict[str, int]]:
    """Per constraint: topology value → matching pods, over eligible nodes."""
    check_affinity = has_required_node_affinity(pod)
    if len(cons) == 1 and not check_affinity and not cons[0].honor_taints:
        count_key = label_count_key(pod.namespace, cons[0].selector)
        if count_key is not None:  # the common case: every node with the key is a domain, counts are lookups
            topology_key = cons[0].topology_key
            counts: dict[str, int] = {}
            for node in nodes:
                value = node.labels.get(topology_key)
                if value is not None:
                    counts[value] = counts.get(value, 0) + node.label_counts.get(count_key, 0)
            return [counts]
    all_counts: list[dict[str, int]] = [{} for _ in cons]
    for node in nodes:
        if not eligible(pod, node, cons, check_affinity):
            continue
        for i, c in enumerate(cons):
            value = node.labels[c.topology_key]
            all_counts[i][value] = all_counts[i].get(value, 0) + count_matching(node, pod.namespace, c.selector)
    return all_counts


MISSING_LABEL = fw.Status.unresolvable(ERR_MISSING_LABEL, plugin=NAME)  # immutable: shared
NOT_MATCH = fw.Status.unschedulable(ERR_CONSTRAINTS_NOT_MATCH, plugin=NAME)


def skew_limits(pod: PodInfo, cons: Sequence[Constraint], counts: list[dict[str, int]]) -> list[int]:
    """Per constraint, the most matching pods a domain may hold for the pod to fit there: upstream's
    ``matchNum + selfMatchNum - minMatchNum <= maxSkew``, with the global minimum taken as 0 below minDomains."""
    limits = []
    for c, domain in zip(cons, counts, strict=True):
        minimum = min(domain.values(), default=0) if len(domain) >= c.min_domains else 0
        self_match = 1 if c.selector.matches(pod.labels) else 0
        limits.append(c.max_skew + minimum - self_match)
    return limits


def filter_node(node: NodeInfo, cons: Sequence[Constraint], counts: list[dict[str, int]],
                limits: list[int]) -> fw.Status | None:
    for c, domain, limit in zip(cons, counts, limits, strict=True):
        value = node.labels.get(c.topology_key)
        if value is None:
            return MISSING_LABEL
        if domain.get(value, 0) > limit:
            return NOT_MATCH
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
        counts = domain_counts(pod, snapshot.nodes, cons)
        state[_PRE_FILTER_KEY] = (cons, counts, skew_limits(pod, cons, counts))
        return None, None

    def filter(self, state: fw.CycleState, pod: PodInfo, node: NodeInfo) -> fw.Status | None:
        cons, counts, limits = state[_PRE_FILTER_KEY]
        return filter_node(node, cons, counts, limits)

    def filter_nodes(self, state: fw.CycleState, pod: PodInfo, nodes: list[NodeInfo],
                     statuses: dict[str, fw.Status]) -> list[NodeInfo]:
        cons, counts, limits = state[_PRE_FILTER_KEY]
        if len(cons) != 1:
            return fw.filter_rest(self, state, pod, nodes, statuses)
        key, domain, limit = cons[0].topology_key, counts[0], limits[0]
        suspects = [n for n in nodes if domain.get(n.labels.get(key), 0) > limit or key not in n.labels]
        return fw.reject_some(self, state, pod, nodes, suspects, statuses)

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
