"""The ReplicaSet controller (upstream ``pkg/controller/replicaset``), shared with the ReplicationController one.

Contract: one ``sync(key)`` per ReplicaSet key.  It claims the pods of the namespace (adopting orphans that match
the selector, releasing owned pods that no longer match), creates or deletes pods until the active ones equal
``spec.replicas`` and writes ``status`` (replicas, fullyLabeledReplicas, readyReplicas, availableReplicas,
observedGeneration, the ``ReplicaFailure`` condition).  Creates go out in slow-start batches (1, 2, 4, …) and at
most :data:`BURST_REPLICAS` per sync; :class:`~kybernetes.controllers.common.Expectations` hold the next sync
back until the informer has seen the pods this one created or deleted, so a stale cache never doubles a
burst — also after a restart, since the claimed pods come from the informer's fresh list.

The decisions are pure functions (:func:`replicas_diff`, :func:`slow_start_batches`, :func:`pods_to_delete`,
:func:`calculate_status`); pod side effects go through :class:`~kybernetes.controllers.common.PodControl`.
:class:`ReplicaSetController` is parametrised by a :class:`WorkloadKind` so ReplicationControllers (map
selectors, core/v1) reuse it unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kybernetes.api.registry import Resource
from kybernetes.api.selectors import LabelSelector, selector_from_label_selector
from kybernetes.client.errors import ApiError, NotFoundError
from kybernetes.client.informer import Informer, key_of, split_key
from kybernetes.client.rest import resource
from kybernetes.controllers.base import Context, Controller
from kybernetes.controllers.common import (
    PODS,
    Expectations,
    PodControl,
    RealPodControl,
    controller_ref,
    is_pod_active,
    is_pod_available,
    is_pod_ready,
    now_rfc3339,
    owner_reference,
    parse_time,
    pod_condition,
    pod_from_template,
)
from kybernetes.controllers.manager import register

log = logging.getLogger(__name__)

Obj = dict[str, Any]
REPLICASETS = resource("apps", "v1", "replicasets")
BURST_REPLICAS = 500  # upstream's burstReplicas: most pods created or deleted by one sync
SLOW_START_INITIAL_BATCH = 1
POD_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
CONTROLLER_UID_INDEX = "replicaset-controller/controller-uid"
ORPHAN_INDEX = "replicaset-controller/orphans"
REPLICA_FAILURE = "ReplicaFailure"


# -- what differs between ReplicaSets and ReplicationControllers ---------------------------------------------

@dataclass(frozen=True)
class WorkloadKind:
    """The owner kind a :class:`ReplicaSetController` manages."""

    resource: Resource
    kind: str
    api_version: str
    selector: Callable[[Obj], LabelSelector]


def label_selector_of(rs: Obj) -> LabelSelector:
    """``spec.selector`` as a LabelSelector (matchLabels + matchExpressions); nothing when absent or invalid."""
    spec = (rs.get("spec") or {}).get("selector")
    if spec is None:
        return selector_from_label_selector(None)
    try:
        return selector_from_label_selector(spec)
    except Exception:  # an invalid selector selects nothing, like upstream's error path
        return selector_from_label_selector(None)


def map_selector_of(rc: Obj) -> LabelSelector:
    """A ReplicationController's map selector; an empty map selects nothing (validation forbids it anyway)."""
    labels = (rc.get("spec") or {}).get("selector") or {}
    if not labels:
        return selector_from_label_selector(None)
    return selector_from_label_selector({"matchLabels": labels})


REPLICASET_KIND = WorkloadKind(REPLICASETS, "ReplicaSet", "apps/v1", label_selector_of)


# -- pure decisions ------------------------------------------------------------------------------------------

def spec_replicas(obj: Obj) -> int:
    """``spec.replicas`` with upstream's default of 1."""
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def replicas_diff(desired: int, active: int, burst: int = BURST_REPLICAS) -> int:
    """Pods to create (> 0) or delete (< 0), capped at ``burst`` either way."""
    diff = desired - active
    return max(-burst, min(burst, diff))


def slow_start_batches(count: int, initial: int = SLOW_START_INITIAL_BATCH) -> list[int]:
    """Batch sizes for ``count`` creates: ``initial``, then doubling, the last one trimmed (upstream
    ``slowStartBatch``).  A batch with a failure stops the rest."""
    batches: list[int] = []
    remaining = count
    size = min(remaining, initial)
    while size > 0:
        batches.append(size)
        remaining -= size
        size = min(2 * size, remaining)
    return batches


_PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}


def _log_rank(then: float | None, now: float) -> int:
    """Upstream's logarithmic age bucket: pods whose ages are within a factor of two compare equal."""
    if then is None:
        return -1
    age_ns = (now - then) * 1e9
    return -1 if age_ns <= 1 else int(math.log2(age_ns))


def _deletion_cost(pod: Obj) -> int:
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(POD_DELETION_COST)
    try:
        return int(value) if value is not None else 0
    except ValueError:
        return 0


def _max_restarts(pod: Obj) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return max((int(s.get("restartCount") or 0) for s in statuses), default=0)


def deletion_sort_key(pod: Obj, rank: int, now: float) -> tuple[Any, ...]:
    """Sort key putting the pods to delete first (upstream ``ActivePodsWithRanks.Less`` with
    LogarithmicScaleDown and PodDeletionCost): unscheduled, then pending < unknown < running, not ready, more
    pods on the same node, lower deletion cost, ready for less time, more restarts, newer, then by uid."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    ready = is_pod_ready(pod)
    ready_since = parse_time((pod_condition(pod, "Ready") or {}).get("lastTransitionTime")) if ready else None
    created = parse_time(meta.get("creationTimestamp"))
    return (
        1 if spec.get("nodeName") else 0,
        _PHASE_ORDER.get(str(status.get("phase") or ""), 0 if not status.get("phase") else 1),
        1 if ready else 0,
        -rank,
        _deletion_cost(pod),
        _log_rank(ready_since, now) if ready else 0,
        -_max_restarts(pod),
        _log_rank(created, now),
        str(meta.get("uid") or ""),
    )


def pods_to_delete(pods: list[Obj], related: list[Obj], count: int, now: float) -> list[Obj]:
    """The ``count`` pods to delete first; ``related`` (pods of the same owner's other sets) rank pods on
    crowded nodes first."""
    if count >= len(pods):
        return list(pods)
    per_node: dict[str, int] = {}
    for pod in related:
        node = (pod.get("spec") or {}).get("nodeName")
        if node and is_pod_active(pod):
            per_node[node] = per_node.get(node, 0) + 1

    def rank(pod: Obj) -> int:
        node = (pod.get("spec") or {}).get("nodeName")
        return per_node.get(node, 0) if node else 0

    return sorted(pods, key=lambda p: deletion_sort_key(p, rank(p), now))[:count]


def _condition(status: Obj, kind: str) -> Obj | None:
    for cond in status.get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return None


def calculate_status(rs: Obj, pods: list[Obj], manage_error: str | None, now: float) -> Obj:
    """The new ``status`` for ``rs`` from its claimed active ``pods`` (upstream ``calculateStatus``);
    ``manage_error`` is the message of a failed create/delete (sets ``ReplicaFailure``)."""
    spec = rs.get("spec") or {}
    old = rs.get("status") or {}
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    fully_labeled = ready = available = 0
    wanted = template_labels.items()
    for pod in pods:
        if wanted <= ((pod.get("metadata") or {}).get("labels") or {}).items():  # label values are strings
            fully_labeled += 1
        if is_pod_ready(pod):
            ready += 1
            if min_ready <= 0 or is_pod_available(pod, min_ready, now):
                available += 1
    status: Obj = {k: copy.deepcopy(v) for k, v in old.items()
                   if k not in ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas")}
    status["replicas"] = len(pods)
    status["fullyLabeledReplicas"] = fully_labeled
    status["readyReplicas"] = ready
    status["availableReplicas"] = available
    failure = _condition(old, REPLICA_FAILURE)
    if manage_error is not None and failure is None:
        diff = len(pods) - spec_replicas(rs)
        reason = "FailedCreate" if diff < 0 else "FailedDelete" if diff > 0 else ""
        cond = {"type": REPLICA_FAILURE, "status": "True", "reason": reason, "message": manage_error,
                "lastTransitionTime": now_rfc3339()}
        status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != REPLICA_FAILURE]
        status["conditions"].append(cond)
    elif manage_error is None and failure is not None:
        status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != REPLICA_FAILURE]
    if not status.get("conditions"):
        status.pop("conditions", None)
    return status


def status_needs_update(rs: Obj, status: Obj) -> bool:
    old = rs.get("status") or {}
    generation = (rs.get("metadata") or {}).get("generation")
    keys = ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas")
    if any(int(old.get(k) or 0) != int(status.get(k) or 0) for k in keys):
        return True
    if generation is not None and old.get("observedGeneration") != generation:
        return True
    return (old.get("conditions") or []) != (status.get("conditions") or [])


@dataclass
class Claim:
    """The result of matching a namespace's pods against one owner."""

    owned: list[Obj]
    adopt: list[Obj]
    release: list[Obj]


def claim_pods(owner: Obj, selector: LabelSelector, pods: list[Obj]) -> Claim:
    """Upstream ``PodControllerRefManager.ClaimPods`` as a decision: pods owned and matching stay, orphans that
    match are adopted (unless the owner or the pod is being deleted), owned pods that stopped matching are
    released (unless the owner is being deleted)."""
    meta = owner.get("metadata") or {}
    uid = meta.get("uid")
    owner_deleting = bool(meta.get("deletionTimestamp"))
    claim = Claim([], [], [])
    for pod in pods:
        pmeta = pod.get("metadata") or {}
        ref = controller_ref(pod)
        matches = selector.matches(pmeta.get("labels") or {})
        if ref is not None:
            if ref.get("uid") != uid:
                continue
            if matches:
                claim.owned.append(pod)
            elif not owner_deleting and not pmeta.get("deletionTimestamp"):
                claim.release.append(pod)
            continue
        if owner_deleting or not matches or pmeta.get("deletionTimestamp"):
            continue
        claim.adopt.append(pod)
    return claim


def adoption_patch(owner: Obj, pod: Obj) -> Obj:
    refs = [r for r in (pod.get("metadata") or {}).get("ownerReferences") or []
            if r.get("uid") != (owner.get("metadata") or {}).get("uid")]
    return {"metadata": {"ownerReferences": [*refs, owner_reference(owner)],
                         "uid": (pod.get("metadata") or {}).get("uid")}}


def release_patch(owner: Obj, pod: Obj) -> Obj:
    uid = (owner.get("metadata") or {}).get("uid")
    refs = [r for r in (pod.get("metadata") or {}).get("ownerReferences") or [] if r.get("uid") != uid]
    return {"metadata": {"ownerReferences": refs or None, "uid": (pod.get("metadata") or {}).get("uid")}}


def controller_uid_index(obj: Obj) -> list[str]:
    ref = controller_ref(obj)
    return [str(ref["uid"])] if ref and ref.get("uid") else []


def orphan_index(obj: Obj) -> list[str]:
    """Pods without a controller, by namespace: the only ones a set may adopt."""
    if controller_ref(obj) is not None:
        return []
    return [str((obj.get("metadata") or {}).get("namespace") or "")]


# -- the controller ------------------------------------------------------------------------------------------

class ReplicaSetController(Controller):
    name = "replicaset"
    component = "replicaset-controller"
    workers = 5
    workload: WorkloadKind = REPLICASET_KIND

    def __init__(self, ctx: Context, pod_control: PodControl | None = None) -> None:
        self.expectations = Expectations()
        self._deleting: dict[str, set[str]] = {}  # owner key → pod keys whose deletion is expected
        super().__init__(ctx)
        self.pod_control: PodControl = pod_control or RealPodControl(ctx.client, self.recorder)

    def setup(self) -> None:
        self.owners: Informer = self.ctx.informers.informer(self.workload.resource)
        self.pods: Informer = self.ctx.informers.informer(PODS)
        self.pods.store.add_indexer(CONTROLLER_UID_INDEX, controller_uid_index)
        self.pods.store.add_indexer(ORPHAN_INDEX, orphan_index)
        self.owners.add_handlers(on_add=self.enqueue, on_update=self._update_owner, on_delete=self._delete_owner)
        self.pods.add_handlers(on_add=self._add_pod, on_update=self._update_pod, on_delete=self._delete_pod)

    # -- handlers: resolve to owner keys and enqueue ---------------------------------------------------------

    def _update_owner(self, old: Obj, new: Obj) -> None:
        self.enqueue(new)

    def _delete_owner(self, obj: Obj) -> None:
        key = key_of(obj)
        self.expectations.forget(key)
        self._deleting.pop(key, None)
        self.enqueue_key(key)

    def _resolve(self, namespace: str, ref: Obj | None) -> Obj | None:
        if ref is None or ref.get("kind") != self.workload.kind:
            return None
        owner = self.owners.lister.get(namespace, str(ref.get("name", "")))
        if owner is None or (owner.get("metadata") or {}).get("uid") != ref.get("uid"):
            return None
        return owner

    def _matching_owners(self, pod: Obj) -> list[Obj]:
        meta = pod.get("metadata") or {}
        labels = meta.get("labels") or {}
        return [o for o in self.owners.lister.list(str(meta.get("namespace") or ""))
                if self.workload.selector(o).matches(labels)]

    def _add_pod(self, pod: Obj) -> None:
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            self._delete_pod(pod)
            return
        owner = self._resolve(str(meta.get("namespace") or ""), controller_ref(pod))
        if owner is not None:
            self.expectations.creation_observed(key_of(owner))
            self.enqueue(owner)
            return
        if controller_ref(pod) is None:
            for candidate in self._matching_owners(pod):
                self.enqueue(candidate)

    def _update_pod(self, old: Obj, new: Obj) -> None:
        ns = str((new.get("metadata") or {}).get("namespace") or "")
        if (new.get("metadata") or {}).get("deletionTimestamp"):
            self._observe_deletion(new)
        old_ref, new_ref = controller_ref(old), controller_ref(new)
        if old_ref is not None and (new_ref is None or old_ref.get("uid") != new_ref.get("uid")):
            previous = self._resolve(ns, old_ref)
            if previous is not None:
                self.enqueue(previous)
        if new_ref is not None:
            owner = self._resolve(ns, new_ref)
            if owner is not None:
                self.enqueue(owner)
                min_ready = int((owner.get("spec") or {}).get("minReadySeconds") or 0)
                if min_ready > 0 and not is_pod_ready(old) and is_pod_ready(new):
                    self.queue.add_after(key_of(owner), float(min_ready) + 1.0)
            return
        labels_changed = (old.get("metadata") or {}).get("labels") != (new.get("metadata") or {}).get("labels")
        if labels_changed or old_ref is not None:
            for candidate in self._matching_owners(new):
                self.enqueue(candidate)

    def _observe_deletion(self, pod: Obj) -> None:
        meta = pod.get("metadata") or {}
        owner = self._resolve(str(meta.get("namespace") or ""), controller_ref(pod))
        if owner is None:
            return
        okey, pkey = key_of(owner), key_of(pod)
        pending = self._deleting.get(okey)
        if pending is not None and pkey in pending:
            pending.discard(pkey)
            self.expectations.deletion_observed(okey)

    def _delete_pod(self, pod: Obj) -> None:
        meta = pod.get("metadata") or {}
        owner = self._resolve(str(meta.get("namespace") or ""), controller_ref(pod))
        if owner is None:
            return
        self._observe_deletion(pod)
        self.enqueue(owner)

    # -- sync --------------------------------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        cached = self.owners.lister.get(namespace, name)
        if cached is None:
            self.expectations.forget(key)
            self._deleting.pop(key, None)
            return
        rs = cached  # read only: the status write below sends a new top-level dict
        selector = self.workload.selector(rs)
        needs_sync = self.expectations.satisfied(key)
        pods = await self._claim(rs, selector)
        active = [p for p in pods if is_pod_active(p)]
        manage_error: str | None = None
        if needs_sync and not (rs.get("metadata") or {}).get("deletionTimestamp"):
            try:
                await self._manage(key, rs, active)
            except ApiError as exc:
                manage_error = exc.message or str(exc)
        status = calculate_status(rs, active, manage_error, time.time())
        if status_needs_update(rs, status):
            generation = (rs.get("metadata") or {}).get("generation")
            if generation is not None:
                status["observedGeneration"] = generation
            try:
                await self.client.update(self.workload.resource, namespace, name, {**rs, "status": status},
                                         subresource="status")
            except NotFoundError:
                return
        min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
        replicas = status["replicas"]
        if (manage_error is None and min_ready > 0 and status["readyReplicas"] == replicas
                and status["availableReplicas"] != replicas):
            self.queue.add_after(key, float(min_ready))
        if manage_error is not None:
            raise RuntimeError(f"{self.workload.kind} {key}: {manage_error}")

    async def _claim(self, rs: Obj, selector: LabelSelector) -> list[Obj]:
        namespace = str((rs.get("metadata") or {}).get("namespace") or "")
        # only pods this set controls or nobody controls can be claimed: look those up by index, not by scan
        uid = str((rs.get("metadata") or {}).get("uid") or "")
        candidates = self.pods.lister.by_index(CONTROLLER_UID_INDEX, uid) + \
            self.pods.lister.by_index(ORPHAN_INDEX, namespace)
        claim = claim_pods(rs, selector, candidates)
        owned = list(claim.owned)
        if claim.adopt and await self._can_adopt(rs):
            for pod in claim.adopt:
                try:
                    await self.pod_control.patch_pod(namespace, pod["metadata"]["name"], adoption_patch(rs, pod))
                except NotFoundError:
                    continue
                owned.append(pod)
        for pod in claim.release:
            with contextlib.suppress(NotFoundError):
                await self.pod_control.patch_pod(namespace, pod["metadata"]["name"], release_patch(rs, pod))
        return owned

    async def _can_adopt(self, rs: Obj) -> bool:
        """Re-read the owner uncached: never adopt for an owner that is gone or being deleted."""
        meta = rs.get("metadata") or {}
        try:
            fresh = await self.client.get(self.workload.resource, meta.get("namespace", ""), meta.get("name", ""))
        except NotFoundError:
            return False
        fmeta = fresh.get("metadata") or {}
        return fmeta.get("uid") == meta.get("uid") and not fmeta.get("deletionTimestamp")

    async def _manage(self, key: str, rs: Obj, active: list[Obj]) -> None:
        diff = replicas_diff(spec_replicas(rs), len(active))
        namespace = str((rs.get("metadata") or {}).get("namespace") or "")
        if diff > 0:
            await self._create(key, rs, namespace, diff)
        elif diff < 0:
            related = self._related_pods(rs)
            victims = pods_to_delete(active, related, -diff, time.time())
            self.expectations.expect(key, deletes=len(victims))
            self._deleting[key] = {key_of(p) for p in victims}
            results = await asyncio.gather(
                *(self.pod_control.delete_pod(namespace, p["metadata"]["name"], rs) for p in victims),
                return_exceptions=True)
            first_error: BaseException | None = None
            for pod, result in zip(victims, results, strict=True):
                if isinstance(result, BaseException) or result is False:
                    self._deleting.get(key, set()).discard(key_of(pod))
                    self.expectations.deletion_observed(key)
                    if isinstance(result, BaseException) and first_error is None:
                        first_error = result
            if first_error is not None:
                raise first_error

    async def _create(self, key: str, rs: Obj, namespace: str, count: int) -> None:
        self.expectations.expect(key, adds=count)
        template = (rs.get("spec") or {}).get("template") or {}
        name = (rs.get("metadata") or {}).get("name", "")
        done = 0
        for batch in slow_start_batches(count):
            results = await asyncio.gather(
                *(self.pod_control.create_pod(namespace, pod_from_template(template, rs, generate_name=f"{name}-"),
                                              rs) for _ in range(batch)),
                return_exceptions=True)
            done += batch
            errors = [r for r in results if isinstance(r, BaseException)]
            for result in results:
                if result is None or isinstance(result, BaseException):
                    self.expectations.creation_observed(key)  # will never be observed
            if errors:
                self.expectations.lower(key, adds=count - done)
                raise errors[0]

    def _related_pods(self, rs: Obj) -> list[Obj]:
        """Pods of every set controlled by the same owner as ``rs`` (e.g. a Deployment's ReplicaSets)."""
        ref = controller_ref(rs)
        uid = str((rs.get("metadata") or {}).get("uid") or "")
        if ref is None:
            return self.pods.lister.by_index(CONTROLLER_UID_INDEX, uid)
        namespace = str((rs.get("metadata") or {}).get("namespace") or "")
        related: list[Obj] = []
        for sibling in self.owners.lister.list(namespace):
            sref = controller_ref(sibling)
            if sref is not None and sref.get("uid") == ref.get("uid"):
                related.extend(self.pods.lister.by_index(CONTROLLER_UID_INDEX,
                                                         str(sibling["metadata"].get("uid") or "")))
        return related


register(ReplicaSetController)
