"""DaemonSet and StatefulSet controllers against a real ``kyb apiserver``, run in the test process, with a tiny
in-test "kubelet": it binds pods (to the node their DaemonSet affinity names, else to ``node-1``) through
``pods/binding``, reports them Running+Ready (unless held), and confirms graceful deletions."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from harness import Cluster

from kybernetes.client.config import load_kubeconfig
from kybernetes.client.errors import ApiError, NotFoundError
from kybernetes.client.informer import InformerFactory
from kybernetes.client.rest import Client, resource
from kybernetes.controllers.base import Context
from kybernetes.controllers.daemonset import DaemonSetController
from kybernetes.controllers.daemonset.predicates import target_node
from kybernetes.controllers.statefulset import StatefulSetController

Obj = dict[str, Any]
PODS = resource("", "v1", "pods")
NODES = resource("", "v1", "nodes")
PVCS = resource("", "v1", "persistentvolumeclaims")
REVISIONS = resource("apps", "v1", "controllerrevisions")
EVENTS = resource("", "v1", "events")


def node(name: str, taints: list[Obj] | None = None) -> Obj:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}},
            "spec": {"taints": taints or []},
            "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                       "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                       "message": "kubelet is posting ready status"}]}}


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FakeKubelet:
    client: Client
    pods: Any  # the shared pod informer
    hold: set[str] = field(default_factory=set)
    default_node: str = "node-1"

    async def run(self) -> None:
        while True:
            for pod in list(self.pods.lister.list()):
                with contextlib.suppress(ApiError):
                    await self._step(pod)
            await asyncio.sleep(0.05)

    async def _step(self, pod: Obj) -> None:
        meta, spec = pod["metadata"], pod.get("spec") or {}
        ns, name = meta["namespace"], meta["name"]
        if meta.get("deletionTimestamp"):
            await self.client.delete(PODS, ns, name, grace_period=0)
        elif not spec.get("nodeName"):
            target = target_node(pod) or self.default_node
            binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name, "namespace": ns},
                       "target": {"apiVersion": "v1", "kind": "Node", "name": target}}
            await self.client.create(PODS, ns, binding, name=name, subresource="binding")
        elif (pod.get("status") or {}).get("phase") != "Running" and name not in self.hold:
            status = {"phase": "Running", "podIP": "10.42.0.9", "startTime": now(), "conditions": [
                {"type": t, "status": "True", "lastTransitionTime": now()}
                for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")]}
            await self.client.patch(PODS, ns, name, {"status": status}, subresource="status")


@dataclass
class Env:
    cluster: Cluster
    client: Client
    kubelet: FakeKubelet

    async def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> str:
        proc = await asyncio.to_thread(self.cluster.kubectl, *args, input=input, check=check, timeout=60)
        return proc.stdout

    async def pods(self, selector: str) -> list[Obj]:
        items, _ = await self.client.list_all(PODS, "default", label_selector=selector)
        return items


async def eventually(check: Callable[[], Any], limit: float = 20.0) -> Any:
    deadline = time.monotonic() + limit
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {check.__name__}")
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def running(cluster: Cluster) -> AsyncIterator[Env]:
    client = Client(load_kubeconfig(cluster.kubeconfig))
    factory = InformerFactory(client)
    ctx = Context(client, factory, {})
    controllers = [DaemonSetController(ctx), StatefulSetController(ctx)]
    kubelet = FakeKubelet(client, factory.informer(PODS))
    try:
        async with asyncio.TaskGroup() as tg:
            factory.start(tg)
            await factory.wait_for_sync()
            tasks = [tg.create_task(c.run()) for c in controllers]
            tasks.append(tg.create_task(kubelet.run()))
            try:
                yield Env(cluster, client, kubelet)
            finally:
                for c in controllers:
                    await c.recorder.flush()
                for t in factory._tasks + tasks:
                    t.cancel()
    finally:
        await client.close()
        await asyncio.sleep(0.25)  # let aiohttp finish closing TLS transports (else ResourceWarnings)


DAEMONSET = """
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: busybox}]
"""

STATEFULSET = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: nginx}]
  volumeClaimTemplates:
  - metadata: {name: www}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
"""


