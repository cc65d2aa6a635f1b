"""Garbage collector, namespace deletion, ServiceAccounts, root CA ConfigMaps, Endpoints and EndpointSlices against
a real ``kyb apiserver``, with the controllers running in the test process and the real kubectl driving."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from harness import Cluster

from kybernetes.client.config import load_kubeconfig
from kybernetes.client.errors import NotFoundError
from kybernetes.client.informer import InformerFactory
from kybernetes.client.rest import Client, resource
from kybernetes.controllers.base import Context, Controller
from kybernetes.controllers.endpoints import EndpointsController
from kybernetes.controllers.endpointslice import EndpointSliceController
from kybernetes.controllers.garbagecollector import GarbageCollector
from kybernetes.controllers.namespace import NamespaceController
from kybernetes.controllers.rootcacert import RootCACertPublisher
from kybernetes.controllers.serviceaccount import ServiceAccountController

Obj = dict[str, Any]
NAMESPACES = resource("", "v1", "namespaces")
CONFIGMAPS = resource("", "v1", "configmaps")
PODS = resource("", "v1", "pods")
SERVICES = resource("", "v1", "services")
ENDPOINTS = resource("", "v1", "endpoints")
SLICES = resource("discovery.k8s.io", "v1", "endpointslices")
SERVICEACCOUNTS = resource("", "v1", "serviceaccounts")
DEPLOYMENTS = resource("apps", "v1", "deployments")
REPLICASETS = resource("apps", "v1", "replicasets")
ALL = (GarbageCollector, NamespaceController, ServiceAccountController, RootCACertPublisher, EndpointsController,
       EndpointSliceController)


@contextlib.asynccontextmanager
async def running(cluster: Cluster, *kinds: type[Controller]) -> AsyncIterator[Client]:
    """The controllers running against ``cluster``; yields a client for the test."""
    client = Client(load_kubeconfig(cluster.kubeconfig))
    informers = InformerFactory(client)
    ctx = Context(client, informers, {"gc_rediscover_seconds": 2.0})
    controllers = [k(ctx) for k in kinds or ALL]
    ready = asyncio.Event()

    async def run_all() -> None:
        async with asyncio.TaskGroup() as tg:
            informers.start(tg)
            await informers.wait_for_sync()
            for c in controllers:
                tg.create_task(c.run())
            for c in controllers:
                if isinstance(c, GarbageCollector):
                    await c.synced.wait()
            ready.set()

    task = asyncio.create_task(run_all())
    try:
        await asyncio.wait_for(ready.wait(), 15)
        yield client
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.close()


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


async def gone(client: Client, res: Any, namespace: str, name: str) -> bool:
    try:
        await client.get(res, namespace, name)
    except NotFoundError:
        return True
    return False


def ref(owner: Obj, *, block: bool = True, controller: bool = True) -> Obj:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": controller, "blockOwnerDeletion": block}


async def namespace(client: Client) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    await client.create(NAMESPACES, "", {"metadata": {"name": name}})
    return name


async def configmap(client: Client, ns: str, name: str, owners: list[Obj] | None = None) -> Obj:
    meta: Obj = {"name": name}
    if owners:
        meta["ownerReferences"] = owners
    obj = await client.create(CONFIGMAPS, ns, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta})
    obj.setdefault("apiVersion", "v1")
    obj.setdefault("kind", "ConfigMap")
    return obj


# -- garbage collector ---------------------------------------------------------------------------------------

async def test_cascading_delete_of_a_deployment_removes_replicasets_and_pods(apiserver: Cluster) -> None:
    async with running(apiserver, GarbageCollector) as client:
        ns = await namespace(client)
        await asyncio.to_thread(apiserver.kubectl, "create", "deployment", "nginx", "--image=nginx", "-n", ns)
        deploy = await client.get(DEPLOYMENTS, ns, "nginx")
        rs = await client.create(REPLICASETS, ns, {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "nginx-abc", "labels": {"app": "nginx"},
                         "ownerReferences": [ref({**deploy, "apiVersion": "apps/v1", "kind": "Deployment"})]},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "nginx"}},
                     "template": deploy["spec"]["template"]}})
        await client.create(PODS, ns, {
            "metadata": {"name": "nginx-abc-1", "labels": {"app": "nginx"},
                         "ownerReferences": [ref({**rs, "apiVersion": "apps/v1", "kind": "ReplicaSet"})]},
            "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}})
        await asyncio.to_thread(apiserver.kubectl, "delete", "deployment", "nginx", "-n", ns)

        async def all_gone() -> bool:
            return await gone(client, REPLICASETS, ns, "nginx-abc") and await gone(client, PODS, ns, "nginx-abc-1")
        await eventually(all_gone)


async def test_foreground_deletion_waits_for_blocking_dependents(apiserver: Cluster) -> None:
    async with running(apiserver, GarbageCollector) as client:
        ns = await namespace(client)
        owner = await configmap(client, ns, "owner")
        await configmap(client, ns, "child-a", [ref(owner)])
        child = await configmap(client, ns, "child-b", [ref(owner, controller=False)])
        await configmap(client, ns, "grandchild", [ref(child)])
        await asyncio.to_thread(apiserver.kubectl, "delete", "configmap", "owner", "-n", ns, "--cascade=foreground",
                                timeout=30)
        for name in ("owner", "child-a", "child-b", "grandchild"):
            assert await gone(client, CONFIGMAPS, ns, name), name


async def test_orphan_deletion_keeps_dependents_without_the_reference(apiserver: Cluster) -> None:
    async with running(apiserver, GarbageCollector) as client:
        ns = await namespace(client)
        owner = await configmap(client, ns, "owner")
        other = await configmap(client, ns, "other")
        await configmap(client, ns, "child", [ref(owner), ref(other, controller=False)])
        await asyncio.to_thread(apiserver.kubectl, "delete", "configmap", "owner", "-n", ns, "--cascade=orphan",
                                timeout=30)
        assert await gone(client, CONFIGMAPS, ns, "owner")
        child = await client.get(CONFIGMAPS, ns, "child")
        assert [r["name"] for r in child["metadata"]["ownerReferences"]] == ["other"]


async def test_dependent_of_a_missing_or_replaced_owner_is_collected(apiserver: Cluster) -> None:
    async with running(apiserver, GarbageCollector) as client:
        ns = await namespace(client)
        owner = await configmap(client, ns, "owner")
        stale = {**ref(owner), "uid": str(uuid.uuid4())}  # same name, another uid
        await configmap(client, ns, "orphaned", [stale])
        await configmap(client, ns, "kept", [ref(owner)])
        await eventually(lambda: gone(client, CONFIGMAPS, ns, "orphaned"))
        await asyncio.sleep(0.5)
        assert not await gone(client, CONFIGMAPS, ns, "kept")


# -- namespaces, service accounts, root CA ---------------------------------------------------------------------

async def test_every_namespace_gets_default_serviceaccount_and_root_ca(apiserver: Cluster) -> None:
    async with running(apiserver, ServiceAccountController, RootCACertPublisher) as client:
        ns = await namespace(client)

        async def published() -> bool:
            return not await gone(client, SERVICEACCOUNTS, ns, "default") and \
                not await gone(client, CONFIGMAPS, ns, "kube-root-ca.crt")
        await eventually(published)
        cm = await client.get(CONFIGMAPS, ns, "kube-root-ca.crt")
        assert cm["data"]["ca.crt"] == client.config.ca_pem.decode()
        assert cm["metadata"]["annotations"]["kubernetes.io/description"].startswith("Contains a CA bundle")
        # Deleted ones come back.
        await client.delete(SERVICEACCOUNTS, ns, "default")
        await client.delete(CONFIGMAPS, ns, "kube-root-ca.crt")
        await eventually(published)
        # kube-system too (present before the controllers started).
        assert not await gone(client, SERVICEACCOUNTS, "kube-system", "default")


async def test_kubectl_delete_namespace_removes_contents(apiserver: Cluster) -> None:
    async with running(apiserver) as client:
        ns = await namespace(client)
        await configmap(client, ns, "data")
        await client.create(PODS, ns, {"metadata": {"name": "p"},
                                       "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
        started = time.monotonic()
        await asyncio.to_thread(apiserver.kubectl, "delete", "namespace", ns, timeout=30)
        assert time.monotonic() - started < 15
        assert await gone(client, NAMESPACES, "", ns)
        assert await gone(client, CONFIGMAPS, ns, "data")


# -- endpoints and endpoint slices -----------------------------------------------------------------------------

async def make_pod(client: Client, ns: str, name: str, ip: str, ready: bool) -> None:
    await client.create(PODS, ns, {
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"nodeName": "node-1",
                 "containers": [{"name": "web", "image": "nginx",
                                 "ports": [{"name": "http", "containerPort": 8080}]}]}})
    await set_ready(client, ns, name, ip, ready)


async def set_ready(client: Client, ns: str, name: str, ip: str, ready: bool) -> None:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    await client.patch(PODS, ns, name, {"status": {
        "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
        "conditions": [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": now}]}},
        subresource="status")


async def test_endpoints_and_slices_follow_pod_readiness(apiserver: Cluster) -> None:
    async with running(apiserver) as client:
        ns = await namespace(client)
        await client.create(SERVICES, ns, {"metadata": {"name": "web", "labels": {"tier": "front"}}, "spec": {
            "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]}})
        await make_pod(client, ns, "web-1", "10.42.0.5", True)
        await make_pod(client, ns, "web-2", "10.42.0.6", False)

        async def endpoints_are(ready: list[str], not_ready: list[str]) -> bool:
            try:
                ep = await client.get(ENDPOINTS, ns, "web")
            except NotFoundError:
                return False
            subsets = ep.get("subsets") or [{}]
            return [a["ip"] for a in subsets[0].get("addresses") or []] == ready and \
                [a["ip"] for a in subsets[0].get("notReadyAddresses") or []] == not_ready

        await eventually(lambda: endpoints_are(["10.42.0.5"], ["10.42.0.6"]))
        ep = await client.get(ENDPOINTS, ns, "web")
        assert ep["subsets"][0]["ports"] == [{"port": 8080, "protocol": "TCP"}]
        address = ep["subsets"][0]["addresses"][0]
        assert address["nodeName"] == "node-1" and address["targetRef"]["name"] == "web-1"
        assert ep["metadata"]["labels"] == {"tier": "front"}
        assert "endpoints.kubernetes.io/last-change-trigger-time" in ep["metadata"]["annotations"]
        out = (await asyncio.to_thread(apiserver.kubectl, "get", "endpoints", "web", "-n", ns)).stdout
        assert "10.42.0.5:8080" in out and "10.42.0.6" not in out

        slices = (await client.list(SLICES, ns, label_selector="kubernetes.io/service-name=web"))["items"]
        assert len(slices) == 1
        sl = slices[0]
        assert sl["metadata"]["name"].startswith("web-") and len(sl["metadata"]["name"]) == len("web-") + 5
        assert sl["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == \
            "endpointslice-controller.k8s.io"
        assert sl["metadata"]["ownerReferences"][0]["kind"] == "Service"
        assert sl["addressType"] == "IPv4"
        assert sl["ports"] == [{"name": "", "port": 8080, "protocol": "TCP"}]
        conditions = {e["addresses"][0]: e["conditions"] for e in sl["endpoints"]}
        assert conditions == {"10.42.0.5": {"ready": True, "serving": True, "terminating": False},
                              "10.42.0.6": {"ready": False, "serving": False, "terminating": False}}

        await set_ready(client, ns, "web-2", "10.42.0.6", True)
        await eventually(lambda: endpoints_are(["10.42.0.5", "10.42.0.6"], []))
        describe = (await asyncio.to_thread(apiserver.kubectl, "describe", "service", "web", "-n", ns)).stdout
        assert "10.42.0.5:8080,10.42.0.6:8080" in describe, describe

        await client.delete(SERVICES, ns, "web")

        async def cleaned() -> bool:
            left = (await client.list(SLICES, ns))["items"]
            return await gone(client, ENDPOINTS, ns, "web") and not left
        await eventually(cleaned)
