"""OpenAPI v3 index and documents, and the gnostic protobuf v2 document."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

import pytest

from kybernetes.api import openapi
from kybernetes.api.registry import Registry, Resource, default_registry
from kybernetes.api.schema.wire import LEN, iter_fields

WIDGET = Resource("example.com", "v1", "Widget", "widgets", True)
WIDGET_SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield k, v
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return default_registry()


def test_index_lists_every_group_version_with_its_document_hash(registry: Registry) -> None:
    index = openapi.v3_index(registry)
    assert set(index["paths"]) == {
        "api/v1", "apis/apps/v1", "apis/batch/v1", "apis/autoscaling/v2", "apis/autoscaling/v1",
        "apis/storage.k8s.io/v1", "apis/coordination.k8s.io/v1", "apis/events.k8s.io/v1",
        "apis/discovery.k8s.io/v1", "apis/apiextensions.k8s.io/v1"}
    url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
    m = re.fullmatch(r"/openapi/v3/apis/apps/v1\?hash=([0-9A-F]{128})", url)
    assert m is not None
    body = openapi.v3_document_bytes(registry, "apps", "v1")
    assert body is not None
    assert m.group(1) == hashlib.sha512(body).hexdigest().upper()


@pytest.mark.parametrize(("group", "version"), [
    pytest.param("apps", "v2", id="unknown-version"),
    pytest.param("example.com", "v1", id="unknown-group"),
])
def test_unknown_group_version_has_no_document(registry: Registry, group: str, version: str) -> None:
    assert openapi.v3_document(registry, group, version) is None


@pytest.mark.parametrize(("group", "version", "path", "kind"), [
    pytest.param("apps", "v1", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
                 ("apps", "Deployment"), id="deployment"),
    pytest.param("apps", "v1", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale",
                 ("autoscaling", "Scale"), id="deployment-scale"),
    pytest.param("", "v1", "/api/v1/namespaces/{name}", ("", "Namespace"), id="namespace-cluster-scoped"),
    pytest.param("", "v1", "/api/v1/namespaces/{namespace}/pods/{name}/status", ("", "Pod"), id="pod-status"),
    pytest.param("autoscaling", "v1",
                 "/apis/autoscaling/v1/namespaces/{namespace}/horizontalpodautoscalers/{name}",
                 ("autoscaling", "HorizontalPodAutoscaler"), id="hpa-v1"),
])
def test_patch_operations_carry_gvk_and_field_validation(registry: Registry, group: str, version: str,
                                                         path: str, kind: tuple[str, str]) -> None:
    doc = openapi.v3_document(registry, group, version)
    assert doc is not None
    patch = doc["paths"][path]["patch"]
    gvk = patch["x-kubernetes-group-version-kind"]
    assert (gvk["group"], gvk["kind"]) == kind
    assert {"name": "fieldValidation", "in": "query"}.items() <= patch["parameters"][2].items()
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    assert set(patch["requestBody"]["content"]) == {*openapi.PATCH_TYPES, openapi.SMP}


def test_every_write_operation_has_field_validation(registry: Registry) -> None:
    for group, version in [("", "v1"), ("apps", "v1"), ("batch", "v1")]:
        doc = openapi.v3_document(registry, group, version)
        assert doc is not None
        for path, item in doc["paths"].items():
            for method in ("post", "put", "patch"):
                if method in item:
                    names = [p["name"] for p in item[method]["parameters"]]
                    assert "fieldValidation" in names, (path, method)


def test_schemas_are_closed_facts_only(registry: Registry) -> None:
    doc = openapi.v3_document(registry, "", "v1")
    assert doc is not None
    schemas = doc["components"]["schemas"]
    for key, value in _walk(doc):
        assert key != "description" or value == "OK"
        if key == "$ref":
            assert value.removeprefix("#/components/schemas/") in schemas, value
    pod = schemas["io.k8s.api.core.v1.Pod"]
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "Pod", "version": "v1"}]
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["items"] == {"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}
    assert schemas["io.k8s.api.core.v1.Container"]["required"] == ["name"]


def test_custom_resources_get_their_schema_and_no_strategic_merge_patch() -> None:
    reg = default_registry()
    reg.add(WIDGET)
    custom = {("example.com", "v1", "Widget"): WIDGET_SCHEMA}
    plain = openapi.v3_index(reg)["paths"]["apis/example.com/v1"]["serverRelativeURL"]
    index = openapi.v3_index(reg, custom)
    assert index["paths"]["apis/example.com/v1"]["serverRelativeURL"] != plain
    doc = openapi.v3_document(reg, "example.com", "v1", custom)
    assert doc is not None
    patch = doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"]
    assert openapi.SMP not in patch["requestBody"]["content"]
    widget = doc["components"]["schemas"]["com.example.v1.Widget"]
    assert widget["properties"]["spec"] == WIDGET_SCHEMA["properties"]["spec"]
    assert widget["x-kubernetes-group-version-kind"] == [{"group": "example.com", "kind": "Widget",
                                                         "version": "v1"}]
    assert "com.example.v1.WidgetList" in doc["components"]["schemas"]
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in doc["components"]["schemas"]


def _named_entries(data: bytes, field: int) -> dict[str, bytes]:
    """Entries ``{1 name, 2 value}`` of a repeated field of a gnostic message."""
    out: dict[str, bytes] = {}
    for number, wire, value in iter_fields(data):
        if number == field and wire == LEN:
            assert isinstance(value, bytes)
            parts = {n: v for n, _, v in iter_fields(value)}
            name = parts[1]
            assert isinstance(name, bytes)
            val = parts.get(2, b"")
            assert isinstance(val, bytes)
            out[name.decode()] = val
    return out


def test_v2_protobuf_is_a_gnostic_document(registry: Registry) -> None:
    body = openapi.v2_protobuf(registry)
    top = {n: v for n, _, v in iter_fields(body)}
    assert top[1] == b"2.0"
    definitions = top[9]
    assert isinstance(definitions, bytes)
    defs = _named_entries(definitions, 1)
    assert set(defs) == set(openapi.v2_document(registry)["definitions"])
    deployment = defs["io.k8s.api.apps.v1.Deployment"]
    extensions = _named_entries(deployment, 31)
    any_value = {n: v for n, _, v in iter_fields(extensions["x-kubernetes-group-version-kind"])}
    assert any_value[2] == b'[{"group":"apps","kind":"Deployment","version":"v1"}]'
    paths = top[8]
    assert isinstance(paths, bytes)
    assert "/apis/apps/v1/namespaces/{namespace}/deployments/{name}" in _named_entries(paths, 2)