async def test_daemonset_one_pod_per_eligible_node(fresh_apiserver: Cluster) -> None:
    async with running(fresh_apiserver) as env:
        for name in ("node-0", "node-1"):
            await env.client.create(NODES, "", node(name))
        await env.client.create(NODES, "", node("node-2", [{"key": "dedicated", "value": "db",
                                                           "effect": "NoSchedule"}]))
        await env.kubectl("apply", "-f", "-", input=DAEMONSET)

        async def two_running() -> list[Obj]:
            pods = await env.pods("app=agent")
            ok = len(pods) == 2 and all(p["status"].get("phase") == "Running" for p in pods)
            return pods if ok else []

        pods = await eventually(two_running)
        assert sorted(p["spec"]["nodeName"] for p in pods) == ["node-0", "node-1"]
        pod = pods[0]
        assert pod["metadata"]["labels"]["controller-revision-hash"]
        assert pod["metadata"]["labels"]["pod-template-generation"] == "1"
        assert pod["metadata"]["generateName"] == "agent-"
        assert {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"} in \
            pod["spec"]["tolerations"]
        terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert terms["nodeSelectorTerms"][0]["matchFields"][0]["key"] == "metadata.name"

        out = await env.kubectl("rollout", "status", "ds/agent", "--timeout=20s")
        assert 'daemon set "agent" successfully rolled out' in out
        table = await env.kubectl("get", "ds")
        assert table.split("\n")[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE",
                                                 "NODE", "SELECTOR", "AGE"]
        assert table.split("\n")[1].split()[:6] == ["agent", "2", "2", "2", "2", "2"]

        # Untaint node-2: it gets its pod, three in all.
        await env.client.patch(NODES, "", "node-2", {"spec": {"taints": None}})

        async def three() -> bool:
            pods = await env.pods("app=agent")
            return sorted(p["spec"].get("nodeName", "") for p in pods) == ["node-0", "node-1", "node-2"]

        await eventually(three)
        revisions, _ = await env.client.list_all(REVISIONS, "default")
        assert len(revisions) == 1 and revisions[0]["revision"] == 1
        assert revisions[0]["metadata"]["labels"]["controller.kubernetes.io/hash"]

        # A rolling update replaces every pod and keeps the old revision in history.
        await env.kubectl("set", "image", "ds/agent", "agent=busybox:2")
        out = await env.kubectl("rollout", "status", "ds/agent", "--timeout=30s")
        assert 'daemon set "agent" successfully rolled out' in out
        pods = await env.pods("app=agent")
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        assert len(live) == 3 and all(p["spec"]["containers"][0]["image"] == "busybox:2" for p in live)
        revisions, _ = await env.client.list_all(REVISIONS, "default")
        assert sorted(r["revision"] for r in revisions) == [1, 2]
        events, _ = await env.client.list_all(EVENTS, "default")
        messages = [(e["reason"], e["message"]) for e in events if e["involvedObject"]["kind"] == "DaemonSet"]
        assert any(r == "SuccessfulCreate" and m.startswith("Created pod: agent-") for r, m in messages)


async def test_statefulset_ordered_with_claims(fresh_apiserver: Cluster) -> None:
    async with running(fresh_apiserver) as env:
        for name in ("node-0", "node-1", "node-2"):
            await env.client.create(NODES, "", node(name))
        env.kubelet.hold.add("web-0")
        await env.kubectl("apply", "-f", "-", input=STATEFULSET)

        async def web0() -> Obj | None:
            try:
                return await env.client.get(PODS, "default", "web-0")
            except NotFoundError:
                return None

        pod0 = await eventually(web0)
        await asyncio.sleep(1.0)
        names = sorted(p["metadata"]["name"] for p in await env.pods("app=web"))
        assert names == ["web-0"], "web-1 must wait until web-0 is Running and Ready"
        labels = pod0["metadata"]["labels"]
        assert labels["statefulset.kubernetes.io/pod-name"] == "web-0"
        assert labels["apps.kubernetes.io/pod-index"] == "0"
        assert labels["controller-revision-hash"].startswith("web-")
        assert pod0["spec"]["hostname"] == "web-0" and pod0["spec"]["subdomain"] == "nginx"
        assert {"name": "www", "persistentVolumeClaim": {"claimName": "www-web-0"}} in pod0["spec"]["volumes"]

        env.kubelet.hold.clear()
        out = await env.kubectl("rollout", "status", "sts/web", "--timeout=30s")
        assert "3 new pods have been updated" in out or "rolling update complete 3 pods" in out
        created = {p["metadata"]["name"]: p["metadata"]["creationTimestamp"] for p in await env.pods("app=web")}
        assert sorted(created) == ["web-0", "web-1", "web-2"]
        claims, _ = await env.client.list_all(PVCS, "default")
        assert sorted(c["metadata"]["name"] for c in claims) == ["www-web-0", "www-web-1", "www-web-2"]
        assert claims[0]["metadata"]["labels"] == {"app": "web"}

        table = await env.kubectl("get", "sts")
        assert table.split("\n")[0].split() == ["NAME", "READY", "AGE"]
        assert table.split("\n")[1].split()[:2] == ["web", "3/3"]

        # Scale down: web-2 goes first, then web-1; claims are retained.
        env.kubelet.hold.add("never")
        await env.kubectl("scale", "sts/web", "--replicas=1")

        async def only_web0() -> bool:
            return sorted(p["metadata"]["name"] for p in await env.pods("app=web")) == ["web-0"]

        await eventually(only_web0)
        events, _ = await env.client.list_all(EVENTS, "default")
        sts_events = [e["message"] for e in sorted(events, key=lambda e: e["metadata"]["resourceVersion"])
                      if e["involvedObject"]["kind"] == "StatefulSet"]
        creates = [m for m in sts_events if m.startswith("create Pod")]
        deletes = [m for m in sts_events if m.startswith("delete Pod")]
        assert creates == [f"create Pod web-{i} in StatefulSet web successful" for i in range(3)]
        assert deletes == [f"delete Pod web-{i} in StatefulSet web successful" for i in (2, 1)]
        assert "create Claim www-web-0 Pod web-0 in StatefulSet web success" in sts_events
        claims, _ = await env.client.list_all(PVCS, "default")
        assert len(claims) == 3


@pytest.mark.parametrize("kind", ["ds", "sts"])
async def test_rollout_status_on_delete_strategy_is_refused(fresh_apiserver: Cluster, kind: str) -> None:
    """kubectl's own rule, checked against our objects: rollout status needs RollingUpdate."""
    manifest = (DAEMONSET if kind == "ds" else STATEFULSET.replace("replicas: 3", "replicas: 1")) + \
        "  updateStrategy: {type: OnDelete}\n"
    async with running(fresh_apiserver) as env:
        await env.client.create(NODES, "", node("node-1"))
        await env.kubectl("apply", "-f", "-", input=manifest)
        name = "agent" if kind == "ds" else "web"

        async def observed() -> bool:
            out = await env.kubectl("get", kind, name, "-o", "jsonpath={.status.observedGeneration}")
            return out == "1"

        await eventually(observed)
        out = await asyncio.to_thread(fresh_apiserver.kubectl, "rollout", "status", f"{kind}/{name}", check=False)
        assert "rollout status is only available for RollingUpdate strategy type" in out.stderr
