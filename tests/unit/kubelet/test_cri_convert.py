"""CRI dataclass <-> runtime.v1 protobuf conversions, and parsing of verbose info (table-driven)."""

from __future__ import annotations

import json

import pytest

from kybernetes.kubelet.cri import api_pb2 as pb
from kybernetes.kubelet.cri.convert import (
    cgroups_path_from_info,
    container_config_to_pb,
    container_stats_from_pb,
    container_status_from_pb,
    netns_path_from_info,
    parse_info,
    pid_from_info,
    sandbox_config_to_pb,
    sandbox_status_from_pb,
)
from kybernetes.kubelet.cri.types import (
    ContainerConfig,
    ContainerState,
    DNSConfig,
    Mount,
    PodSandboxConfig,
    PortMapping,
    Resources,
    SandboxState,
)

SB = PodSandboxConfig(
    name="web", namespace="default", uid="u1", attempt=2, hostname="web", log_directory="/logs/default_web_u1",
    dns=DNSConfig(servers=["10.43.0.10"], searches=["default.svc.cluster.local"], options=["ndots:5"]),
    port_mappings=[PortMapping(container_port=80, host_port=8080, protocol="UDP", host_ip="127.0.0.1")],
    labels={"a": "b"}, annotations={"c": "d"}, cgroup_parent="/kubepods/podu1",
    sysctls={"net.ipv4.ip_unprivileged_port_start": "0"},
    run_as_user=1000, supplemental_groups=[5], host_pid=True,
)


def test_sandbox_config_to_pb() -> None:
    m = sandbox_config_to_pb(SB)
    assert (m.metadata.name, m.metadata.namespace, m.metadata.uid, m.metadata.attempt) == ("web", "default", "u1", 2)
    assert m.hostname == "web" and m.log_directory == "/logs/default_web_u1"
    assert list(m.dns_config.servers) == ["10.43.0.10"] and list(m.dns_config.options) == ["ndots:5"]
    pm = m.port_mappings[0]
    assert (pm.protocol, pm.container_port, pm.host_port, pm.host_ip) == (pb.UDP, 80, 8080, "127.0.0.1")
    assert dict(m.labels) == {"a": "b"} and dict(m.annotations) == {"c": "d"}
    assert m.linux.cgroup_parent == "/kubepods/podu1"
    assert dict(m.linux.sysctls) == {"net.ipv4.ip_unprivileged_port_start": "0"}
    sc = m.linux.security_context
    assert (sc.namespace_options.network, sc.namespace_options.pid, sc.namespace_options.ipc) == (
        pb.POD, pb.NODE, pb.POD)
    assert sc.run_as_user.value == 1000 and not sc.HasField("run_as_group")
    assert list(sc.supplemental_groups) == [5]
    assert not sc.HasField("seccomp")  # unconfined, the kubelet's default


@pytest.mark.parametrize(("kw", "expect"), [
    ({}, (pb.POD, pb.CONTAINER, pb.POD)),
    ({"host_network": True}, (pb.NODE, pb.CONTAINER, pb.POD)),
    ({"host_pid": True, "host_ipc": True}, (pb.POD, pb.NODE, pb.NODE)),
])
def test_namespace_options(kw: dict[str, bool], expect: tuple[int, int, int]) -> None:
    sb = PodSandboxConfig(name="p", namespace="n", uid="u", **kw)  # type: ignore[arg-type]
    no = sandbox_config_to_pb(sb).linux.security_context.namespace_options
    assert (no.network, no.pid, no.ipc) == expect
    no = container_config_to_pb(ContainerConfig(name="c", image="i"), sb).linux.security_context.namespace_options
    assert (no.network, no.pid, no.ipc) == expect


def test_container_config_to_pb() -> None:
    c = ContainerConfig(
        name="nginx", image="sha256:abc", attempt=1, command=["nginx"], args=["-g", "daemon off;"], working_dir="/w",
        envs=[("A", "1"), ("B", "")], mounts=[Mount("/data", "/host/data", readonly=True,
                                                     propagation="PROPAGATION_HOST_TO_CONTAINER")],
        labels={"l": "1"}, annotations={"an": "2"}, log_path="nginx/1.log", stdin=True, tty=True,
        resources=Resources(cpu_period=100000, cpu_quota=50000, cpu_shares=512, memory_limit_in_bytes=1 << 26,
                            oom_score_adj=1000),
        run_as_user=0, run_as_group=0, readonly_rootfs=True, capabilities_add=["NET_ADMIN"], capabilities_drop=["ALL"],
    )
    m = container_config_to_pb(c, SB)
    assert (m.metadata.name, m.metadata.attempt, m.image.image) == ("nginx", 1, "sha256:abc")
    assert list(m.command) == ["nginx"] and list(m.args) == ["-g", "daemon off;"] and m.working_dir == "/w"
    assert [(e.key, e.value) for e in m.envs] == [("A", "1"), ("B", "")]
    mt = m.mounts[0]
    assert (mt.container_path, mt.host_path, mt.readonly, mt.propagation) == (
        "/data", "/host/data", True, pb.PROPAGATION_HOST_TO_CONTAINER)
    assert m.log_path == "nginx/1.log" and m.stdin and m.tty and not m.stdin_once
    r = m.linux.resources
    assert (r.cpu_period, r.cpu_quota, r.cpu_shares, r.memory_limit_in_bytes, r.oom_score_adj) == (
        100000, 50000, 512, 1 << 26, 1000)
    sc = m.linux.security_context
    assert sc.HasField("run_as_user") and sc.run_as_user.value == 0 and sc.run_as_group.value == 0
    assert sc.readonly_rootfs and list(sc.capabilities.add_capabilities) == ["NET_ADMIN"]
    assert list(sc.capabilities.drop_capabilities) == ["ALL"] and list(sc.supplemental_groups) == [5]


