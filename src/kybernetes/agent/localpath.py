"""The ``local-path`` dynamic provisioner, run by each node agent for its own node.

Why in the agent: the volume is a directory (and, here, an ext4 image) on the node's disk, so the process that owns
the node creates it; k3s runs a helper pod for that, we have the agent already there.  Provisioner name
``rancher.io/local-path`` (k3s's), so manifests and charts written for k3s's default class behave the same; unlike
k3s the size is enforced (:mod:`kybernetes.kubelet.volumes.loopfs`).

Contract (the external-provisioner protocol):

* a claim is ours when it is unbound, not being deleted, annotated ``volume.kubernetes.io/storage-provisioner:
  rancher.io/local-path`` by the PV controller, and its ``volume.kubernetes.io/selected-node`` is this node
  (WaitForFirstConsumer; the scheduler sets it).  We create ``<data-dir>/storage/pvc-<uid>_<ns>_<name>`` of the
  requested size and a PV ``pvc-<claim uid>`` pre-bound to the claim (``claimRef``), hostPath
  ``DirectoryOrCreate``, node affinity ``kubernetes.io/hostname In [node]``, reclaim policy from the class,
  annotation ``pv.kubernetes.io/provisioned-by``; events ``Provisioning`` / ``ProvisioningSucceeded`` /
  ``ProvisioningFailed`` on the claim.  The PV controller then binds.
* a PV of ours on this node whose phase is Released and policy Delete: unmount, remove the directory and image,
  delete the PV object.
* :meth:`LocalPathProvisioner.cleanup` unmounts every image (``--cleanup``); data stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from kybernetes.api import pvmatch as pm
from kybernetes.api.quantity import parse_quantity
from kybernetes.client.errors import AlreadyExistsError, ApiError, NotFoundError
from kybernetes.client.events import EventRecorder
from kybernetes.client.informer import Informer
from kybernetes.client.rest import Client, resource
from kybernetes.kubelet.volumes.loopfs import VolumeBackend

log = logging.getLogger(__name__)
Obj = dict[str, Any]
PROVISIONER = "rancher.io/local-path"
PVCS = resource("", "v1", "persistentvolumeclaims")
PVS = resource("", "v1", "persistentvolumes")
CLASSES = resource("storage.k8s.io", "v1", "storageclasses")
HOSTNAME_LABEL = "kubernetes.io/hostname"


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def volume_dir(root: Path, claim: Obj) -> Path:
    meta = _meta(claim)
    return root / f"pvc-{meta.get('uid', '')}_{meta.get('namespace', '')}_{meta.get('name', '')}"


def wants_provisioning(claim: Obj, node: str, classes: dict[str, Obj]) -> Obj | None:
    """The claim's StorageClass when this node should provision it, else None."""
    meta = _meta(claim)
    ann = meta.get("annotations") or {}
    if meta.get("deletionTimestamp") or (claim.get("spec") or {}).get("volumeName"):
        return None
    if ann.get(pm.ANN_STORAGE_PROVISIONER) != PROVISIONER or ann.get(pm.ANN_SELECTED_NODE) != node:
        return None
    sc = classes.get(pm.claim_class(claim))
    if sc is None or sc.get("provisioner") != PROVISIONER:
        return None
    return sc


def build_volume(claim: Obj, sc: Obj, node: str, path: Path) -> Obj:
    meta, spec = _meta(claim), claim.get("spec") or {}
    size = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "0")
    return {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": f"pvc-{meta.get('uid', '')}",
                     "annotations": {pm.ANN_PROVISIONED_BY: PROVISIONER, "local.path.provisioner/selected-node": node}},
        "spec": {
            "capacity": {"storage": size},
            "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
            "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy") or "Delete",
            "storageClassName": _meta(sc).get("name", ""),
            "volumeMode": spec.get("volumeMode") or "Filesystem",
            "claimRef": {"kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": meta.get("namespace", ""),
                         "name": meta.get("name", ""), "uid": meta.get("uid", ""),
                         "resourceVersion": meta.get("resourceVersion", "")},
            "hostPath": {"path": str(path), "type": "DirectoryOrCreate"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": HOSTNAME_LABEL, "operator": "In", "values": [node]}]}]}},
        },
    }


