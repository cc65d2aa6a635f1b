"""Pure node/pod checks of the DaemonSet controller (upstream ``NodeShouldRunDaemonPod`` and friends).

* :func:`daemon_pod_template` — the DaemonSet's template plus the automatic tolerations and the
  ``controller-revision-hash`` / ``pod-template-generation`` labels.
* :func:`pin_to_node` — the pod's required node affinity replaced by ``metadata.name In [node]``.
* :func:`should_run` — ``(should_run, should_continue_running)`` for one node: node name, node selector, required
  node affinity, and taints (NoSchedule/NoExecute block new pods; only NoExecute evicts running ones).
* :func:`target_node` — the node a daemon pod is bound or pinned to.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

Obj = dict[str, Any]
TEMPLATE_GENERATION_LABEL = "pod-template-generation"
REVISION_HASH_LABEL = "controller-revision-hash"

_NO_SCHEDULE = "NoSchedule"
_NO_EXECUTE = "NoExecute"
_ALWAYS: tuple[tuple[str, str], ...] = (
    ("node.kubernetes.io/not-ready", _NO_EXECUTE),
    ("node.kubernetes.io/unreachable", _NO_EXECUTE),
    ("node.kubernetes.io/disk-pressure", _NO_SCHEDULE),
    ("node.kubernetes.io/memory-pressure", _NO_SCHEDULE),
    ("node.kubernetes.io/pid-pressure", _NO_SCHEDULE),
    ("node.kubernetes.io/unschedulable", _NO_SCHEDULE),
)
_HOST_NETWORK = (("node.kubernetes.io/network-unavailable", _NO_SCHEDULE),)


def _same_toleration(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k in ("key", "operator", "value", "effect", "tolerationSeconds"))


def add_daemon_tolerations(spec: Obj) -> None:
    """Add upstream's automatic DaemonSet tolerations to a pod spec (in place; no duplicates)."""
    tolerations: list[Obj] = list(spec.get("tolerations") or [])
    wanted = _ALWAYS + (_HOST_NETWORK if spec.get("hostNetwork") else ())
    for key, effect in wanted:
        tol = {"key": key, "operator": "Exists", "effect": effect}
        if not any(_same_toleration(tol, t) for t in tolerations):
            tolerations.append(tol)
    spec["tolerations"] = tolerations


def daemon_pod_template(ds: Obj, revision_hash: str) -> Obj:
    """The template a new daemon pod is made from (upstream ``CreatePodTemplate``)."""
    template = copy.deepcopy((ds.get("spec") or {}).get("template") or {})
    spec = template.setdefault("spec", {})
    add_daemon_tolerations(spec)
    meta = template.setdefault("metadata", {})
    labels = dict(meta.get("labels") or {})
    generation = (ds.get("metadata") or {}).get("generation")
    if generation is not None:
        labels[TEMPLATE_GENERATION_LABEL] = str(generation)
    if revision_hash:
        labels[REVISION_HASH_LABEL] = revision_hash
    meta["labels"] = labels
    return template


def pin_to_node(spec: Obj, node_name: str) -> None:
    """Replace the required node affinity of ``spec`` (in place) with ``metadata.name In [node_name]``."""
    affinity = dict(spec.get("affinity") or {})
    node_affinity = dict(affinity.get("nodeAffinity") or {})
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [{"matchFields": [
        {"key": "metadata.name", "operator": "In", "values": [node_name]}]}]}
    affinity["nodeAffinity"] = node_affinity
    spec["affinity"] = affinity


def target_node(pod: Obj) -> str:
    """``spec.nodeName``, else the node named by a ``metadata.name In [x]`` matchFields term; "" if neither."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in required.get("nodeSelectorTerms") or []:
        for req in term.get("matchFields") or []:
            values = req.get("values") or []
            if req.get("key") == "metadata.name" and req.get("operator") == "In" and len(values) == 1:
                return str(values[0])
    return ""


# -- node selection --------------------------------------------------------------------------------------------

def _requirement_matches(req: Mapping[str, Any], values: Mapping[str, str]) -> bool:
    key, op = str(req.get("key", "")), req.get("operator")
    wanted = [str(v) for v in req.get("values") or []]
    present = key in values
    if op == "In":
        return present and values[key] in wanted
    if op == "NotIn":
        return not present or values[key] not in wanted
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and len(wanted) == 1:
        try:
            have, bound = int(values[key]), int(wanted[0])
        except ValueError:
            return False
        return have > bound if op == "Gt" else have < bound
    return False


def node_selector_term_matches(term: Mapping[str, Any], node: Obj) -> bool:
    """A term matches when all its expressions (labels) and fields (``metadata.name``) do; an empty term
    matches nothing, like upstream."""
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False
    meta = node.get("metadata") or {}
    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    names = {"metadata.name": str(meta.get("name", ""))}
    return all(_requirement_matches(r, labels) for r in exprs) and all(_requirement_matches(r, names)
                                                                       for r in fields)


def matches_node_affinity(spec: Mapping[str, Any], node: Obj) -> bool:
    """``nodeSelector`` and the required node affinity (terms ORed) both accept ``node``."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if required is None:
        return True
    return any(node_selector_term_matches(t, node) for t in required.get("nodeSelectorTerms") or [])


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """Upstream ``Toleration.ToleratesTaint``."""
    if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
        return False
    if toleration.get("key") and toleration.get("key") != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Exists":
        return True
    return op == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated_taints(node: Obj, tolerations: list[Obj], effects: tuple[str, ...]) -> list[Obj]:
    return [t for t in (node.get("spec") or {}).get("taints") or []
            if t.get("effect") in effects and not any(tolerates(tol, t) for tol in tolerations)]


def should_run(node: Obj, template: Obj) -> tuple[bool, bool]:
    """``(should_run, should_continue_running)`` of a daemon pod made from ``template`` (already carrying the
    automatic tolerations) on ``node``."""
    spec = template.get("spec") or {}
    node_name = (node.get("metadata") or {}).get("name", "")
    if spec.get("nodeName") and spec["nodeName"] != node_name:
        return False, False
    if not matches_node_affinity(spec, node):
        return False, False
    tolerations = list(spec.get("tolerations") or [])
    if untolerated_taints(node, tolerations, (_NO_EXECUTE,)):
        return False, False
    if untolerated_taints(node, tolerations, (_NO_SCHEDULE,)):
        return False, True
    return True, True
