"""The DaemonSet controller: wiring (informers → keys) and ``sync`` (listers → :func:`plan_daemonset` → effects).

Per sync: bring the ControllerRevision history up to date (the update revision's hash labels new pods), plan,
create pods pinned to their node (``metadata.name In [node]`` node affinity; the scheduler binds them) and delete
pods, both guarded by creation/deletion expectations, write the status if it changed, prune history beyond
``revisionHistoryLimit``.  Events: ``SuccessfulCreate`` ``Created pod: <name>`` (via :class:`RealPodControl`).
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable
from typing import Any

from kybernetes.client.errors import ApiError, NotFoundError
from kybernetes.client.rest import resource
from kybernetes.controllers.base import Controller
from kybernetes.controllers.common import (
    Expectations,
    PodControl,
    RealPodControl,
    controller_ref,
    is_controlled_by,
    is_pod_available,
    is_pod_ready,
    pod_from_template,
)
from kybernetes.controllers.daemonset.plan import DaemonPlan, plan_daemonset
from kybernetes.controllers.daemonset.predicates import daemon_pod_template, pin_to_node
from kybernetes.controllers.history import (
    CONTROLLER_REVISIONS,
    DEFAULT_HISTORY_LIMIT,
    HASH_LABEL,
    HistoryControl,
    RealHistoryControl,
    apply_history,
    owned_revisions,
    revisions_to_prune,
)
from kybernetes.controllers.manager import register

Obj = dict[str, Any]
DAEMONSETS = resource("apps", "v1", "daemonsets")
NODES = resource("", "v1", "nodes")
PODS = resource("", "v1", "pods")
CREATE_BATCH = 64


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


@register
class DaemonSetController(Controller):
    name = "daemonset"
    component = "daemonset-controller"

    def setup(self) -> None:
        factory = self.ctx.informers
        self.daemonsets = factory.informer(DAEMONSETS)
        self.pods = factory.informer(PODS)
        self.nodes = factory.informer(NODES)
        self.revisions = factory.informer(CONTROLLER_REVISIONS)
        self.pod_control: PodControl = RealPodControl(self.client, self.recorder)
        self.history_control: HistoryControl = RealHistoryControl(self.client)
        self.expectations = Expectations()
        self.clock: Callable[[], float] = time.time
        self.daemonsets.add_handlers(self.enqueue, lambda _old, new: self.enqueue(new), self.enqueue)
        self.pods.add_handlers(self._pod_added, self._pod_updated, self._pod_deleted)
        self.nodes.add_handlers(self._node_changed, self._node_updated, self._node_changed)
        self.revisions.add_handlers(self._owned_changed, lambda _old, new: self._owned_changed(new),
                                    self._owned_changed)

    # -- handlers ------------------------------------------------------------------------------------------------

    def _owner_key(self, obj: Obj) -> str | None:
        ref = controller_ref(obj)
        if ref is None or ref.get("kind") != "DaemonSet":
            return None
        return f"{_meta(obj).get('namespace', '')}/{ref.get('name', '')}"

    def _owned_changed(self, obj: Obj) -> None:
        key = self._owner_key(obj)
        if key is not None:
            self.enqueue_key(key)

    def _pod_added(self, pod: Obj) -> None:
        key = self._owner_key(pod)
        if key is not None:
            self.expectations.creation_observed(key)
            self.enqueue_key(key)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        key = self._owner_key(new)
        if key is None:
            return
        if _meta(new).get("deletionTimestamp") and not _meta(old).get("deletionTimestamp"):
            self.expectations.deletion_observed(key)
        self.enqueue_key(key)

    def _pod_deleted(self, pod: Obj) -> None:
        key = self._owner_key(pod)
        if key is not None:
            if not _meta(pod).get("deletionTimestamp"):
                self.expectations.deletion_observed(key)
            self.enqueue_key(key)

    def _node_changed(self, _node: Obj) -> None:
        for ds in self.daemonsets.lister.list():
            self.enqueue(ds)

    def _node_updated(self, old: Obj, new: Obj) -> None:
        def shape(node: Obj) -> tuple[Any, ...]:
            return (_meta(node).get("labels"), (node.get("spec") or {}).get("taints"),
                    (node.get("spec") or {}).get("unschedulable"))
        if shape(old) != shape(new):
            self._node_changed(new)

    # -- sync ----------------------------------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        ds = self.daemonsets.lister.get(namespace, name)
        if ds is None:
            self.expectations.forget(key)
            return
        if _meta(ds).get("deletionTimestamp"):
            return
        revisions = owned_revisions(ds, self.revisions.lister.list(namespace))
        collision = int((ds.get("status") or {}).get("collisionCount") or 0)
        update_rev, collision = await apply_history(self.history_control, ds, revisions, collision)
        revision_hash = str((_meta(update_rev).get("labels") or {}).get(HASH_LABEL, ""))
        pods = [p for p in self.pods.lister.list(namespace) if is_controlled_by(p, ds)]
        nodes = self.nodes.lister.list()
        now = self.clock()
        plan = plan_daemonset(ds, nodes, pods, revision_hash, now, collision or None)
        if self.expectations.satisfied(key):
            await self._apply(key, ds, plan, revision_hash)
        await self._update_status(ds, plan.status)
        await self._prune_history(ds, pods, revisions, str(_meta(update_rev).get("name", "")))
        self._requeue_for_availability(key, ds, pods, now)

    async def _apply(self, key: str, ds: Obj, plan: DaemonPlan, revision_hash: str) -> None:
        if not plan.create_on and not plan.delete:
            return
        namespace = _meta(ds).get("namespace", "")
        self.expectations.expect(key, adds=len(plan.create_on), deletes=len(plan.delete))
        template = daemon_pod_template(ds, revision_hash)
        errors: list[BaseException] = []

        async def create(node: str) -> None:
            pod = pod_from_template(template, ds, generate_name=f"{_meta(ds).get('name', '')}-")
            pin_to_node(pod["spec"], node)
            try:
                created = await self.pod_control.create_pod(namespace, pod, ds)
            except ApiError as exc:
                self.expectations.lower(key, adds=1)
                errors.append(exc)
                return
            if created is None:
                self.expectations.lower(key, adds=1)

        async def delete(pod_name: str) -> None:
            try:
                if not await self.pod_control.delete_pod(namespace, pod_name, ds):
                    self.expectations.lower(key, deletes=1)
            except ApiError as exc:
                self.expectations.lower(key, deletes=1)
                errors.append(exc)

        for start in range(0, len(plan.create_on), CREATE_BATCH):
            await asyncio.gather(*(create(n) for n in plan.create_on[start:start + CREATE_BATCH]))
        await asyncio.gather(*(delete(n) for n in plan.delete))
        if errors:
            raise errors[0]

    async def _update_status(self, ds: Obj, status: Obj) -> None:
        current = ds.get("status") or {}
        if all(current.get(k) == v for k, v in status.items()) and set(current) <= set(status):
            return
        updated = copy.deepcopy(ds)
        updated["status"] = status
        meta = _meta(ds)
        try:
            await self.client.update(DAEMONSETS, meta.get("namespace", ""), meta.get("name", ""), updated,
                                     subresource="status")
        except NotFoundError:
            return

    async def _prune_history(self, ds: Obj, pods: list[Obj], revisions: list[Obj], update_name: str) -> None:
        limit = (ds.get("spec") or {}).get("revisionHistoryLimit")
        limit = DEFAULT_HISTORY_LIMIT if limit is None else int(limit)
        live_hashes = {(_meta(p).get("labels") or {}).get("controller-revision-hash") for p in pods}
        in_use = {update_name} | {str(_meta(r).get("name", "")) for r in revisions
                                  if (_meta(r).get("labels") or {}).get(HASH_LABEL) in live_hashes}
        for revision in revisions_to_prune(revisions, in_use, limit):
            await self.history_control.delete(revision)

    def _requeue_for_availability(self, key: str, ds: Obj, pods: list[Obj], now: float) -> None:
        min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
        if min_ready > 0 and any(is_pod_ready(p) and not is_pod_available(p, min_ready, now) for p in pods):
            self.queue.add_after(key, float(min_ready))
