from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kybernetes.api.errors import StatusError
from kybernetes.api.patch import apply_strategic_merge_patch
from kybernetes.api.schema import definition_for_gvk

from .conftest import WIDGET, lookup

LIVE: dict[str, Any] = {
    "metadata": {"name": "w", "labels": {"a": "1", "b": "2"}, "finalizers": ["f1", "f2"]},
    "spec": {
        "replicas": 1,
        "items": [
            {"name": "one", "image": "i1", "ports": [{"port": 80, "protocol": "TCP"}]},
            {"name": "two", "image": "i2"},
        ],
        "tags": ["x", "y"],
        "strategy": {"type": "Rolling", "rolling": {"maxSurge": 1}},
        "config": {"k1": "v1", "k2": "v2"},
        "template": {"a": "1", "b": "2"},
    },
}


def _with(path: str, value: Any) -> dict[str, Any]:
    """LIVE with the dotted ``path`` set to ``value`` (None deletes)."""
    out = copy.deepcopy(LIVE)
    node = out
    *parents, last = path.split(".")
    for p in parents:
        node = node[p]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return out


CASES = [
    pytest.param({"spec": {"replicas": 3}}, _with("spec.replicas", 3), id="scalar"),
    pytest.param({"spec": {"replicas": None}}, _with("spec.replicas", None), id="null-deletes"),
    pytest.param(
        {"metadata": {"labels": {"a": None, "c": "3"}}},
        _with("metadata.labels", {"b": "2", "c": "3"}),
        id="map-merge",
    ),
    pytest.param(
        {"spec": {"items": [{"name": "two", "image": "i2b"}, {"name": "three", "image": "i3"}]}},
        _with(
            "spec.items",
            [
                {"name": "one", "image": "i1", "ports": [{"port": 80, "protocol": "TCP"}]},
                {"name": "two", "image": "i2b"},
                {"name": "three", "image": "i3"},
            ],
        ),
        id="merge-by-key",
    ),
    pytest.param(
        {"spec": {"items": [{"name": "one", "ports": [{"port": 443}]}]}},
        _with(
            "spec.items",
            [
                {"name": "one", "image": "i1", "ports": [{"port": 443}, {"port": 80, "protocol": "TCP"}]},
                {"name": "two", "image": "i2"},
            ],
        ),
        id="nested-merge",
    ),
    pytest.param(
        {"metadata": {"finalizers": ["f3", "f1"]}},
        _with("metadata.finalizers", ["f3", "f1", "f2"]),
        id="primitive-set-union",
    ),
    pytest.param({"spec": {"tags": ["z"]}}, _with("spec.tags", ["z"]), id="atomic-list-replaced"),
    pytest.param(
        {"spec": {"items": [{"name": "one", "$patch": "delete"}]}},
        _with("spec.items", [{"name": "two", "image": "i2"}]),
        id="delete-item",
    ),
    pytest.param(
        {"spec": {"items": [{"name": "new"}, {"$patch": "replace"}]}},
        _with("spec.items", [{"name": "new"}]),
        id="replace-list",
    ),
    pytest.param(
        {"metadata": {"labels": {"$patch": "replace", "z": "9"}}},
        _with("metadata.labels", {"z": "9"}),
        id="replace-map",
    ),
    pytest.param({"spec": {"strategy": {"$patch": "delete"}}}, _with("spec.strategy", {}), id="delete-map"),
    pytest.param(
        {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
        _with("spec.strategy", {"type": "Recreate"}),
        id="retain-keys",
    ),
    pytest.param(
        {
            "spec": {
                "$setElementOrder/items": [{"name": "two"}, {"name": "one"}],
                "items": [{"name": "one", "image": "i1b"}],
            }
        },
        _with(
            "spec.items",
            [
                {"name": "two", "image": "i2"},
                {"name": "one", "image": "i1b", "ports": [{"port": 80, "protocol": "TCP"}]},
            ],
        ),
        id="set-element-order",
    ),
    pytest.param(
        {"metadata": {"$setElementOrder/finalizers": ["f2", "f1"]}},
        _with("metadata.finalizers", ["f2", "f1"]),
        id="set-element-order-primitive",
    ),
    pytest.param(
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["f1"]}},
        _with("metadata.finalizers", ["f2"]),
        id="delete-from-primitive-list",
    ),
    pytest.param(
        {"spec": {"config": {"k3": "v3"}}}, _with("spec.config", {"k3": "v3"}), id="replace-strategy-map"
    ),
    pytest.param(
        {"spec": {"template": {"a": "9"}}}, _with("spec.template", {"a": "9"}), id="replace-strategy-struct"
    ),
    pytest.param(
        {"spec": {"paused": True, "extra": {"x": None, "y": 1}}},
        _with("spec.extra", {"y": 1}) | {"spec": _with("spec.extra", {"y": 1})["spec"] | {"paused": True}},
        id="new-values-drop-nulls",
    ),
    pytest.param(
        {"status": {"ready": 1, "gone": {"$patch": "delete"}}},
        LIVE | {"status": {"ready": 1}},
        id="new-value-drops-directive-maps",
    ),
]


