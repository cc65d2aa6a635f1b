"""Garbage collector: the graph, the pure decisions, and a sync against fake side effects."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import pytest

from kybernetes.api.registry import Resource
from kybernetes.client.config import ClientConfig
from kybernetes.client.informer import InformerFactory
from kybernetes.client.rest import Client, resource
from kybernetes.controllers.base import Context
from kybernetes.controllers.garbagecollector import (
    FOREGROUND,
    ORPHAN,
    DependentPlan,
    GarbageCollector,
    Graph,
    Node,
    OwnerPlan,
    OwnerState,
    node_of,
    plan_dependent,
    plan_owner,
)

Obj = dict[str, Any]
CM = resource("", "v1", "configmaps")
S, D, W = OwnerState.SOLID, OwnerState.DANGLING, OwnerState.WAITING


def ref(uid: str, block: bool = False) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap", "name": f"o-{uid}", "uid": uid, "blockOwnerDeletion": block}


def node(uid: str, owners: Iterable[Obj] = (), *, deleting: bool = False, finalizers: Iterable[str] = ()) -> Node:
    return Node(uid=uid, res=CM, namespace="ns", name=f"n-{uid}", owners=tuple(owners), deleting=deleting,
                finalizers=tuple(finalizers))


@pytest.mark.parametrize(("item", "states", "has_dependents", "want"), [
    pytest.param(node("x"), {}, False, DependentPlan(), id="no-owners"),
    pytest.param(node("x", [ref("a")]), {"a": S}, False, DependentPlan(), id="solid-owner"),
    pytest.param(node("x", [ref("a")]), {"a": D}, False, DependentPlan("delete", propagation="Background"),
                 id="dangling-owner-background"),
    pytest.param(node("x", [ref("a"), ref("b")]), {"a": D, "b": S}, False, DependentPlan("remove-refs", ("a",)),
                 id="one-dangling-one-solid-drops-the-reference"),
    pytest.param(node("x", [ref("a"), ref("b")]), {"a": W, "b": S}, False, DependentPlan("remove-refs", ("a",)),
                 id="waiting-and-solid-drops-the-waiting-reference"),
    pytest.param(node("x", [ref("a")]), {"a": W}, True, DependentPlan("delete", propagation="Foreground"),
                 id="waiting-owner-with-grandchildren-foreground"),
    pytest.param(node("x", [ref("a")]), {"a": W}, False, DependentPlan("delete", propagation="Background"),
                 id="waiting-owner-leaf-background"),
    pytest.param(node("x", [ref("a")], finalizers=[ORPHAN]), {"a": D}, False,
                 DependentPlan("delete", propagation="Orphan"), id="own-orphan-finalizer"),
    pytest.param(node("x", [ref("a")], deleting=True), {"a": D}, False, DependentPlan(), id="already-deleting"),
    pytest.param(node("x", [ref("a")]), {}, False, DependentPlan(), id="unknown-owner-is-kept"),
])
def test_plan_dependent(item: Node, states: dict[str, OwnerState], has_dependents: bool,
                        want: DependentPlan) -> None:
    assert plan_dependent(item, states, has_dependents) == want


@pytest.mark.parametrize(("owner", "dependents", "want"), [
    pytest.param(node("o"), [node("d", [ref("o", True)])], OwnerPlan(), id="not-deleting"),
    pytest.param(node("o", deleting=True, finalizers=[ORPHAN]), [node("d1", [ref("o")]), node("d2", [ref("o")])],
                 OwnerPlan(orphan=("d1", "d2"), remove_finalizer=ORPHAN), id="orphan"),
    pytest.param(node("o", deleting=True, finalizers=[FOREGROUND]), [node("d", [ref("o", True)])],
                 OwnerPlan(visit=("d",)), id="foreground-blocked"),
    pytest.param(node("o", deleting=True, finalizers=[FOREGROUND]), [node("d", [ref("o", False)])],
                 OwnerPlan(visit=("d",), remove_finalizer=FOREGROUND), id="foreground-non-blocking-dependents"),
    pytest.param(node("o", deleting=True, finalizers=[FOREGROUND]), [],
                 OwnerPlan(remove_finalizer=FOREGROUND), id="foreground-done"),
    pytest.param(node("o", deleting=True, finalizers=["example.com/x"]), [node("d", [ref("o")])], OwnerPlan(),
                 id="other-finalizer"),
])
def test_plan_owner(owner: Node, dependents: list[Node], want: OwnerPlan) -> None:
    assert plan_owner(owner, dependents) == want


def test_graph_tracks_dependents_through_updates_and_removal() -> None:
    g = Graph()
    g.upsert(node("a"))
    g.upsert(node("x", [ref("a")]))
    g.upsert(node("y", [ref("a"), ref("b")]))
    assert [n.uid for n in g.dependents("a")] == ["x", "y"]
    assert [n.uid for n in g.dependents("b")] == ["y"]  # owners need not be observed
    g.upsert(node("y", [ref("b")]))
    assert [n.uid for n in g.dependents("a")] == ["x"]
    g.remove("x")
    assert g.dependents("a") == []
    assert g.remove("missing") is None


def test_node_of_reads_metadata() -> None:
    obj = {"metadata": {"uid": "u", "name": "n", "namespace": "ns", "deletionTimestamp": "2024-01-01T00:00:00Z",
                        "finalizers": [FOREGROUND], "ownerReferences": [ref("o")]}}
    n = node_of(CM, obj)
    assert (n.uid, n.name, n.namespace, n.deleting_dependents, n.orphaning) == ("u", "n", "ns", True, False)
    assert n.ref_to("o") == ref("o") and n.ref_to("zz") is None


class FakeActions:
    def __init__(self, live: dict[str, Obj] | None = None) -> None:
        self.live = live or {}
        self.calls: list[tuple[str, ...]] = []

    async def get(self, res: Resource, namespace: str, name: str) -> Obj | None:
        return self.live.get(name)

    async def delete(self, node: Node, propagation: str) -> None:
        self.calls.append(("delete", node.uid, propagation))

    async def remove_owner_refs(self, node: Node, uids: Iterable[str]) -> None:
        self.calls.append(("unref", node.uid, *uids))

    async def remove_finalizer(self, node: Node, finalizer: str) -> None:
        self.calls.append(("unfinalize", node.uid, finalizer))


def _gc(actions: FakeActions) -> GarbageCollector:
    client = Client(ClientConfig(server="https://127.0.0.1:1"))
    gc = GarbageCollector(Context(client, InformerFactory(client), {}), actions)
    gc.state.kinds = {("v1", "ConfigMap"): CM}
    gc.synced.set()
    return gc


async def test_sync_deletes_dependent_whose_owner_is_gone_live() -> None:
    actions = FakeActions(live={"o-a": {"metadata": {"uid": "another"}}})  # same name, another uid
    gc = _gc(actions)
    gc.observe(CM, {"metadata": {"uid": "x", "name": "x", "namespace": "ns", "ownerReferences": [ref("a")]}})
    await gc.sync("dep:x")
    assert actions.calls == [("delete", "x", "Background")]


async def test_sync_keeps_dependent_of_live_owner_and_orphans_on_request() -> None:
    actions = FakeActions(live={"o-a": {"metadata": {"uid": "a"}}})
    gc = _gc(actions)
    gc.observe(CM, {"metadata": {"uid": "x", "name": "x", "namespace": "ns", "ownerReferences": [ref("a")]}})
    await gc.sync("dep:x")
    assert actions.calls == []
    gc.observe(CM, {"metadata": {"uid": "a", "name": "o-a", "namespace": "ns", "finalizers": [ORPHAN],
                                 "deletionTimestamp": "2024-01-01T00:00:00Z"}})
    await gc.sync("own:a")
    assert actions.calls == [("unref", "x", "a"), ("unfinalize", "a", ORPHAN)]


@pytest.mark.parametrize(("shared_started", "expect_shared"), [(True, True), (False, False)])
async def test_watch_reuses_the_running_shared_informer(shared_started: bool, expect_shared: bool) -> None:
    gc = _gc(FakeActions(live={}))
    shared = gc.ctx.informers.informer(CM)
    shared.started = shared_started
    shared._replace([{"metadata": {"uid": "x", "name": "x", "namespace": "ns", "resourceVersion": "1",
                                   "ownerReferences": [ref("a")]}}])
    async with asyncio.TaskGroup() as tg:
        inf = gc._watch(tg, CM)
        watched = gc.state.watched[(CM.group, CM.version, CM.plural)]
        assert (inf is shared) is expect_shared
        assert (watched.task is None) is expect_shared
        if watched.task is not None:
            watched.task.cancel()
    # the shared informer's cached objects reach the graph at once
    assert ("x" in gc.graph.nodes) is expect_shared
