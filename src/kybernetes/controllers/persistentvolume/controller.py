"""The PersistentVolume controller (upstream's ``persistentvolume-binder``): binds claims to volumes, keeps volume
phases (Available/Bound/Released/Failed), reclaims released volumes, hands claims to external provisioners
(``volume.kubernetes.io/storage-provisioner``), and creates the default StorageClass ``local-path`` at start.

Keys: ``claim:<ns>/<name>`` and ``volume:<name>``.  Decisions come from :mod:`.decide` (pure).  A volume whose
claim is gone becomes Released only after a live GET confirms the claim is gone (the cache may lag).
Reclaim: ``Retain`` keeps the volume Released; ``Delete`` of a volume with ``pv.kubernetes.io/provisioned-by`` is
the provisioner's job (ours runs in the node agent: :mod:`kybernetes.agent.localpath`); ``Delete`` of any other
volume fails like upstream's hostPath deleter outside /tmp (phase Failed, event ``VolumeFailedDelete``).

Options: ``default_storage_class`` (bool, default True), ``storage_provisioner`` (default ``rancher.io/local-path``).
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import logging
from typing import Any

from kybernetes.api import pvmatch as pm
from kybernetes.client.errors import AlreadyExistsError, ApiError, NotFoundError
from kybernetes.client.informer import split_key
from kybernetes.client.rest import resource
from kybernetes.controllers.base import Controller
from kybernetes.controllers.manager import register
from kybernetes.controllers.persistentvolume.decide import claim_action, volume_action

log = logging.getLogger(__name__)
Obj = dict[str, Any]
PVCS = resource("", "v1", "persistentvolumeclaims")
PVS = resource("", "v1", "persistentvolumes")
CLASSES = resource("storage.k8s.io", "v1", "storageclasses")
DEFAULT_CLASS = "local-path"
DEFAULT_PROVISIONER = "rancher.io/local-path"


def default_storage_class(provisioner: str = DEFAULT_PROVISIONER) -> Obj:
    """k3s's ``local-path`` class: default, Delete, WaitForFirstConsumer."""
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": DEFAULT_CLASS, "annotations": {pm.ANN_DEFAULT_CLASS: "true"}},
            "provisioner": provisioner, "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer"}


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


