"""HPA normalization: stabilization windows, rate policies, min/max, and the conditions they set (upstream's
horizontal_test.go rules)."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.controllers.hpa import behavior as b

NOW = 1_000_000.0


def spec(max_replicas: int = 10, behavior: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"maxReplicas": max_replicas}
    if behavior is not None:
        out["behavior"] = behavior
    return out


# (case, spec, history recommendations, current, desired, min, window, want, AbleToScale reason, ScalingLimited)
CASES = [
    ("no behavior: within range", spec(), [], 2, 3, 1, 300, 3, "ReadyForNewScale", ("False", "DesiredWithinRange")),
    ("no behavior: scale up limit max(2x, 4)", spec(20), [], 3, 15, 1, 300, 6, "ReadyForNewScale",
     ("True", "ScaleUpLimit")),
    ("no behavior: too many", spec(5), [], 3, 8, 1, 300, 5, "ReadyForNewScale", ("True", "TooManyReplicas")),
    ("no behavior: too few", spec(), [], 3, 1, 2, 0, 2, "ReadyForNewScale", ("True", "TooFewReplicas")),
    ("no behavior: scale down stabilized", spec(), [(5, NOW - 100)], 5, 2, 1, 300, 5, "ScaleDownStabilized",
     ("False", "DesiredWithinRange")),
    ("no behavior: old recommendation outside the window", spec(), [(5, NOW - 100)], 5, 2, 1, 10, 2,
     "ReadyForNewScale", ("False", "DesiredWithinRange")),
    ("behavior defaults: scale up by max(4 pods, 100%)", spec(50, {}), [], 3, 20, 1, 300, 7, "ReadyForNewScale",
     ("True", "ScaleUpLimit")),
    ("behavior defaults: 100% down allowed after the window", spec(10, {}), [(8, NOW - 400)], 8, 1, 1, 300, 1,
     "ReadyForNewScale", ("False", "DesiredWithinRange")),
    ("behavior: scale down window keeps highest", spec(10, {"scaleDown": {"stabilizationWindowSeconds": 60}}),
     [(6, NOW - 30)], 6, 2, 1, 300, 6, "ScaleDownStabilized", ("False", "DesiredWithinRange")),
    ("behavior: scale up window keeps lowest", spec(10, {"scaleUp": {"stabilizationWindowSeconds": 60}}),
     [(2, NOW - 30)], 2, 6, 1, 300, 2, "ScaleUpStabilized", ("False", "DesiredWithinRange")),
    ("behavior: pods policy down", spec(10, {"scaleDown": {"stabilizationWindowSeconds": 0, "policies": [
        {"type": "Pods", "value": 1, "periodSeconds": 60}]}}), [], 6, 2, 1, 300, 5, "ReadyForNewScale",
     ("True", "ScaleDownLimit")),
    ("behavior: Min select policy up", spec(50, {"scaleUp": {"selectPolicy": "Min"}}), [], 10, 40, 1, 300, 14,
     "ReadyForNewScale", ("True", "ScaleUpLimit")),
    ("behavior: disabled scale down", spec(10, {"scaleDown": {"selectPolicy": "Disabled",
                                                              "stabilizationWindowSeconds": 0}}),
     [], 6, 2, 1, 300, 6, "ReadyForNewScale", ("True", "ScaleDownLimit")),
    ("behavior: too many", spec(5, {}), [], 4, 9, 1, 300, 5, "ReadyForNewScale", ("True", "TooManyReplicas")),
]


@pytest.mark.parametrize(("case", "hpa_spec", "recs", "current", "desired", "minimum", "window", "want", "able",
                          "limited"), CASES, ids=[c[0] for c in CASES])
def test_normalize(case: str, hpa_spec: dict[str, Any], recs: list[tuple[int, float]], current: int, desired: int,
                   minimum: int, window: float, want: int, able: str, limited: tuple[str, str]) -> None:
    history = b.History(recommendations=list(recs))
    got, conditions = b.normalize(hpa_spec, history, current, desired, minimum, NOW, window)
    assert got == want
    by_type = {c.type: c for c in conditions}
    assert by_type["AbleToScale"].reason == able
    assert (by_type["ScalingLimited"].status, by_type["ScalingLimited"].reason) == limited
    assert (desired, NOW) in history.recommendations


def test_scale_events_limit_the_next_period() -> None:
    hpa_spec = spec(100, {"scaleUp": {"policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}]}})
    history = b.History()
    b.store_scale_event(hpa_spec, history, 2, 4, NOW - 30)  # +2 within the last 60 s
    got, _ = b.normalize(hpa_spec, history, 4, 10, 1, NOW)
    assert got == 4  # the period started at 2 replicas: 2 + 2 = 4, nothing more yet
    got, _ = b.normalize(hpa_spec, history, 4, 10, 1, NOW + 61)
    assert got == 6


def test_scale_down_percent_rounds_down() -> None:
    assert b.scale_down_limit(5, b.History(), {"policies": [{"type": "Percent", "value": 50, "periodSeconds": 15}]},
                              NOW) == 2
    assert b.scale_up_limit(3, b.History(), {"policies": [{"type": "Percent", "value": 50, "periodSeconds": 15}]},
                            NOW) == 5
