from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kybernetes.api.errors import StatusError
from kybernetes.api.patch import apply_json_patch

OBJ: dict[str, Any] = {
    "metadata": {"name": "web", "annotations": {"a": "1"}},
    "spec": {"replicas": 1, "tags": ["x", "y"]},
}


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        pytest.param(
            [{"op": "replace", "path": "/spec/replicas", "value": 3}],
            {
                "metadata": {"name": "web", "annotations": {"a": "1"}},
                "spec": {"replicas": 3, "tags": ["x", "y"]},
            },
            id="replace",
        ),
        pytest.param(
            [
                {"op": "add", "path": "/spec/tags/-", "value": "z"},
                {"op": "remove", "path": "/metadata/annotations"},
            ],
            {"metadata": {"name": "web"}, "spec": {"replicas": 1, "tags": ["x", "y", "z"]}},
            id="add-remove",
        ),
        pytest.param(
            [
                {"op": "test", "path": "/spec/replicas", "value": 1},
                {"op": "copy", "from": "/spec/replicas", "path": "/spec/min"},
            ],
            {
                "metadata": {"name": "web", "annotations": {"a": "1"}},
                "spec": {"replicas": 1, "tags": ["x", "y"], "min": 1},
            },
            id="test-copy",
        ),
        pytest.param(
            [{"op": "move", "from": "/spec/tags", "path": "/spec/labels"}],
            {
                "metadata": {"name": "web", "annotations": {"a": "1"}},
                "spec": {"replicas": 1, "labels": ["x", "y"]},
            },
            id="move",
        ),
        pytest.param([], OBJ, id="empty"),
    ],
)
def test_apply_json_patch(ops: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    before = copy.deepcopy(OBJ)
    assert apply_json_patch(OBJ, json.dumps(ops).encode()) == expected
    assert before == OBJ


@pytest.mark.parametrize(
    ("body", "code", "reason", "message"),
    [
        pytest.param(b"{not json", 400, "BadRequest", None, id="not-json"),
        pytest.param(
            b'{"op":"add"}',
            400,
            "BadRequest",
            "json: cannot unmarshal object into Go value of type jsonpatch.Patch",
            id="object-body",
        ),
        pytest.param(
            b'["add"]',
            400,
            "BadRequest",
            "json: cannot unmarshal string into Go value of type jsonpatch.Operation",
            id="string-op",
        ),
        pytest.param(
            b'[{"op":"test","path":"/spec/replicas","value":2}]',
            422,
            "Invalid",
            "the server rejected our request due to an error in our request",
            id="test-fails",
        ),
        pytest.param(
            b'[{"op":"remove","path":"/spec/affinity"}]',
            422,
            "Invalid",
            "the server rejected our request due to an error in our request",
            id="remove-missing",
        ),
        pytest.param(b'[{"op":"frobnicate","path":"/spec"}]', 422, "Invalid", None, id="unknown-op"),
        pytest.param(
            b'[{"op":"replace","path":"","value":[1]}]', 422, "Invalid", None, id="non-object-result"
        ),
        pytest.param(
            json.dumps([{"op": "test", "path": "/spec", "value": {}}] * 10001).encode(),
            413,
            "RequestEntityTooLarge",
            "The allowed maximum operations in a JSON patch is 10000, got 10001",
            id="too-many",
        ),
    ],
)
def test_json_patch_errors(body: bytes, code: int, reason: str, message: str | None) -> None:
    with pytest.raises(StatusError) as err:
        apply_json_patch(OBJ, body)
    assert (err.value.code, err.value.reason) == (code, reason)
    if message is not None:
        assert err.value.message == message
    if code == 422:
        assert err.value.to_status()["details"] == {}
