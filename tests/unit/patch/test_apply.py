from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kybernetes.api.errors import StatusError
from kybernetes.api.patch import apply, track_update
from kybernetes.api.schema import definition_for_gvk

from .conftest import WIDGET, lookup

T0, T1, T2, T3 = (
    "2024-01-01T00:00:00Z",
    "2024-01-02T00:00:00Z",
    "2024-01-03T00:00:00Z",
    "2024-01-04T00:00:00Z",
)

CONFIG: dict[str, Any] = {
    "apiVersion": "example.com/v1",
    "kind": "Widget",
    "metadata": {"name": "w", "labels": {"app": "w"}},
    "spec": {
        "replicas": 2,
        "items": [{"name": "one", "image": "i1", "ports": [{"port": 80}]}],
        "selector": {"matchLabels": {"app": "w"}},
    },
}


def _apply(
    live: dict[str, Any] | None,
    config: dict[str, Any],
    manager: str = "kubectl",
    force: bool = False,
    now: str = T0,
    **kw: Any,
) -> dict[str, Any]:
    return apply(live, config, manager, force, WIDGET, lookup=lookup, now=now, **kw)


def _update(
    old: dict[str, Any] | None, new: dict[str, Any], manager: str, now: str = T1, **kw: Any
) -> dict[str, Any]:
    return track_update(old, new, manager, "Update", WIDGET, lookup=lookup, now=now, **kw)


def _managers(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["manager"]: e for e in obj["metadata"].get("managedFields", [])}


def _edit(obj: dict[str, Any], **spec: Any) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["spec"].update(spec)
    return out


def test_create_by_apply_records_fields() -> None:
    obj = _apply(None, CONFIG)
    assert obj["spec"] == CONFIG["spec"]
    assert obj["metadata"]["managedFields"] == [
        {
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "example.com/v1",
            "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:items": {
                        'k:{"name":"one"}': {
                            ".": {},
                            "f:image": {},
                            "f:name": {},
                            "f:ports": {'k:{"port":80,"protocol":"TCP"}': {".": {}, "f:port": {}}},
                        }
                    },
                    "f:replicas": {},
                    "f:selector": {},
                },
            },
        }
    ]


def test_reapply_same_config_changes_nothing() -> None:
    first = _apply(None, CONFIG)
    again = _apply(first, CONFIG, now=T1)
    assert again == first


def test_inputs_are_not_modified() -> None:
    first = _apply(None, CONFIG)
    snapshot, config = copy.deepcopy(first), copy.deepcopy(CONFIG)
    _apply(first, {**CONFIG, "spec": {"replicas": 9}}, now=T1)
    _update(first, _edit(first, replicas=7), "other")
    assert (first, CONFIG) == (snapshot, config)


@pytest.mark.parametrize(
    ("dropped", "expected_spec"),
    [
        pytest.param(
            "replicas", {"items": CONFIG["spec"]["items"], "selector": CONFIG["spec"]["selector"]}, id="field"
        ),
        pytest.param("items", {"replicas": 2, "selector": CONFIG["spec"]["selector"]}, id="keyed-list"),
    ],
)
def test_apply_prunes_fields_dropped_from_config(dropped: str, expected_spec: dict[str, Any]) -> None:
    first = _apply(None, CONFIG)
    config = copy.deepcopy(CONFIG)
    del config["spec"][dropped]
    second = _apply(first, config, now=T1)
    assert second["spec"] == expected_spec
    assert f"f:{dropped}" not in json.dumps(second["metadata"]["managedFields"])


def test_prune_keeps_fields_another_manager_owns() -> None:
    first = _apply(None, CONFIG)
    both = _apply(
        first,
        {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w"},
            "spec": {"replicas": 2},
        },
        manager="other",
        now=T1,
    )
    assert set(_managers(both)) == {"kubectl", "other"}
    config = copy.deepcopy(CONFIG)
    del config["spec"]["replicas"]
    third = _apply(both, config, now=T2)
    assert third["spec"]["replicas"] == 2


def test_prune_keeps_fields_nobody_applied() -> None:
    first = _apply(None, CONFIG)
    scaled = _update(first, _edit(first, paused=True), "editor")
    config = copy.deepcopy(CONFIG)
    del config["spec"]["replicas"]
    out = _apply(scaled, config, now=T2)
    assert out["spec"]["paused"] is True
    assert "replicas" not in out["spec"]


def test_conflict_with_updater() -> None:
    created = _update(None, copy.deepcopy(CONFIG), "kubectl-client-side-apply", now=T0)
    with pytest.raises(StatusError) as err:
        _apply(created, {**CONFIG, "spec": {**CONFIG["spec"], "replicas": 3}}, now=T1)
    assert err.value.code == 409
    assert err.value.reason == "Conflict"
    assert err.value.message == (
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" '
        "using example.com/v1: .spec.replicas"
    )
    assert err.value.details == {
        "causes": [
            {
                "reason": "FieldManagerConflict",
                "field": ".spec.replicas",
                "message": 'conflict with "kubectl-client-side-apply" using example.com/v1',
            }
        ]
    }


