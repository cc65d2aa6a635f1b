"""Our async client against a real API server: informer cache and handlers, leader election, events."""

from __future__ import annotations

import asyncio
from typing import Any

from harness import Cluster

from kybernetes.client.config import load_kubeconfig
from kybernetes.client.events import EventRecorder
from kybernetes.client.informer import Informer
from kybernetes.client.leaderelection import LeaderElector
from kybernetes.client.rest import Client, resource

CMS = resource("", "v1", "configmaps")
EVENTS = resource("", "v1", "events")


def cm(name: str, value: str = "1") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"inf": "yes"}},
            "data": {"v": value}}


async def test_informer_follows_changes(apiserver: Cluster) -> None:
    async with Client(load_kubeconfig(apiserver.kubeconfig)) as client:
        await client.create(CMS, "default", cm("pre"))
        informer = Informer(client, CMS, namespace="default", label_selector="inf=yes")
        seen: list[tuple[str, str]] = []
        informer.add_handlers(on_add=lambda o: seen.append(("add", o["metadata"]["name"])),
                              on_update=lambda a, b: seen.append(("update", b["data"]["v"])),
                              on_delete=lambda o: seen.append(("delete", o["metadata"]["name"])))
        task = asyncio.create_task(informer.run())
        try:
            await asyncio.wait_for(informer.synced.wait(), 10)
            assert informer.lister.get("default", "pre") is not None
            await client.create(CMS, "default", cm("live"))
            await client.patch(CMS, "default", "live", {"data": {"v": "2"}})
            await client.delete(CMS, "default", "live")
            for _ in range(100):
                if ("delete", "live") in seen:
                    break
                await asyncio.sleep(0.05)
            assert seen == [("add", "pre"), ("add", "live"), ("update", "2"), ("delete", "live")]
            assert informer.lister.get("default", "live") is None
            assert [o["metadata"]["name"] for o in informer.lister.list("default")] == ["pre"]
        finally:
            task.cancel()


async def test_leader_election_one_leader_at_a_time(apiserver: Cluster) -> None:
    async with Client(load_kubeconfig(apiserver.kubeconfig)) as client:
        first = LeaderElector(client, "test-lock", "one", lease_duration=2, renew_deadline=1.5, retry_period=0.2)
        second = LeaderElector(client, "test-lock", "two", lease_duration=2, renew_deadline=1.5, retry_period=0.2)
        assert await first.try_acquire_or_renew() is True
        assert await second.try_acquire_or_renew() is False
        assert await first.try_acquire_or_renew() is True
        await asyncio.sleep(2.2)  # the first stops renewing: its lease expires
        assert await second.try_acquire_or_renew() is True
        lease = await client.get(resource("coordination.k8s.io", "v1", "leases"), "kube-system", "test-lock")
        assert lease["spec"]["holderIdentity"] == "two" and lease["spec"]["leaseTransitions"] == 1


async def test_event_recorder_aggregates(apiserver: Cluster) -> None:
    async with Client(load_kubeconfig(apiserver.kubeconfig)) as client:
        obj = await client.create(CMS, "default", cm("evented"))
        recorder = EventRecorder(client, "test-controller")
        for _ in range(3):
            recorder.record(obj, "Normal", "Tested", "it happened")
        await recorder.flush()
        events = await client.list(EVENTS, "default", field_selector="involvedObject.name=evented")
        (event,) = events["items"]
        assert event["count"] == 3 and event["source"] == {"component": "test-controller"}
        assert event["involvedObject"]["kind"] == "ConfigMap" and event["reason"] == "Tested"


async def test_event_recorder_senders_keep_each_object_in_order(apiserver: Cluster) -> None:
    """Several requests in flight, yet an object's repeats still fold into one event (never two creates)."""
    async with Client(load_kubeconfig(apiserver.kubeconfig)) as client:
        objs = [await client.create(CMS, "default", cm(f"busy-{i}")) for i in range(8)]
        recorder = EventRecorder(client, "test-senders")
        task = asyncio.create_task(recorder.run())
        try:
            for _ in range(3):
                for obj in objs:
                    recorder.record(obj, "Normal", "Busy", "again")
            for _ in range(100):
                events = await client.list(EVENTS, "default", field_selector="reason=Busy")
                if sum(e["count"] for e in events["items"]) == 24:
                    break
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
        by_object = {e["involvedObject"]["name"]: e["count"] for e in events["items"]}
        assert by_object == {f"busy-{i}": 3 for i in range(8)} and len(events["items"]) == 8


async def test_gc_discovery_aggregated_matches_legacy(apiserver: Cluster) -> None:
    """The garbage collector's two-request aggregated discovery finds what the per-group legacy walk finds."""
    from kybernetes.controllers import gc_client

    async with Client(load_kubeconfig(apiserver.kubeconfig)) as client:
        aggregated = await gc_client.discover(client)

        async def legacy_only(method: str, path: str, **kw: object) -> object:
            if path in ("/api", "/apis") and kw.get("accept") == gc_client.AGGREGATED_ACCEPT:
                return {"kind": "APIVersions"}  # a server without aggregated discovery
            return await real(method, path, **kw)  # type: ignore[arg-type]

        real = client.request
        client.request = legacy_only  # type: ignore[method-assign,assignment]
        legacy = await gc_client.discover(client)

    def facts(d: gc_client.Discovery) -> set[tuple[str, str, str, str, bool]]:
        return {(r.group, r.version, r.plural, r.kind, r.namespaced) for r in d.resources}

    assert facts(aggregated) == facts(legacy)
    assert ("apps", "v1", "deployments", "Deployment", True) in facts(aggregated)
    assert ("", "v1", "nodes", "Node", False) in facts(aggregated)
    assert {r.verbs for r in aggregated.resources if r.plural == "pods"} == \
        {r.verbs for r in legacy.resources if r.plural == "pods"}