@pytest.mark.parametrize(("patch", "expected"), CASES)
def test_strategic_merge_patch(patch: dict[str, Any], expected: dict[str, Any]) -> None:
    before, patch_before = copy.deepcopy(LIVE), copy.deepcopy(patch)
    assert apply_strategic_merge_patch(LIVE, patch, WIDGET, lookup=lookup) == expected
    assert apply_strategic_merge_patch(LIVE, json.dumps(patch).encode(), WIDGET, lookup=lookup) == expected
    assert (LIVE, patch) == (before, patch_before)
    given = copy.deepcopy(LIVE)  # consumed: merged in place, same result, the patch still untouched
    assert apply_strategic_merge_patch(given, patch, WIDGET, lookup=lookup, consume=True) == expected
    assert patch == patch_before


ERRORS = [
    pytest.param(
        b"[1]",
        400,
        "BadRequest",
        "json: cannot unmarshal array into Go value of type map[string]interface {}",
        id="not-object",
    ),
    pytest.param(b"{", 400, "BadRequest", None, id="not-json"),
    pytest.param(
        {"spec": {"items": [{"image": "x"}]}},
        500,
        "",
        "map: map[image:x] does not contain declared merge key: name",
        id="missing-merge-key",
    ),
    pytest.param(
        {"spec": {"items": [{"name": "one", "$patch": "merge"}]}},
        500,
        "",
        "merging lists cannot yet be specified in the patch",
        id="merge-directive-in-list",
    ),
    pytest.param(
        {"spec": {"strategy": {"$patch": "frob", "type": "A"}}},
        500,
        "",
        "unknown patch type: frob in map: map[$patch:frob type:A]",
        id="unknown-patch-type",
    ),
    pytest.param(
        {"spec": {"strategy": {"$retainKeys": "type"}}},
        400,
        "BadRequest",
        "invalid patch format of retainKeys",
        id="retain-keys-not-list",
    ),
    pytest.param(
        {"spec": {"strategy": {"$retainKeys": ["type"], "rolling": {"maxSurge": 2}}}},
        400,
        "BadRequest",
        "invalid patch format of retainKeys",
        id="retain-keys-missing-field",
    ),
    pytest.param(
        {"spec": {"$setElementOrder": []}},
        400,
        "BadRequest",
        "invalid patch format of setElementOrder list",
        id="bad-set-order-key",
    ),
    pytest.param(
        {"metadata": {"$deleteFromPrimitiveList": ["a"]}},
        400,
        "BadRequest",
        "invalid patch format of primitive list",
        id="bad-delete-list-key",
    ),
    pytest.param(
        {"metadata": {"finalizers": [1]}},
        500,
        "",
        "list element types are not identical: [[f1 f2] [1]]",
        id="mixed-element-types",
    ),
    pytest.param(
        {"spec": {"$setElementOrder/items": [{"name": "one"}], "items": [{"name": "two"}]}},
        500,
        "",
        None,
        id="order-mismatch",
    ),
]


@pytest.mark.parametrize(("patch", "code", "reason", "message"), ERRORS)
def test_strategic_merge_patch_errors(patch: Any, code: int, reason: str, message: str | None) -> None:
    with pytest.raises(StatusError) as err:
        apply_strategic_merge_patch(LIVE, patch, WIDGET, lookup=lookup)
    assert (err.value.code, err.value.reason) == (code, reason)
    if message is not None:
        assert err.value.message == message


def test_lists_of_lists_are_invalid() -> None:
    with pytest.raises(StatusError) as err:
        apply_strategic_merge_patch(
            {"metadata": {"finalizers": [["a"]]}},
            {"metadata": {"finalizers": [["b"]]}},
            WIDGET,
            lookup=lookup,
        )
    assert (err.value.code, err.value.reason) == (422, "Invalid")
    assert err.value.message == "the server rejected our request due to an error in our request"


