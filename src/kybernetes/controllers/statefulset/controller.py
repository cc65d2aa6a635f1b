"""The StatefulSet controller: wiring (informers → keys) and ``sync`` (listers → :func:`plan_statefulset` →
:class:`StatefulPodControl`).

Per sync: bring the ControllerRevision history up to date (update revision = the set's template; current
revision = ``status.currentRevision`` if it still exists), plan, run the actions in order (a pod's missing PVCs
are created before the pod; with ``whenScaled: Delete`` a condemned pod's claims get the pod as owner before it
is deleted), write the status if it changed, prune history beyond ``revisionHistoryLimit``.  No expectations
are needed: names are stable, so a create from a stale cache fails with AlreadyExists, which is ignored.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

from kybernetes.client.errors import NotFoundError
from kybernetes.client.rest import resource
from kybernetes.controllers.base import Controller
from kybernetes.controllers.common import (
    controller_ref,
    is_controlled_by,
    is_pod_available,
    is_pod_ready,
    owner_reference,
)
from kybernetes.controllers.history import (
    CONTROLLER_REVISIONS,
    DEFAULT_HISTORY_LIMIT,
    HistoryControl,
    RealHistoryControl,
    apply_history,
    owned_revisions,
    revisions_to_prune,
)
from kybernetes.controllers.manager import register
from kybernetes.controllers.statefulset.control import PVCS, RealStatefulPodControl, StatefulPodControl
from kybernetes.controllers.statefulset.plan import Action, plan_statefulset
from kybernetes.controllers.statefulset.pods import claim_name, ordinal_of, pod_revision, retention_policy

Obj = dict[str, Any]
STATEFULSETS = resource("apps", "v1", "statefulsets")
PODS = resource("", "v1", "pods")


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


@register
class StatefulSetController(Controller):
    name = "statefulset"
    component = "statefulset-controller"

    def setup(self) -> None:
        factory = self.ctx.informers
        self.sets = factory.informer(STATEFULSETS)
        self.pods = factory.informer(PODS)
        self.claims = factory.informer(PVCS)
        self.revisions = factory.informer(CONTROLLER_REVISIONS)
        self.pod_control: StatefulPodControl = RealStatefulPodControl(self.client, self.recorder)
        self.history_control: HistoryControl = RealHistoryControl(self.client)
        self.clock: Callable[[], float] = time.time
        self.sets.add_handlers(self.enqueue, lambda _old, new: self.enqueue(new), self.enqueue)
        self.pods.add_handlers(self._owned_changed, lambda _old, new: self._owned_changed(new),
                               self._owned_changed)
        self.revisions.add_handlers(self._owned_changed, lambda _old, new: self._owned_changed(new),
                                    self._owned_changed)

    def _owned_changed(self, obj: Obj) -> None:
        ref = controller_ref(obj)
        if ref is not None and ref.get("kind") == "StatefulSet":
            self.enqueue_key(f"{_meta(obj).get('namespace', '')}/{ref.get('name', '')}")

    async def sync(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        sts = self.sets.lister.get(namespace, name)
        if sts is None:
            return
        revisions = owned_revisions(sts, self.revisions.lister.list(namespace))
        collision = int((sts.get("status") or {}).get("collisionCount") or 0)
        update_rev, collision = await apply_history(self.history_control, sts, revisions, collision)
        current_name = (sts.get("status") or {}).get("currentRevision")
        current_rev = next((r for r in revisions if _meta(r).get("name") == current_name), update_rev)
        pods = [p for p in self.pods.lister.list(namespace) if is_controlled_by(p, sts)]
        now = self.clock()
        plan = plan_statefulset(sts, pods, current_rev, update_rev, now, collision)
        for action in plan.actions:
            await self._run(sts, action)
        await self._update_status(sts, plan.status)
        in_use = {pod_revision(p) for p in pods} | {str(_meta(current_rev).get("name")),
                                                    str(_meta(update_rev).get("name"))}
        limit = (sts.get("spec") or {}).get("revisionHistoryLimit")
        for revision in revisions_to_prune(revisions, in_use, DEFAULT_HISTORY_LIMIT if limit is None else int(limit)):
            await self.history_control.delete(revision)
        min_ready = int((sts.get("spec") or {}).get("minReadySeconds") or 0)
        if min_ready > 0 and any(is_pod_ready(p) and not is_pod_available(p, min_ready, now) for p in pods):
            self.queue.add_after(key, float(min_ready))

    async def _run(self, sts: Obj, action: Action) -> None:
        if action.kind == "create":
            for claim in action.claims:
                if self.claims.lister.get(_meta(claim).get("namespace", ""), _meta(claim).get("name", "")) is None:
                    await self.pod_control.create_claim(sts, action.pod, claim)
            await self.pod_control.create_pod(sts, action.pod)
        elif action.kind == "delete":
            await self._own_condemned_claims(sts, action.pod)
            await self.pod_control.delete_pod(sts, action.pod)
        elif action.kind == "patch" and action.patch is not None:
            await self.pod_control.patch_pod(sts, action.pod, action.patch)

    async def _own_condemned_claims(self, sts: Obj, pod: Obj) -> None:
        """``whenScaled: Delete``: a pod removed by a scale-down takes its claims with it."""
        spec = sts.get("spec") or {}
        ordinal = ordinal_of(pod)
        start = int((spec.get("ordinals") or {}).get("start") or 0)
        replicas = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
        if retention_policy(sts)[1] != "Delete" or start <= ordinal < start + replicas:
            return
        ref = owner_reference(pod, controller=False)
        ref.setdefault("apiVersion", "v1")
        ref["kind"] = ref["kind"] or "Pod"
        for template in spec.get("volumeClaimTemplates") or []:
            name = claim_name(str(_meta(template).get("name", "")), sts, ordinal)
            claim = self.claims.lister.get(_meta(sts).get("namespace", ""), name)
            if claim is None:
                continue
            refs = [r for r in _meta(claim).get("ownerReferences") or [] if r.get("uid") != ref["uid"]]
            await self.pod_control.patch_claim(sts, name, {"metadata": {"ownerReferences": [*refs, ref]}})

    async def _update_status(self, sts: Obj, status: Obj) -> None:
        current = sts.get("status") or {}
        if all(current.get(k) == v for k, v in status.items()) and set(current) <= set(status):
            return
        updated = copy.deepcopy(sts)
        updated["status"] = status
        meta = _meta(sts)
        try:
            await self.client.update(STATEFULSETS, meta.get("namespace", ""), meta.get("name", ""), updated,
                                     subresource="status")
        except NotFoundError:
            return
