"""Event validation sees the stored core/v1 form, whichever API version the event was created through."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kybernetes.api.conversion import convert
from kybernetes.api.strategies import strategy_for

Obj = dict[str, Any]

_EVENTS_V1: Obj = {
    "apiVersion": "events.k8s.io/v1",
    "kind": "Event",
    "metadata": {"name": "web.1", "namespace": "default"},
    "eventTime": "2024-01-01T00:00:00.000000Z",
    "regarding": {"kind": "Deployment", "name": "web", "namespace": "default"},
    "reason": "ScalingReplicaSet",
    "note": "Scaled up",
    "type": "Normal",
    "action": "Scale",
    "reportingController": "deployment-controller",
    "reportingInstance": "cm-1",
}


def _without(obj: Obj, key: str) -> Obj:
    out = copy.deepcopy(obj)
    del out[key]
    return out


def _errors(group: str, obj: Obj) -> list[str]:
    stored = convert(obj, "v1")  # what the API server hands the strategy
    strategy = strategy_for(group, "Event")
    strategy.default(stored)
    return [e.error() for e in strategy.validate(stored)]


@pytest.mark.parametrize(
    ("group", "obj", "want"),
    [
        pytest.param("events.k8s.io", _EVENTS_V1, [], id="events-v1-complete"),
        pytest.param(
            "events.k8s.io",
            _without(_EVENTS_V1, "reportingController"),
            ["reportingController: Required value"],
            id="events-v1-no-controller",
        ),
        pytest.param(
            "events.k8s.io",
            _without(_EVENTS_V1, "action"),
            ["action: Required value"],
            id="events-v1-no-action",
        ),
        pytest.param("", convert(_EVENTS_V1, "v1"), [], id="core-with-event-time-complete"),
        pytest.param(
            "",
            _without(convert(_EVENTS_V1, "v1"), "reportingComponent"),
            ["reportingComponent: Required value"],
            id="core-with-event-time-no-component",
        ),
    ],
)
def test_event_validation(group: str, obj: Obj, want: list[str]) -> None:
    assert _errors(group, obj) == want
