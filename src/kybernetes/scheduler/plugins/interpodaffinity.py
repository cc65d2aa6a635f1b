"""InterPodAffinity: required pod affinity / anti-affinity of the incoming pod and existing pods' required
anti-affinity (filter); preferred terms of both sides (score).

Counts are kept per topology pair ``(key, value)`` as upstream does: the PreFilter walks the snapshot once, the
Filter is then dictionary lookups per node.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kybernetes.scheduler import framework as fw
from kybernetes.scheduler.nodeinfo import NodeInfo, PodInfo
from kybernetes.scheduler.plugins.helpers import AffinityTerm, affinity_terms, weighted_terms

NAME = "InterPodAffinity"
WEIGHT = 2
HARD_POD_AFFINITY_WEIGHT = 1
ERR_AFFINITY = "node(s) didn't match pod affinity rules"
ERR_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
ERR_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"

Pair = tuple[str, str]


class FilterState:
    __slots__ = ("affinity", "affinity_counts", "anti", "anti_counts", "existing_anti")

    def __init__(self) -> None:
        self.affinity: list[AffinityTerm] = []
        self.anti: list[AffinityTerm] = []
        self.existing_anti: dict[Pair, int] = {}
        self.affinity_counts: dict[Pair, int] = {}
        self.anti_counts: dict[Pair, int] = {}


def _bump(counts: dict[Pair, int], labels: Mapping[str, str], key: str, by: int = 1) -> None:
    if key in labels:
        pair = (key, labels[key])
        counts[pair] = counts.get(pair, 0) + by


def compute_filter_state(pod: PodInfo, snapshot: fw.Snapshot) -> FilterState:
    st = FilterState()
    ns_labels = snapshot.namespace_labels
    for node in snapshot.have_pods_with_required_anti_affinity:
        for existing in node.pods_with_required_anti_affinity.values():
            for term in affinity_terms(existing.anti_affinity_required, existing.namespace, existing.labels):
                if term.matches(pod.namespace, pod.labels, ns_labels):
                    _bump(st.existing_anti, node.labels, term.topology_key)
    st.affinity = affinity_terms(pod.required_affinity, pod.namespace, pod.labels)
    st.anti = affinity_terms(pod.anti_affinity_required, pod.namespace, pod.labels)
    if st.affinity or st.anti:
        for node in snapshot.nodes:
            for existing in node.pods.values():
                if st.affinity and all(t.matches(existing.namespace, existing.labels, ns_labels) for t in st.affinity):
                    for t in st.affinity:
                        _bump(st.affinity_counts, node.labels, t.topology_key)
                for t in st.anti:
                    if t.matches(existing.namespace, existing.labels, ns_labels):
                        _bump(st.anti_counts, node.labels, t.topology_key)
    return st


def filter_node(pod: PodInfo, node: NodeInfo, st: FilterState, ns_labels: Mapping[str, Mapping[str, str]]
                ) -> fw.Status | None:
    labels = node.labels
    if st.affinity:
        ok = all(t.topology_key in labels and st.affinity_counts.get((t.topology_key, labels[t.topology_key]), 0) > 0
                 for t in st.affinity)
        if not ok:
            # The first pod of a group that selects itself may go anywhere its topology keys exist.
            self_ok = not st.affinity_counts and all(
                t.matches(pod.namespace, pod.labels, ns_labels) and t.topology_key in labels for t in st.affinity)
            if not self_ok:
                return fw.Status.unresolvable(ERR_AFFINITY, plugin=NAME)
    for t in st.anti:
        if t.topology_key in labels and st.anti_counts.get((t.topology_key, labels[t.topology_key]), 0) > 0:
            return fw.Status.unschedulable(ERR_ANTI_AFFINITY, plugin=NAME)
    for (key, value), n in st.existing_anti.items():
        if n > 0 and labels.get(key) == value:
            return fw.Status.unschedulable(ERR_EXISTING_ANTI_AFFINITY, plugin=NAME)
    return None


def topology_scores(pod: PodInfo, nodes: Sequence[NodeInfo], ns_labels: Mapping[str, Mapping[str, str]]
                    ) -> dict[Pair, int]:
    """Upstream's PreScore: weights per topology pair from both the incoming pod's and existing pods' terms."""
    scores: dict[Pair, int] = {}
    pref = weighted_terms(pod.preferred_affinity, pod.namespace, pod.labels)
    pref_anti = weighted_terms(pod.preferred_anti_affinity, pod.namespace, pod.labels)
    incoming = bool(pref or pref_anti)
    for node in nodes:
        pods = node.pods.values() if incoming else node.pods_with_affinity.values()
        for existing in pods:
            for t in pref:
                if t.matches(existing.namespace, existing.labels, ns_labels):
                    _bump(scores, node.labels, t.topology_key, t.weight)
            for t in pref_anti:
                if t.matches(existing.namespace, existing.labels, ns_labels):
                    _bump(scores, node.labels, t.topology_key, -t.weight)
            if not existing.has_affinity:
                continue
            for t in affinity_terms(existing.required_affinity, existing.namespace, existing.labels):
                if t.matches(pod.namespace, pod.labels, ns_labels):
                    _bump(scores, node.labels, t.topology_key, HARD_POD_AFFINITY_WEIGHT)
            for t in weighted_terms(existing.preferred_affinity, existing.namespace, existing.labels):
                if t.matches(pod.namespace, pod.labels, ns_labels):
                    _bump(scores, node.labels, t.topology_key, t.weight)
            for t in weighted_terms(existing.preferred_anti_affinity, existing.namespace, existing.labels):
                if t.matches(pod.namespace, pod.labels, ns_labels):
                    _bump(scores, node.labels, t.topology_key, -t.weight)
    return scores


