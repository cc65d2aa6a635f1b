"""Shared helpers: JSON deep copies and read-only lookups."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.api.patch.common import clone
from kybernetes.controllers.common import controller_ref, pod_condition


@pytest.mark.parametrize("value", [
    {"a": [1, 2.5, {"b": None}], "c": True, "d": "x"},
    [],
    {},
    "text",
    {"nested": {"deep": [{"k": "v"}, [1, [2, [3]]]]}},
])
def test_json_copy_is_equal_and_independent(value: Any) -> None:
    copied = clone(value)
    assert copied == value
    if isinstance(value, (dict, list)) and value:
        assert copied is not value
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(v, (dict, list)):
                    assert copied[k] is not v


@pytest.mark.parametrize(("refs", "expect"), [
    (None, None),
    ([], None),
    ([{"uid": "a"}], None),
    ([{"uid": "a", "controller": False}, {"uid": "b", "controller": True}], "b"),
])
def test_controller_ref(refs: list[dict[str, Any]] | None, expect: str | None) -> None:
    obj = {"metadata": {"ownerReferences": refs} if refs is not None else {}}
    ref = controller_ref(obj)
    assert (ref or {}).get("uid") == expect


@pytest.mark.parametrize(("conditions", "kind", "status"), [
    ([], "Ready", None),
    ([{"type": "Ready", "status": "True"}], "Ready", "True"),
    ([{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "False"}], "Ready", "False"),
])
def test_pod_condition(conditions: list[dict[str, str]], kind: str, status: str | None) -> None:
    cond = pod_condition({"status": {"conditions": conditions}}, kind)
    assert (cond or {}).get("status") == status
