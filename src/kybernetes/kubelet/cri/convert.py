"""Pure conversions between the CRI dataclasses of :mod:`.types` and the ``runtime.v1`` protobuf messages.

Namespace options follow the kubelet: network and IPC are per pod (or the node's for hostNetwork/hostIPC), PID is
per container (or the node's for hostPID).  ``seccomp`` is left unset (= unconfined, the kubelet default).
Verbose ``info`` maps (containerd puts one JSON document under the key ``"info"``) are parsed for the netns path,
the pid and the cgroups path; malformed or missing info yields empty values, never an exception.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kybernetes.kubelet.cri import api_pb2 as pb
from kybernetes.kubelet.cri.types import (
    ContainerConfig,
    ContainerInfo,
    ContainerState,
    ContainerStats,
    ContainerStatus,
    ImageInfo,
    PodSandboxConfig,
    SandboxInfo,
    SandboxState,
    SandboxStatus,
)

_PROTOCOLS = {"TCP": pb.TCP, "UDP": pb.UDP, "SCTP": pb.SCTP}
_PROPAGATION = {
    "PROPAGATION_PRIVATE": pb.PROPAGATION_PRIVATE,
    "PROPAGATION_HOST_TO_CONTAINER": pb.PROPAGATION_HOST_TO_CONTAINER,
    "PROPAGATION_BIDIRECTIONAL": pb.PROPAGATION_BIDIRECTIONAL,
}


def _int64(value: int | None) -> pb.Int64Value | None:
    return None if value is None else pb.Int64Value(value=value)


def namespace_options(sandbox: PodSandboxConfig) -> pb.NamespaceOption:
    return pb.NamespaceOption(
        network=pb.NODE if sandbox.host_network else pb.POD,
        pid=pb.NODE if sandbox.host_pid else pb.CONTAINER,
        ipc=pb.NODE if sandbox.host_ipc else pb.POD,
    )


def sandbox_config_to_pb(c: PodSandboxConfig) -> pb.PodSandboxConfig:
    dns = None
    if c.dns is not None:
        dns = pb.DNSConfig(servers=c.dns.servers, searches=c.dns.searches, options=c.dns.options)
    security = pb.LinuxSandboxSecurityContext(
        namespace_options=namespace_options(c),
        run_as_user=_int64(c.run_as_user),
        run_as_group=_int64(c.run_as_group),
        supplemental_groups=c.supplemental_groups,
        privileged=c.privileged,
    )
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=c.name, uid=c.uid, namespace=c.namespace, attempt=c.attempt),
        hostname=c.hostname,
        log_directory=c.log_directory,
        dns_config=dns,
        port_mappings=[
            pb.PortMapping(protocol=_PROTOCOLS[p.protocol.upper()], container_port=p.container_port,
                           host_port=p.host_port, host_ip=p.host_ip)
            for p in c.port_mappings
        ],
        labels=c.labels,
        annotations=c.annotations,
        linux=pb.LinuxPodSandboxConfig(cgroup_parent=c.cgroup_parent, security_context=security, sysctls=c.sysctls),
    )


def container_config_to_pb(c: ContainerConfig, sandbox: PodSandboxConfig) -> pb.ContainerConfig:
    r = c.resources
    resources = pb.LinuxContainerResources(
        cpu_period=r.cpu_period, cpu_quota=r.cpu_quota, cpu_shares=r.cpu_shares,
        memory_limit_in_bytes=r.memory_limit_in_bytes, oom_score_adj=r.oom_score_adj,
    )
    security = pb.LinuxContainerSecurityContext(
        capabilities=pb.Capability(add_capabilities=c.capabilities_add, drop_capabilities=c.capabilities_drop),
        privileged=c.privileged,
        namespace_options=namespace_options(sandbox),
        run_as_user=_int64(c.run_as_user),
        run_as_group=_int64(c.run_as_group),
        readonly_rootfs=c.readonly_rootfs,
        supplemental_groups=sandbox.supplemental_groups,
    )
    return pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name=c.name, attempt=c.attempt),
        image=pb.ImageSpec(image=c.image),
        command=c.command,
        args=c.args,
        working_dir=c.working_dir,
        envs=[pb.KeyValue(key=k, value=v) for k, v in c.envs],
        mounts=[
            pb.Mount(container_path=m.container_path, host_path=m.host_path, readonly=m.readonly,
                     propagation=_PROPAGATION[m.propagation])
            for m in c.mounts
        ],
        labels=c.labels,
        annotations=c.annotations,
        log_path=c.log_path,
        stdin=c.stdin,
        stdin_once=c.stdin_once,
        tty=c.tty,
        linux=pb.LinuxContainerConfig(resources=resources, security_context=security),
    )


def parse_info(info: Mapping[str, str]) -> dict[str, Any]:
    """The JSON document of a verbose status ``info`` map (key ``"info"``); {} when absent or malformed."""
    raw = info.get("info")
    if not raw:
        return {}
    try:
        doc = json.loads(raw)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _spec_linux(doc: Mapping[str, Any]) -> dict[str, Any]:
    spec = doc.get("runtimeSpec")
    linux = spec.get("linux") if isinstance(spec, dict) else None
    return linux if isinstance(linux, dict) else {}


def netns_path_from_info(doc: Mapping[str, Any]) -> str:
    """The sandbox's network namespace path from verbose info (containerd: ``netNamespacePath`` or the spec)."""
    path = doc.get("netNamespacePath")
    if isinstance(path, str) and path:
        return path
    for ns in _spec_linux(doc).get("namespaces") or []:
        if isinstance(ns, dict) and ns.get("type") == "network" and isinstance(ns.get("path"), str):
            return str(ns["path"])
    return ""


