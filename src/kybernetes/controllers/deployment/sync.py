"""One Deployment sync (upstream ``sync.go``, ``rolling.go``, ``recreate.go`` drivers).

:class:`Rollout` holds the deployment copy being synced and its claimed ReplicaSets and applies the pure
decisions of :mod:`.rolling`, :mod:`.recreate`, :mod:`.progress` and :func:`proportional_sizes` through a
:class:`DeploymentApi` (real: the API server; fake: in-memory, for tests).  Each write replaces the local copy
with the server's answer so the next write carries the new resourceVersion.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from kybernetes.api.patch.common import clone
from kybernetes.client.errors import AlreadyExistsError
from kybernetes.controllers.common import owner_reference
from kybernetes.controllers.deployment import progress, recreate, rolling, util

Obj = dict[str, Any]


class DeploymentApi(Protocol):
    """Side effects of a deployment sync.  Errors propagate (the key is requeued)."""

    async def create_rs(self, namespace: str, rs: Obj) -> Obj: ...
    async def get_rs(self, namespace: str, name: str) -> Obj: ...
    async def update_rs(self, rs: Obj) -> Obj: ...
    async def delete_rs(self, rs: Obj) -> None: ...
    async def update_status(self, d: Obj) -> Obj: ...
    def event(self, obj: Obj, event_type: str, reason: str, message: str) -> None: ...


# -- pure ----------------------------------------------------------------------------------------------------

def replica_set_fraction(rs: Obj, d: Obj) -> int:
    """How much ``rs`` should grow (or shrink) for the deployment's new size (``getReplicaSetFraction``)."""
    if util.replicas(d) == 0:
        return -util.replicas(rs)
    deployment_replicas = util.replicas(d) + util.max_surge(d)
    annotated = util.annotations_of(rs).get(util.MAX_REPLICAS)
    try:
        base = int(annotated) if annotated is not None else util.status_int(d, "replicas")
    except ValueError:
        base = util.status_int(d, "replicas")
    if base == 0:
        return 0
    exact = util.replicas(rs) * deployment_replicas / base
    rounded = int(exact + 0.5) if exact >= 0 else -int(-exact + 0.5)  # Go math.Round: half away from zero
    return rounded - util.replicas(rs)


def proportion(rs: Obj, d: Obj, to_add: int, added: int) -> int:
    if util.replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = replica_set_fraction(rs, d)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def proportional_sizes(d: Obj, active_rss: list[Obj]) -> list[tuple[Obj, int]]:
    """New sizes for several active ReplicaSets when the deployment is scaled mid-rollout (upstream ``scale``):
    each gets its share by its max-replicas annotation, the leftover goes to the largest (newest on growth)."""
    allowed = util.replicas(d) + (util.max_surge(d) if util.is_rolling(d) else 0)
    to_add = allowed - util.total_replicas(active_rss)
    order = sorted(active_rss, key=util.size_newer_key if to_add > 0 else util.size_older_key)
    sizes: dict[str, int] = {}
    added = 0
    for rs in order:
        if to_add != 0:
            share = proportion(rs, d, to_add, added)
            sizes[util.name_of(rs)] = util.replicas(rs) + share
            added += share
        else:
            sizes[util.name_of(rs)] = util.replicas(rs)
    if to_add != 0 and order:
        first = util.name_of(order[0])
        sizes[first] = max(sizes[first] + to_add - added, 0)
    return [(rs, sizes[util.name_of(rs)]) for rs in order]


def rss_to_cleanup(d: Obj, old_rss: list[Obj]) -> list[Obj]:
    """Old, empty, settled ReplicaSets beyond ``revisionHistoryLimit``, lowest revision first."""
    limit = (d.get("spec") or {}).get("revisionHistoryLimit")
    if limit is None:
        return []
    alive = [rs for rs in old_rss if not (rs.get("metadata") or {}).get("deletionTimestamp")]
    diff = len(alive) - int(limit)
    if diff <= 0:
        return []
    out = []
    for rs in sorted(alive, key=util.revision_key)[:diff]:
        meta = rs.get("metadata") or {}
        settled = int(meta.get("generation") or 0) <= util.status_int(rs, "observedGeneration")
        if util.status_int(rs, "replicas") == 0 and util.replicas(rs) == 0 and settled:
            out.append(rs)
    return out


def is_scaling_event(d: Obj, rss: list[Obj]) -> bool:
    """An active ReplicaSet's desired-replicas annotation disagrees with ``spec.replicas``."""
    for rs in util.active(rss):
        desired = util.annotations_of(rs).get(util.DESIRED_REPLICAS)
        if desired is not None and desired != str(util.replicas(d)):
            return True
    return False


