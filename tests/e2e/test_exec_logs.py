"""kubectl exec / logs through a real ``kyb apiserver`` → :class:`KubeletServer` → containerd's streaming server,
on real containers (root only). Reuses the containerd node fixture of ``test_containerd.py`` (which checks the
host is left as it was)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from harness import ApiServer
from test_containerd import Node, cgroup_top, node, sandbox_config  # noqa: F401

from kybernetes.apiserver import certs
from kybernetes.kubelet.cri.types import ContainerConfig
from kybernetes.kubelet.server import KubeletServer, kubelet_ssl_context

pytestmark = [pytest.mark.root, pytest.mark.asyncio, pytest.mark.kubectl]


@dataclass
class View:
    pods_by_key: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    containers: dict[tuple[str, str, str], tuple[str, str]] = field(default_factory=dict)  # → (id, log path)
    sandboxes: dict[tuple[str, str], str] = field(default_factory=dict)

    def pod_by_name(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.pods_by_key.get((namespace, name))

    def container_id(self, namespace: str, pod: str, container: str, previous: bool = False) -> str | None:
        found = self.containers.get((namespace, pod, container))
        return found[0] if found and not previous else None

    def sandbox_id(self, namespace: str, pod: str) -> str | None:
        return self.sandboxes.get((namespace, pod))

    def log_path(self, namespace: str, pod: str, container: str, previous: bool = False) -> str | None:
        found = self.containers.get((namespace, pod, container))
        return found[1] if found else None

    def pods(self) -> list[dict[str, Any]]:
        return list(self.pods_by_key.values())


@dataclass
class Setup:
    api: ApiServer
    view: View


@pytest.fixture
async def cluster(node: Node, tmp_path: Path) -> AsyncIterator[Setup]:  # noqa: F811
    api = ApiServer(tmp_path / "api")
    kubelet: KubeletServer | None = None
    try:
        await asyncio.to_thread(api.start)
        pki = certs.ensure_pki(api.data_dir)
        cert, key = certs.issue_server_cert(pki.ca, ["localhost"], ["127.0.0.1"])
        (tmp_path / "kubelet.crt").write_bytes(cert)
        (tmp_path / "kubelet.key").write_bytes(key)
        ctx = kubelet_ssl_context(tmp_path / "kubelet.crt", tmp_path / "kubelet.key", pki.ca_cert_path)
        view = View()
        kubelet = KubeletServer(view, node.cri, port=0, ssl_context=ctx, address="127.0.0.1")
        await kubelet.start()

        def k(*args: str, input: str | None = None) -> None:
            api.kubectl(*args, input=input)

        await asyncio.to_thread(k, "create", "-f", "-", input=json.dumps(
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}))
        status = {"status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                             "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet.port}}}}
        await asyncio.to_thread(k, "patch", "node", "n1", "--subresource=status", "--type=merge", "-p",
                                json.dumps(status))
        await _run_pod(node, view, api, "web", {
            "sleeper": ["sleep", "3600"],
            "talker": ["sh", "-c", "echo one; sleep 2; echo two; sleep 0.5; echo err >&2"],
        })
        yield Setup(api, view)
    finally:
        if kubelet is not None:
            await kubelet.stop()
        await asyncio.to_thread(api.close)


async def _run_pod(n: Node, view: View, api: ApiServer, name: str, containers: dict[str, list[str]]) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
           "spec": {"nodeName": "n1", "containers": [{"name": c, "image": "busybox"} for c in containers]}}
    await asyncio.to_thread(api.kubectl, "create", "-f", "-", input=json.dumps(pod))
    sb_cfg = sandbox_config(n, name)
    sandbox_id = await n.cri.run_pod_sandbox(sb_cfg)
    image = await n.cri.pull_image("busybox")
    view.pods_by_key[("default", name)] = pod
    view.sandboxes[("default", name)] = sandbox_id
    for cname, command in containers.items():
        cid = await n.cri.create_container(sandbox_id, ContainerConfig(
            name=cname, image=image, command=command, log_path=f"{cname}/0.log"), sb_cfg)
        await n.cri.start_container(cid)
        view.containers[("default", name, cname)] = (cid, f"{sb_cfg.log_directory}/{cname}/0.log")


async def test_exec_and_logs_on_real_containers(cluster: Setup) -> None:
    api = cluster.api

    def k(*args: str, input: str | None = None, version: str = "1.32") -> Any:
        return api.kubectl(*args, input=input, check=False, version=version, timeout=60)

    for version in ("1.33", "1.32", "1.27"):
        r = await asyncio.to_thread(k, "exec", "web", "-c", "sleeper", "--", "cat", "/etc/hostname",
                                    version=version)
        assert (r.returncode, r.stdout) == (0, "web\n"), r.stderr
        r = await asyncio.to_thread(k, "exec", "web", "-c", "sleeper", "--", "sh", "-c", "exit 3", version=version)
        assert r.returncode == 3, r.stderr
        assert "command terminated with exit code 3" in r.stderr
        r = await asyncio.to_thread(k, "exec", "-i", "web", "-c", "sleeper", "--", "cat", input="a\nb\n",
                                    version=version)
        assert (r.returncode, r.stdout) == (0, "a\nb\n"), r.stderr

    r = await asyncio.to_thread(k, "logs", "-f", "web", "-c", "talker")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "one\ntwo\nerr\n"
    r = await asyncio.to_thread(k, "logs", "web", "-c", "talker", "--tail=1")
    assert r.stdout == "err\n"
