"""The StatefulSet controller's pure decision (upstream ``updateStatefulSet`` + ``computeReplicaStatus``).

:func:`plan_statefulset` returns the actions of one sync, in order, and the status they lead to:

* Slots ``start .. start+replicas-1``: a missing pod is created (with its PVCs first) from the update revision,
  or from the current revision when its ordinal is below the RollingUpdate ``partition``; a failed/succeeded pod
  is deleted (recreated next sync); an existing pod whose identity labels drifted is patched.
* OrderedReady (``monotonic``): stop after a create, and wait while any pod is terminating, not Running+Ready, or
  not yet available for ``minReadySeconds``.  Parallel: no waiting.
* Pods with ordinals outside the slots are condemned and deleted highest ordinal first (one at a time, each only
  once the others are healthy, when monotonic).
* RollingUpdate: from the highest ordinal down to ``partition``, delete the first pod not at the update revision
  and wait for each to be healthy again.  OnDelete: nothing is replaced.
* Status: replicas/ready/available/current/updated counts over the set's pods plus planned creates; once every
  pod is updated and ready, the current revision becomes the update revision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kybernetes.controllers.common import is_pod_available, is_pod_ready
from kybernetes.controllers.history import template_of
from kybernetes.controllers.statefulset.pods import (
    claims_for,
    identity_patch,
    is_member,
    new_stateful_pod,
    ordinal_of,
    pod_revision,
)

Obj = dict[str, Any]


@dataclass
class Action:
    kind: str  # "create" | "delete" | "patch"
    pod: Obj  # the new pod (create) or the existing one
    claims: list[Obj] = field(default_factory=list)  # create: the PVCs to ensure first
    patch: Obj | None = None

    @property
    def name(self) -> str:
        return str((self.pod.get("metadata") or {}).get("name", ""))


@dataclass
class StatefulPlan:
    actions: list[Action] = field(default_factory=list)
    status: Obj = field(default_factory=dict)
    waiting_for: str = ""  # the pod a monotonic sync stopped at, "" if it did not stop


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _deleting(pod: Obj) -> bool:
    return bool(_meta(pod).get("deletionTimestamp"))


def _phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def running_and_ready(pod: Obj) -> bool:
    return _phase(pod) == "Running" and is_pod_ready(pod)


def healthy(pod: Obj, min_ready: int, now: float) -> bool:
    return running_and_ready(pod) and not _deleting(pod) and is_pod_available(pod, min_ready, now)


def plan_statefulset(sts: Obj, pods: list[Obj], current_revision: Obj, update_revision: Obj, now: float,
                     collision_count: int | None = None) -> StatefulPlan:
    """Pure: the actions and status of one sync.  ``pods`` are the set's own pods."""
    spec = sts.get("spec") or {}
    replicas = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    start = int((spec.get("ordinals") or {}).get("start") or 0)
    strategy = spec.get("updateStrategy") or {}
    rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
    partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0) if rolling else 0
    monotonic = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
    min_ready = int(spec.get("minReadySeconds") or 0)
    current_name = str(_meta(current_revision).get("name", ""))
    update_name = str(_meta(update_revision).get("name", ""))

    members = [p for p in pods if is_member(sts, p)]
    slots: list[Obj | None] = [None] * replicas
    condemned: list[Obj] = []
    for member in members:
        index = ordinal_of(member) - start
        if 0 <= index < replicas:
            slots[index] = member
        else:
            condemned.append(member)
    condemned.sort(key=ordinal_of)

    plan = StatefulPlan()
    created: list[Obj] = []
    if _meta(sts).get("deletionTimestamp"):
        plan.status = statefulset_status(sts, members, [], current_name, update_name, min_ready, now,
                                         collision_count)
        return plan

    def stop(pod: Obj) -> StatefulPlan:
        plan.waiting_for = str(_meta(pod).get("name", ""))
        plan.status = statefulset_status(sts, members, created, current_name, update_name, min_ready, now,
                                         collision_count)
        return plan

    unhealthy = [p for p in slots if p is not None and not healthy(p, min_ready, now)]
    unhealthy += [p for p in condemned if not healthy(p, min_ready, now)]
    first_unhealthy = unhealthy[0] if unhealthy else None

    for index in range(replicas):
        ordinal = start + index
        pod = slots[index]
        if pod is None:
            use_current = rolling and ordinal < start + partition
            revision = current_revision if use_current else update_revision
            name = current_name if use_current else update_name
            new = new_stateful_pod(sts, template_of(revision), name, ordinal)
            plan.actions.append(Action("create", new, claims_for(sts, ordinal)))
            created.append(new)
            if monotonic:
                return stop(new)
            continue
        if _phase(pod) in ("Failed", "Succeeded"):
            if not _deleting(pod):
                plan.actions.append(Action("delete", pod))
            if monotonic:
                return stop(pod)
            continue
        if monotonic and not healthy(pod, min_ready, now):
            return stop(pod)
        patch = identity_patch(sts, pod)
        if patch is not None and not _deleting(pod):
            plan.actions.append(Action("patch", pod, patch=patch))

    for victim in reversed(condemned):
        if _deleting(victim):
            if monotonic:
                return stop(victim)
            continue
        if monotonic and not running_and_ready(victim) and victim is not first_unhealthy:
            return stop(victim)
        plan.actions.append(Action("delete", victim))
        if monotonic:
            return stop(victim)

    if rolling:
        for index in range(replicas - 1, partition - 1, -1):
            target = slots[index]
            if target is None:
                continue
            if pod_revision(target) != update_name and not _deleting(target):
                plan.actions.append(Action("delete", target))
                return stop(target)
            if not healthy(target, min_ready, now):
                return stop(target)

    plan.status = statefulset_status(sts, members, created, current_name, update_name, min_ready, now,
                                     collision_count)
    return plan


def statefulset_status(sts: Obj, pods: list[Obj], created: list[Obj], current_name: str, update_name: str,
                       min_ready: int, now: float, collision_count: int | None = None) -> Obj:
    replicas = ready = available = current = updated = 0
    for pod in [*pods, *created]:
        replicas += 1
        if running_and_ready(pod):
            ready += 1
            if is_pod_available(pod, min_ready, now):
                available += 1
        if not _deleting(pod):
            revision = pod_revision(pod)
            current += revision == current_name
            updated += revision == update_name
    status: Obj = {"observedGeneration": _meta(sts).get("generation", 0), "replicas": replicas,
                   "readyReplicas": ready, "currentReplicas": current, "updatedReplicas": updated,
                   "availableReplicas": available, "currentRevision": current_name,
                   "updateRevision": update_name, "collisionCount": collision_count or 0}
    rolling = ((sts.get("spec") or {}).get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
    if rolling and updated == replicas and ready == replicas:
        status["currentReplicas"] = updated
        status["currentRevision"] = update_name
    old_conditions = (sts.get("status") or {}).get("conditions")
    if old_conditions:
        status["conditions"] = old_conditions
    return status
