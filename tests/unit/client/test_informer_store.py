"""Informer cache: index maintenance on updates, the managedFields transform, handler isolation."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.client.informer import Informer, InformerFactory, Store, strip_managed_fields
from kybernetes.client.rest import resource

Obj = dict[str, Any]
PODS = resource("", "v1", "pods")


def pod(name: str, ns: str = "default", node: str = "", rv: str = "1", **meta: Any) -> Obj:
    return {"metadata": {"name": name, "namespace": ns, "resourceVersion": rv, **meta},
            "spec": {"nodeName": node} if node else {}}


def node_index(obj: Obj) -> list[str]:
    name = (obj.get("spec") or {}).get("nodeName")
    return [name] if name else []


@pytest.mark.parametrize(("before", "after", "expect"), [
    ("", "n1", {"n1": ["p"]}),                 # gains an index value
    ("n1", "n1", {"n1": ["p"]}),               # unchanged value: stays indexed
    ("n1", "n2", {"n1": [], "n2": ["p"]}),     # moves
    ("n1", "", {"n1": []}),                    # loses it
])
def test_put_moves_index_entries(before: str, after: str, expect: dict[str, list[str]]) -> None:
    store = Store({"node": node_index})
    store.put(pod("p", node=before))
    store.put(pod("p", node=after, rv="2"))
    for value, names in expect.items():
        assert [o["metadata"]["name"] for o in store.by_index("node", value)] == names
    assert store._indexes["node"].keys() == {v for v, names in expect.items() if names}


@pytest.mark.parametrize(("obj", "expect"), [
    ({"metadata": {"name": "a", "managedFields": [{"manager": "m"}]}}, {"metadata": {"name": "a"}}),
    ({"metadata": {"name": "a"}}, {"metadata": {"name": "a"}}),
    ({"kind": "Status"}, {"kind": "Status"}),
])
def test_strip_managed_fields(obj: Obj, expect: Obj) -> None:
    assert strip_managed_fields(obj) == expect


def test_transform_applies_to_list_and_watch_and_handlers_see_the_result() -> None:
    inf = Informer(None, PODS, transform=strip_managed_fields)  # type: ignore[arg-type]
    seen: list[Obj] = []
    inf.add_handlers(on_add=seen.append, on_update=lambda _o, n: seen.append(n), on_delete=seen.append)
    inf._replace([pod("a", managedFields=[{"manager": "x"}])])
    inf._apply("MODIFIED", pod("a", rv="2", managedFields=[{"manager": "x"}]))
    inf._apply("DELETED", pod("a", rv="3", managedFields=[{"manager": "x"}]))
    assert [("managedFields" in o["metadata"]) for o in seen] == [False, False, False]
    assert len(inf.store) == 0


def test_factory_passes_transform_and_finds_existing_informers() -> None:
    factory = InformerFactory(None, transform=strip_managed_fields)  # type: ignore[arg-type]
    assert factory.existing(PODS) is None
    inf = factory.informer(PODS)
    assert inf.transform is strip_managed_fields
    assert factory.existing(PODS) is inf
    assert factory.existing(resource("", "v1", "nodes")) is None
    factory.informer(PODS, namespace="kube-system")
    assert factory.existing(PODS) is inf


def test_failing_handler_does_not_stop_the_others() -> None:
    inf = Informer(None, PODS)  # type: ignore[arg-type]
    seen: list[str] = []

    def boom(_obj: Obj) -> None:
        raise RuntimeError("boom")

    inf.add_handlers(on_add=boom)
    inf.add_handlers(on_add=lambda o: seen.append(o["metadata"]["name"]))
    inf._apply("ADDED", pod("a"))
    assert seen == ["a"]