def normalize_min_max(scores: list[int]) -> None:
    if not scores:
        return
    lo, hi = min(scores), max(scores)
    span = hi - lo
    for i, s in enumerate(scores):
        scores[i] = fw.MAX_NODE_SCORE * (s - lo) // span if span else 0


class InterPodAffinity:
    name = NAME
    weight = WEIGHT
    events = frozenset({fw.NODE_ADD, fw.NODE_UPDATE, fw.POD_ADD, fw.POD_UPDATE, fw.POD_DELETE, fw.NAMESPACE_CHANGE})

    def pre_filter(self, state: fw.CycleState, pod: PodInfo,
                   snapshot: fw.Snapshot) -> tuple[fw.PreFilterResult | None, fw.Status | None]:
        if not pod.required_affinity and not pod.anti_affinity_required \
                and not snapshot.have_pods_with_required_anti_affinity:
            return None, fw.SKIP
        state[NAME] = (compute_filter_state(pod, snapshot), snapshot.namespace_labels)
        return None, None

    def filter(self, state: fw.CycleState, pod: PodInfo, node: NodeInfo) -> fw.Status | None:
        st, ns_labels = state[NAME]
        return filter_node(pod, node, st, ns_labels)

    def pre_score(self, state: fw.CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> fw.Status | None:
        snapshot: fw.Snapshot | None = state.get(fw.SNAPSHOT_KEY)
        if not pod.preferred_affinity and not pod.preferred_anti_affinity and (
                snapshot is None or not snapshot.have_pods_with_affinity):
            return fw.SKIP
        all_nodes = snapshot.nodes if snapshot is not None else nodes
        ns_labels = snapshot.namespace_labels if snapshot is not None else {}
        state[NAME + "/score"] = topology_scores(pod, all_nodes, ns_labels)
        return None

    def score(self, state: fw.CycleState, pod: PodInfo, node: NodeInfo) -> int:
        scores: dict[Pair, int] = state[NAME + "/score"]
        return sum(w for (key, value), w in scores.items() if node.labels.get(key) == value)

    def normalize(self, state: fw.CycleState, pod: PodInfo, scores: list[int]) -> None:
        normalize_min_max(scores)


def new() -> InterPodAffinity:
    return InterPodAffinity()


_f: fw.FilterPlugin = InterPodAffinity()
_s: fw.ScorePlugin = InterPodAffinity()
