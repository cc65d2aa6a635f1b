"""The HPA replica calculation against upstream's replica_calculator_test.go cases and the documented formula
``desiredReplicas = ceil[currentReplicas * (currentMetricValue / desiredMetricValue)]``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kybernetes.controllers.hpa import replicas as rc

NOW = 1_700_000_000.0


def _ts(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(name: str, request: str = "1", *, ready: bool = True, phase: str = "Running", started: float = NOW - 3600,
        transition: float | None = None, deleting: bool = False) -> dict[str, Any]:
    """A pod with a cpu/memory request; an unready one never became ready (transition = start), as upstream's."""
    if transition is None:
        transition = started + 100 if ready else started
    meta: dict[str, Any] = {"name": name, "namespace": "default"}
    if deleting:
        meta["deletionTimestamp"] = _ts(NOW)
    return {"metadata": meta,
            "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": request, "memory": request}}}]},
            "status": {"phase": phase, "startTime": _ts(started),
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                       "lastTransitionTime": _ts(transition)}]}}


def metrics(levels: dict[str, int]) -> dict[str, rc.PodMetric]:
    return {name: rc.PodMetric(value, NOW - 10, 15.0) for name, value in levels.items()}


# (case, current, pods, levels (milli-cpu), target %, expected replicas, expected utilization %, raw average)
UTILIZATION_CASES = [
    ("scale up", 3, [pod("a"), pod("b"), pod("c")], {"a": 300, "b": 500, "c": 700}, 30, 5, 50, 500),
    ("scale up, unready less scale", 3, [pod("a", ready=False), pod("b"), pod("c")],
     {"a": 300, "b": 500, "c": 700}, 30, 4, 60, 600),
    ("scale up, unready no scale", 3, [pod("a"), pod("b", ready=False), pod("c", ready=False)],
     {"a": 400, "b": 500, "c": 700}, 30, 3, 40, 400),
    ("scale up, pending counts as unready", 3, [pod("a", phase="Pending"), pod("b"), pod("c")],
     {"b": 500, "c": 700}, 30, 4, 60, 600),
    ("scale up ignores deleted and failed pods", 2,
     [pod("a"), pod("b"), pod("d", deleting=True), pod("f", phase="Failed")],
     {"a": 500, "b": 700, "d": 4000, "f": 4000}, 30, 4, 60, 600),
    ("scale down", 5, [pod(n) for n in "abcde"], {"a": 100, "b": 300, "c": 500, "d": 250, "e": 250}, 50, 3, 28, 280),
    ("scale down ignores unready pods", 5,
     [pod("a"), pod("b"), pod("c"), pod("d", ready=False), pod("e", ready=False)],
     {"a": 100, "b": 300, "c": 500, "d": 250, "e": 250}, 50, 2, 30, 300),
    ("tolerance keeps the count", 3, [pod("a", "900m"), pod("b", "1"), pod("c", "1100m")],
     {"a": 1010, "b": 1030, "c": 1020}, 100, 3, 102, 1020),
    ("missing metrics, ratio 1: no change", 2, [pod("a"), pod("b")], {"a": 1000}, 100, 2, 100, 1000),
    ("missing metrics count 0 on scale up: no change", 2, [pod("a"), pod("b")], {"a": 1900}, 100, 2, 190, 1900),
    ("missing metrics count 0 on scale up: scale", 2, [pod("a"), pod("b")], {"a": 4000}, 100, 4, 400, 4000),
    ("missing metrics count 100% on scale down: no change", 2, [pod("a"), pod("b")], {"a": 200}, 100, 2, 20, 200),
    ("documented: double", 1, [pod("a", "100m")], {"a": 200}, 100, 2, 200, 200),
    ("documented: halve", 4, [pod(n, "100m") for n in "abcd"], {n: 50 for n in "abcd"}, 100, 2, 50, 50),
]


@pytest.mark.parametrize(("case", "current", "pods", "levels", "target", "want", "util", "raw"),
                         UTILIZATION_CASES, ids=[c[0] for c in UTILIZATION_CASES])
def test_resource_replicas(case: str, current: int, pods: list[dict[str, Any]], levels: dict[str, int],
                           target: int, want: int, util: int, raw: int) -> None:
    result = rc.resource_replicas(current, target, "cpu", pods, metrics(levels), NOW)
    assert (result.replicas, result.utilization, result.raw_average) == (want, util, raw)


def test_cpu_initialization_period_ignores_samples_from_before_readiness() -> None:
    # started 60 s ago, Ready 5 s ago: a sample from 10 s ago predates one window after the transition
    fresh = pod("b", started=NOW - 60, transition=NOW - 5)
    result = rc.resource_replicas(2, 50, "cpu", [pod("a"), fresh], metrics({"a": 1000, "b": 1000}), NOW)
    # b is unready and counts as 0 % on the scale up: (1000 + 0) / 2000 = 50 % → ratio 1 → no change
    assert (result.replicas, result.utilization) == (2, 100)


def test_memory_ignores_readiness() -> None:
    pods = [pod("a", "1", ready=False), pod("b", "1")]
    result = rc.resource_replicas(2, 50, "memory", pods, metrics({"a": 1000, "b": 1000}), NOW)
    assert result.replicas == 4


RAW_CASES = [
    ("average value scale up", 3, {"a": 300, "b": 500, "c": 700}, 250, 6, 500),
    ("average value scale down", 3, {"a": 100, "b": 100, "c": 100}, 300, 1, 100),
    ("average value tolerance", 3, {"a": 300, "b": 310, "c": 290}, 295, 3, 300),
]


@pytest.mark.parametrize(("case", "current", "levels", "target", "want", "average"), RAW_CASES,
                         ids=[c[0] for c in RAW_CASES])
def test_raw_resource_replicas(case: str, current: int, levels: dict[str, int], target: int, want: int,
                               average: int) -> None:
    pods = [pod(n) for n in levels]
    result = rc.raw_resource_replicas(current, target, "memory", pods, metrics(levels), NOW)
    assert (result.replicas, result.utilization) == (want, average)


@pytest.mark.parametrize(("pods", "levels", "message"), [
    ([pod("a")], {}, "unable to get metrics for resource cpu: no metrics returned from resource metrics API"),
    ([], {"a": 1}, "no pods returned by selector while calculating replica count"),
    ([pod("a", ready=False)], {"a": 100}, "did not receive metrics for targeted pods (pods might be unready)"),
])
def test_errors(pods: list[dict[str, Any]], levels: dict[str, int], message: str) -> None:
    with pytest.raises(rc.MetricsError) as info:
        rc.resource_replicas(1, 50, "cpu", pods, metrics(levels), NOW)
    assert str(info.value) == message


def test_missing_request() -> None:
    bare = pod("a")
    bare["spec"]["containers"][0]["resources"] = {}
    with pytest.raises(rc.MetricsError, match="missing request for cpu in container c of Pod a"):
        rc.resource_replicas(1, 50, "cpu", [bare], metrics({"a": 100}), NOW)
