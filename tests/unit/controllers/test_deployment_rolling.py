"""Rolling update arithmetic and proportional scaling, table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.controllers.deployment import recreate, rolling
from kybernetes.controllers.deployment.sync import is_scaling_event, proportional_sizes, rss_to_cleanup

Obj = dict[str, Any]


def d(replicas: int = 10, surge: Any = "25%", unavailable: Any = "25%", limit: int | None = 10) -> Obj:
    spec: Obj = {"replicas": replicas,
                 "strategy": {"type": "RollingUpdate",
                              "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}}
    if limit is not None:
        spec["revisionHistoryLimit"] = limit
    return {"metadata": {"name": "d", "uid": "d"}, "spec": spec, "status": {"replicas": replicas}}


def rs(name: str, size: int, available: int | None = None, created: int = 1, max_replicas: int | None = None,
       revision: int = 1, desired: int | None = None) -> Obj:
    ann = {"deployment.kubernetes.io/revision": str(revision)}
    if max_replicas is not None:
        ann["deployment.kubernetes.io/max-replicas"] = str(max_replicas)
    if desired is not None:
        ann["deployment.kubernetes.io/desired-replicas"] = str(desired)
    return {"metadata": {"name": name, "uid": name, "creationTimestamp": f"2025-01-{created:02d}T00:00:00Z",
                         "annotations": ann, "generation": 1},
            "spec": {"replicas": size},
            "status": {"replicas": size, "availableReplicas": size if available is None else available,
                       "observedGeneration": 1}}


@pytest.mark.parametrize(("dep", "all_sizes", "new_size", "want"), [
    pytest.param(d(10), [10], 0, 3, id="surge-3-of-10"),
    pytest.param(d(10), [10, 3], 3, 3, id="at-max-total"),
    pytest.param(d(10), [2, 8], 8, 10, id="capped-at-desired"),
    pytest.param(d(1), [1], 0, 1, id="single-replica"),
    pytest.param(d(4, 0, 1), [4], 0, 0, id="no-surge"),
])
def test_new_rs_replicas(dep: Obj, all_sizes: list[int], new_size: int, want: int) -> None:
    new = rs("new", new_size, created=9)
    old = [rs(f"o{i}", s, created=i + 1) for i, s in enumerate(all_sizes[:-1] if new_size else all_sizes)]
    assert rolling.new_rs_replicas(dep, [*old, new], new) == want


@pytest.mark.parametrize(("dep", "old", "new", "want"), [
    pytest.param(d(10), [rs("o", 10)], rs("n", 3, 0, created=2), [("o", 8)], id="healthy-scale-down"),
    pytest.param(d(10), [rs("o", 10, 6)], rs("n", 3, 0, created=2), [("o", 8)], id="unhealthy-first"),
    pytest.param(d(10), [rs("o", 8)], rs("n", 5, 0, created=2), [], id="blocked-by-unavailable-new"),
    pytest.param(d(4), [rs("a", 2, created=1), rs("b", 2, created=2)], rs("n", 4, 4, created=3),
                 [("a", 0), ("b", 0)], id="oldest-first"),
    pytest.param(d(4), [rs("a", 2, created=1), rs("b", 2, created=2)], rs("n", 2, 2, created=3),
                 [("a", 0), ("b", 1)], id="oldest-first-partial"),
    pytest.param(d(3), [rs("o", 0)], rs("n", 3), [], id="nothing-old"),
])
def test_old_rs_scale_down(dep: Obj, old: list[Obj], new: Obj, want: list[tuple[str, int]]) -> None:
    assert rolling.old_rs_scale_down(dep, new, old) == want


@pytest.mark.parametrize(("dep", "rss", "want"), [
    pytest.param(d(20, 3, 0), [rs("new", 5, created=2, max_replicas=13), rs("old", 8, created=1, max_replicas=13)],
                 {"new": 9, "old": 14}, id="scale-up-proportional"),
    pytest.param(d(5, 3, 0), [rs("new", 5, created=2, max_replicas=13), rs("old", 8, created=1, max_replicas=13)],
                 {"new": 3, "old": 5}, id="scale-down-proportional"),
    pytest.param(d(0), [rs("new", 2, created=2), rs("old", 1, created=1)], {"new": 0, "old": 0}, id="to-zero"),
])
def test_proportional_sizes(dep: Obj, rss: list[Obj], want: dict[str, int]) -> None:
    got = {r["metadata"]["name"]: size for r, size in proportional_sizes(dep, rss)}
    assert got == want


def test_cleanup_keeps_history_limit_and_busy_sets() -> None:
    old = [rs("r1", 0, revision=1), rs("r2", 0, revision=2), rs("r3", 1, revision=3), rs("r4", 0, revision=4)]
    assert [r["metadata"]["name"] for r in rss_to_cleanup(d(limit=1), old)] == ["r1", "r2"]
    assert rss_to_cleanup(d(limit=None), old) == []
    assert rss_to_cleanup(d(limit=10), old) == []


def test_scaling_event() -> None:
    assert is_scaling_event(d(5), [rs("a", 3, desired=3)])
    assert not is_scaling_event(d(3), [rs("a", 3, desired=3)])
    assert not is_scaling_event(d(5), [rs("a", 0, desired=3)])


def test_old_pods_running() -> None:
    new = rs("new", 0)
    pod = {"status": {"phase": "Running"}}
    done = {"status": {"phase": "Succeeded"}}
    assert recreate.old_pods_running(new, [rs("o", 0)], {"o": [pod]})
    assert not recreate.old_pods_running(new, [rs("o", 0)], {"o": [done], "new": [pod]})
