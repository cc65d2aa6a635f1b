"""Deployment, ReplicaSet and ReplicationController controllers against a real API server, driven by kubectl.

The controllers run in the test process; a tiny in-test "kubelet" marks every new pod Running and Ready through
the status subresource (and finishes deletions), so availability works without a scheduler or nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

from harness import Cluster

from kybernetes.client.config import load_kubeconfig
from kybernetes.client.errors import ApiError
from kybernetes.client.informer import InformerFactory, key_of
from kybernetes.client.rest import Client, resource
from kybernetes.controllers.base import Context
from kybernetes.controllers.common import now_rfc3339
from kybernetes.controllers.deployment import DeploymentController
from kybernetes.controllers.replicaset import ReplicaSetController
from kybernetes.controllers.replicationcontroller import ReplicationControllerController

PODS = resource("", "v1", "pods")
RS = resource("apps", "v1", "replicasets")
Obj = dict[str, Any]


async def tiny_kubelet(client: Client, factory: InformerFactory) -> None:
    """Every pod becomes Running+Ready once; pods being deleted are removed at once."""
    informer = factory.informer(PODS)
    queue: asyncio.Queue[Obj] = asyncio.Queue()
    informer.add_handlers(on_add=queue.put_nowait, on_update=lambda _o, n: queue.put_nowait(n))
    while True:
        pod = await queue.get()
        meta = pod["metadata"]
        try:
            if meta.get("deletionTimestamp"):
                await client.delete(PODS, meta["namespace"], meta["name"], grace_period=0)
            elif (pod.get("status") or {}).get("phase") != "Running":
                now = now_rfc3339()
                containers = [{"name": c["name"], "image": c.get("image", ""), "ready": True, "started": True,
                               "restartCount": 0, "imageID": "", "containerID": f"containerd://{meta['name']}",
                               "state": {"running": {"startedAt": now}}}
                              for c in pod["spec"].get("containers") or []]
                status = {"phase": "Running", "startTime": now, "podIP": "10.42.0.9", "hostIP": "127.0.0.1",
                          "conditions": [{"type": t, "status": "True", "lastTransitionTime": now}
                                         for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
                          "containerStatuses": containers}
                await client.patch(PODS, meta["namespace"], meta["name"], {"status": status},
                                   subresource="status")
        except ApiError:
            pass


@contextlib.asynccontextmanager
async def controllers(cluster: Cluster, kubelet: bool = True) -> AsyncIterator[Client]:
    """Run the three controllers (and the tiny kubelet) until the block ends."""
    client = Client(load_kubeconfig(cluster.kubeconfig))
    factory = InformerFactory(client)
    ctx = Context(client, factory, {})
    running = [DeploymentController(ctx), ReplicaSetController(ctx), ReplicationControllerController(ctx)]

    async def main() -> None:
        async with asyncio.TaskGroup() as tg:
            if kubelet:
                tg.create_task(tiny_kubelet(client, factory))
            factory.start(tg)
            await factory.wait_for_sync()
            for c in running:
                tg.create_task(c.run())

    task = asyncio.create_task(main())
    try:
        yield client
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for c in running:
            await c.recorder.flush()
        await client.close()
        await asyncio.sleep(0.25)  # let the SSL transports of cancelled watches finish closing


async def kubectl(cluster: Cluster, *args: str, check: bool = True) -> str:
    result = await asyncio.to_thread(cluster.kubectl, *args, check=check)
    return str(result.stdout)


async def eventually(fn: Callable[[], Any], within: float = 20.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            value = fn()
            if asyncio.iscoroutine(value):
                value = await value
            if value:
                return value
        except (AssertionError, ApiError):
            if asyncio.get_running_loop().time() > deadline:
                raise
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


async def get_json(cluster: Cluster, *args: str) -> Any:
    return json.loads(await kubectl(cluster, "get", *args, "-o", "json"))


async def test_deployment_lifecycle(fresh_apiserver: Cluster) -> None:
    cluster = fresh_apiserver
    async with controllers(cluster):
        await kubectl(cluster, "create", "deployment", "nginx", "--image=nginx")

        async def available(n: int) -> bool:
            d = await get_json(cluster, "deployment", "nginx")
            s = d.get("status") or {}
            return bool(s.get("availableReplicas") == n and s.get("updatedReplicas") == n
                        and s.get("replicas") == n and s.get("observedGeneration") == d["metadata"]["generation"])

        await eventually(lambda: available(1))
        rss = (await get_json(cluster, "rs"))["items"]
        assert len(rss) == 1
        rs_name = rss[0]["metadata"]["name"]
        assert re.fullmatch(r"nginx-[bcdfghjklmnpqrstvwxz2456789]{6,10}", rs_name)
        assert rss[0]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
        assert rss[0]["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "1"
        assert rss[0]["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "2"
        pods = (await get_json(cluster, "pods"))["items"]
        assert len(pods) == 1 and pods[0]["metadata"]["name"].startswith(rs_name + "-")

        async def described() -> str:
            out = await kubectl(cluster, "describe", "deployment", "nginx")
            assert "ScalingReplicaSet" in out
            return out

        out = await eventually(described)
        assert "Replicas:               1 desired | 1 updated | 1 total | 1 available | 0 unavailable" in out
        assert f"NewReplicaSet:   {rs_name} (1/1 replicas created)" in out
        assert f"Scaled up replica set {rs_name} from 0 to 1" in out
        assert re.search(r"Available\s+True\s+MinimumReplicasAvailable", out)
        assert re.search(r"Progressing\s+True\s+NewReplicaSetAvailable", out)

        async def rs_described() -> str:
            out = await kubectl(cluster, "describe", "rs", rs_name)
            assert "SuccessfulCreate" in out
            return out

        out = await eventually(rs_described)
        assert "Controlled By:  Deployment/nginx" in out
        assert "Pods Status:    1 Running / 0 Waiting / 0 Succeeded / 0 Failed" in out
        assert "Created pod: " + rs_name in out

        await kubectl(cluster, "scale", "deployment", "nginx", "--replicas=3")
        await eventually(lambda: available(3))
        assert len((await get_json(cluster, "pods"))["items"]) == 3

        await kubectl(cluster, "set", "image", "deployment/nginx", "nginx=nginx:1.27")
        out = await kubectl(cluster, "rollout", "status", "deployment/nginx", "--timeout=60s")
        assert 'deployment "nginx" successfully rolled out' in out
        await eventually(lambda: available(3))
        rss = (await get_json(cluster, "rs"))["items"]
        assert len(rss) == 2
        sizes = {r["metadata"]["name"]: r["spec"]["replicas"] for r in rss}
        assert sizes[rs_name] == 0 and sorted(sizes.values()) == [0, 3]
        history = await kubectl(cluster, "rollout", "history", "deployment/nginx")
        assert re.search(r"^1\s", history, re.M) and re.search(r"^2\s", history, re.M)

        await kubectl(cluster, "rollout", "undo", "deployment/nginx")
        await kubectl(cluster, "rollout", "status", "deployment/nginx", "--timeout=60s")

        async def back_on_first() -> bool:
            rs = await get_json(cluster, "rs", rs_name)
            return bool(rs["spec"]["replicas"] == 3
                        and rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3")

        await eventually(back_on_first)
        assert len((await get_json(cluster, "rs"))["items"]) == 2
        await eventually(lambda: available(3))
        d = await get_json(cluster, "deployment", "nginx")
        assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
        assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx"

        await kubectl(cluster, "rollout", "restart", "deployment/nginx")
        await kubectl(cluster, "rollout", "status", "deployment/nginx", "--timeout=60s")
        assert len((await get_json(cluster, "rs"))["items"]) == 3


async def test_restart_mid_rollout_creates_no_duplicates(fresh_apiserver: Cluster) -> None:
    cluster = fresh_apiserver
    async with controllers(cluster, kubelet=False):
        await kubectl(cluster, "create", "deployment", "web", "--image=nginx", "--replicas=4")

        async def four_pods() -> bool:
            return len((await get_json(cluster, "pods"))["items"]) == 4

        await eventually(four_pods)
    # pods are not ready: a new controller process must not create more of them
    async with controllers(cluster, kubelet=False):
        await asyncio.sleep(1.5)
        assert len((await get_json(cluster, "pods"))["items"]) == 4
        assert len((await get_json(cluster, "rs"))["items"]) == 1
    async with controllers(cluster, kubelet=True):
        async def ready() -> bool:
            d = await get_json(cluster, "deployment", "web")
            return bool((d.get("status") or {}).get("availableReplicas") == 4)

        await eventually(ready)
        assert len((await get_json(cluster, "pods"))["items"]) == 4


async def test_replicaset_adopts_and_replicationcontroller(fresh_apiserver: Cluster) -> None:
    cluster = fresh_apiserver
    orphan = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "orphan", "labels": {"app": "solo"}},
              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "solo"},
          "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "solo"}},
                   "template": {"metadata": {"labels": {"app": "solo"}},
                                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
    rc = {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "old"},
          "spec": {"replicas": 2, "selector": {"app": "old"},
                   "template": {"metadata": {"labels": {"app": "old"}},
                                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
    async with controllers(cluster) as client:
        await client.create(PODS, "default", orphan)
        await client.create(RS, "default", rs)
        await client.create(resource("", "v1", "replicationcontrollers"), "default", rc)

        async def settled() -> bool:
            pods = (await get_json(cluster, "pods", "-l", "app=solo"))["items"]
            s = (await get_json(cluster, "rs", "solo")).get("status") or {}
            return len(pods) == 2 and s.get("readyReplicas") == 2 and s.get("availableReplicas") == 2

        await eventually(settled)
        pod = await get_json(cluster, "pod", "orphan")
        assert pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"

        await kubectl(cluster, "scale", "rs", "solo", "--replicas=1")

        async def one() -> bool:
            return len((await get_json(cluster, "pods", "-l", "app=solo"))["items"]) == 1

        await eventually(one)

        async def rc_ready() -> bool:
            s = (await get_json(cluster, "rc", "old")).get("status") or {}
            pods = (await get_json(cluster, "pods", "-l", "app=old"))["items"]
            return len(pods) == 2 and s.get("readyReplicas") == 2

        await eventually(rc_ready)
        out = await eventually(lambda: _described_rc(cluster))
        assert "Created pod: old-" in out
    assert key_of(rs) == "solo"


async def _described_rc(cluster: Cluster) -> str:
    out = await kubectl(cluster, "describe", "rc", "old")
    return out if "SuccessfulCreate" in out else ""
