"""The kubelet's ``persistentVolumeClaim`` volumes: :class:`ClaimVolumes` is the :attr:`VolumeManager.pvc_hook`.

Contract of ``ClaimVolumes(pod, volume, pod_dir) → host path``:

* the claim must exist and be Bound (``error processing PVC <ns>/<name>: PVC is not bound``: the pod worker retries
  and emits ``FailedMount``), its volume must exist and be ``hostPath`` (type checks as for hostPath volumes) or
  ``local`` (the path must exist);
* a volume provisioned with an image (:mod:`.loopfs`) is mounted first if it is not (e.g. after ``--cleanup``);
* access modes: a ReadWriteOnce volume already used by a running or pending pod on another node, or a
  ReadWriteOncePod volume used by any other pod, is refused with upstream's ``Multi-Attach error`` text;
* ``readOnly: true`` on the claim source returns a :class:`ReadOnlyPath`, which the volume manager mounts read-only
  in every container.

The volume's data is the host path itself (no per-pod bind mount): teardown of the pod never touches it.
"""

from __future__ import annotations

from pathlib import Path, PosixPath
from typing import Any

from kybernetes.api.pvmatch import ANN_PROVISIONED_BY
from kybernetes.client.errors import NotFoundError
from kybernetes.client.rest import Client, resource
from kybernetes.kubelet.volumes.hostpath import check_host_path
from kybernetes.kubelet.volumes.loopfs import LoopBackend, VolumeBackend, image_of
from kybernetes.kubelet.volumes.sources import VolumeError

Obj = dict[str, Any]
PODS = resource("", "v1", "pods")
PVCS = resource("", "v1", "persistentvolumeclaims")
PVS = resource("", "v1", "persistentvolumes")


class ReadOnlyPath(PosixPath):
    """A volume host path every container mounts read-only."""


def conflicting_pods(pv: Obj, claim: str, me: Obj, pods: list[Obj]) -> list[str]:
    """Names of the pods that make mounting ``pv`` (via ``claim``) for pod ``me`` violate its access mode."""
    modes = set((pv.get("spec") or {}).get("accessModes") or [])
    rwop = "ReadWriteOncePod" in modes
    rwo = modes == {"ReadWriteOnce"}
    if not rwop and not rwo:
        return []
    meta = me.get("metadata") or {}
    node = (me.get("spec") or {}).get("nodeName")
    out: list[str] = []
    for pod in pods:
        pmeta = pod.get("metadata") or {}
        if pmeta.get("uid") == meta.get("uid") or pmeta.get("deletionTimestamp"):
            continue
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        other = (pod.get("spec") or {}).get("nodeName")
        if not other:
            continue
        uses = any((v.get("persistentVolumeClaim") or {}).get("claimName") == claim
                   for v in (pod.get("spec") or {}).get("volumes") or [])
        if uses and (rwop or other != node):
            out.append(str(pmeta.get("name", "")))
    return sorted(out)


class ClaimVolumes:
    def __init__(self, client: Client, backend: VolumeBackend | None = None) -> None:
        self.client = client
        self.backend: VolumeBackend = backend or LoopBackend()

    async def __call__(self, pod: Obj, volume: Obj, pod_dir: Path) -> Path:
        source = volume.get("persistentVolumeClaim") or {}
        meta = pod.get("metadata") or {}
        ns, name = str(meta.get("namespace", "")), str(source.get("claimName", ""))
        try:
            claim = await self.client.get(PVCS, ns, name)
        except NotFoundError:
            raise VolumeError(f'persistentvolumeclaim "{name}" not found') from None
        pv_name = (claim.get("spec") or {}).get("volumeName")
        if not pv_name or (claim.get("status") or {}).get("phase") != "Bound":
            raise VolumeError(f"error processing PVC {ns}/{name}: PVC is not bound")
        try:
            pv = await self.client.get(PVS, "", str(pv_name))
        except NotFoundError:
            raise VolumeError(f'persistentvolume "{pv_name}" not found') from None
        spec = pv.get("spec") or {}
        if (spec.get("accessModes") or []) and set(spec["accessModes"]) & {"ReadWriteOnce", "ReadWriteOncePod"}:
            pods, _ = await self.client.list_all(PODS, ns)
            busy = conflicting_pods(pv, name, pod, pods)
            if busy:
                raise VolumeError(f'Multi-Attach error for volume "{pv_name}" Volume is already used by pod(s) '
                                  f"{', '.join(busy)}")
        if spec.get("hostPath") is not None:
            path = Path(str(spec["hostPath"].get("path", "")))
            if (pv.get("metadata") or {}).get("annotations", {}).get(ANN_PROVISIONED_BY) and image_of(path).exists():
                await self.backend.ensure_mounted(path)
            check_host_path(path, str(spec["hostPath"].get("type") or ""))
        elif spec.get("local") is not None:
            path = Path(str(spec["local"].get("path", "")))
            if not path.exists():
                raise VolumeError(f"path {path} does not exist")
        else:
            kinds = sorted(k for k in spec if k not in ("accessModes", "capacity", "claimRef", "nodeAffinity",
                                                      "persistentVolumeReclaimPolicy", "storageClassName",
                                                      "volumeMode", "mountOptions", "volumeAttributesClassName"))
            raise VolumeError(f"unsupported persistent volume source {kinds}")
        return ReadOnlyPath(path) if source.get("readOnly") else path