def test_same_value_is_shared_not_a_conflict() -> None:
    created = _update(None, copy.deepcopy(CONFIG), "kubectl-create", now=T0)
    out = _apply(created, CONFIG, now=T1)
    managers = _managers(out)
    assert set(managers) == {"kubectl", "kubectl-create"}
    assert "f:replicas" in managers["kubectl"]["fieldsV1"]["f:spec"]
    assert "f:replicas" in managers["kubectl-create"]["fieldsV1"]["f:spec"]


def test_multiple_conflicts_message() -> None:
    first = _apply(None, CONFIG, manager="a")
    second = _update(
        first,
        _edit(first, replicas=5, items=[{"name": "one", "image": "i9", "ports": [{"port": 80}]}]),
        "b",
        now=T1,
    )
    with pytest.raises(StatusError) as err:
        _apply(
            second, {**CONFIG, "spec": {**CONFIG["spec"], "replicas": 3, "paused": True}}, manager="a", now=T2
        )
    assert err.value.message == (
        'Apply failed with 2 conflicts: conflicts with "b" using example.com/v1:\n'
        '- .spec.items[name="one"].image\n'
        "- .spec.replicas"
    )
    assert len(err.value.details["causes"]) == 2  # type: ignore[index]


def test_force_takes_ownership() -> None:
    created = _update(None, copy.deepcopy(CONFIG), "kubectl-create", now=T0)
    out = _apply(created, {**CONFIG, "spec": {**CONFIG["spec"], "replicas": 3}}, force=True, now=T1)
    assert out["spec"]["replicas"] == 3
    managers = _managers(out)
    assert "f:replicas" not in managers["kubectl-create"]["fieldsV1"]["f:spec"]
    assert managers["kubectl"]["time"] == T1


def test_update_after_apply_moves_ownership() -> None:
    first = _apply(None, CONFIG)
    scaled = _update(first, _edit(first, replicas=5), "kubectl-scale", subresource="scale")
    managers = _managers(scaled)
    assert "f:replicas" not in managers["kubectl"]["fieldsV1"]["f:spec"]
    assert managers["kubectl-scale"] == {
        "manager": "kubectl-scale",
        "operation": "Update",
        "apiVersion": "example.com/v1",
        "time": T1,
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:spec": {"f:replicas": {}}},
        "subresource": "scale",
    }
    assert [e["operation"] for e in scaled["metadata"]["managedFields"]] == ["Apply", "Update"]


def test_update_same_manager_accumulates_and_removed_fields_leave() -> None:
    created = _update(None, copy.deepcopy(CONFIG), "editor", now=T0)
    edited = _update(created, _edit(created, paused=True), "editor", now=T1)
    fields = _managers(edited)["editor"]["fieldsV1"]["f:spec"]
    assert "f:paused" in fields and "f:replicas" in fields
    assert _managers(edited)["editor"]["time"] == T1
    removed = copy.deepcopy(edited)
    del removed["spec"]["replicas"]
    out = _update(edited, removed, "other", now=T2)
    assert "f:replicas" not in _managers(out)["editor"]["fieldsV1"]["f:spec"]
    assert "other" not in _managers(out)


def test_update_without_changes_keeps_time() -> None:
    created = _update(None, copy.deepcopy(CONFIG), "editor", now=T0)
    again = _update(created, copy.deepcopy(created), "editor", now=T3)
    assert again["metadata"]["managedFields"] == created["metadata"]["managedFields"]


def test_create_update_entry_shape() -> None:
    created = _update(None, copy.deepcopy(CONFIG), "kubectl-create", now=T0)
    assert created["metadata"]["managedFields"][0]["fieldsV1"] == {
        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {
            "f:items": {
                ".": {},
                'k:{"name":"one"}': {
                    ".": {},
                    "f:image": {},
                    "f:name": {},
                    "f:ports": {".": {}, 'k:{"port":80,"protocol":"TCP"}': {".": {}, "f:port": {}}},
                },
            },
            "f:replicas": {},
            "f:selector": {},
        },
    }


@pytest.mark.parametrize(
    ("sent", "expected_managers"),
    [
        pytest.param([], {"kubectl"}, id="empty-keeps-recorded"),
        pytest.param(
            [
                {
                    "manager": "x",
                    "operation": "Update",
                    "apiVersion": "example.com/v1",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:spec": {"f:replicas": {}}},
                }
            ],
            {"x"},
            id="client-replaces",
        ),
        pytest.param([{"manager": "x", "operation": "Bogus"}], {"kubectl"}, id="malformed-ignored"),
    ],
)
def test_update_with_sent_managed_fields(sent: list[Any], expected_managers: set[str]) -> None:
    first = _apply(None, CONFIG)
    new = copy.deepcopy(first)
    new["metadata"]["managedFields"] = sent
    assert set(_managers(_update(first, new, "editor"))) == expected_managers


