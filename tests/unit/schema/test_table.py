"""The generated type table: facts that the protobuf codec, SMP and OpenAPI rely on."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.api.registry import RESOURCES
from kybernetes.api.schema import SCALARS, all_types, definition, definition_for_gvk

CORE = "io.k8s.api.core.v1."


@pytest.mark.parametrize(("type_name", "field", "facts"), [
    pytest.param(CORE + "PodSpec", "containers", {
        "number": 2, "type": "object", "ref": CORE + "Container", "repeated": True, "patch_strategy": "merge",
        "merge_key": "name", "list_type": "map", "list_map_keys": ("name",)}, id="podspec-containers"),
    pytest.param(CORE + "Container", "ports", {
        "number": 6, "merge_key": "containerPort", "list_map_keys": ("containerPort", "protocol")},
        id="container-ports"),
    pytest.param("io.k8s.api.apps.v1.DeploymentSpec", "replicas", {
        "number": 1, "type": "int32", "pointer": True}, id="replicas-pointer"),
    pytest.param("io.k8s.api.apps.v1.DeploymentSpec", "paused", {
        "number": 7, "type": "boolean", "pointer": False}, id="paused-value"),
    pytest.param("io.k8s.api.apps.v1.DeploymentSpec", "strategy", {"patch_strategy": "retainKeys"},
                 id="strategy-retain-keys"),
    pytest.param(CORE + "Secret", "data", {"number": 2, "type": "bytes", "map": True},
                 id="secret-data-bytes"),
    pytest.param(CORE + "Container", "resources", {"number": 8, "ref": CORE + "ResourceRequirements"},
                 id="resources"),
    pytest.param(CORE + "ResourceRequirements", "limits", {"number": 1, "type": "quantity", "map": True},
                 id="limits-quantity-map"),
    pytest.param(CORE + "ServicePort", "targetPort", {"number": 4, "type": "int-or-string"},
                 id="int-or-string"),
    pytest.param("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "creationTimestamp",
                 {"number": 8, "type": "time"}, id="time"),
    pytest.param("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "labels",
                 {"number": 11, "type": "string", "map": True}, id="labels-map"),
    pytest.param("io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry", "fieldsV1",
                 {"number": 7, "type": "raw"}, id="fieldsv1-raw"),
    pytest.param("io.k8s.api.coordination.v1.LeaseSpec", "renewTime", {"number": 4, "type": "micro-time"},
                 id="microtime"),
    pytest.param(CORE + "Volume", "configMap",
                 {"number": 19, "via": 2, "ref": CORE + "ConfigMapVolumeSource"},
                 id="volume-inline-source"),
    pytest.param(CORE + "Probe", "httpGet", {"number": 2, "via": 1}, id="probe-inline-handler"),
    pytest.param(CORE + "Container", "name", {"number": 1, "required": True}, id="required"),
    pytest.param(CORE + "NodeSelectorTerm", "matchExpressions", {"list_type": "atomic"}, id="atomic-list"),
])
def test_field_facts(type_name: str, field: str, facts: dict[str, Any]) -> None:
    td = definition(type_name)
    assert td is not None
    f = td.fields[field]
    assert {k: getattr(f, k) for k in facts} == facts


@pytest.mark.parametrize(("group", "version", "kind", "name"), [
    pytest.param("apps", "v1", "Deployment", "io.k8s.api.apps.v1.Deployment", id="deployment"),
    pytest.param("", "v1", "Pod", CORE + "Pod", id="pod"),
    pytest.param("autoscaling", "v1", "Scale", "io.k8s.api.autoscaling.v1.Scale", id="scale"),
    pytest.param("policy", "v1", "Eviction", "io.k8s.api.policy.v1.Eviction", id="eviction"),
    pytest.param("", "v1", "Status", "io.k8s.apimachinery.pkg.apis.meta.v1.Status", id="status"),
    pytest.param("apiextensions.k8s.io", "v1", "CustomResourceDefinition",
                 "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
                 id="crd"),
])
def test_definition_for_gvk(group: str, version: str, kind: str, name: str) -> None:
    td = definition_for_gvk(group, version, kind)
    assert td is not None and td.name == name
    assert (group, version, kind) in td.gvks


def test_unknown_gvk_is_none() -> None:
    assert definition_for_gvk("example.com", "v1", "Widget") is None
    assert definition("io.example.Nope") is None


def test_every_registry_kind_and_list_is_in_the_table() -> None:
    for r in RESOURCES:
        for kind in (r.kind, r.list_kind):
            assert definition_for_gvk(r.group, r.version, kind) is not None, (r.api_version, kind)


def test_table_is_closed_and_well_formed() -> None:
    types = all_types()
    for td in types.values():
        numbers = [(f.via, f.number) for f in td.fields.values() if f.number]
        assert len(numbers) == len(set(numbers)), td.name
        for f in td.fields.values():
            assert f.type == "object" or f.type in SCALARS, (td.name, f.name)
            if f.type == "object":
                assert f.ref in types, (td.name, f.name, f.ref)