def test_wire_field_numbers_match_upstream() -> None:
    """Spot checks of field numbers that are easy to get wrong (upstream runtime/v1/api.proto)."""
    f = {(m.name, fd.name): fd.number for m in pb.DESCRIPTOR.message_types_by_name.values() for fd in m.fields}
    assert f[("LinuxSandboxSecurityContext", "run_as_group")] == 8
    assert f[("LinuxSandboxSecurityContext", "seccomp")] == 9
    assert f[("LinuxContainerSecurityContext", "run_as_group")] == 12
    assert f[("LinuxContainerSecurityContext", "no_new_privs")] == 11
    assert f[("LinuxContainerSecurityContext", "seccomp")] == 15
    assert f[("ImageSpec", "user_specified_image")] == 18
    assert f[("ContainerStatus", "image_id")] == 17
    assert f[("LinuxContainerResources", "unified")] == 9
    assert f[("AttachRequest", "tty")] == 3 and f[("AttachRequest", "stdin")] == 2
    assert pb.DESCRIPTOR.package == "runtime.v1"
    assert pb.DESCRIPTOR.services_by_name["RuntimeService"].methods_by_name["ReopenContainerLog"]


SANDBOX_INFO = {
    "pid": 42,
    "runtimeSpec": {"linux": {"namespaces": [{"type": "pid"}, {"type": "network", "path": "/var/run/netns/cni-1"}],
                              "cgroupsPath": "/kubepods/podu1/abc"}},
}


@pytest.mark.parametrize(("info", "netns", "cgroups", "pid"), [
    ({}, "", "", 0),
    ({"info": "not json"}, "", "", 0),
    ({"info": "[1]"}, "", "", 0),
    ({"info": json.dumps(SANDBOX_INFO)}, "/var/run/netns/cni-1", "/kubepods/podu1/abc", 42),
    ({"info": json.dumps({**SANDBOX_INFO, "netNamespacePath": "/run/netns/x"})}, "/run/netns/x",
     "/kubepods/podu1/abc", 42),
    ({"info": json.dumps({"pid": "7", "runtimeSpec": {"linux": None}})}, "", "", 0),
])
def test_verbose_info(info: dict[str, str], netns: str, cgroups: str, pid: int) -> None:
    doc = parse_info(info)
    assert (netns_path_from_info(doc), cgroups_path_from_info(doc), pid_from_info(doc)) == (netns, cgroups, pid)


def test_sandbox_status_from_pb() -> None:
    resp = pb.PodSandboxStatusResponse(
        status=pb.PodSandboxStatus(
            id="s1", metadata=pb.PodSandboxMetadata(name="web", uid="u1", namespace="default", attempt=0),
            state=pb.SANDBOX_NOTREADY, created_at=5,
            network=pb.PodSandboxNetworkStatus(ip="10.42.0.5", additional_ips=[pb.PodIP(ip="fd00::5")]),
            labels={"a": "b"}),
        info={"info": json.dumps(SANDBOX_INFO)})
    s = sandbox_status_from_pb(resp)
    assert (s.id, s.name, s.uid, s.state, s.created_at) == ("s1", "web", "u1", SandboxState.NOTREADY, 5)
    assert (s.ip, s.additional_ips, s.netns_path, s.labels) == (
        "10.42.0.5", ["fd00::5"], "/var/run/netns/cni-1", {"a": "b"})


def test_container_status_from_pb() -> None:
    resp = pb.ContainerStatusResponse(
        status=pb.ContainerStatus(
            id="c1", metadata=pb.ContainerMetadata(name="nginx", attempt=3), state=pb.CONTAINER_EXITED,
            created_at=1, started_at=2, finished_at=3, exit_code=137, image=pb.ImageSpec(image="nginx"),
            image_ref="sha256:x", reason="OOMKilled", message="m", log_path="/l/0.log"),
        info={"info": json.dumps(SANDBOX_INFO)})
    s = container_status_from_pb(resp, "s1")
    assert (s.id, s.sandbox_id, s.name, s.attempt, s.state) == ("c1", "s1", "nginx", 3, ContainerState.EXITED)
    assert (s.started_at, s.finished_at, s.exit_code, s.reason, s.message) == (2, 3, 137, "OOMKilled", "m")
    assert (s.image, s.image_ref, s.log_path, s.pid, s.cgroups_path) == (
        "nginx", "sha256:x", "/l/0.log", 42, "/kubepods/podu1/abc")


def test_container_stats_from_pb() -> None:
    s = container_stats_from_pb(pb.ContainerStats(
        attributes=pb.ContainerAttributes(id="c1"),
        cpu=pb.CpuUsage(timestamp=9, usage_core_nano_seconds=pb.UInt64Value(value=100),
                        usage_nano_cores=pb.UInt64Value(value=7)),
        memory=pb.MemoryUsage(timestamp=9, working_set_bytes=pb.UInt64Value(value=3),
                              usage_bytes=pb.UInt64Value(value=4), rss_bytes=pb.UInt64Value(value=2))))
    assert (s.container_id, s.timestamp, s.cpu_usage_core_nanoseconds, s.cpu_usage_nano_cores) == ("c1", 9, 100, 7)
    assert (s.memory_working_set_bytes, s.memory_usage_bytes, s.memory_rss_bytes) == (3, 4, 2)
