"""Node registration, status and the heartbeat Lease.

Pure part: :func:`host_facts` gathers capacity and nodeInfo from the host (cpu count, ``/proc/meminfo``,
``statvfs`` of the data dir, ``/etc/os-release``, kernel, machine and boot IDs, the primary IPv4 read from
``ip route``/``ip addr`` — read only, nothing is sent to it); :func:`node_status` builds the status with upstream
conditions.  :class:`NodeAgent` registers the Node (or adopts an existing one), patches ``nodes/status`` when it
changes and at least every minute, and renews ``kube-node-lease/<node>`` every 10 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kybernetes.client.errors import AlreadyExistsError, ApiError, NotFoundError
from kybernetes.client.rest import Client, resource

log = logging.getLogger(__name__)
Obj = dict[str, Any]
NODES = resource("", "v1", "nodes")
LEASES = resource("coordination.k8s.io", "v1", "leases")
LEASE_NAMESPACE = "kube-node-lease"
LEASE_DURATION = 40
LEASE_RENEW = 10.0
STATUS_REPORT = 300.0  # upstream nodeStatusReportFrequency: the Lease is the heartbeat; status when it changes
EVICTION_MEMORY = 100 * 1024 * 1024  # memory.available<100Mi
EVICTION_DISK = 0.10  # nodefs.available<10%
MAX_PODS = 110


@dataclass
class HostFacts:
    cpus: int
    memory: int
    memory_available: int
    disk: int
    disk_available: int
    kernel: str
    os_image: str
    machine_id: str
    boot_id: str
    ip: str
    hostname: str
    pids_max: int = 4194304
    pids_used: int = 0
    extra: dict[str, str] = field(default_factory=dict)


def parse_meminfo(text: str) -> tuple[int, int]:
    """(MemTotal, MemAvailable) in bytes from /proc/meminfo."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[key.strip()] = int(parts[0]) * (1024 if len(parts) > 1 and parts[1] == "kB" else 1)
    return values.get("MemTotal", 0), values.get("MemAvailable", values.get("MemFree", 0))


