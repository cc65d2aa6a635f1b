"""The volume manager: per-pod setup (with ``FailedMount`` messages), container mounts, teardown."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from kybernetes.api.quantity import parse_quantity
from kybernetes.kubelet.cri.types import Mount
from kybernetes.kubelet.volumes.atomic import Payload, write_atomic
from kybernetes.kubelet.volumes.hostpath import check_host_path
from kybernetes.kubelet.volumes.mounter import Mounter, SystemMounter
from kybernetes.kubelet.volumes.pvc import ReadOnlyPath
from kybernetes.kubelet.volumes.sources import (
    VolumeError,
    downward_payload,
    keyed_payload,
    token_payload,
)

log = logging.getLogger(__name__)
Obj = dict[str, Any]
Getter = Callable[[str, str], Awaitable[Obj | None]]
TokenFetcher = Callable[[Obj, Obj], Awaitable[str]]  # (pod, serviceAccountToken source) → token
PVCHook = Callable[[Obj, Obj, Path], Awaitable[Path]]  # (pod, volume, pod dir) → host path

PLUGINS = {"emptyDir": "empty-dir", "configMap": "configmap", "secret": "secret", "downwardAPI": "downward-api",
           "projected": "projected"}


class VolumeManager:
    def __init__(self, data_dir: Path, *, configmaps: Getter, secrets: Getter, token: TokenFetcher | None = None,
                 mounter: Mounter | None = None, pvc_hook: PVCHook | None = None) -> None:
        self.data_dir = data_dir
        self.configmaps = configmaps
        self.secrets = secrets
        self.token = token
        self.mounter: Mounter = mounter or SystemMounter()
        self.pvc_hook = pvc_hook

    def pod_dir(self, uid: str) -> Path:
        return self.data_dir / "pods" / uid

    async def setup(self, pod: Obj) -> dict[str, Path]:
        """Set up every volume of the pod (idempotent; refreshes configMap/secret contents).  Returns volume
        name → host path.  Raises VolumeError whose message is the ``FailedMount`` event text."""
        paths: dict[str, Path] = {}
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            name = volume.get("name", "")
            try:
                paths[name] = await self._setup_one(pod, volume)
            except VolumeError as exc:
                raise VolumeError(f'MountVolume.SetUp failed for volume "{name}" : {exc}') from exc
            except OSError as exc:
                raise VolumeError(f'MountVolume.SetUp failed for volume "{name}" : {exc}') from exc
        return paths

    async def _setup_one(self, pod: Obj, volume: Obj) -> Path:
        meta = pod.get("metadata") or {}
        uid, namespace = meta.get("uid", ""), meta.get("namespace", "")
        name = volume.get("name", "")
        if "hostPath" in volume:
            source = volume["hostPath"]
            path = Path(source.get("path", ""))
            check_host_path(path, source.get("type") or "")
            return path
        if "persistentVolumeClaim" in volume:
            if self.pvc_hook is None:
                raise VolumeError("persistentVolumeClaim volumes are not supported on this node yet")
            return Path(await self.pvc_hook(pod, volume, self.pod_dir(uid)))
        plugin = next((PLUGINS[k] for k in PLUGINS if k in volume), None)
        if plugin is None:
            raise VolumeError(f"unsupported volume type in {sorted(k for k in volume if k != 'name')}")
        target: Path = self.pod_dir(uid) / "volumes" / f"kubernetes.io~{plugin}" / str(name)
        if "emptyDir" in volume:
            source = volume["emptyDir"] or {}
            await asyncio.to_thread(target.mkdir, parents=True, exist_ok=True)
            await asyncio.to_thread(target.chmod, 0o777)
            if source.get("medium") == "Memory" and not self.mounter.is_mounted(target):
                size = parse_quantity(source["sizeLimit"]).int_value() if source.get("sizeLimit") else 0
                await self.mounter.mount_tmpfs(target, size)
            return target
        payload: Payload = {}
        if "configMap" in volume:
            src = volume["configMap"]
            payload = keyed_payload(src, await self.configmaps(namespace, src.get("name", "")), secret=False,
                                    default_mode=None)
        elif "secret" in volume:
            src = volume["secret"]
            payload = keyed_payload(src, await self.secrets(namespace, src.get("secretName", "")), secret=True,
                                    default_mode=None)
        elif "downwardAPI" in volume:
            payload = downward_payload(volume["downwardAPI"], pod, None)
        elif "projected" in volume:
            payload = await self._projected(pod, volume["projected"] or {})
        write_atomic(target, payload)
        return target

    async def _projected(self, pod: Obj, source: Obj) -> Payload:
        namespace = (pod.get("metadata") or {}).get("namespace", "")
        mode = int(source.get("defaultMode", 0o644))
        out: Payload = {}
        for item in source.get("sources") or []:
            if "configMap" in item:
                src = item["configMap"]
                out.update(keyed_payload({**src, "defaultMode": mode}, await self.configmaps(namespace, src.get(
                    "name", "")), secret=False, default_mode=mode))
            elif "secret" in item:
                src = item["secret"]
                out.update(keyed_payload({**src, "defaultMode": mode}, await self.secrets(namespace, src.get(
                    "name", "")), secret=True, default_mode=mode))
            elif "downwardAPI" in item:
                out.update(downward_payload({**item["downwardAPI"], "defaultMode": mode}, pod, mode))
            elif "serviceAccountToken" in item:
                src = item["serviceAccountToken"]
                token = await self.token(pod, src) if self.token else ""
                out.update(token_payload(src, token, mode))
        return out

    @staticmethod
    def container_mounts(container: Obj, paths: dict[str, Path]) -> list[Mount]:
        """CRI mounts for the container's ``volumeMounts`` (``subPath`` below the volume's host path)."""
        mounts: list[Mount] = []
        for vm in container.get("volumeMounts") or []:
            host = paths.get(vm.get("name", ""))
            if host is None:
                continue
            if vm.get("subPath"):
                host = host / vm["subPath"]
                if not host.exists():
                    host.mkdir(parents=True, exist_ok=True)
            propagation = {"HostToContainer": "PROPAGATION_HOST_TO_CONTAINER",
                           "Bidirectional": "PROPAGATION_BIDIRECTIONAL"}.get(vm.get("mountPropagation") or "",
                                                                             "PROPAGATION_PRIVATE")
            read_only = bool(vm.get("readOnly")) or isinstance(host, ReadOnlyPath)
            mounts.append(Mount(container_path=vm.get("mountPath", ""), host_path=str(host),
                                readonly=read_only, propagation=propagation))
        return mounts

    async def teardown(self, uid: str) -> None:
        """Unmount tmpfs emptyDirs and remove the pod's volume directories."""
        base = self.pod_dir(uid) / "volumes"
        empty = base / "kubernetes.io~empty-dir"
        if empty.is_dir():
            for entry in empty.iterdir():
                if self.mounter.is_mounted(entry):
                    try:
                        await self.mounter.unmount(entry)
                    except OSError as exc:
                        log.warning("unmount %s: %s", entry, exc)
                        return
        shutil.rmtree(base, ignore_errors=True)
