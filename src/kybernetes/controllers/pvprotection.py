"""The pvc-protection and pv-protection controllers (upstream's ``pkg/controller/volume/pvcprotection`` and
``pvprotection``).

Admission puts ``kubernetes.io/pvc-protection`` on every new claim and ``kubernetes.io/pv-protection`` on every new
volume.  These controllers remove the finalizer of an object being deleted once it is no longer in use:

* a claim is in use while a pod of its namespace that is not terminated (phase not Succeeded/Failed) names it in a
  ``persistentVolumeClaim`` volume (or an ephemeral volume ``<pod>-<volume>``); the informer's answer is confirmed
  by a live LIST before the finalizer goes, as upstream;
* a volume is in use while its phase is Bound.
"""

from __future__ import annotations

import copy
from typing import Any

from kybernetes.api.pvmatch import PV_PROTECTION, PVC_PROTECTION
from kybernetes.client.errors import NotFoundError
from kybernetes.client.informer import split_key
from kybernetes.client.rest import resource
from kybernetes.controllers.base import Controller
from kybernetes.controllers.manager import register

Obj = dict[str, Any]
PODS = resource("", "v1", "pods")
PVCS = resource("", "v1", "persistentvolumeclaims")
PVS = resource("", "v1", "persistentvolumes")


def pod_claims(pod: Obj) -> list[str]:
    """Names of the claims a pod uses."""
    names: list[str] = []
    pod_name = (pod.get("metadata") or {}).get("name", "")
    for vol in (pod.get("spec") or {}).get("volumes") or []:
        if (vol.get("persistentVolumeClaim") or {}).get("claimName"):
            names.append(str(vol["persistentVolumeClaim"]["claimName"]))
        elif vol.get("ephemeral") is not None:
            names.append(f"{pod_name}-{vol.get('name', '')}")
    return names


def pod_uses_claim(pod: Obj, claim: str) -> bool:
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False
    return claim in pod_claims(pod)


def being_deleted_with(obj: Obj | None, finalizer: str) -> bool:
    meta = (obj or {}).get("metadata") or {}
    return bool(meta.get("deletionTimestamp")) and finalizer in (meta.get("finalizers") or [])


@register
class PVProtectionController(Controller):
    name = "pvc-protection"
    component = "pvc-protection-controller"
    workers = 2

    def setup(self) -> None:
        inf = self.ctx.informers
        pods, pvcs, pvs = inf.informer(PODS), inf.informer(PVCS), inf.informer(PVS)
        self.pods, self.pvcs, self.pvs = pods.lister, pvcs.lister, pvs.lister
        pvcs.add_handlers(self._claim, lambda _o, n: self._claim(n))
        pvs.add_handlers(self._volume, lambda _o, n: self._volume(n))
        pods.add_handlers(self._pod, lambda _o, n: self._pod(n), self._pod)

    def _claim(self, claim: Obj) -> None:
        if being_deleted_with(claim, PVC_PROTECTION):
            meta = claim.get("metadata") or {}
            self.enqueue_key(f"claim:{meta.get('namespace', '')}/{meta.get('name', '')}")

    def _volume(self, volume: Obj) -> None:
        if being_deleted_with(volume, PV_PROTECTION):
            self.enqueue_key(f"volume:{(volume.get('metadata') or {}).get('name', '')}")

    def _pod(self, pod: Obj) -> None:
        ns = (pod.get("metadata") or {}).get("namespace", "")
        for claim in pod_claims(pod):
            self.enqueue_key(f"claim:{ns}/{claim}")

    async def sync(self, key: str) -> None:
        kind, _, rest = key.partition(":")
        if kind == "claim":
            ns, name = split_key(rest)
            claim = self.pvcs.get(ns, name)
            if not being_deleted_with(claim, PVC_PROTECTION):
                return
            if any(pod_uses_claim(p, name) for p in self.pods.list(ns)):
                return
            live, _ = await self.client.list_all(PODS, ns)
            if any(pod_uses_claim(p, name) for p in live):
                return
            await self._remove(PVCS, ns, name, PVC_PROTECTION)
        elif kind == "volume":
            volume = self.pvs.get("", rest)
            if not being_deleted_with(volume, PV_PROTECTION):
                return
            if ((volume or {}).get("status") or {}).get("phase") == "Bound":
                return
            await self._remove(PVS, "", rest, PV_PROTECTION)

    async def _remove(self, res: Any, ns: str, name: str, finalizer: str) -> None:
        try:
            fresh = await self.client.get(res, ns, name)
        except NotFoundError:
            return
        new = copy.deepcopy(fresh)
        finalizers = [f for f in new["metadata"].get("finalizers") or [] if f != finalizer]
        if len(finalizers) == len(new["metadata"].get("finalizers") or []):
            return
        new["metadata"]["finalizers"] = finalizers
        try:
            await self.client.update(res, ns, name, new)
        except NotFoundError:
            return
