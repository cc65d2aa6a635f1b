"""The kubelet core on real containerd (root): a pod bound to the node runs, answers HTTP, and deleting it
leaves nothing behind.  Reuses the containerd/registry/network fixtures of ``test_containerd.py`` (which check
the host is back to its prior state) and a real ``kyb apiserver``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import ApiServer
from test_containerd import Node, cgroup_top, http_get, node  # noqa: F401

from kybernetes.client.config import load_kubeconfig
from kybernetes.client.errors import NotFoundError
from kybernetes.client.rest import Client, resource
from kybernetes.kubelet.kubelet import Kubelet

pytestmark = [pytest.mark.root, pytest.mark.asyncio]
PODS = resource("", "v1", "pods")
Obj = dict[str, Any]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiServer]:
    server = ApiServer(tmp_path / "api")
    try:
        server.start()
        yield server
    finally:
        server.close()


async def test_kubelet_runs_real_nginx(node: Node, api: ApiServer, tmp_path: Path) -> None:  # noqa: F811
    client = Client(load_kubeconfig(api.kubeconfig))
    kubelet = Kubelet(client, node.cri, node.cri, "e2e-node", node.data_dir / "kubelet",
                      options={"node_ip": "127.0.0.1", "pleg_period": 0.5})
    ready = asyncio.Event()
    task = asyncio.create_task(kubelet.run(ready))
    try:
        await asyncio.wait_for(ready.wait(), 30)
        await client.create(PODS, "default", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                                              "spec": {"nodeName": "e2e-node", "automountServiceAccountToken": False,
                                                       "terminationGracePeriodSeconds": 2,
                                                       "containers": [{"name": "nginx", "image": "nginx"}]}})
        start = time.monotonic()
        pod: Obj = {}
        while time.monotonic() - start < 30:
            pod = await client.get(PODS, "default", "web")
            if pod.get("status", {}).get("phase") == "Running":
                break
            await asyncio.sleep(0.2)
        assert pod["status"]["phase"] == "Running", pod.get("status")
        assert b"nginx" in (await http_get(pod["status"]["podIP"])).lower()
        await client.delete(PODS, "default", "web")
        while time.monotonic() - start < 60:
            try:
                await client.get(PODS, "default", "web")
            except NotFoundError:
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError("pod not deleted")
        assert not await node.cri.list_containers()
        assert not await node.cri.list_pod_sandboxes()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await client.close()
        if kubelet.cgroups is not None:
            kubelet.cgroups.remove_qos()