def cgroups_path_from_info(doc: Mapping[str, Any]) -> str:
    path = _spec_linux(doc).get("cgroupsPath")
    return path if isinstance(path, str) else ""


def pid_from_info(doc: Mapping[str, Any]) -> int:
    pid = doc.get("pid")
    return pid if isinstance(pid, int) else 0


def sandbox_info_from_pb(s: pb.PodSandbox) -> SandboxInfo:
    return SandboxInfo(
        id=s.id, name=s.metadata.name, namespace=s.metadata.namespace, uid=s.metadata.uid,
        attempt=s.metadata.attempt, state=SandboxState(pb.PodSandboxState.Name(s.state)), created_at=s.created_at,
        labels=dict(s.labels), annotations=dict(s.annotations),
    )


def sandbox_status_from_pb(resp: pb.PodSandboxStatusResponse) -> SandboxStatus:
    s = resp.status
    doc = parse_info(resp.info)
    return SandboxStatus(
        id=s.id, name=s.metadata.name, namespace=s.metadata.namespace, uid=s.metadata.uid,
        attempt=s.metadata.attempt, state=SandboxState(pb.PodSandboxState.Name(s.state)), created_at=s.created_at,
        labels=dict(s.labels), annotations=dict(s.annotations),
        ip=s.network.ip, additional_ips=[ip.ip for ip in s.network.additional_ips],
        netns_path=netns_path_from_info(doc),
    )


def container_info_from_pb(c: pb.Container) -> ContainerInfo:
    return ContainerInfo(
        id=c.id, sandbox_id=c.pod_sandbox_id, name=c.metadata.name, attempt=c.metadata.attempt,
        image=c.image.image, image_ref=c.image_ref, state=ContainerState(pb.ContainerState.Name(c.state)),
        created_at=c.created_at, labels=dict(c.labels), annotations=dict(c.annotations),
    )


def container_status_from_pb(resp: pb.ContainerStatusResponse, sandbox_id: str = "") -> ContainerStatus:
    """``sandbox_id`` is not part of CRI's ContainerStatus; pass it when known (the client reads it from labels)."""
    s = resp.status
    doc = parse_info(resp.info)
    return ContainerStatus(
        id=s.id, sandbox_id=sandbox_id or doc.get("sandboxID", "") or "", name=s.metadata.name,
        attempt=s.metadata.attempt, image=s.image.image, image_ref=s.image_ref,
        state=ContainerState(pb.ContainerState.Name(s.state)), created_at=s.created_at,
        labels=dict(s.labels), annotations=dict(s.annotations),
        started_at=s.started_at, finished_at=s.finished_at, exit_code=s.exit_code, reason=s.reason,
        message=s.message, log_path=s.log_path, pid=pid_from_info(doc), cgroups_path=cgroups_path_from_info(doc),
    )


def container_stats_from_pb(s: pb.ContainerStats) -> ContainerStats:
    return ContainerStats(
        container_id=s.attributes.id,
        timestamp=s.cpu.timestamp or s.memory.timestamp,
        cpu_usage_core_nanoseconds=s.cpu.usage_core_nano_seconds.value,
        cpu_usage_nano_cores=s.cpu.usage_nano_cores.value,
        memory_working_set_bytes=s.memory.working_set_bytes.value,
        memory_usage_bytes=s.memory.usage_bytes.value,
        memory_rss_bytes=s.memory.rss_bytes.value,
    )


def image_from_pb(i: pb.Image) -> ImageInfo:
    return ImageInfo(id=i.id, repo_tags=list(i.repo_tags), repo_digests=list(i.repo_digests), size=i.size)