def new_rs_object(d: Obj, template_hash: str, size: int, new_revision: str) -> Obj:
    """The ReplicaSet for the deployment's current template: template + hash label, selector + hash label."""
    spec = d.get("spec") or {}
    template = clone(spec.get("template") or {})
    tmeta = template.setdefault("metadata", {})
    tmeta["labels"] = {**(tmeta.get("labels") or {}), util.DEFAULT_UNIQUE_LABEL: template_hash}
    selector = clone(spec.get("selector") or {})
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), util.DEFAULT_UNIQUE_LABEL: template_hash}
    meta = d.get("metadata") or {}
    rs: Obj = {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": f"{meta.get('name')}-{template_hash}", "namespace": meta.get("namespace"),
                     "labels": dict(tmeta["labels"]), "ownerReferences": [owner_reference(d)]},
        "spec": {"replicas": size, "minReadySeconds": int(spec.get("minReadySeconds") or 0),
                 "selector": selector, "template": template},
    }
    util.set_new_rs_annotations(d, rs, new_revision, exists=False)
    return rs


# -- the driver ----------------------------------------------------------------------------------------------

class Rollout:
    """One sync of one deployment.  ``d`` is a private copy; ``rss`` the ReplicaSets it controls."""

    def __init__(self, api: DeploymentApi, d: Obj, rss: list[Obj], pods_by_rs_uid: dict[str, list[Obj]] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.api = api
        self.d = d
        self.rss = [clone(rs) for rs in rss]
        self.pods_by_rs_uid = pods_by_rs_uid or {}
        self.clock = clock
        self.requeue: float | None = None  # seconds after which the controller should look again

    @property
    def namespace(self) -> str:
        return str((self.d.get("metadata") or {}).get("namespace") or "")

    # -- ReplicaSets -----------------------------------------------------------------------------------------

    def _replace(self, rs: Obj) -> Obj:
        self.rss = [rs if util.uid_of(r) == util.uid_of(rs) else r for r in self.rss]
        return rs

    async def scale_rs(self, rs: Obj, size: int) -> Obj:
        """Set size and replica annotations; ``ScalingReplicaSet`` event when the size changed."""
        old_size = util.replicas(rs)
        copy_ = clone(rs)
        changed = util.set_replicas_annotations(copy_, util.replicas(self.d),
                                                util.replicas(self.d) + util.max_surge(self.d))
        if old_size == size and not changed:
            return rs
        copy_.setdefault("spec", {})["replicas"] = size
        updated = self._replace(await self.api.update_rs(copy_))
        if old_size != size:
            direction = "up" if old_size < size else "down"
            self.api.event(self.d, "Normal", "ScalingReplicaSet",
                           f"Scaled {direction} replica set {util.name_of(rs)} from {old_size} to {size}")
        return updated

    async def all_rss_and_sync_revision(self, create: bool) -> tuple[Obj | None, list[Obj]]:
        new_rs = util.find_new_rs(self.d, self.rss)
        old = util.find_old_rss(new_rs, self.rss)
        new_rs = await self._new_rs(new_rs, old, create)
        return new_rs, old

    async def _update_status(self) -> None:
        self.d = await self.api.update_status(self.d)

    async def _new_rs(self, existing: Obj | None, old: list[Obj], create: bool) -> Obj | None:
        new_revision = str(util.max_revision(old) + 1)
        now = self.clock()
        status = self.d.setdefault("status", {})
        if existing is not None:
            rs: Obj = clone(existing)
            changed = util.set_new_rs_annotations(self.d, rs, new_revision, exists=True)
            min_ready = int((self.d.get("spec") or {}).get("minReadySeconds") or 0)
            if changed or int((rs.get("spec") or {}).get("minReadySeconds") or 0) != min_ready:
                rs.setdefault("spec", {})["minReadySeconds"] = min_ready
                return self._replace(await self.api.update_rs(rs))
            needs = util.set_deployment_revision(self.d, util.annotations_of(rs).get(util.REVISION, ""))
            if progress.has_progress_deadline(self.d) and progress.get_condition(status, progress.PROGRESSING) is None:
                progress.set_condition(status, progress.new_condition(
                    progress.PROGRESSING, "True", progress.FOUND_NEW_RS,
                    f'Found new replica set "{util.name_of(rs)}"', now))
                needs = True
            if needs:
                await self._update_status()
            return rs
        if not create:
            return None
        collisions = status.get("collisionCount")
        template_hash = util.compute_hash((self.d.get("spec") or {}).get("template") or {}, collisions)
        all_rss = [*old]
        size = rolling.new_rs_replicas(self.d, all_rss, None)
        rs = new_rs_object(self.d, template_hash, size, new_revision)
        already = False
        try:
            created = await self.api.create_rs(self.namespace, rs)
        except AlreadyExistsError:
            current = await self.api.get_rs(self.namespace, util.name_of(rs))
            if util.controlled_by(current, self.d) and util.equal_ignore_hash(
                    (current.get("spec") or {}).get("template"), (self.d.get("spec") or {}).get("template")):
                created, already = current, True
            else:
                status["collisionCount"] = int(collisions or 0) + 1
                await self._update_status()
                raise
        self.rss.append(created)
        if not already and size > 0:
            self.api.event(self.d, "Normal", "ScalingReplicaSet",
                           f"Scaled up replica set {util.name_of(created)} from 0 to {size}")
        util.set_deployment_revision(self.d, new_revision)
        if not already and progress.has_progress_deadline(self.d):
            progress.set_condition(self.d.setdefault("status", {}), progress.new_condition(
                progress.PROGRESSING, "True", progress.NEW_RS_CREATED,
                f'Created new replica set "{util.name_of(created)}"', now))
        await self._update_status()
        return created

    # -- sync / scale / cleanup ----------------------------------------------------------------------------

    async def sync(self) -> None:
        """Scaling or paused: resize the ReplicaSets, clean up when paused, write the status."""
        new_rs, old = await self.all_rss_and_sync_revision(create=False)
        await self.scale(new_rs, old)
        if (self.d.get("spec") or {}).get("paused"):
            await self.cleanup(old)
        new_rs = util.find_new_rs(self.d, self.rss)
        await self.sync_status(new_rs)

    async def scale(self, new_rs: Obj | None, old: list[Obj]) -> None:
        target = util.find_active_or_latest(new_rs, old)
        if target is not None:
            if util.replicas(target) != util.replicas(self.d):
                await self.scale_rs(target, util.replicas(self.d))
            return
        if util.is_saturated(self.d, new_rs):
            for rs in util.active(old):
                await self.scale_rs(rs, 0)
            return
        if util.active(old):
            for rs, size in proportional_sizes(self.d, util.active([*old, new_rs])):
                await self.scale_rs(rs, size)

    async def cleanup(self, old: list[Obj]) -> None:
        current = {util.uid_of(r): r for r in self.rss}
        for rs in rss_to_cleanup(self.d, [current.get(util.uid_of(r), r) for r in old]):
            await self.api.delete_rs(rs)
            self.rss = [r for r in self.rss if util.uid_of(r) != util.uid_of(rs)]

    async def sync_status(self, new_rs: Obj | None) -> None:
        status = progress.calculate_status(self.rss, new_rs, self.d, self.clock())
        if status != (self.d.get("status") or {}):
            self.d["status"] = status
            await self._update_status()

    async def sync_rollout_status(self, new_rs: Obj | None) -> None:
        now = self.clock()
        status = progress.rollout_status(self.d, self.rss, new_rs, now)
        if status != (self.d.get("status") or {}):
            self.d["status"] = status
            await self._update_status()
        self.requeue = progress.requeue_after(self.d, status, now)

    async def status_only(self) -> None:
        new_rs, _ = await self.all_rss_and_sync_revision(create=False)
        await self.sync_status(new_rs)

    async def check_paused(self) -> None:
        cond = progress.paused_condition(self.d, self.clock())
        if cond is not None:
            progress.set_condition(self.d.setdefault("status", {}), cond)
            await self._update_status()

    # -- strategies ------------------------------------------------------------------------------------------

    def _current(self, rs: Obj | None) -> Obj | None:
        if rs is None:
            return None
        return next((r for r in self.rss if util.uid_of(r) == util.uid_of(rs)), rs)

    async def rolling_update(self) -> None:
        new_rs, old = await self.all_rss_and_sync_revision(create=True)
        if new_rs is not None:
            size = rolling.new_rs_replicas(self.d, self.rss, new_rs)
            if util.replicas(new_rs) > util.replicas(self.d):
                size = util.replicas(self.d)
            if size != util.replicas(new_rs):
                new_rs = await self.scale_rs(new_rs, size)
                await self.sync_rollout_status(new_rs)
                return
        old = [self._current(r) or r for r in old]
        steps = rolling.old_rs_scale_down(self.d, new_rs, old)
        if steps:
            for name, size in steps:
                rs = next(r for r in self.rss if util.name_of(r) == name)
                await self.scale_rs(rs, size)
            await self.sync_rollout_status(self._current(new_rs))
            return
        if progress.deployment_complete(self.d, self.d.get("status") or {}):
            await self.cleanup(old)
        await self.sync_rollout_status(self._current(new_rs))

    async def recreate(self) -> None:
        new_rs, old = await self.all_rss_and_sync_revision(create=False)
        scaled = False
        for rs in util.active(old):
            await self.scale_rs(rs, 0)
            scaled = True
        if scaled:
            await self.sync_rollout_status(self._current(new_rs))
            return
        old = [self._current(r) or r for r in old]
        if recreate.old_pods_running(new_rs, old, self.pods_by_rs_uid):
            await self.sync_rollout_status(self._current(new_rs))
            return
        if new_rs is None:
            new_rs, old = await self.all_rss_and_sync_revision(create=True)
        if new_rs is not None and util.replicas(new_rs) != util.replicas(self.d):
            new_rs = await self.scale_rs(new_rs, util.replicas(self.d))
        if progress.deployment_complete(self.d, self.d.get("status") or {}):
            await self.cleanup(old)
        await self.sync_rollout_status(self._current(new_rs))