def to_delete(pv: Obj, node: str) -> bool:
    ann = _meta(pv).get("annotations") or {}
    return (ann.get(pm.ANN_PROVISIONED_BY) == PROVISIONER and ann.get("local.path.provisioner/selected-node") == node
            and (pv.get("status") or {}).get("phase") in ("Released", "Failed")
            and (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy") == "Delete")


class LocalPathProvisioner:
    def __init__(self, client: Client, node: str, root: Path, backend: VolumeBackend) -> None:
        self.client, self.node, self.root, self.backend = client, node, root, backend
        self.recorder = EventRecorder(client, f"{PROVISIONER}_{node}")
        self.claims = Informer(client, PVCS)
        self.volumes = Informer(client, PVS)
        self.classes = Informer(client, CLASSES)
        self._wake = asyncio.Event()
        for inf in (self.claims, self.volumes, self.classes):
            inf.add_handlers(lambda _o: self._wake.set(), lambda _o, _n: self._wake.set(), lambda _o: self._wake.set())

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            for name, inf in (("claims", self.claims), ("volumes", self.volumes), ("classes", self.classes)):
                tg.create_task(inf.run(), name=f"local-path {name}")
            tg.create_task(self.recorder.run(), name="local-path events")
            for inf in (self.claims, self.volumes, self.classes):
                await inf.synced.wait()
            while True:
                self._wake.clear()
                try:
                    await self.reconcile()
                except (ApiError, OSError) as exc:
                    log.warning("local-path: %s", exc)
                    await asyncio.sleep(1)
                    self._wake.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 10)

    async def reconcile(self) -> None:
        classes = {str(_meta(c).get("name", "")): c for c in self.classes.lister.list()}
        existing = {str(_meta(v).get("name", "")) for v in self.volumes.lister.list()}
        for claim in self.claims.lister.list():
            sc = wants_provisioning(claim, self.node, classes)
            if sc is None or f"pvc-{_meta(claim).get('uid', '')}" in existing:
                continue
            await self.provision(claim, sc)
        for pv in self.volumes.lister.list():
            if to_delete(pv, self.node):
                await self.delete(pv)

    async def provision(self, claim: Obj, sc: Obj) -> None:
        meta = _meta(claim)
        self.recorder.record(claim, "Normal", "Provisioning",
                             f'External provisioner is provisioning volume for claim "{meta.get("namespace", "")}/'
                             f'{meta.get("name", "")}"')
        path = volume_dir(self.root, claim)
        size = ((claim.get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage", "0")
        try:
            await self.backend.create(path, parse_quantity(size).int_value())
        except OSError as exc:
            self.recorder.record(claim, "Warning", "ProvisioningFailed",
                                 f'failed to provision volume with StorageClass "{_meta(sc).get("name", "")}": {exc}')
            return
        pv = build_volume(claim, sc, self.node, path)
        try:
            await self.client.create(PVS, "", pv)
        except AlreadyExistsError:
            return
        self.recorder.record(claim, "Normal", "ProvisioningSucceeded",
                             f"Successfully provisioned volume {pv['metadata']['name']}")

    async def delete(self, pv: Obj) -> None:
        path = Path(str(((pv.get("spec") or {}).get("hostPath") or {}).get("path", "")))
        if path.is_relative_to(self.root) and path != self.root:
            await self.backend.destroy(path)
        with contextlib.suppress(NotFoundError):
            await self.client.delete(PVS, "", str(_meta(pv).get("name", "")))

    async def cleanup(self) -> None:
        await self.backend.unmount_all(self.root)
