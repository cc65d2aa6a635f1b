"""Pure helpers shared by plugins: node selector terms, tolerations, pod affinity terms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kybernetes.api.errors import StatusError
from kybernetes.api.selectors import LabelSelector, Requirement, selector_from_label_selector

Obj = dict[str, Any]

_NODE_OPS = {"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"}


def _match_expression(expr: Obj, value: str | None) -> bool:
    op = expr.get("operator", "")
    values = [str(v) for v in expr.get("values") or []]
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt"):
        if value is None or len(values) != 1:
            return False
        try:
            have, want = int(value), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def node_selector_term_matches(term: Obj, labels: Mapping[str, str], node_name: str) -> bool:
    """One ``NodeSelectorTerm``: all expressions and fields match; an empty term matches nothing."""
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False
    for expr in exprs:
        if expr.get("operator") not in _NODE_OPS or not _match_expression(expr, labels.get(expr.get("key", ""))):
            return False
    return all(expr.get("key") == "metadata.name" and _match_expression(expr, node_name) for expr in fields)


def node_selector_matches(selector: Obj | None, labels: Mapping[str, str], node_name: str) -> bool:
    """A ``NodeSelector``: OR of its terms (no terms matches nothing)."""
    if selector is None:
        return True
    return any(node_selector_term_matches(t, labels, node_name) for t in selector.get("nodeSelectorTerms") or [])


def required_node_affinity_matches(spec: Obj, labels: Mapping[str, str], node_name: str) -> bool:
    """``nodeSelector`` AND ``requiredDuringSchedulingIgnoredDuringExecution`` (upstream's GetRequiredNodeAffinity)."""
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    return node_selector_matches(required, labels, node_name)


def toleration_tolerates(toleration: Obj, taint: Obj) -> bool:
    """``Toleration.ToleratesTaint``."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Exists":
        return True
    if op == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def tolerated(taint: Obj, tolerations: list[Obj]) -> bool:
    return any(toleration_tolerates(t, taint) for t in tolerations)


def first_untolerated_taint(taints: list[Obj], tolerations: list[Obj], effects: tuple[str, ...]) -> Obj | None:
    for taint in taints:
        if taint.get("effect") in effects and not tolerated(taint, tolerations):
            return taint
    return None


class AffinityTerm:
    """A parsed ``PodAffinityTerm``: selector, namespaces, topology key (upstream's ``framework.AffinityTerm``)."""

    __slots__ = ("namespace_selector", "namespaces", "selector", "topology_key", "weight")

    def __init__(self, term: Obj, pod_namespace: str, pod_labels: Mapping[str, str], weight: int = 0) -> None:
        self.topology_key: str = term.get("topologyKey") or ""
        self.weight = weight
        try:
            sel = selector_from_label_selector(term.get("labelSelector"))
        except StatusError:
            sel = LabelSelector(nothing=True)
        extra: list[Requirement] = []
        for key in term.get("matchLabelKeys") or []:
            if key in pod_labels:
                extra.append(Requirement(key, "in", (pod_labels[key],)))
        for key in term.get("mismatchLabelKeys") or []:
            if key in pod_labels:
                extra.append(Requirement(key, "notin", (pod_labels[key],)))
        if extra and not sel.nothing:
            sel = LabelSelector(sel.requirements + tuple(extra))
        self.selector = sel
        ns_sel = term.get("namespaceSelector")
        self.namespaces: set[str] = set(term.get("namespaces") or [])
        self.namespace_selector: LabelSelector | None = None
        if ns_sel is not None:
            try:
                self.namespace_selector = selector_from_label_selector(ns_sel)
            except StatusError:
                self.namespace_selector = None
        elif not self.namespaces:
            self.namespaces = {pod_namespace}

    def matches(self, namespace: str, labels: Mapping[str, str],
                namespace_labels: Mapping[str, Mapping[str, str]]) -> bool:
        """Whether a pod in ``namespace`` with ``labels`` is selected by this term."""
        if namespace not in self.namespaces and (
                self.namespace_selector is None
                or not self.namespace_selector.matches(dict(namespace_labels.get(namespace) or {}))):
            return False
        return self.selector.matches(labels)


def affinity_terms(terms: list[Obj], namespace: str, labels: Mapping[str, str]) -> list[AffinityTerm]:
    return [AffinityTerm(t, namespace, labels) for t in terms]


def weighted_terms(terms: list[Obj], namespace: str, labels: Mapping[str, str]) -> list[AffinityTerm]:
    return [AffinityTerm(t.get("podAffinityTerm") or {}, namespace, labels, int(t.get("weight") or 0))
            for t in terms]
