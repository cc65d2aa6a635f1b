"""Deployment utilities: hash, fenceposts, annotations, ReplicaSet lookups."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.controllers.deployment import util

Obj = dict[str, Any]
TEMPLATE = {"metadata": {"labels": {"app": "nginx"}}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}


def deployment(replicas: int = 3, surge: Any = "25%", unavailable: Any = "25%", kind: str = "RollingUpdate") -> Obj:
    strategy: Obj = {"type": kind}
    if kind == "RollingUpdate":
        strategy["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    return {"metadata": {"name": "nginx", "namespace": "ns", "uid": "d-uid", "annotations": {"team": "a"}},
            "spec": {"replicas": replicas, "strategy": strategy, "template": TEMPLATE}}


def test_fnv32a_known_vectors() -> None:
    assert util.fnv32a(b"") == 0x811C9DC5
    assert util.fnv32a(b"a") == 0xE40C292C
    assert util.fnv32a(b"foobar") == 0xBF9CF968


def test_hash_is_stable_safe_and_sensitive() -> None:
    h = util.compute_hash(TEMPLATE)
    assert h == util.compute_hash({"spec": TEMPLATE["spec"], "metadata": TEMPLATE["metadata"]})
    assert set(h) <= set("bcdfghjklmnpqrstvwxz2456789") and 6 <= len(h) <= 10
    assert h != util.compute_hash(TEMPLATE, 1)
    other = {**TEMPLATE, "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}
    assert h != util.compute_hash(other)
    with_null = {"metadata": {"labels": {"app": "nginx"}, "creationTimestamp": None}, "spec": TEMPLATE["spec"]}
    assert h == util.compute_hash(with_null)


def test_safe_encode() -> None:
    assert util.safe_encode("0123") == "4567"  # bytes 48..51 modulo 27


@pytest.mark.parametrize(("surge", "unavailable", "desired", "want"), [
    pytest.param("25%", "25%", 10, (3, 2), id="percent-rounding"),
    pytest.param("25%", "25%", 1, (1, 0), id="one-replica"),
    pytest.param(0, "10%", 5, (0, 1), id="both-zero-becomes-one"),
    pytest.param(2, 1, 10, (2, 1), id="ints"),
    pytest.param("100%", "0%", 4, (4, 0), id="blue-green"),
])
def test_resolve_fenceposts(surge: Any, unavailable: Any, desired: int, want: tuple[int, int]) -> None:
    assert util.resolve_fenceposts(surge, unavailable, desired) == want


@pytest.mark.parametrize(("d", "surge", "unavailable"), [
    pytest.param(deployment(3), 1, 0, id="default"),
    pytest.param(deployment(0), 0, 0, id="zero-replicas"),
    pytest.param(deployment(3, kind="Recreate"), 0, 0, id="recreate"),
    pytest.param(deployment(2, 0, 5), 0, 2, id="unavailable-capped"),
])
def test_max_surge_unavailable(d: Obj, surge: int, unavailable: int) -> None:
    assert util.max_surge(d) == surge and util.max_unavailable(d) == unavailable


def test_new_rs_annotations_bump_revision_and_history() -> None:
    d = deployment()
    rs: Obj = {"metadata": {"annotations": {util.REVISION: "1"}}}
    assert util.set_new_rs_annotations(d, rs, "3", exists=True)
    assert rs["metadata"]["annotations"] == {util.REVISION: "3", util.REVISION_HISTORY: "1", "team": "a"}
    assert not util.set_new_rs_annotations(d, rs, "3", exists=True)
    fresh: Obj = {"metadata": {}}
    util.set_new_rs_annotations(d, fresh, "1", exists=False)
    assert fresh["metadata"]["annotations"][util.DESIRED_REPLICAS] == "3"
    assert fresh["metadata"]["annotations"][util.MAX_REPLICAS] == "4"


def rs(name: str, template: Obj, created: str, replicas: int = 1) -> Obj:
    return {"metadata": {"name": name, "uid": name, "creationTimestamp": created},
            "spec": {"replicas": replicas, "template": template}}


def test_find_new_rs_ignores_hash_and_prefers_oldest() -> None:
    hashed = {"metadata": {"labels": {"app": "nginx", "pod-template-hash": "x"}}, "spec": TEMPLATE["spec"]}
    other = {"metadata": {"labels": {"app": "nginx"}}, "spec": {"containers": []}}
    rss = [rs("b", hashed, "2025-01-02T00:00:00Z"), rs("a", hashed, "2025-01-01T00:00:00Z"),
           rs("c", other, "2024-01-01T00:00:00Z")]
    found = util.find_new_rs(deployment(), rss)
    assert found is not None and found["metadata"]["name"] == "a"
    assert [r["metadata"]["name"] for r in util.find_old_rss(found, rss)] == ["b", "c"]


@pytest.mark.parametrize(("sizes", "new_size", "want"), [
    pytest.param([0, 0], 0, "new", id="none-active-new"),
    pytest.param([0, 2], 0, "old1", id="one-active"),
    pytest.param([1, 2], 0, None, id="several-active"),
])
def test_find_active_or_latest(sizes: list[int], new_size: int, want: str | None) -> None:
    old = [rs(f"old{i}", TEMPLATE, f"2025-01-0{i + 1}T00:00:00Z", s) for i, s in enumerate(sizes)]
    new = rs("new", TEMPLATE, "2025-02-01T00:00:00Z", new_size)
    found = util.find_active_or_latest(new, old)
    assert (found["metadata"]["name"] if found else None) == want