def test_new_items_precede_live_only_items() -> None:
    """Upstream places items only in the patch before the live-only items that follow them."""
    out = apply_strategic_merge_patch(LIVE, {"spec": {"items": [{"name": "zero"}]}}, WIDGET, lookup=lookup)
    assert [i["name"] for i in out["spec"]["items"]] == ["zero", "one", "two"]


def test_custom_resources_are_refused() -> None:
    with pytest.raises(StatusError) as err:
        apply_strategic_merge_patch({"spec": {}}, {"spec": {"a": 1}}, None)
    assert err.value.code == 415
    assert err.value.reason == "UnsupportedMediaType"
    assert "application/merge-patch+json" in err.value.message


DEPLOY: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "web",
        "finalizers": ["a/b"],
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}\n"},
    },
    "spec": {
        "replicas": 1,
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "web",
                        "image": "nginx:1.25",
                        "ports": [{"containerPort": 80, "protocol": "TCP"}],
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                    },
                    {"name": "side", "image": "busybox"},
                ],
                "tolerations": [{"key": "k1", "operator": "Exists"}],
                "imagePullSecrets": [{"name": "s1"}],
            }
        },
    },
    "status": {
        "conditions": [{"type": "Available", "status": "False"}, {"type": "Progressing", "status": "True"}]
    },
}


def _container(**changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = copy.deepcopy(DEPLOY["spec"]["template"]["spec"]["containers"][0])
    out.update(changes)
    return out


REAL = [
    pytest.param(
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.26"}]}}}},
        ["spec", "template", "spec", "containers"],
        [_container(image="nginx:1.26"), {"name": "side", "image": "busybox"}],
        id="containers-by-name",
    ),
    pytest.param(
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "web",
                                "ports": [{"containerPort": 443}],
                                "env": [{"name": "B", "value": "3"}, {"name": "C"}],
                                "volumeMounts": [{"mountPath": "/data", "readOnly": True}],
                            }
                        ]
                    }
                }
            }
        },
        ["spec", "template", "spec", "containers", 0],
        _container(
            ports=[{"containerPort": 443}, {"containerPort": 80, "protocol": "TCP"}],
            env=[{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C"}],
            volumeMounts=[{"name": "data", "mountPath": "/data", "readOnly": True}],
        ),
        id="ports-env-mounts",
    ),
    pytest.param(
        {"spec": {"template": {"spec": {"tolerations": [{"key": "k2", "operator": "Exists"}]}}}},
        ["spec", "template", "spec", "tolerations"],
        [{"key": "k2", "operator": "Exists"}],
        id="tolerations-atomic",
    ),
    pytest.param(
        {"spec": {"template": {"spec": {"imagePullSecrets": [{"name": "s2"}]}}}},
        ["spec", "template", "spec", "imagePullSecrets"],
        [{"name": "s2"}, {"name": "s1"}],
        id="image-pull-secrets",
    ),
    pytest.param(
        {"metadata": {"finalizers": ["c/d"]}}, ["metadata", "finalizers"], ["c/d", "a/b"], id="finalizers-set"
    ),
    pytest.param(
        {"status": {"conditions": [{"type": "Available", "status": "True"}]}},
        ["status", "conditions"],
        [{"type": "Available", "status": "True"}, {"type": "Progressing", "status": "True"}],
        id="conditions-by-type",
    ),
    pytest.param(
        {
            "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": '{"x":1}\n'}},
            "spec": {
                "replicas": 3,
                "template": {
                    "spec": {
                        "$setElementOrder/containers": [{"name": "side"}, {"name": "web"}],
                        "containers": [{"image": "nginx:1.26", "name": "web"}],
                    }
                },
            },
        },
        ["spec", "template", "spec", "containers"],
        [{"name": "side", "image": "busybox"}, _container(image="nginx:1.26")],
        id="client-side-apply",
    ),
]


@pytest.mark.parametrize(("patch", "where", "expected"), REAL)
def test_real_types(patch: dict[str, Any], where: list[Any], expected: Any) -> None:
    td = definition_for_gvk("apps", "v1", "Deployment")
    out = apply_strategic_merge_patch(DEPLOY, patch, td)
    node: Any = out
    for step in where:
        node = node[step]
    assert node == expected
