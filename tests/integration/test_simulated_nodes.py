"""Simulated nodes plus the node IPAM and node lifecycle controllers against a real ``kyb apiserver``.

The agent and both controllers run in the test process (short lease, grace and toleration periods); the real
kubectl checks what users see.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from harness import Cluster

from kybernetes.agent.simulated import SimulatedNodes
from kybernetes.client.config import load_kubeconfig
from kybernetes.client.errors import NotFoundError
from kybernetes.client.informer import InformerFactory
from kybernetes.client.rest import Client, resource
from kybernetes.controllers.base import Context
from kybernetes.controllers.nodeipam import NodeIpamController
from kybernetes.controllers.nodelifecycle import NodeLifecycleController

Obj = dict[str, Any]
PODS = resource("", "v1", "pods")
NODES = resource("", "v1", "nodes")
EVENTS = resource("", "v1", "events")

OPTIONS = {"complete_after": 1.0, "lease_interval": 0.5, "status_interval": 5.0, "pod_events": True}
CONTROLLER_OPTIONS = {"node_monitor_grace_period": 3.0, "node_monitor_period": 0.5}


@dataclass
class Sim:
    client: Client
    nodes: SimulatedNodes


@asynccontextmanager
async def simulated_cluster(cluster: Cluster, count: int = 3) -> AsyncIterator[Sim]:
    client = Client(load_kubeconfig(cluster.kubeconfig))
    sim = SimulatedNodes(client, count, options=OPTIONS)
    informers = InformerFactory(client)
    ctx = Context(client, informers, dict(CONTROLLER_OPTIONS))
    controllers = [NodeIpamController(ctx), NodeLifecycleController(ctx)]
    ready = asyncio.Event()
    try:
        async with asyncio.TaskGroup() as tg:
            agent = tg.create_task(sim.run(ready))
            await asyncio.wait_for(ready.wait(), 30)
            informers.start(tg)
            await informers.wait_for_sync()
            tasks = [tg.create_task(c.run()) for c in controllers]
            try:
                yield Sim(client, sim)
            finally:
                for task in [agent, *tasks, *informers._tasks]:
                    task.cancel()
    finally:
        await client.close()


async def eventually(check: Callable[[], Awaitable[Any]], within: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what or check}: last {last!r}")


async def kubectl(cluster: Cluster, *args: str) -> str:
    return (await asyncio.to_thread(cluster.kubectl, *args)).stdout


def pod(name: str, node: str, *, restart: str = "Always", annotations: dict[str, str] | None = None,
        tolerations: list[Obj] | None = None) -> Obj:
    spec: Obj = {"nodeName": node, "restartPolicy": restart,
                 "containers": [{"name": "nginx", "image": "nginx",
                                 "resources": {"requests": {"cpu": "100m"}}}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "annotations": annotations or {}}, "spec": spec}


async def test_simulated_nodes_register_run_pods_and_get_evicted(fresh_apiserver: Cluster) -> None:
    cluster = fresh_apiserver
    async with simulated_cluster(cluster) as sim:
        client = sim.client

        async def all_have_cidrs() -> list[Obj] | None:
            items = (await client.list(NODES))["items"]
            return items if len(items) == 3 and all(n["spec"].get("podCIDR") for n in items) else None

        nodes = await eventually(all_have_cidrs, what="pod CIDRs")
        cidrs = {n["metadata"]["name"]: n["spec"]["podCIDR"] for n in nodes}
        assert sorted(cidrs.values()) == ["10.42.0.0/24", "10.42.1.0/24", "10.42.2.0/24"]
        assert all(n["spec"]["podCIDRs"] == [n["spec"]["podCIDR"]] for n in nodes)

        out = await kubectl(cluster, "get", "nodes")
        lines = out.splitlines()
        assert lines[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
        assert [ln.split()[0] for ln in lines[1:]] == ["kyb-sim-0", "kyb-sim-1", "kyb-sim-2"]
        for line in lines[1:]:
            fields = line.split()
            assert fields[1:3] == ["Ready", "<none>"], line
            assert fields[4].startswith("v1.33."), line
        node1 = await client.get(NODES, "", "kyb-sim-1")
        assert node1["status"]["nodeInfo"]["containerRuntimeVersion"] == "kyb-sim://0.1"
        assert node1["metadata"]["labels"]["node.kubernetes.io/instance-type"] == "kyb-sim"

        # a pod bound to kyb-sim-1 runs with an IP from that node's CIDR
        await client.create(PODS, "default", pod("web", "kyb-sim-1"))

        async def running(name: str) -> Obj | None:
            p = await client.get(PODS, "default", name)
            return p if (p.get("status") or {}).get("phase") == "Running" else None

        web = await eventually(lambda: running("web"), what="web Running")
        status = web["status"]
        assert ipaddress.ip_address(status["podIP"]) in ipaddress.ip_network(cidrs["kyb-sim-1"])
        assert status["qosClass"] == "Burstable"
        assert {c["type"]: c["status"] for c in status["conditions"]} == {
            "PodReadyToStartContainers": "True", "Initialized": "True", "Ready": "True", "ContainersReady": "True",
            "PodScheduled": "True"}
        cs = status["containerStatuses"][0]
        assert cs["ready"] and cs["started"] and cs["containerID"].startswith("kyb-sim://")
        assert cs["imageID"].startswith("docker.io/library/nginx@sha256:")
        wide = (await kubectl(cluster, "get", "pods", "-o", "wide")).splitlines()
        assert wide[0].split()[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
        row = wide[1].split()
        assert row[:3] == ["web", "1/1", "Running"] and row[5] == status["podIP"] and row[6] == "kyb-sim-1"

        async def kubelet_events() -> list[str] | None:
            items = (await client.list(EVENTS, "default", field_selector="involvedObject.name=web"))["items"]
            reasons = [e["reason"] for e in items if e["source"].get("component") == "kubelet"]
            return reasons if len(reasons) >= 3 else None

        assert sorted(await eventually(kubelet_events, what="kubelet events")) == ["Created", "Pulled", "Started"]

        # job-like pods finish: exit 0 → Completed, chosen exit code → Error
        await client.create(PODS, "default", pod("job-ok", "kyb-sim-0", restart="Never"))
        await client.create(PODS, "default", pod("job-bad", "kyb-sim-0", restart="Never", annotations={
            "kybernetes.io/simulate-exit-code": "3", "kybernetes.io/simulate-duration": "0.5s"}))

        async def finished() -> str | None:
            out = await kubectl(cluster, "get", "pods", "job-ok", "job-bad", "--no-headers")
            states = {ln.split()[0]: ln.split()[2] for ln in out.splitlines()}
            return out if states == {"job-ok": "Completed", "job-bad": "Error"} else None

        await eventually(finished, what="jobs finished")
        bad = await client.get(PODS, "default", "job-bad")
        assert bad["status"]["phase"] == "Failed"
        assert bad["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3

        # a node whose kubelet stops: NotReady, unreachable taints, pod marked not ready then evicted
        toleration = [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
                       "tolerationSeconds": 2}]
        await client.create(PODS, "default", pod("victim", "kyb-sim-2", tolerations=toleration))
        await eventually(lambda: running("victim"), what="victim Running")
        sim.nodes.pause("kyb-sim-2")

        async def unreachable() -> Obj | None:
            n = await client.get(NODES, "", "kyb-sim-2")
            keys = {(t["key"], t["effect"]) for t in n["spec"].get("taints") or []}
            want = {("node.kubernetes.io/unreachable", "NoSchedule"), ("node.kubernetes.io/unreachable", "NoExecute")}
            return n if keys == want else None

        down = await eventually(unreachable, what="unreachable taints")
        ready = next(c for c in down["status"]["conditions"] if c["type"] == "Ready")
        assert (ready["status"], ready["reason"], ready["message"]) == (
            "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
        out = await kubectl(cluster, "get", "node", "kyb-sim-2", "--no-headers")
        assert out.split()[1] == "NotReady"

        async def evicted() -> Obj | None:
            try:
                p = await client.get(PODS, "default", "victim")
            except NotFoundError:
                return {"gone": True}
            return p if p["metadata"].get("deletionTimestamp") else None

        victim = await eventually(evicted, within=15, what="eviction")
        if "gone" not in victim:
            conds = {c["type"]: c for c in victim["status"]["conditions"]}
            assert conds["Ready"]["status"] == "False"
            assert conds["DisruptionTarget"]["reason"] == "DeletionByTaintManager"
        assert (await client.get(PODS, "default", "web"))["status"]["phase"] == "Running"  # other nodes untouched

        # the kubelet comes back: Ready again, taints removed, the evicted pod's deletion confirmed
        sim.nodes.resume("kyb-sim-2")

        async def healthy() -> Obj | None:
            n = await client.get(NODES, "", "kyb-sim-2")
            ok = not n["spec"].get("taints") and any(
                c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])
            return n if ok else None

        await eventually(healthy, what="node back")

        async def victim_gone() -> bool:
            try:
                await client.get(PODS, "default", "victim")
            except NotFoundError:
                return True
            return False

        await eventually(victim_gone, what="victim deleted")
