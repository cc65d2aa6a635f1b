"""containerd under the agent + the network safety net + the CRI client, on real containers (root only).

One pod lifecycle end to end: local registry with the offline images, our own containerd, RunPodSandbox on the
node's podCIDR, nginx answering curl from the host, ExecSync, status and stats, a busybox pod that cannot reach the
outside, then cleanup leaving the host as it was (processes, netns, links, routes, nft rules, ip_forward, mounts,
cgroups).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import secrets
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kybernetes.agent.containerd import SHARED_RUN_DIRS, Containerd
from kybernetes.agent.network import NetworkConfig, NetworkSafetyNet, write_cni_config
from kybernetes.kubelet.cri.client import CRIClient
from kybernetes.kubelet.cri.types import (
    ContainerConfig,
    ContainerState,
    DNSConfig,
    PodSandboxConfig,
    Resources,
    SandboxState,
)

pytestmark = [pytest.mark.root, pytest.mark.asyncio]

POD_CIDR = "10.42.250.0/24"
CGROUP_ROOT = Path("/sys/fs/cgroup")


def _sh(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout


def host_snapshot() -> dict[str, object]:
    """What must be identical before and after (our parts of it)."""
    return {
        "routes": _sh("ip", "route"),
        "links": sorted(line.split()[0] for line in _sh("ip", "-br", "link").splitlines()),
        "kyb_rules": "KYB" in _sh("nft", "list", "ruleset"),
        "ip_forward": Path("/proc/sys/net/ipv4/ip_forward").read_text(),
        "netns": sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else None,
        "run_dirs": [d for d in SHARED_RUN_DIRS if os.path.exists(d)],
    }


def _mountinfo() -> str:
    return Path("/proc/self/mountinfo").read_text()


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _rmdir_cgroups(top: str) -> None:
    for hierarchy in CGROUP_ROOT.iterdir():
        base = hierarchy / top
        if not base.is_dir():
            continue
        for dirpath, _dirs, _files in sorted(os.walk(base), key=lambda t: -t[0].count("/")):
            with contextlib.suppress(OSError):
                os.rmdir(dirpath)


@pytest.fixture
def cgroup_top() -> Iterator[str]:
    top = f"kyb-e2e-{secrets.token_hex(4)}"
    try:
        yield top
    finally:
        _rmdir_cgroups(top)


@dataclass
class Node:
    containerd: Containerd
    cri: CRIClient
    data_dir: Path
    cgroup_top: str


@pytest.fixture
async def node(tmp_path: Path, cgroup_top: str) -> AsyncIterator[Node]:
    from kybernetes.agent.images import ensure_images
    from kybernetes.agent.registry import LocalRegistry

    before = host_snapshot()
    data_dir = tmp_path / "data"
    registry = LocalRegistry(data_dir)
    net = NetworkSafetyNet(NetworkConfig(pod_cidr=POD_CIDR, data_dir=data_dir))
    containerd: Containerd | None = None
    started_pid: int | None = None
    try:
        await registry.start()
        await ensure_images(registry.address, tmp_path / "image-cache")
        await net.install()
        containerd = Containerd(data_dir, registry.address, stream_port=0)
        write_cni_config(net.cfg, containerd.cni_conf_dir)
        await containerd.start()
        started_pid = containerd.pid
        async with containerd.client() as cri:
            yield Node(containerd, cri, data_dir, cgroup_top)
    finally:
        shims: list[int] = []
        try:
            if containerd is not None:
                shims = containerd.shim_pids()
                await containerd.cleanup()
        finally:
            await net.remove()
            await registry.stop()
    # after cleanup: nothing of ours is left
    assert started_pid is not None
    assert not _alive(started_pid), "containerd still running"
    assert not [p for p in shims if _alive(p)], "shims still running"
    assert containerd is not None and containerd.shim_pids() == []
    assert host_snapshot() == before
    assert str(data_dir) not in _mountinfo()


def sandbox_config(node: Node, name: str) -> PodSandboxConfig:
    uid = str(uuid.uuid4())
    return PodSandboxConfig(
        name=name, namespace="default", uid=uid, hostname=name,
        log_directory=str(node.data_dir / "pods" / f"default_{name}_{uid}"),
        dns=DNSConfig(servers=["10.43.0.10"], searches=["default.svc.cluster.local"], options=["ndots:5"]),
        labels={"io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": "default",
                "io.kubernetes.pod.uid": uid},
        cgroup_parent=f"/{node.cgroup_top}/pod{uid}",
    )


async def http_get(ip: str, port: int = 80) -> bytes:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), 5)
    writer.write(b"GET / HTTP/1.0\r\nHost: pod\r\n\r\n")
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return data


async def test_pod_lifecycle_through_cri(node: Node) -> None:
    cri = node.cri
    name, version = await cri.version()
    assert name == "containerd" and version
    assert await cri.ready() == (True, True)

    sb_cfg = sandbox_config(node, "web")
    sandbox_id = await cri.run_pod_sandbox(sb_cfg)
    status = await cri.pod_sandbox_status(sandbox_id)
    assert status.state is SandboxState.READY
    assert ipaddress.ip_address(status.ip) in ipaddress.ip_network(POD_CIDR)
    assert status.netns_path.startswith("/var/run/netns/") or status.netns_path.startswith("/run/netns/")
    assert [s.id for s in await cri.list_pod_sandboxes({"io.kubernetes.pod.name": "web"})] == [sandbox_id]

    image_ref = await cri.pull_image("nginx")
    assert image_ref.startswith("sha256:")
    info = await cri.image_status("nginx")
    assert info is not None and "docker.io/library/nginx:latest" in info.repo_tags
    assert await cri.image_status("docker.io/library/does-not-exist:latest") is None

    cid = await cri.create_container(sandbox_id, ContainerConfig(
        name="nginx", image=image_ref, log_path="nginx/0.log",
        resources=Resources(cpu_shares=2, cpu_period=100000, oom_score_adj=1000)), sb_cfg)
    await cri.start_container(cid)
    cs = await cri.container_status(cid)
    assert cs.state is ContainerState.RUNNING
    assert cs.sandbox_id == sandbox_id
    assert cs.pid > 0 and cs.cgroups_path.endswith(cid)
    assert cs.log_path.endswith("nginx/0.log")

    body = b""
    for _ in range(50):
        with contextlib.suppress(OSError, TimeoutError):
            body = await http_get(status.ip)
            break
        await asyncio.sleep(0.1)
    assert body.startswith(b"HTTP/1.1 200"), body[:200]

    res = await cri.exec_sync(cid, ["hostname"], timeout=10)
    assert (res.exit_code, res.stdout) == (0, b"web\n")
    res = await cri.exec_sync(cid, ["sh", "-c", "echo oops >&2; exit 3"], timeout=10)
    assert (res.exit_code, res.stderr) == (3, b"oops\n")

    stats = await cri.container_stats(cid)
    assert stats.container_id == cid and stats.memory_working_set_bytes > 0
    assert cid in {s.container_id for s in await cri.list_container_stats()}
    assert [c.id for c in await cri.list_containers(sandbox_id=sandbox_id)] == [cid]
    url = await cri.exec(cid, ["sh"], tty=False, stdin=True, stdout=True, stderr=True)
    assert url.startswith("http://127.0.0.1:")

    await cri.stop_container(cid, 10)
    cs = await cri.container_status(cid)
    assert cs.state is ContainerState.EXITED and cs.finished_at > 0
    await cri.remove_container(cid)
    await cri.stop_pod_sandbox(sandbox_id)
    await cri.remove_pod_sandbox(sandbox_id)
    assert await cri.list_pod_sandboxes() == []


async def test_pod_cannot_reach_outside(node: Node) -> None:
    cri = node.cri
    sb_cfg = sandbox_config(node, "probe")
    sandbox_id = await cri.run_pod_sandbox(sb_cfg)
    image_ref = await cri.pull_image("busybox")
    cid = await cri.create_container(sandbox_id, ContainerConfig(
        name="bb", image=image_ref, command=["sleep", "3600"], log_path="bb/0.log"), sb_cfg)
    await cri.start_container(cid)

    res = await cri.exec_sync(cid, ["nc", "-w", "1", "192.0.2.1", "80"], timeout=10)
    assert res.exit_code != 0
    assert b"Network is unreachable" in res.stderr, res
    res = await cri.exec_sync(cid, ["ip", "route"], timeout=10)
    assert b"default" not in res.stdout, res.stdout
    resolv = await cri.exec_sync(cid, ["cat", "/etc/resolv.conf"], timeout=10)
    assert b"nameserver 10.43.0.10" in resolv.stdout
    # the host resolver (outside the machine) never appears in a pod
    assert json.dumps(resolv.stdout.decode()).count("nameserver") == 1
    # cleanup() (the fixture) removes this running pod
