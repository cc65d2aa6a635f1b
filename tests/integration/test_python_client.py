"""The official ``kubernetes`` Python client against a real ``kyb apiserver``: CRUD, selectors, watch, patches."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

NS = "pyclient"


@pytest.fixture
def core(api_client: Any) -> client.CoreV1Api:
    api = client.CoreV1Api(api_client)
    try:
        api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
    except ApiException as exc:
        if exc.status != 409:
            raise
    return api


def _cm(name: str, labels: dict[str, str] | None = None, data: dict[str, str] | None = None) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels), data=data or {"k": "v"})


def test_crud(core: client.CoreV1Api) -> None:
    created = core.create_namespaced_config_map(NS, _cm("crud"))
    assert created.metadata.uid and created.metadata.resource_version
    got = core.read_namespaced_config_map("crud", NS)
    assert got.data == {"k": "v"} and got.metadata.uid == created.metadata.uid
    got.data["k"] = "w"
    updated = core.replace_namespaced_config_map("crud", NS, got)
    assert updated.data == {"k": "w"}
    assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)

    stale = got
    stale.metadata.resource_version = created.metadata.resource_version
    with pytest.raises(ApiException) as info:
        core.replace_namespaced_config_map("crud", NS, stale)
    assert info.value.status == 409
    assert "the object has been modified" in info.value.body

    core.delete_namespaced_config_map("crud", NS)
    with pytest.raises(ApiException) as info:
        core.read_namespaced_config_map("crud", NS)
    assert info.value.status == 404


def test_list_with_selectors_and_paging(core: client.CoreV1Api) -> None:
    for i in range(7):
        core.create_namespaced_config_map(NS, _cm(f"sel-{i}", {"app": "a" if i % 2 else "b", "n": str(i)}))
    names = lambda items: sorted(i.metadata.name for i in items)  # noqa: E731
    assert names(core.list_namespaced_config_map(NS, label_selector="app=a").items) == ["sel-1", "sel-3", "sel-5"]
    assert names(core.list_namespaced_config_map(NS, label_selector="app in (b),n notin (0,2)").items) == \
        ["sel-4", "sel-6"]
    assert names(core.list_namespaced_config_map(NS, label_selector="app!=a,n").items) == \
        ["sel-0", "sel-2", "sel-4", "sel-6"]
    assert names(core.list_namespaced_config_map(NS, field_selector="metadata.name=sel-3").items) == ["sel-3"]

    first = core.list_namespaced_config_map(NS, label_selector="n", limit=3)
    assert len(first.items) == 3 and first.metadata._continue
    seen = names(first.items)
    token = first.metadata._continue
    while token:
        page = core.list_namespaced_config_map(NS, label_selector="n", limit=3, _continue=token)
        seen += names(page.items)
        token = page.metadata._continue
    assert sorted(seen) == [f"sel-{i}" for i in range(7)]


def test_watch_from_resource_version(core: client.CoreV1Api) -> None:
    start = core.list_namespaced_config_map(NS).metadata.resource_version
    core.create_namespaced_config_map(NS, _cm("w1", {"w": "yes"}))
    core.patch_namespaced_config_map("w1", NS, {"data": {"k": "changed"}})
    core.delete_namespaced_config_map("w1", NS)
    events = []
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_config_map, NS, resource_version=start, label_selector="w=yes",
                          timeout_seconds=5):
        events.append((event["type"], event["object"].metadata.name, (event["object"].data or {}).get("k")))
        if len(events) == 3:
            w.stop()
    assert events == [("ADDED", "w1", "v"), ("MODIFIED", "w1", "changed"), ("DELETED", "w1", "changed")]


def test_watch_live(core: client.CoreV1Api) -> None:
    start = core.list_namespaced_config_map(NS).metadata.resource_version
    got: list[str] = []
    w = watch.Watch()

    def consume() -> None:
        for event in w.stream(core.list_namespaced_config_map, NS, resource_version=start,
                              field_selector="metadata.name=live", timeout_seconds=10):
            got.append(event["type"])
            w.stop()

    t = threading.Thread(target=consume)
    t.start()
    core.create_namespaced_config_map(NS, _cm("live"))
    t.join(15)
    assert got == ["ADDED"]


def test_patch_types(core: client.CoreV1Api, api_client: Any) -> None:
    apps = client.AppsV1Api(api_client)
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "patchme"},
            "spec": {"selector": {"matchLabels": {"app": "p"}},
                     "template": {"metadata": {"labels": {"app": "p"}},
                                  "spec": {"containers": [{"name": "a", "image": "nginx"},
                                                          {"name": "b", "image": "busybox"}]}}}}
    apps.create_namespaced_deployment(NS, body)
    # strategic merge: containers merge by name
    smp = {"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "busybox:1.36"}]}}}}
    out = apps.patch_namespaced_deployment("patchme", NS, smp)
    assert [(c.name, c.image) for c in out.spec.template.spec.containers] == [("a", "nginx"), ("b", "busybox:1.36")]
    # JSON merge patch: lists are replaced
    api_client.set_default_header("Content-Type", "application/merge-patch+json")
    try:
        merge = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
        out = apps.patch_namespaced_deployment("patchme", NS, merge, _content_type="application/merge-patch+json")
    finally:
        api_client.default_headers.pop("Content-Type", None)
    assert [c.name for c in out.spec.template.spec.containers] == ["c"]
    # JSON patch
    ops = [{"op": "replace", "path": "/spec/replicas", "value": 3}]
    out = apps.patch_namespaced_deployment("patchme", NS, ops, _content_type="application/json-patch+json")
    assert out.spec.replicas == 3
    assert out.metadata.generation == 4
