"""The kubelet: wires node registration, the pod informer, pod workers, PLEG, probes, volumes and status.

``Kubelet(client, runtime, images, node_name, data_dir, options=...)``; ``await run(ready)`` until cancelled.
Options (all optional): ``node_ip`` (InternalIP; default: the address of the default-route interface),
``cluster_dns`` (list, default ``["10.43.0.10"]``), ``cluster_domain`` (``cluster.local``), ``log_dir``
(default ``<data_dir>/pods``; logs go to ``<log_dir>/<ns>_<name>_<uid>/<container>/<restart>.log``),
``cgroup_root`` (a Path, default ``/sys/fs/cgroup`` when running as root, else cgroups are not managed),
``resolv_conf`` (the file for dnsPolicy Default, ``/etc/resolv.conf``), ``mounter`` (a volumes Mounter),
``labels`` (extra node labels), ``register_node`` (default True), ``pleg_period`` (1.0), ``resync`` (60.0 s,
upstream's ``--sync-frequency``).

Restart safety: everything the kubelet needs is in the runtime (CRI labels and annotations), so a new kubelet
adopts running containers as they are (same restart count, no restart).  Helpers for the kubelet server
(``pod_by_name``, ``container_id``, ``sandbox_id``, ``log_path``) are synchronous reads of cached state.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Any

from kybernetes.client.errors import ApiError, NotFoundError
from kybernetes.client.events import EventRecorder
from kybernetes.client.informer import Informer
from kybernetes.client.rest import Client, resource
from kybernetes.kubelet import labels as lb
from kybernetes.kubelet.cgroups import CgroupManager
from kybernetes.kubelet.cri.types import ContainerState, CRIError, ImageService, RuntimeService
from kybernetes.kubelet.images import ImageManager
from kybernetes.kubelet.node import NodeAgent, capacity, parse_meminfo
from kybernetes.kubelet.pleg import PLEG
from kybernetes.kubelet.podconfig import NodeConfig, parse_resolv_conf
from kybernetes.kubelet.podsync import PodSyncer, SyncDeps
from kybernetes.kubelet.podworkers import PodWorkers
from kybernetes.kubelet.probes import ProbeManager
from kybernetes.kubelet.runtime import RuntimePod
from kybernetes.kubelet.status import StatusManager
from kybernetes.kubelet.volumes import VolumeManager
from kybernetes.kubelet.volumes.pvc import ClaimVolumes

log = logging.getLogger(__name__)
Obj = dict[str, Any]
PODS = resource("", "v1", "pods")
CONFIGMAPS = resource("", "v1", "configmaps")
SECRETS = resource("", "v1", "secrets")
SERVICES = resource("", "v1", "services")
SERVICEACCOUNTS = resource("", "v1", "serviceaccounts")
HOUSEKEEPING = 10.0
TOKEN_PLACEHOLDER = "kybernetes-placeholder-token: the API server does not implement TokenRequest"


def _as_pod(obj: Obj) -> Obj:
    """Informer items may lack kind/apiVersion; events need them."""
    if obj.get("kind") == "Pod":
        return obj
    return {**obj, "kind": "Pod", "apiVersion": "v1"}


class Kubelet:
    def __init__(self, client: Client, runtime: RuntimeService, images: ImageService, node_name: str,
                 data_dir: Path, *, options: dict[str, Any] | None = None) -> None:
        self.client = client
        self.runtime = runtime
        self.node_name = node_name
        self.data_dir = Path(data_dir)
        self.options = dict(options or {})
        opts = self.options
        self.log_dir = Path(opts.get("log_dir") or self.data_dir / "pods")
        self.recorder = EventRecorder(client, "kubelet", node_name)
        self.pod_informer = Informer(client, PODS, field_selector=f"spec.nodeName={node_name}")
        self.service_informer = Informer(client, SERVICES)
        cgroup_root = opts.get("cgroup_root")
        if cgroup_root is None and os.geteuid() == 0 and Path("/sys/fs/cgroup/cpu").exists():
            cgroup_root = Path("/sys/fs/cgroup")
        self.cgroups = CgroupManager(Path(cgroup_root)) if cgroup_root else None
        memory, _ = parse_meminfo(_read("/proc/meminfo"))
        resolv = _read(str(opts.get("resolv_conf", "/etc/resolv.conf")))
        self.node_config = NodeConfig(cluster_dns=list(opts.get("cluster_dns") or ["10.43.0.10"]),
                                      cluster_domain=str(opts.get("cluster_domain") or "cluster.local"),
                                      host_resolv=parse_resolv_conf(resolv), memory_capacity=memory)
        self.node = NodeAgent(client, runtime, node_name, self.data_dir, node_ip=opts.get("node_ip"),
                              labels=opts.get("labels"), record=self._node_event)
        self.status = StatusManager(client)
        self.probes = ProbeManager(runtime, self._record, self._wake)
        self.volumes = VolumeManager(self.data_dir, configmaps=self._configmap, secrets=self._secret,
                                     token=self._token, mounter=opts.get("mounter"),
                                     pvc_hook=opts.get("pvc_hook") or ClaimVolumes(client))
        self.images = ImageManager(images)
        self.syncer = PodSyncer(SyncDeps(
            runtime=runtime, images=self.images, volumes=self.volumes, probes=self.probes, status=self.status,
            record=self._record, configmaps=self._configmap, secrets=self._secret, data_dir=self.data_dir,
            log_dir=self.log_dir, host_ip="127.0.0.1", node=self.node_config, cgroups=self.cgroups,
            services=self._services))
        self.workers = PodWorkers(self.syncer, self._delete_pod, resync=float(opts.get("resync", 60.0)))
        self.pleg = PLEG(runtime, self._pleg_event, period=float(opts.get("pleg_period", 1.0)),
                         busy=lambda: bool(self.workers.workers))
        self._token_supported = True
        self._runtime_cache: dict[str, RuntimePod] = {}
        original = self.syncer.runtime_pod

        async def cached_runtime_pod(uid: str) -> RuntimePod:
            rt = await original(uid)
            self._runtime_cache[uid] = rt
            return rt

        self.syncer.runtime_pod = cached_runtime_pod  # type: ignore[method-assign]

    # -- wiring -------------------------------------------------------------------------------------------

    async def run(self, ready: asyncio.Event | None = None) -> None:
        """Register the node, then run every loop until cancelled; ``ready`` is set once pods are being synced."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.recorder.run(), name="kubelet events")
            if self.options.get("register_node", True):
                registered = asyncio.Event()
                tg.create_task(self.node.run(registered), name="kubelet node")
                await registered.wait()
                if self.node.facts is not None:
                    self.syncer.d.host_ip = self.node.facts.ip
                    self.syncer.d.allocatable = capacity(self.node.facts)[1]
            tg.create_task(self.service_informer.run(), name="kubelet services")
            tg.create_task(self.probes.run(), name="kubelet probes")
            tg.create_task(self.workers.run(), name="kubelet pod workers")
            self.pod_informer.add_handlers(on_add=self._pod_update, on_update=lambda _old, new: self._pod_update(new),
                                           on_delete=self._pod_deleted)
            tg.create_task(self.pod_informer.run(), name="kubelet pods")
            await self.pod_informer.synced.wait()
            await self._cleanup_orphans()
            tg.create_task(self.pleg.run(), name="kubelet pleg")
            tg.create_task(self._housekeeping(), name="kubelet housekeeping")
            if ready is not None:
                ready.set()

    def _pod_update(self, pod: Obj) -> None:
        self.workers.update(_as_pod(pod))
        self.pleg.poke()

    def _pod_deleted(self, pod: Obj) -> None:
        self.workers.removed(_as_pod(pod))

    def _pleg_event(self, uid: str, kind: str, cid: str) -> None:
        del kind, cid
        self.workers.wake(uid)

    def _wake(self, uid: str) -> None:
        self.workers.wake(uid)

    def _record(self, pod: Obj, event_type: str, reason: str, message: str) -> None:
        self.recorder.record(_as_pod(pod), event_type, reason, message)

    def _node_event(self, event_type: str, reason: str, message: str) -> None:
        ref = {"kind": "Node", "apiVersion": "v1", "metadata": {"name": self.node_name, "uid": self.node_name}}
        self.recorder.record(ref, event_type, reason, message)

    async def _delete_pod(self, pod: Obj) -> None:
        meta = pod.get("metadata") or {}
        try:
            await self.client.delete(PODS, meta.get("namespace", ""), meta.get("name", ""), grace_period=0,
                                     preconditions={"uid": meta.get("uid", "")})
        except NotFoundError:
            pass
        except ApiError as exc:
            log.warning("pod %s/%s: final delete failed: %s", meta.get("namespace"), meta.get("name"), exc)

    async def _cleanup_orphans(self) -> None:
        """Remove runtime pods (and cgroups/dirs) whose pod no longer exists in the API."""
        known = {(p.get("metadata") or {}).get("uid") for p in self.pod_informer.store.values()}
        try:
            sandboxes = await self.runtime.list_pod_sandboxes()
            containers = await self.runtime.list_containers()
        except CRIError as exc:
            log.warning("orphan cleanup: %s", exc)
            return
        uids = {s.labels.get(lb.POD_UID, s.uid) for s in sandboxes} | {c.labels.get(lb.POD_UID, "")
                                                                        for c in containers}
        if self.cgroups is not None:
            uids |= await asyncio.to_thread(self.cgroups.pod_cgroups)
        pod_root = self.data_dir / "pods"
        if pod_root.is_dir():
            uids |= {p.name for p in pod_root.iterdir() if p.is_dir() and "_" not in p.name}
        for uid in uids - known - set(self.workers.workers) - {""}:
            log.info("removing orphaned pod %s", uid)
            try:
                await self.syncer.cleanup_pod(uid)
            except CRIError as exc:
                log.warning("orphan %s: %s", uid, exc)
            self._runtime_cache.pop(uid, None)

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING)
            self.syncer.backoff.gc()
            self.images.backoff.gc()
            await self._cleanup_orphans()

    # -- lookups for volumes and env --------------------------------------------------------------------

    async def _get(self, res: Any, namespace: str, name: str) -> Obj | None:
        try:
            return await self.client.get(res, namespace, name)
        except NotFoundError:
            return None

    async def _configmap(self, namespace: str, name: str) -> Obj | None:
        return await self._get(CONFIGMAPS, namespace, name)

    async def _secret(self, namespace: str, name: str) -> Obj | None:
        return await self._get(SECRETS, namespace, name)

    def _services(self, namespace: str) -> list[Obj]:
        return [s for s in self.service_informer.store.values()
                if (s.get("metadata") or {}).get("namespace") == namespace]

    async def _token(self, pod: Obj, source: Obj) -> str:
        """A bound service-account token from TokenRequest (a clear placeholder if the server lacks it)."""
        meta = pod.get("metadata") or {}
        spec = pod.get("spec") or {}
        sa = spec.get("serviceAccountName") or "default"
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "spec": {"audiences": [source["audience"]] if source.get("audience") else [],
                         "expirationSeconds": int(source.get("expirationSeconds") or 3607),
                         "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": meta.get("name", ""),
                                            "uid": meta.get("uid", "")}}}
        if self._token_supported:
            try:
                out = await self.client.create(SERVICEACCOUNTS, meta.get("namespace", ""), body, subresource="token",
                                               name=sa)
                token = (out.get("status") or {}).get("token")
                if token:
                    return str(token)
            except NotFoundError as exc:
                if "serviceaccount" in exc.message.lower() and "not found" in exc.message.lower() \
                        and "token" not in exc.message.lower():
                    raise
                self._token_supported = False
            except ApiError as exc:
                if exc.code in (404, 405, 501):
                    self._token_supported = False
                else:
                    log.warning("TokenRequest for %s: %s", sa, exc)
        return TOKEN_PLACEHOLDER

    # -- helpers for the kubelet server (synchronous, from cached state) ----------------------------------

    def pod_by_name(self, namespace: str, name: str) -> Obj | None:
        return self.pod_informer.lister.get(namespace, name)

    def pods(self) -> list[Obj]:
        """The pods bound to this node, as the kubelet last saw them."""
        return [_as_pod(p) for p in self.pod_informer.lister.list()]

    def _rt(self, namespace: str, name: str) -> tuple[Obj, RuntimePod] | None:
        pod = self.pod_by_name(namespace, name)
        if pod is None:
            return None
        rt = self._runtime_cache.get((pod.get("metadata") or {}).get("uid", ""))
        return (pod, rt) if rt is not None else None

    def container_id(self, namespace: str, pod: str, container: str, previous: bool = False) -> str | None:
        """The runtime ID of the container's current (or previous) instance."""
        found = self._rt(namespace, pod)
        if found is None:
            return None
        rt = found[1]
        status = rt.previous(container) if previous else rt.latest(container)
        return status.id if status is not None else None

    def sandbox_id(self, namespace: str, pod: str) -> str | None:
        found = self._rt(namespace, pod)
        if found is None or not found[1].sandboxes:
            return None
        running = found[1].running_sandbox()
        return (running or found[1].sandboxes[0]).id

    def log_path(self, namespace: str, pod: str, container: str, previous: bool = False) -> Path | None:
        """The CRI log file of the container's current (or previous) instance."""
        found = self._rt(namespace, pod)
        if found is None:
            return None
        pod_obj, rt = found
        status = rt.previous(container) if previous else rt.latest(container)
        if status is None:
            return None
        if status.log_path:
            return Path(status.log_path)
        return self.syncer.log_directory(pod_obj) / container / f"{lb.restart_count(status.annotations)}.log"

    def running(self, namespace: str, pod: str, container: str) -> bool:
        found = self._rt(namespace, pod)
        status = found[1].latest(container) if found else None
        return status is not None and status.state == ContainerState.RUNNING


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


__all__ = ["Kubelet", "time"]
