"""The Deployment controller's wiring (upstream ``deployment_controller.go``): informers, handlers that map
Deployments, ReplicaSets and pods to deployment keys, ReplicaSet adoption, and the priority dispatch of a sync:
deleting → status only; paused or scaling → resize; otherwise the strategy (Recreate or RollingUpdate).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from kybernetes.api.errors import StatusError
from kybernetes.api.patch.common import clone
from kybernetes.api.selectors import LabelSelector, selector_from_label_selector
from kybernetes.client.errors import NotFoundError
from kybernetes.client.events import EventRecorder
from kybernetes.client.informer import Informer, split_key
from kybernetes.client.rest import Client, resource
from kybernetes.controllers.base import Context, Controller
from kybernetes.controllers.common import PODS, controller_ref, owner_reference
from kybernetes.controllers.deployment import sync as dsync
from kybernetes.controllers.deployment import util
from kybernetes.controllers.deployment.sync import DeploymentApi, Rollout

log = logging.getLogger(__name__)

Obj = dict[str, Any]
DEPLOYMENTS = resource("apps", "v1", "deployments")
REPLICASETS = resource("apps", "v1", "replicasets")


class RealDeploymentApi:
    """:class:`~.sync.DeploymentApi` against the API server."""

    def __init__(self, client: Client, recorder: EventRecorder) -> None:
        self.client = client
        self.recorder = recorder

    async def create_rs(self, namespace: str, rs: Obj) -> Obj:
        return await self.client.create(REPLICASETS, namespace, rs)

    async def get_rs(self, namespace: str, name: str) -> Obj:
        return await self.client.get(REPLICASETS, namespace, name)

    async def update_rs(self, rs: Obj) -> Obj:
        meta = rs["metadata"]
        return await self.client.update(REPLICASETS, meta["namespace"], meta["name"], rs)

    async def delete_rs(self, rs: Obj) -> None:
        meta = rs["metadata"]
        with contextlib.suppress(NotFoundError):
            await self.client.delete(REPLICASETS, meta["namespace"], meta["name"],
                                     preconditions={"uid": meta.get("uid"),
                                                    "resourceVersion": meta.get("resourceVersion")})

    async def update_status(self, d: Obj) -> Obj:
        meta = d["metadata"]
        return await self.client.update(DEPLOYMENTS, meta["namespace"], meta["name"], d, subresource="status")

    def event(self, obj: Obj, event_type: str, reason: str, message: str) -> None:
        self.recorder.record(obj, event_type, reason, message)


def deployment_selector(d: Obj) -> LabelSelector:
    try:
        return selector_from_label_selector((d.get("spec") or {}).get("selector"))
    except StatusError:
        return selector_from_label_selector(None)


class DeploymentController(Controller):
    name = "deployment"
    component = "deployment-controller"
    workers = 5

    def __init__(self, ctx: Context, api: DeploymentApi | None = None) -> None:
        super().__init__(ctx)
        self.api: DeploymentApi = api or RealDeploymentApi(ctx.client, self.recorder)

    def setup(self) -> None:
        self.deployments: Informer = self.ctx.informers.informer(DEPLOYMENTS)
        self.replicasets: Informer = self.ctx.informers.informer(REPLICASETS)
        self.pods: Informer = self.ctx.informers.informer(PODS)
        self.deployments.add_handlers(on_add=self.enqueue, on_update=lambda _o, n: self.enqueue(n),
                                      on_delete=self.enqueue)
        self.replicasets.add_handlers(on_add=self._add_rs, on_update=self._update_rs, on_delete=self._delete_rs)
        self.pods.add_handlers(on_delete=self._delete_pod)

    # -- handlers ----------------------------------------------------------------------------------------------

    def _resolve(self, namespace: str, ref: Obj | None) -> Obj | None:
        if ref is None or ref.get("kind") != "Deployment":
            return None
        d = self.deployments.lister.get(namespace, str(ref.get("name", "")))
        if d is None or util.uid_of(d) != ref.get("uid"):
            return None
        return d

    def _matching(self, rs: Obj) -> list[Obj]:
        meta = rs.get("metadata") or {}
        labels = meta.get("labels") or {}
        out = []
        for d in self.deployments.lister.list(str(meta.get("namespace") or "")):
            selector = deployment_selector(d)
            if not selector.empty and selector.matches(labels):
                out.append(d)
        return out

    def _add_rs(self, rs: Obj) -> None:
        ns = str((rs.get("metadata") or {}).get("namespace") or "")
        ref = controller_ref(rs)
        if ref is not None:
            d = self._resolve(ns, ref)
            if d is not None:
                self.enqueue(d)
            return
        for d in self._matching(rs):
            self.enqueue(d)

    def _update_rs(self, old: Obj, new: Obj) -> None:
        ns = str((new.get("metadata") or {}).get("namespace") or "")
        old_ref, new_ref = controller_ref(old), controller_ref(new)
        if old_ref is not None and (new_ref is None or old_ref.get("uid") != new_ref.get("uid")):
            d = self._resolve(ns, old_ref)
            if d is not None:
                self.enqueue(d)
        if new_ref is not None:
            d = self._resolve(ns, new_ref)
            if d is not None:
                self.enqueue(d)
            return
        if (old.get("metadata") or {}).get("labels") != (new.get("metadata") or {}).get("labels") or old_ref:
            for d in self._matching(new):
                self.enqueue(d)

    def _delete_rs(self, rs: Obj) -> None:
        d = self._resolve(str((rs.get("metadata") or {}).get("namespace") or ""), controller_ref(rs))
        if d is not None:
            self.enqueue(d)

    def _delete_pod(self, pod: Obj) -> None:
        """Recreate waits for old pods to vanish: a pod deletion may unblock it."""
        ns = str((pod.get("metadata") or {}).get("namespace") or "")
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        rs = self.replicasets.lister.get(ns, str(ref.get("name", "")))
        if rs is None:
            return
        d = self._resolve(ns, controller_ref(rs))
        if d is not None and not util.is_rolling(d):
            self.enqueue(d)

    # -- sync --------------------------------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        cached = self.deployments.lister.get(namespace, name)
        if cached is None:
            return
        d = clone(cached)
        selector = deployment_selector(d)
        if selector.empty:
            self.api.event(d, "Warning", "SelectingAll",
                           "This deployment is selecting all pods. A non-empty selector is required.")
            generation = (d.get("metadata") or {}).get("generation")
            if (d.get("status") or {}).get("observedGeneration") != generation:
                d.setdefault("status", {})["observedGeneration"] = generation
                await self.api.update_status(d)
            return
        rss = await self._claim(d, selector)
        pods: dict[str, list[Obj]] = {}
        if not util.is_rolling(d):
            uids = {util.uid_of(rs) for rs in rss}
            for pod in self.pods.lister.list(namespace, selector):
                ref = controller_ref(pod)
                if ref is not None and ref.get("uid") in uids:
                    pods.setdefault(str(ref["uid"]), []).append(pod)
        rollout = Rollout(self.api, d, rss, pods)
        if (d.get("metadata") or {}).get("deletionTimestamp"):
            await rollout.status_only()
            return
        await rollout.check_paused()
        if (d.get("spec") or {}).get("paused") or dsync.is_scaling_event(d, rss):
            await rollout.sync()
            return
        if util.is_rolling(d):
            await rollout.rolling_update()
        else:
            await rollout.recreate()
        if rollout.requeue is not None:
            self.queue.add_after(key, rollout.requeue)

    async def _claim(self, d: Obj, selector: LabelSelector) -> list[Obj]:
        """ReplicaSets controlled by ``d`` that still match; orphans that match are adopted, owned ones that no
        longer match are released (upstream ``ClaimReplicaSets``)."""
        namespace = str((d.get("metadata") or {}).get("namespace") or "")
        deleting = bool((d.get("metadata") or {}).get("deletionTimestamp"))
        owned: list[Obj] = []
        for rs in self.replicasets.lister.list(namespace):
            meta = rs.get("metadata") or {}
            ref = controller_ref(rs)
            matches = selector.matches(meta.get("labels") or {})
            if ref is not None:
                if ref.get("uid") != util.uid_of(d):
                    continue
                if matches:
                    owned.append(rs)
                elif not deleting and not meta.get("deletionTimestamp"):
                    await self._patch_owner(rs, [r for r in meta.get("ownerReferences") or []
                                                 if r.get("uid") != util.uid_of(d)] or None)
                continue
            if deleting or not matches or meta.get("deletionTimestamp"):
                continue
            refs = [*(meta.get("ownerReferences") or []), owner_reference(d)]
            try:
                adopted = await self._patch_owner(rs, refs)
            except NotFoundError:
                continue
            owned.append(adopted)
        return owned

    async def _patch_owner(self, rs: Obj, refs: list[Obj] | None) -> Obj:
        meta = rs["metadata"]
        return await self.client.patch(REPLICASETS, meta["namespace"], meta["name"],
                                       {"metadata": {"ownerReferences": refs, "uid": meta.get("uid")}})


__all__ = ["DeploymentController", "RealDeploymentApi"]
