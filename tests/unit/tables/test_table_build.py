"""Table envelope (includeObject, list metadata, column headers) and CRD-column tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kybernetes.api.errors import StatusError
from kybernetes.api.tables import build_custom_table, build_table

NOW = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
META = {
    "name": "web",
    "namespace": "default",
    "labels": {"app": "web"},
    "uid": "u1",
    "creationTimestamp": "2024-01-01T11:55:00Z",
}
CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": META, "data": {"k": "v"}}


@pytest.mark.parametrize(
    ("include", "want"),
    [
        pytest.param(
            "Metadata",
            {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": META},
            id="metadata",
        ),
        pytest.param("Object", CM, id="object"),
        pytest.param("None", None, id="none"),
    ],
)
def test_include_object(include: str, want: dict[str, Any] | None) -> None:
    row = build_table("", "ConfigMap", [CM], include_object=include, now=NOW)["rows"][0]
    assert row.get("object") == want
    if want is not None:
        assert row["object"] is not CM and row["object"].get("metadata") is not META  # copies


def test_bad_include_object_is_400() -> None:
    with pytest.raises(StatusError) as exc:
        build_table("", "ConfigMap", [CM], include_object="Everything")
    assert exc.value.code == 400
    assert "includeObject" in exc.value.message and '"Everything"' in exc.value.message


@pytest.mark.parametrize(
    ("kwargs", "meta", "columns"),
    [
        pytest.param({}, {}, 3, id="defaults"),
        pytest.param(
            {"resource_version": "1036", "continue_token": "abc", "remaining": 7},
            {"resourceVersion": "1036", "continue": "abc", "remainingItemCount": 7},
            3,
            id="list-meta",
        ),
        pytest.param(
            {"with_columns": False, "resource_version": "5"}, {"resourceVersion": "5"}, 0, id="no-columns"
        ),
    ],
)
def test_envelope(kwargs: dict[str, Any], meta: dict[str, Any], columns: int) -> None:
    table = build_table("", "ConfigMap", [CM, CM], now=NOW, **kwargs)
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == meta
    assert len(table["columnDefinitions"]) == columns
    assert [r["cells"] for r in table["rows"]] == [["web", 1, "5m"]] * 2


def test_empty_list_and_no_mutation() -> None:
    assert build_table("apps", "Deployment", [], now=NOW)["rows"] == []
    before = repr(CM)
    build_table("", "ConfigMap", [CM], include_object="Object", now=NOW)
    assert repr(CM) == before


def test_definition_shape() -> None:
    col = build_table("", "ConfigMap", [])["columnDefinitions"][0]
    assert set(col) == {"name", "type", "format", "description", "priority"}
    assert (col["name"], col["format"]) == ("Name", "name")


WIDGET = {
    "apiVersion": "example.com/v1",
    "kind": "Widget",
    "metadata": {"name": "w1", "namespace": "default", "creationTimestamp": "2024-01-01T11:55:00Z"},
    "spec": {"replicas": 3, "size": 1.5, "enabled": True, "tags": ["a", "b"], "labels": {"z": "1", "a": "2"}},
    "status": {
        "conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}],
        "lastSync": "2024-01-01T11:59:00Z",
        "nodes": [{"name": "n1"}, {"name": "n2"}],
    },
}


@pytest.mark.parametrize(
    ("column", "want"),
    [
        pytest.param({"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"}, 3, id="integer"),
        pytest.param({"name": "Size", "type": "number", "jsonPath": ".spec.size"}, 1.5, id="number"),
        pytest.param({"name": "On", "type": "boolean", "jsonPath": ".spec.enabled"}, True, id="boolean"),
        pytest.param(
            {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
            "True",
            id="filter",
        ),
        pytest.param(
            {"name": "First", "type": "string", "jsonPath": ".status.conditions[0].type"},
            "Synced",
            id="index",
        ),
        pytest.param(
            {"name": "Last", "type": "string", "jsonPath": ".status.nodes[-1].name"}, "n2", id="negative"
        ),
        pytest.param(
            {"name": "Nodes", "type": "string", "jsonPath": ".status.nodes[*].name"}, "n1", id="wildcard"
        ),
        pytest.param(
            {"name": "Tags", "type": "string", "jsonPath": ".spec.tags"}, '["a","b"]', id="list-as-json"
        ),
        pytest.param(
            {"name": "L", "type": "string", "jsonPath": ".spec.labels"},
            '{"a":"2","z":"1"}',
            id="map-as-sorted-json",
        ),
        pytest.param({"name": "R", "type": "string", "jsonPath": ".spec.replicas"}, "3", id="int-as-string"),
        pytest.param(
            {"name": "Q", "type": "string", "jsonPath": "{.spec['replicas']}"}, "3", id="braces-bracket"
        ),
        pytest.param(
            {"name": "Synced", "type": "date", "jsonPath": ".status.lastSync"}, "60s", id="date-age"
        ),
        pytest.param({"name": "Missing", "type": "string", "jsonPath": ".spec.nothing"}, None, id="missing"),
        pytest.param(
            {"name": "Wrong", "type": "integer", "jsonPath": ".spec.tags"}, None, id="type-mismatch"
        ),
    ],
)
def test_custom_column_cells(column: dict[str, Any], want: Any) -> None:
    table = build_custom_table([column], [WIDGET], now=NOW)
    assert table["rows"][0]["cells"] == ["w1", want]
    defn = table["columnDefinitions"][1]
    assert (defn["name"], defn["type"], defn["priority"]) == (column["name"], column["type"], 0)
    assert defn["description"]


def test_custom_default_columns_and_priority() -> None:
    table = build_custom_table([], [WIDGET], now=NOW)
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]
    assert table["rows"][0]["cells"] == ["w1", "5m"]
    table = build_custom_table(
        [
            {
                "name": "X",
                "type": "string",
                "jsonPath": ".spec.size",
                "priority": 1,
                "description": "mine",
                "format": "byte",
            }
        ],
        [WIDGET],
        now=NOW,
    )
    assert table["columnDefinitions"][1] == {
        "name": "X",
        "type": "string",
        "format": "byte",
        "description": "mine",
        "priority": 1,
    }


def test_custom_bad_jsonpath_is_400() -> None:
    with pytest.raises(StatusError) as exc:
        build_custom_table([{"name": "X", "type": "string", "jsonPath": ".spec[?(@.a > 3)]"}], [WIDGET])
    assert exc.value.code == 400
