"""The DaemonSet controller's pure decision: which nodes get a pod, which pods go, and the status.

:func:`plan_daemonset` mirrors upstream's ``manage`` + ``rollingUpdate`` + ``updateDaemonSetStatus``:

* a node that should run the daemon pod and has none gets one; failed/succeeded pods are deleted (recreated next
  sync); extra pods on a node are deleted (the oldest scheduled one stays; with surge an unready new pod may
  coexist with a ready old one); pods on nodes that must not keep running them (untolerated NoExecute, selector
  no longer matching) are deleted; unscheduled pods pinned to a node that no longer exists are deleted.
* RollingUpdate with ``maxSurge == 0`` deletes old pods while at most ``maxUnavailable`` daemon pods are
  unavailable (unavailable old pods are always replaced); with ``maxSurge > 0`` new pods are created next to old
  ones (at most ``maxSurge`` at once) and an old pod is deleted once its node's new pod is available.
  OnDelete replaces nothing.
* A pod is "updated" when its ``controller-revision-hash`` label is the current hash or its
  ``pod-template-generation`` label is the template generation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from kybernetes.controllers.common import is_pod_available, is_pod_ready
from kybernetes.controllers.daemonset.predicates import (
    REVISION_HASH_LABEL,
    TEMPLATE_GENERATION_LABEL,
    daemon_pod_template,
    should_run,
    target_node,
)

Obj = dict[str, Any]
TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"


@dataclass
class DaemonPlan:
    create_on: list[str] = field(default_factory=list)  # node names, sorted
    delete: list[str] = field(default_factory=list)  # pod names
    status: Obj = field(default_factory=dict)


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _name(obj: Obj) -> str:
    return str(_meta(obj).get("name", ""))


def template_generation(ds: Obj) -> str | None:
    annotated = (_meta(ds).get("annotations") or {}).get(TEMPLATE_GENERATION_ANNOTATION)
    if annotated:
        return str(annotated)
    generation = _meta(ds).get("generation")
    return None if generation is None else str(generation)


def is_pod_updated(pod: Obj, revision_hash: str, generation: str | None) -> bool:
    labels = _meta(pod).get("labels") or {}
    if revision_hash and labels.get(REVISION_HASH_LABEL) == revision_hash:
        return True
    return generation is not None and labels.get(TEMPLATE_GENERATION_LABEL) == generation


def scaled_value(value: Any, total: int, default: int) -> int:
    """An int-or-percent against ``total``, percentages rounded up (upstream's roundUp=true)."""
    if value is None:
        return default
    if isinstance(value, str):
        if value.endswith("%"):
            return math.ceil(int(value[:-1]) * total / 100)
        return int(value)
    return int(value)


def surge_and_unavailable(ds: Obj, desired: int) -> tuple[int, int]:
    rolling = ((ds.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate") or {}
    surge = scaled_value(rolling.get("maxSurge"), desired, 0)
    unavailable = scaled_value(rolling.get("maxUnavailable"), desired, 1)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _pod_order(pod: Obj) -> tuple[int, str, str]:
    """Scheduled pods first, then oldest, then by name (upstream ``podByCreationTimestampAndPhase``)."""
    scheduled = 0 if (pod.get("spec") or {}).get("nodeName") else 1
    return scheduled, str(_meta(pod).get("creationTimestamp") or ""), _name(pod)


def _deleting(pod: Obj) -> bool:
    return bool(_meta(pod).get("deletionTimestamp"))


def _phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def pods_by_node(pods: list[Obj]) -> dict[str, list[Obj]]:
    out: dict[str, list[Obj]] = {}
    for pod in pods:
        out.setdefault(target_node(pod), []).append(pod)
    for group in out.values():
        group.sort(key=_pod_order)
    return out


def _keep_on_node(running: list[Obj], surge: bool, revision_hash: str, generation: str | None) -> list[Obj]:
    """Which of several running daemon pods on one node stay (``running`` sorted oldest first)."""
    if len(running) <= 1:
        return running
    if not surge:
        return running[:1]
    new = [p for p in running if is_pod_updated(p, revision_hash, generation)]
    old = [p for p in running if not is_pod_updated(p, revision_hash, generation)]
    if new and old and not is_pod_ready(new[0]) and is_pod_ready(old[0]):
        return [old[0], new[0]]
    return new[:1] if new else old[:1]


def plan_daemonset(ds: Obj, nodes: list[Obj], pods: list[Obj], revision_hash: str, now: float,
                   collision_count: int | None = None) -> DaemonPlan:
    """Pure: what one sync of ``ds`` does.  ``pods`` are the DaemonSet's own pods (any state)."""
    spec = ds.get("spec") or {}
    strategy = (spec.get("updateStrategy") or {}).get("type") or "RollingUpdate"
    min_ready = int(spec.get("minReadySeconds") or 0)
    generation = template_generation(ds)
    template = daemon_pod_template(ds, revision_hash)
    by_node = pods_by_node(pods)
    node_names = {_name(n) for n in nodes}
    runs = {_name(n): should_run(n, template) for n in nodes}
    desired = sum(1 for run, _ in runs.values() if run)
    surge, max_unavailable = surge_and_unavailable(ds, desired)
    surging = strategy == "RollingUpdate" and surge > 0
    plan = DaemonPlan()
    deletes: list[str] = []

    for node in sorted(node_names):
        run, keep_running = runs[node]
        on_node = by_node.get(node, [])
        if run and not on_node:
            plan.create_on.append(node)
        elif run:
            running: list[Obj] = []
            for pod in on_node:
                if _deleting(pod):
                    continue
                if _phase(pod) in ("Failed", "Succeeded"):
                    deletes.append(_name(pod))
                else:
                    running.append(pod)
            keep = _keep_on_node(running, surging, revision_hash, generation)
            deletes += [_name(p) for p in running if p not in keep]
        elif not keep_running:
            deletes += [_name(p) for p in on_node if not _deleting(p)]
    for node, group in by_node.items():
        if node and node not in node_names:
            deletes += [_name(p) for p in group if not (p.get("spec") or {}).get("nodeName") and not _deleting(p)]

    if strategy == "RollingUpdate":
        more_deletes, more_creates = _rolling_update(by_node, runs, surge, max_unavailable, revision_hash,
                                                     generation, min_ready, now)
        deletes += more_deletes
        plan.create_on += [n for n in more_creates if n not in plan.create_on]
    plan.delete = list(dict.fromkeys(deletes))
    plan.status = daemonset_status(ds, nodes, runs, by_node, revision_hash, generation, min_ready, now,
                                   collision_count)
    return plan


def _split(pods: list[Obj], revision_hash: str, generation: str | None) -> tuple[Obj | None, Obj | None, bool]:
    """(new pod, old pod, ok) among a node's non-deleting pods; not ok when there are several of a kind."""
    new: Obj | None = None
    old: Obj | None = None
    for pod in pods:
        if _deleting(pod):
            continue
        if is_pod_updated(pod, revision_hash, generation):
            if new is not None:
                return None, None, False
            new = pod
        else:
            if old is not None:
                return None, None, False
            old = pod
    return new, old, True


def _rolling_update(by_node: dict[str, list[Obj]], runs: dict[str, tuple[bool, bool]], surge: int,
                    max_unavailable: int, revision_hash: str, generation: str | None, min_ready: int,
                    now: float) -> tuple[list[str], list[str]]:
    nodes = sorted(n for n in by_node if n in runs)

    def available(pod: Obj) -> bool:
        return is_pod_available(pod, min_ready, now)

    if surge == 0:
        unavailable = 0
        allowed: list[str] = []
        candidates: list[str] = []
        for node in nodes:
            new, old, ok = _split(by_node[node], revision_hash, generation)
            if not ok or (new is None) == (old is None):
                unavailable += 1
            elif new is not None:
                if not available(new):
                    unavailable += 1
            elif old is not None:
                if not available(old):
                    allowed.append(_name(old))
                    unavailable += 1
                elif unavailable < max_unavailable:
                    candidates.append(_name(old))
        remaining = min(max(max_unavailable - unavailable, 0), len(candidates))
        return allowed + candidates[:remaining], []

    surged = 0
    allowed_nodes: list[str] = []
    candidate_nodes: list[str] = []
    old_to_delete: list[str] = []
    for node in nodes:
        new, old, ok = _split(by_node[node], revision_hash, generation)
        if not ok:
            surged += 1
            continue
        if old is None:
            continue
        if new is None:
            if not runs[node][0]:
                continue
            if not available(old):
                allowed_nodes.append(node)
            elif surged < surge:
                candidate_nodes.append(node)
            continue
        if _deleting(new):
            continue
        if not available(new):
            surged += 1
            continue
        old_to_delete.append(_name(old))
    remaining = min(max(surge - surged, 0), len(candidate_nodes))
    return old_to_delete, allowed_nodes + candidate_nodes[:remaining]


def daemonset_status(ds: Obj, nodes: list[Obj], runs: dict[str, tuple[bool, bool]],
                     by_node: dict[str, list[Obj]], revision_hash: str, generation: str | None, min_ready: int,
                     now: float, collision_count: int | None = None) -> Obj:
    desired = current = ready = available = updated = misscheduled = 0
    for node in nodes:
        name = _name(node)
        on_node = by_node.get(name, [])
        if runs[name][0]:
            desired += 1
            if not on_node:
                continue
            current += 1
            pod = on_node[0]
            if is_pod_ready(pod):
                ready += 1
                if is_pod_available(pod, min_ready, now):
                    available += 1
            if is_pod_updated(pod, revision_hash, generation):
                updated += 1
        elif on_node:
            misscheduled += 1
    status: Obj = {"currentNumberScheduled": current, "numberMisscheduled": misscheduled,
                   "desiredNumberScheduled": desired, "numberReady": ready,
                   "observedGeneration": _meta(ds).get("generation", 0), "updatedNumberScheduled": updated,
                   "numberAvailable": available}
    if desired - available:
        status["numberUnavailable"] = desired - available
    if collision_count:
        status["collisionCount"] = collision_count
    old_conditions = (ds.get("status") or {}).get("conditions")
    if old_conditions:
        status["conditions"] = old_conditions
    return status
