"""The scheduler in-process against a real ``kyb apiserver``: pods bound to the right nodes (nodeSelector,
taints, resources, spread), FailedScheduling with upstream's message and the PodScheduled condition, and an
unschedulable pod scheduled once a fitting node appears."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from harness import Cluster

from kybernetes.client.config import load_kubeconfig
from kybernetes.client.rest import Client, resource
from kybernetes.scheduler import server

NODES = resource("", "v1", "nodes")
PODS = resource("", "v1", "pods")
EVENTS = resource("", "v1", "events")
Obj = dict[str, Any]
ZONE = "topology.kubernetes.io/zone"


async def add_node(client: Client, name: str, *, cpu: str = "2", labels: Obj | None = None,
                   taints: list[Obj] | None = None) -> None:
    body: Obj = {"apiVersion": "v1", "kind": "Node",
                 "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
                 "spec": {"taints": taints} if taints else {}}
    await client.create(NODES, "", body)
    status = {"status": {"capacity": {"cpu": cpu, "memory": "4Gi", "pods": "110"},
                         "allocatable": {"cpu": cpu, "memory": "4Gi", "pods": "110"},
                         "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                         "message": "kubelet is posting ready status"}]}}
    await client.patch(NODES, "", name, status, subresource="status")


def pod(name: str, cpu: str = "100m", labels: Obj | None = None, **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"containers": [{"name": "c", "image": "nginx",
                                     "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}], **spec}}


async def wait_for(predicate: Any, limit: float = 15.0) -> Any:
    async with asyncio.timeout(limit):
        while True:
            value = await predicate()
            if value:
                return value
            await asyncio.sleep(0.1)


async def node_of(client: Client, name: str) -> str:
    return str(((await client.get(PODS, "default", name)).get("spec") or {}).get("nodeName") or "")


@contextlib.asynccontextmanager
async def scheduler(cluster: Cluster) -> AsyncIterator[Client]:
    client = Client(load_kubeconfig(cluster.kubeconfig))
    ready = asyncio.Event()
    task = asyncio.create_task(server.run(cluster.kubeconfig, ready=ready, options={"seed": 1}))
    try:
        async with asyncio.timeout(20):
            await ready.wait()
        yield client
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.close()


async def test_scheduling_decisions_and_failures(fresh_apiserver: Cluster) -> None:
    async with scheduler(fresh_apiserver) as client:
        await add_node(client, "control-plane", cpu="8",
                       taints=[{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}])
        await add_node(client, "node-1", cpu="1", labels={"disk": "ssd", ZONE: "z1"})
        await add_node(client, "node-2", cpu="2", labels={ZONE: "z2"})

        await client.create(PODS, "default", pod("ssd", nodeSelector={"disk": "ssd"}))
        await client.create(PODS, "default", pod("big", cpu="1500m"))
        await client.create(PODS, "default", pod("tolerant", cpu="4", tolerations=[
            {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]))
        await client.create(PODS, "default", pod("huge", cpu="3"))
        assert await wait_for(lambda: node_of(client, "ssd")) == "node-1"
        assert await wait_for(lambda: node_of(client, "big")) == "node-2"
        assert await wait_for(lambda: node_of(client, "tolerant")) == "control-plane"

        want = ("0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
                "2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for "
                "scheduling, 2 No preemption victims found for incoming pod.")

        async def failed_event() -> Obj | None:
            items = (await client.list(EVENTS, "default", field_selector="involvedObject.name=huge"))["items"]
            return next((e for e in items if e["reason"] == "FailedScheduling"), None)

        event = await wait_for(failed_event)
        assert event["message"] == want and event["type"] == "Warning"
        assert event["source"]["component"] == "default-scheduler"

        async def condition() -> Obj | None:
            conds = ((await client.get(PODS, "default", "huge")).get("status") or {}).get("conditions") or []
            return next((c for c in conds if c["type"] == "PodScheduled"), None)

        cond = await wait_for(condition)
        assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Unschedulable", want)

        described = (await asyncio.to_thread(fresh_apiserver.kubectl, "describe", "pod", "ssd")).stdout
        assert "Successfully assigned default/ssd to node-1" in described

        # a fitting node appears: the parked pod is retried and bound
        await add_node(client, "node-3", cpu="4", labels={ZONE: "z3"})
        assert await wait_for(lambda: node_of(client, "huge"), limit=20) == "node-3"


async def test_topology_spread(fresh_apiserver: Cluster) -> None:
    async with scheduler(fresh_apiserver) as client:
        for i, zone in enumerate(("z1", "z1", "z2")):
            await add_node(client, f"n{i}", cpu="8", labels={ZONE: zone})
        spread = [{"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule",
                   "labelSelector": {"matchLabels": {"app": "web"}}}]
        for i in range(4):
            await client.create(PODS, "default", pod(f"web-{i}", labels={"app": "web"},
                                                     topologySpreadConstraints=spread))
        names = [await wait_for(lambda i=i: node_of(client, f"web-{i}")) for i in range(4)]
        zones = {"n0": "z1", "n1": "z1", "n2": "z2"}
        per_zone = [sum(1 for n in names if zones[n] == z) for z in ("z1", "z2")]
        assert per_zone == [2, 2]


@pytest.mark.parametrize("scheduler_name", ["other-scheduler"])
async def test_ignores_other_schedulers(fresh_apiserver: Cluster, scheduler_name: str) -> None:
    async with scheduler(fresh_apiserver) as client:
        await add_node(client, "n0")
        await client.create(PODS, "default", pod("mine"))
        await client.create(PODS, "default", pod("theirs", schedulerName=scheduler_name))
        assert await wait_for(lambda: node_of(client, "mine")) == "n0"
        await asyncio.sleep(0.5)
        assert await node_of(client, "theirs") == ""
