from typing import Any

import pytest

from kybernetes.apiserver.watch import _classify
from kybernetes.storage.interface import EventType


def obj(app: str) -> dict[str, Any]:
    return {"metadata": {"name": "x", "labels": {"app": app}}}


def selects_a(o: dict[str, Any] | None) -> bool:
    return o is not None and o["metadata"]["labels"]["app"] == "a"


@pytest.mark.parametrize(
    ("kind", "new", "old", "expected"),
    [
        pytest.param(EventType.CREATE, obj("a"), None, "ADDED", id="created, selected"),
        pytest.param(EventType.CREATE, obj("b"), None, None, id="created, not selected"),
        pytest.param(EventType.UPDATE, obj("a"), obj("a"), "MODIFIED", id="stays selected"),
        pytest.param(EventType.UPDATE, obj("a"), obj("b"), "ADDED", id="enters the selection"),
        pytest.param(EventType.UPDATE, obj("b"), obj("a"), "DELETED", id="leaves the selection"),
        pytest.param(EventType.UPDATE, obj("b"), obj("b"), None, id="never selected"),
        pytest.param(EventType.DELETE, obj("a"), None, "DELETED", id="deleted"),
        pytest.param(EventType.DELETE, obj("b"), None, None, id="deleted, not selected"),
    ],
)
def test_classify(kind: EventType, new: dict[str, Any], old: dict[str, Any] | None, expected: str | None) -> None:
    result = _classify(kind, new, old, selects_a)
    assert (result[0] if result else None) == expected