def test_update_managers_are_capped() -> None:
    obj = _update(None, copy.deepcopy(CONFIG), "m0", now="2024-01-01T00:00:00Z")
    for i in range(1, 12):
        labels = {**obj["metadata"]["labels"], f"l{i}": "x"}
        obj = _update(
            obj,
            {**obj, "metadata": {**obj["metadata"], "labels": labels}},
            f"m{i}",
            now=f"2024-01-{i + 1:02d}T00:00:00Z",
        )
    managers = _managers(obj)
    assert len(managers) == 10
    assert not {"m0", "m1", "m2"} & set(managers)
    assert {f"m{i}" for i in range(3, 12)} <= set(managers)
    ancient = managers["ancient-changes"]["fieldsV1"]
    assert {"f:l1", "f:l2", "f:app"} <= set(ancient["f:metadata"]["f:labels"])


def test_ignored_fields_are_not_owned() -> None:
    config = {**CONFIG, "status": {"ready": 1}}
    out = _apply(None, config, ignored_fields=[("status",)])
    assert "f:status" not in out["metadata"]["managedFields"][0]["fieldsV1"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        pytest.param(
            {**CONFIG, "metadata": {"name": "w", "managedFields": []}},
            "metadata.managedFields must be nil",
            id="managed-fields",
        ),
        pytest.param(
            {**CONFIG, "apiVersion": "example.com/v2"},
            "Incorrect version specified in apply patch. Specified patch version: example.com/v2, "
            "expected: example.com/v1",
            id="version",
        ),
    ],
)
def test_apply_bad_request(config: dict[str, Any], message: str) -> None:
    with pytest.raises(StatusError) as err:
        _apply(None, config, api_version="example.com/v1")
    assert (err.value.code, err.value.message) == (400, message)


def test_custom_resource_without_schema() -> None:
    config = {
        "apiVersion": "x.io/v1",
        "kind": "Thing",
        "metadata": {"name": "t"},
        "spec": {"size": 1, "list": [1, 2], "nested": {"a": 1}},
    }
    first = apply(None, config, "kubectl", False, None, lookup=lookup, now=T0)
    assert first["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"] == {
        ".": {},
        "f:list": {},
        "f:nested": {".": {}, "f:a": {}},
        "f:size": {},
    }
    second = apply(
        first,
        {**config, "spec": {"list": [3], "nested": {"b": 2}}},
        "kubectl",
        False,
        None,
        lookup=lookup,
        now=T1,
    )
    assert second["spec"] == {"list": [3], "nested": {"b": 2}}


def test_last_applied_annotation_is_synced_for_kubectl() -> None:
    live = _update(
        None,
        {
            **CONFIG,
            "metadata": {
                **CONFIG["metadata"],
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}\n"},
            },
        },
        "kubectl-client-side-apply",
        now=T0,
    )
    out = _apply(live, {**CONFIG, "spec": {**CONFIG["spec"], "paused": True}}, now=T1)
    annotation = out["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    assert annotation.endswith("\n")
    assert json.loads(annotation)["spec"]["paused"] is True


DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "nginx", "labels": {"app": "nginx"}},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "nginx"}},
        "template": {
            "metadata": {"labels": {"app": "nginx"}},
            "spec": {
                "containers": [
                    {
                        "name": "nginx",
                        "image": "nginx:1.25",
                        "ports": [{"containerPort": 80}],
                        "env": [{"name": "A", "value": "1"}],
                    }
                ]
            },
        },
    },
}


def test_real_deployment_create_then_server_side_apply() -> None:
    td = definition_for_gvk("apps", "v1", "Deployment")
    created = track_update(None, copy.deepcopy(DEPLOYMENT), "kubectl-client-side-apply", "Update", td, now=T0)
    changed = copy.deepcopy(DEPLOYMENT)
    changed["spec"]["replicas"] = 3
    with pytest.raises(StatusError) as err:
        apply(created, changed, "kubectl", False, td, now=T1)
    assert err.value.message == (
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" '
        "using apps/v1: .spec.replicas"
    )
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.25"
    changed["spec"]["replicas"] = 1
    changed["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "B", "value": "2"})
    out = apply(created, changed, "kubectl", False, td, now=T1)
    fields = _managers(out)["kubectl"]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    container = fields['k:{"name":"nginx"}']
    assert set(container["f:env"]) == {'k:{"name":"A"}', 'k:{"name":"B"}'}
    assert set(container["f:ports"]) == {'k:{"containerPort":80,"protocol":"TCP"}'}
    assert out["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "2"},
    ]