def parse_os_release(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return "Linux"


def _read(path: str, default: str = "") -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return default


def primary_ipv4() -> str:
    """The address of the interface holding the default route (127.0.0.1 when there is none)."""
    try:
        routes = json.loads(subprocess.run(["ip", "-j", "-4", "route", "show", "default"], capture_output=True,
                                           text=True, timeout=5, check=False).stdout or "[]")
        if not routes:
            return "127.0.0.1"
        addrs = json.loads(subprocess.run(["ip", "-j", "-4", "addr", "show", "dev", routes[0]["dev"]],
                                          capture_output=True, text=True, timeout=5, check=False).stdout or "[]")
        for link in addrs:
            for info in link.get("addr_info") or []:
                if info.get("family") == "inet":
                    return str(info["local"])
    except (OSError, ValueError, KeyError, subprocess.SubprocessError):
        pass
    return "127.0.0.1"


def host_facts(data_dir: Path, node_ip: str | None = None) -> HostFacts:
    memory, available = parse_meminfo(_read("/proc/meminfo"))
    target = data_dir if data_dir.exists() else Path("/")
    st = os.statvfs(target)
    return HostFacts(
        cpus=os.cpu_count() or 1, memory=memory, memory_available=available,
        disk=st.f_blocks * st.f_frsize, disk_available=st.f_bavail * st.f_frsize,
        kernel=os.uname().release, os_image=parse_os_release(_read("/etc/os-release")),
        machine_id=_read("/etc/machine-id").strip(), boot_id=_read("/proc/sys/kernel/random/boot_id").strip(),
        ip=node_ip or primary_ipv4(), hostname=socket.gethostname(),
        pids_max=int(_read("/proc/sys/kernel/pid_max", "4194304").strip() or 4194304),
        pids_used=len([p for p in os.listdir("/proc") if p.isdigit()]),
    )


def capacity(facts: HostFacts) -> tuple[dict[str, str], dict[str, str]]:
    cap = {"cpu": str(facts.cpus), "memory": f"{facts.memory // 1024}Ki", "pods": str(MAX_PODS),
           "ephemeral-storage": f"{facts.disk // 1024}Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0"}
    alloc = dict(cap)
    alloc["memory"] = f"{max(0, facts.memory - EVICTION_MEMORY) // 1024}Ki"
    alloc["ephemeral-storage"] = str(int(facts.disk * (1 - EVICTION_DISK)))
    return cap, alloc


def conditions(facts: HostFacts, runtime_ready: bool, network_ready: bool, now: float,
               old: list[Obj] | None = None) -> list[Obj]:
    """MemoryPressure, DiskPressure, PIDPressure, Ready with upstream reasons and messages."""
    memory_pressure = facts.memory_available < EVICTION_MEMORY
    disk_pressure = facts.disk and facts.disk_available < facts.disk * EVICTION_DISK
    pid_pressure = facts.pids_used > facts.pids_max * 0.9
    rows = [
        ("MemoryPressure", memory_pressure, ("KubeletHasInsufficientMemory", "kubelet has insufficient memory "
                                             "available"), ("KubeletHasSufficientMemory",
                                                            "kubelet has sufficient memory available")),
        ("DiskPressure", bool(disk_pressure), ("KubeletHasDiskPressure", "kubelet has disk pressure"),
         ("KubeletHasNoDiskPressure", "kubelet has no disk pressure")),
        ("PIDPressure", pid_pressure, ("KubeletHasInsufficientPID", "kubelet has insufficient PID available"),
         ("KubeletHasSufficientPID", "kubelet has sufficient PID available")),
    ]
    previous = {c.get("type"): c for c in old or []}
    ts = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out: list[Obj] = []

    def add(kind: str, status: str, reason: str, message: str) -> None:
        before = previous.get(kind)
        same = before is not None and before.get("status") == status
        out.append({"type": kind, "status": status, "reason": reason, "message": message, "lastHeartbeatTime": ts,
                    "lastTransitionTime": before.get("lastTransitionTime", ts) if same and before else ts})

    for kind, bad, bad_text, good_text in rows:
        add(kind, "True" if bad else "False", *(bad_text if bad else good_text))
    if runtime_ready and network_ready:
        add("Ready", "True", "KubeletReady", "kubelet is posting ready status")
    else:
        problems = []
        if not runtime_ready:
            problems.append("container runtime status check may not have completed yet")
        if not network_ready:
            problems.append("container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
                            "message:Network plugin returns error: cni plugin not initialized")
        add("Ready", "False", "KubeletNotReady", ", ".join(problems))
    return out


def node_status(facts: HostFacts, *, name: str, runtime_version: str, kubelet_version: str, runtime_ready: bool,
                network_ready: bool, now: float, old_conditions: list[Obj] | None = None, port: int = 10250) -> Obj:
    cap, alloc = capacity(facts)
    machine = facts.machine_id or "0" * 32
    return {
        "capacity": cap, "allocatable": alloc,
        "conditions": conditions(facts, runtime_ready, network_ready, now, old_conditions),
        "addresses": [{"type": "InternalIP", "address": facts.ip}, {"type": "Hostname", "address": name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
        "nodeInfo": {"machineID": machine, "systemUUID": machine, "bootID": facts.boot_id,
                     "kernelVersion": facts.kernel, "osImage": facts.os_image,
                     "containerRuntimeVersion": runtime_version, "kubeletVersion": kubelet_version,
                     "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": "amd64"},
    }


def node_object(name: str, status: Obj, labels: dict[str, str] | None = None) -> Obj:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name,
                         "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                    "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                                    "beta.kubernetes.io/arch": "amd64", **(labels or {})},
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                         "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
            "spec": {}, "status": status}


def micro_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _status_key(status: Obj) -> Any:
    """What matters for "changed": everything except heartbeat times and volatile pressure inputs."""
    conds = [(c["type"], c["status"], c["reason"]) for c in status.get("conditions") or []]
    return (conds, status.get("capacity"), status.get("allocatable"), status.get("addresses"),
            status.get("nodeInfo"))


class NodeAgent:
    """Keeps the Node, its status and its Lease up to date (cancel to stop)."""

    def __init__(self, client: Client, runtime_status: Any, name: str, data_dir: Path, *,
                 node_ip: str | None = None, labels: dict[str, str] | None = None, record: Any = None) -> None:
        self.client = client
        self.runtime = runtime_status  # a RuntimeService (version(), ready())
        self.name = name
        self.data_dir = data_dir
        self.node_ip = node_ip
        self.labels = labels or {}
        self.record = record
        self.facts: HostFacts | None = None
        self.node: Obj = {}
        self.kubelet_version = "v1.33.0"
        self.runtime_version = "containerd://unknown"
        self._last_status: Obj = {}
        self._last_report = 0.0

    async def _versions(self) -> None:
        try:
            info = await self.client.request("GET", "/version")
            if isinstance(info, dict) and info.get("gitVersion"):
                self.kubelet_version = str(info["gitVersion"])
        except ApiError as exc:
            log.debug("GET /version: %s", exc)
        try:
            name, version = await self.runtime.version()
            self.runtime_version = f"{name}://{version}"
        except Exception as exc:
            log.debug("runtime version: %s", exc)

    async def _status(self) -> Obj:
        self.facts = await asyncio.to_thread(host_facts, self.data_dir, self.node_ip)
        try:
            runtime_ready, network_ready = await self.runtime.ready()
        except Exception:
            runtime_ready = network_ready = False
        old = (self.node.get("status") or {}).get("conditions") or []
        return node_status(self.facts, name=self.name, runtime_version=self.runtime_version,
                           kubelet_version=self.kubelet_version, runtime_ready=runtime_ready,
                           network_ready=network_ready, now=time.time(), old_conditions=old)

    async def register(self) -> Obj:
        await self._versions()
        status = await self._status()
        try:
            self.node = await self.client.create(NODES, "", node_object(self.name, status, self.labels))
        except AlreadyExistsError:
            self.node = await self.client.get(NODES, "", self.name)
        await self.post_status(force=True, status=status)
        if self.record is not None:
            self.record("Normal", "Starting", "Starting kubelet.")
            self.record("Normal", "NodeReady", f"Node {self.name} status is now: NodeReady")
        return self.node

    async def post_status(self, *, force: bool = False, status: Obj | None = None) -> bool:
        status = status or await self._status()
        now = time.monotonic()
        if not force and _status_key(status) == _status_key(self._last_status) and \
                now - self._last_report < STATUS_REPORT:
            return False
        self.node = await self.client.patch(NODES, "", self.name, {"status": status}, subresource="status")
        self._last_status = status
        self._last_report = now
        return True

    async def renew_lease(self) -> None:
        uid = (self.node.get("metadata") or {}).get("uid", "")
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": self.name, "namespace": LEASE_NAMESPACE,
                              "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": self.name,
                                                   "uid": uid}]},
                 "spec": {"holderIdentity": self.name, "leaseDurationSeconds": LEASE_DURATION,
                          "renewTime": micro_time(time.time())}}
        try:
            await self.client.patch(LEASES, LEASE_NAMESPACE, self.name, {"spec": lease["spec"]})
        except NotFoundError:
            try:
                await self.client.create(LEASES, LEASE_NAMESPACE, lease)
            except NotFoundError:  # the namespace is missing: create it once
                await self.client.create(resource("", "v1", "namespaces"), "",
                                         {"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": LEASE_NAMESPACE}})
                await self.client.create(LEASES, LEASE_NAMESPACE, lease)

    async def run(self, registered: asyncio.Event | None = None) -> None:
        while True:
            try:
                await self.register()
                break
            except ApiError as exc:
                log.warning("node registration failed: %s; retrying", exc)
                await asyncio.sleep(2.0)
        if registered is not None:
            registered.set()
        while True:
            try:
                await self.renew_lease()
                await self.post_status()
            except ApiError as exc:
                log.warning("node heartbeat failed: %s", exc)
                if isinstance(exc, NotFoundError):
                    with contextlib.suppress(ApiError):
                        await self.register()
            await asyncio.sleep(LEASE_RENEW)

