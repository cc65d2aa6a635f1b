from __future__ import annotations

import copy
from typing import Any

import pytest

from kybernetes.api.errors import StatusError
from kybernetes.api.patch import apply_merge_patch

OBJ: dict[str, Any] = {
    "metadata": {"name": "web", "labels": {"a": "1", "b": "2"}},
    "spec": {"replicas": 1, "tags": ["x"], "nested": {"k": "v"}},
}


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        pytest.param(
            {"spec": {"replicas": 2}},
            {
                "metadata": {"name": "web", "labels": {"a": "1", "b": "2"}},
                "spec": {"replicas": 2, "tags": ["x"], "nested": {"k": "v"}},
            },
            id="scalar",
        ),
        pytest.param(
            {"metadata": {"labels": {"a": None, "c": "3"}}},
            {
                "metadata": {"name": "web", "labels": {"b": "2", "c": "3"}},
                "spec": {"replicas": 1, "tags": ["x"], "nested": {"k": "v"}},
            },
            id="null-deletes",
        ),
        pytest.param(
            {"spec": {"tags": ["y", "z"], "nested": None}},
            {
                "metadata": {"name": "web", "labels": {"a": "1", "b": "2"}},
                "spec": {"replicas": 1, "tags": ["y", "z"]},
            },
            id="lists-replace",
        ),
        pytest.param(
            {"spec": {"replicas": {"min": 1, "max": None}}},
            {
                "metadata": {"name": "web", "labels": {"a": "1", "b": "2"}},
                "spec": {"replicas": {"min": 1}, "tags": ["x"], "nested": {"k": "v"}},
            },
            id="new-value-drops-nulls",
        ),
        pytest.param(
            {"status": {"ready": 1}},
            {
                "metadata": {"name": "web", "labels": {"a": "1", "b": "2"}},
                "spec": {"replicas": 1, "tags": ["x"], "nested": {"k": "v"}},
                "status": {"ready": 1},
            },
            id="new-key",
        ),
    ],
)
def test_apply_merge_patch(patch: dict[str, Any], expected: dict[str, Any]) -> None:
    before = copy.deepcopy(OBJ)
    assert apply_merge_patch(OBJ, patch) == expected
    assert apply_merge_patch(OBJ, __import__("json").dumps(patch)) == expected
    assert before == OBJ


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{", id="syntax"),
        pytest.param(b"null", id="null"),
        pytest.param(b"[1]", id="array"),
    ],
)
def test_merge_patch_bad_body(body: bytes) -> None:
    with pytest.raises(StatusError) as err:
        apply_merge_patch(OBJ, body)
    assert (err.value.code, err.value.reason, err.value.message) == (400, "BadRequest", "Invalid JSON Patch")