@register
class PersistentVolumeController(Controller):
    name = "persistentvolume-binder"
    component = "persistentvolume-controller"
    workers = 2

    def setup(self) -> None:
        inf = self.ctx.informers
        pvcs, pvs, classes = inf.informer(PVCS), inf.informer(PVS), inf.informer(CLASSES)
        self.pvcs, self.pvs, self.classes = pvcs.lister, pvs.lister, classes.lister
        pvcs.add_handlers(self._claim_changed, lambda _o, n: self._claim_changed(n), self._claim_deleted)
        pvs.add_handlers(self._volume_changed, lambda _o, n: self._volume_changed(n), self._volume_changed)
        classes.add_handlers(lambda _c: self._pending_claims(), lambda _o, _n: self._pending_claims())

    # -- event handlers -----------------------------------------------------------------------------------

    def _claim_changed(self, claim: Obj) -> None:
        meta = _meta(claim)
        self.enqueue_key(f"claim:{meta.get('namespace', '')}/{meta.get('name', '')}")
        volume = (claim.get("spec") or {}).get("volumeName")
        if volume:
            self.enqueue_key(f"volume:{volume}")

    def _claim_deleted(self, claim: Obj) -> None:
        volume = (claim.get("spec") or {}).get("volumeName")
        if volume:
            self.enqueue_key(f"volume:{volume}")
        for pv in self.pvs.list():
            ref = (pv.get("spec") or {}).get("claimRef") or {}
            if ref.get("uid") and ref.get("uid") == _meta(claim).get("uid"):
                self.enqueue_key(f"volume:{_meta(pv).get('name', '')}")

    def _volume_changed(self, volume: Obj) -> None:
        self.enqueue_key(f"volume:{_meta(volume).get('name', '')}")
        ref = (volume.get("spec") or {}).get("claimRef")
        if ref:
            self.enqueue_key(f"claim:{ref.get('namespace', '')}/{ref.get('name', '')}")
        self._pending_claims()

    def _pending_claims(self) -> None:
        for claim in self.pvcs.list():
            if not (claim.get("spec") or {}).get("volumeName"):
                self._claim_changed(claim)

    # -- sync ---------------------------------------------------------------------------------------------

    async def background(self) -> None:
        if self.ctx.options.get("default_storage_class", True) is False:
            return
        provisioner = str(self.ctx.options.get("storage_provisioner") or DEFAULT_PROVISIONER)
        while True:
            try:
                await self.client.create(CLASSES, "", default_storage_class(provisioner))
                return
            except AlreadyExistsError:
                return
            except ApiError as exc:
                log.debug("default storage class: %s", exc)
            await asyncio.sleep(2)

    async def sync(self, key: str) -> None:
        kind, _, rest = key.partition(":")
        if kind == "claim":
            ns, name = split_key(rest)
            claim = self.pvcs.get(ns, name)
            if claim is not None:
                await self._sync_claim(claim)
        elif kind == "volume":
            volume = self.pvs.get("", rest)
            if volume is not None:
                await self._sync_volume(volume)

    async def _sync_claim(self, claim: Obj) -> None:
        volumes = {str(_meta(v).get("name", "")): v for v in self.pvs.list()}
        classes = {str(_meta(c).get("name", "")): c for c in self.classes.list()}
        action = claim_action(claim, volumes, classes)
        for event_type, reason, message in action.events:
            self.recorder.record(claim, event_type, reason, message)
        if action.kind == "bind" and action.volume is not None:
            await self._bind(action.volume, claim)
        elif action.kind == "provision":
            await self._annotate_provisioner(claim, action.provisioner)
        elif action.kind == "lost":
            await self._set_claim_status(claim, {"phase": "Lost"})

    async def _bind(self, volume: Obj, claim: Obj) -> None:
        """Upstream's ``bind``: volume claimRef → volume phase Bound → claim volumeName → claim phase Bound."""
        cmeta, vname = _meta(claim), str(_meta(volume).get("name", ""))
        if not pm.is_bound_to(volume, claim) or not ((volume.get("spec") or {}).get("claimRef") or {}).get("uid"):
            new = copy.deepcopy(volume)
            if not (new.get("spec") or {}).get("claimRef"):
                new.setdefault("metadata", {}).setdefault("annotations", {})[pm.ANN_BOUND_BY_CONTROLLER] = "yes"
            new.setdefault("spec", {})["claimRef"] = {
                "kind": "PersistentVolumeClaim", "namespace": cmeta.get("namespace", ""),
                "name": cmeta.get("name", ""), "uid": cmeta.get("uid", ""), "apiVersion": "v1",
                "resourceVersion": cmeta.get("resourceVersion", "")}
            volume = await self.client.update(PVS, "", vname, new)
        if (volume.get("status") or {}).get("phase") != "Bound":
            volume = await self._set_volume_phase(volume, "Bound")
        if (claim.get("spec") or {}).get("volumeName") != vname or \
                (cmeta.get("annotations") or {}).get(pm.ANN_BIND_COMPLETED) != "yes":
            new = copy.deepcopy(claim)
            ann = new.setdefault("metadata", {}).setdefault("annotations", {})
            ann[pm.ANN_BIND_COMPLETED] = "yes"
            if not (new.get("spec") or {}).get("volumeName"):
                ann[pm.ANN_BOUND_BY_CONTROLLER] = "yes"
                new.setdefault("spec", {})["volumeName"] = vname
            claim = await self.client.update(PVCS, cmeta.get("namespace", ""), cmeta.get("name", ""), new)
        vspec = volume.get("spec") or {}
        want = {"phase": "Bound", "accessModes": list(vspec.get("accessModes") or []),
                "capacity": dict(vspec.get("capacity") or {})}
        status = claim.get("status") or {}
        if any(status.get(k) != v for k, v in want.items()):
            await self._set_claim_status(claim, want)

    async def _annotate_provisioner(self, claim: Obj, provisioner: str) -> None:
        ann = _meta(claim).get("annotations") or {}
        if ann.get(pm.ANN_STORAGE_PROVISIONER) == provisioner:
            return
        new = copy.deepcopy(claim)
        nann = new.setdefault("metadata", {}).setdefault("annotations", {})
        nann[pm.ANN_STORAGE_PROVISIONER] = provisioner
        nann[pm.ANN_BETA_STORAGE_PROVISIONER] = provisioner
        await self.client.update(PVCS, _meta(claim).get("namespace", ""), _meta(claim).get("name", ""), new)

    async def _set_claim_status(self, claim: Obj, status: Obj) -> None:
        new = copy.deepcopy(claim)
        new.setdefault("status", {}).update(status)
        meta = _meta(claim)
        await self.client.update(PVCS, meta.get("namespace", ""), meta.get("name", ""), new, subresource="status")

    async def _set_volume_phase(self, volume: Obj, phase: str, message: str = "") -> Obj:
        new = copy.deepcopy(volume)
        status = new.setdefault("status", {})
        status["phase"] = phase
        if message:
            status["message"] = message
        else:
            status.pop("message", None)
        status["lastPhaseTransitionTime"] = _now()
        return await self.client.update(PVS, "", str(_meta(volume).get("name", "")), new, subresource="status")

    async def _sync_volume(self, volume: Obj) -> None:
        ref = (volume.get("spec") or {}).get("claimRef") or {}
        claim = self.pvcs.get(ref.get("namespace", ""), ref.get("name", "")) if ref else None
        action = volume_action(volume, claim)
        if action.kind == "phase" and action.phase == "Released" and claim is None:
            try:  # the cache may lag behind a just-created claim
                claim = await self.client.get(PVCS, ref.get("namespace", ""), ref.get("name", ""))
                action = volume_action(volume, claim)
            except NotFoundError:
                pass
        if action.kind == "phase":
            volume = await self._set_volume_phase(volume, action.phase)
            if action.phase == "Released":
                await self._reclaim(volume)
        elif action.kind == "released":
            await self._reclaim(volume)
        elif action.kind == "unbind":
            new = copy.deepcopy(volume)
            new["spec"].pop("claimRef", None)
            (new["metadata"].get("annotations") or {}).pop(pm.ANN_BOUND_BY_CONTROLLER, None)
            await self.client.update(PVS, "", str(_meta(volume).get("name", "")), new)

    async def _reclaim(self, volume: Obj) -> None:
        policy = (volume.get("spec") or {}).get("persistentVolumeReclaimPolicy") or "Retain"
        if policy != "Delete":
            return
        if (_meta(volume).get("annotations") or {}).get(pm.ANN_PROVISIONED_BY):
            return  # the external provisioner deletes it
        message = (f'error getting deleter volume plugin for volume "{_meta(volume).get("name", "")}": '
                   "no deletable volume plugin matched")
        self.recorder.record(volume, "Warning", "VolumeFailedDelete", message)
        await self._set_volume_phase(volume, "Failed", message)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

