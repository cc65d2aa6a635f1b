"""Strict field validation: unknown fields (built-in and CRD schemas) and duplicate keys."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.api.fieldvalidation import (
    duplicate_fields,
    patch_adds_unknown_fields,
    strict_error,
    strict_message,
    unknown_fields,
    unknown_fields_in_schema,
    warnings,
)

DEPLOYMENT = "io.k8s.api.apps.v1.Deployment"


def _deployment(**extra_container: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "labels": {"a": "b"}},
            "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "i", **extra_container}]}}}}


@pytest.mark.parametrize(("obj", "type_name", "expected"), [
    pytest.param(_deployment(), DEPLOYMENT, [], id="valid"),
    pytest.param({**_deployment(), "bogus": 1}, DEPLOYMENT, ["bogus"], id="top-level"),
    pytest.param({"metadata": {"name": "x", "nam": "y"}, "spec": {"foo": 1, "replicas": 2}}, DEPLOYMENT,
                 ["metadata.nam", "spec.foo"], id="nested"),
    pytest.param(_deployment(bar=1), DEPLOYMENT, ["spec.template.spec.containers[0].bar"], id="in-list"),
    pytest.param({"spec": {"template": {"spec": {"volumes": [{"name": "v", "configMap": {"nme": "x"}}]}}}},
                 DEPLOYMENT, ["spec.template.spec.volumes[0].configMap.nme"], id="inline-volume-source"),
    pytest.param({"metadata": {"managedFields": [{"fieldsV1": {"f:anything": {}}}]}}, DEPLOYMENT, [],
                 id="fieldsv1-is-free-form"),
    pytest.param({"spec": {"template": {"spec": {"containers": [{"resources": {"limits": {"x": "1"}}}]}}}},
                 DEPLOYMENT, [], id="map-keys-are-not-fields"),
    pytest.param({"spec": "not-an-object"}, DEPLOYMENT, [], id="type-mismatch-is-not-unknown"),
    pytest.param({"apiVersion": "v1", "kind": "Event", "involvedObject": {"kind": "Pod", "zz": 1}, "x": 1},
                 "io.k8s.api.core.v1.Event", ["involvedObject.zz", "x"], id="core-event"),
    pytest.param({"spec": {"foo": 1}}, "io.example.Nope", [], id="unknown-type"),
])
def test_unknown_fields(obj: dict[str, Any], type_name: str, expected: list[str]) -> None:
    assert unknown_fields(obj, type_name) == expected


WIDGET_SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "spec": {"type": "object", "properties": {
        "size": {"type": "integer"},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "items": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "string"}}}},
        "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                     "properties": {"spec": {"type": "object"}}}}}}}


@pytest.mark.parametrize(("obj", "expected"), [
    pytest.param({"apiVersion": "x/v1", "kind": "W", "metadata": {"name": "a", "whatever": 1},
                  "spec": {"size": 1}}, [], id="valid"),
    pytest.param({"spec": {"size": 1, "colour": "red"}}, ["spec.colour"], id="unknown"),
    pytest.param({"spec": {"free": {"a": {"b": 1}}, "labels": {"k": "v"}}}, [], id="preserve-and-map"),
    pytest.param({"spec": {"items": [{"n": "a"}, {"m": "b"}]}}, ["spec.items[1].m"], id="list-item"),
    pytest.param({"spec": {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {}, "x": 1}}},
                 ["spec.template.x"], id="embedded-resource"),
    pytest.param({"status": {}}, ["status"], id="undeclared-status"),
])
def test_unknown_fields_in_schema(obj: dict[str, Any], expected: list[str]) -> None:
    assert unknown_fields_in_schema(obj, WIDGET_SCHEMA) == expected


@pytest.mark.parametrize(("body", "content_type", "expected"), [
    pytest.param(b'{"a": 1, "b": 2}', "application/json", [], id="json-clean"),
    pytest.param(b'{"kind": "A", "kind": "B"}', "application/json", ["kind"], id="json-top"),
    pytest.param(b'{"spec": {"replicas": 1, "replicas": 2}}', "application/json; charset=utf-8",
                 ["spec.replicas"], id="json-nested-with-params"),
    pytest.param(b'{"spec": {"containers": [{"name": "a"}, {"name": "b", "name": "c"}]}}',
                 "application/merge-patch+json", ["spec.containers[1].name"], id="json-in-list"),
    pytest.param(b'{"a": {"x": 1}, "a": {"x": 2, "x": 3}}', "application/json", ["a", "a.x"],
                 id="json-duplicate-holding-duplicates"),
    pytest.param(b"not json", "application/json", [], id="json-invalid"),
    pytest.param(b"kind: A\nkind: B\n", "application/yaml", ["kind"], id="yaml-top"),
    pytest.param(b"spec:\n  containers:\n  - name: a\n    image: x\n    image: y\n",
                 "application/apply-patch+yaml", ["spec.containers[0].image"], id="yaml-in-list"),
    pytest.param(b"a: [\n", "application/yaml", [], id="yaml-invalid"),
    pytest.param(b"k8s\x00", "application/vnd.kubernetes.protobuf", [], id="protobuf"),
])
def test_duplicate_fields(body: bytes, content_type: str, expected: list[str]) -> None:
    assert duplicate_fields(body, content_type) == expected


def test_messages() -> None:
    assert strict_message(["spec.foo"], ["x"]) == \
        'strict decoding error: unknown field "spec.foo", duplicate field "x"'
    err = strict_error("Deployment", "v1", ["spec.foo"], [])
    assert err.code == 400 and err.reason == "BadRequest"
    assert err.message == ('Deployment in version "v1" cannot be handled as a Deployment: '
                           'strict decoding error: unknown field "spec.foo"')
    assert warnings(["a"], ["b"]) == ['unknown field "a"', 'duplicate field "b"']


POD = "io.k8s.api.core.v1.Pod"


@pytest.mark.parametrize(("patch", "adds"), [
    pytest.param({"status": {"phase": "Running", "podIP": "10.0.0.1"}}, False, id="status"),
    pytest.param({"status": {"phase": "Running", "bogus": 1}}, True, id="unknown in status"),
    pytest.param({"metadata": {"labels": {"any-key": "v"}, "annotations": {"x": "y"}}}, False, id="map keys"),
    pytest.param({"spec": {"containers": [{"name": "c", "bogus": 1}]}}, True, id="unknown in a list item"),
    pytest.param({"spec": {"containers": [{"name": "c", "$patch": "delete"}]}}, False, id="smp delete directive"),
    pytest.param({"spec": {"$setElementOrder/containers": [{"name": "c"}], "containers": [{"name": "c"}]}}, False,
                 id="smp order directive"),
    pytest.param({"metadata": {"$retainKeys": ["labels"]}, "bogus": None}, False, id="null removes"),
    pytest.param({"bogus": {"x": None}}, True, id="unknown object"),
    pytest.param({"spec": {"nodeSelector": {"a": "b"}, "overhead": {"cpu": "1"}}}, False, id="string maps"),
])
def test_patch_adds_unknown_fields(patch: dict[str, Any], adds: bool) -> None:
    assert patch_adds_unknown_fields(patch, POD) is adds
