"""ReplicaSet decisions: diff, slow start, deletion order, status, claiming."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.api.selectors import selector_from_label_selector
from kybernetes.controllers.common import parse_time
from kybernetes.controllers.replicaset import (
    adoption_patch,
    calculate_status,
    claim_pods,
    map_selector_of,
    pods_to_delete,
    replicas_diff,
    slow_start_batches,
    status_needs_update,
)

Obj = dict[str, Any]
NOW = parse_time("2025-01-01T12:00:00Z") or 0.0


def pod(name: str, *, phase: str = "Running", ready: bool = True, node: str = "n1",
        created: str = "2025-01-01T10:00:00Z", ready_since: str = "2025-01-01T10:00:00Z",
        labels: Obj | None = None, owner: str | None = "rs-uid",
        deleting: bool = False, cost: str | None = None) -> Obj:
    meta: Obj = {"name": name, "namespace": "ns", "uid": f"uid-{name}", "creationTimestamp": created,
                 "labels": labels if labels is not None else {"app": "a"}}
    if owner:
        meta["ownerReferences"] = [{"kind": "ReplicaSet", "name": "rs", "uid": owner, "controller": True}]
    if deleting:
        meta["deletionTimestamp"] = "2025-01-01T11:00:00Z"
    if cost is not None:
        meta["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": cost}
    conds = [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": ready_since}]
    return {"metadata": meta, "spec": {"nodeName": node}, "status": {"phase": phase, "conditions": conds}}


def rs(replicas: int = 3, min_ready: int = 0, status: Obj | None = None) -> Obj:
    return {"metadata": {"name": "rs", "namespace": "ns", "uid": "rs-uid", "generation": 2},
            "spec": {"replicas": replicas, "minReadySeconds": min_ready, "selector": {"matchLabels": {"app": "a"}},
                     "template": {"metadata": {"labels": {"app": "a", "tier": "web"}}}},
            "status": status or {}}


@pytest.mark.parametrize(("desired", "active", "want"), [
    pytest.param(3, 0, 3, id="create"),
    pytest.param(1, 4, -3, id="delete"),
    pytest.param(2, 2, 0, id="steady"),
    pytest.param(1000, 0, 500, id="burst-capped"),
    pytest.param(0, 900, -500, id="delete-burst-capped"),
])
def test_replicas_diff(desired: int, active: int, want: int) -> None:
    assert replicas_diff(desired, active) == want


@pytest.mark.parametrize(("count", "want"), [
    pytest.param(0, [], id="none"),
    pytest.param(1, [1], id="one"),
    pytest.param(3, [1, 2], id="three"),
    pytest.param(10, [1, 2, 4, 3], id="ten"),
    pytest.param(16, [1, 2, 4, 8, 1], id="sixteen"),
])
def test_slow_start_batches(count: int, want: list[int]) -> None:
    assert slow_start_batches(count) == want


@pytest.mark.parametrize(("pods", "count", "want"), [
    pytest.param([pod("a"), pod("b", node="")], 1, ["b"], id="unscheduled-first"),
    pytest.param([pod("a"), pod("b", phase="Pending", ready=False)], 1, ["b"], id="pending-first"),
    pytest.param([pod("a"), pod("b", ready=False)], 1, ["b"], id="not-ready-first"),
    pytest.param([pod("a", created="2025-01-01T08:00:00Z"), pod("b", created="2025-01-01T11:59:00Z",
                                                                   ready_since="2025-01-01T11:59:30Z")],
                 1, ["b"], id="newer-first"),
    pytest.param([pod("a", cost="10"), pod("b", cost="-5")], 1, ["b"], id="lower-deletion-cost-first"),
    pytest.param([pod("a"), pod("b")], 5, ["a", "b"], id="all"),
])
def test_pods_to_delete(pods: list[Obj], count: int, want: list[str]) -> None:
    assert [p["metadata"]["name"] for p in pods_to_delete(pods, pods, count, NOW)] == want


def test_pods_on_crowded_nodes_go_first() -> None:
    a, b = pod("a", node="n1"), pod("b", node="n2")
    related = [a, b, pod("x", node="n2"), pod("y", node="n2")]
    assert [p["metadata"]["name"] for p in pods_to_delete([a, b], related, 1, NOW)] == ["b"]


@pytest.mark.parametrize(("owner", "pods", "error", "want"), [
    pytest.param(rs(), [pod("a"), pod("b", ready=False)], None,
                 {"replicas": 2, "fullyLabeledReplicas": 0, "readyReplicas": 1, "availableReplicas": 1},
                 id="counts"),
    pytest.param(rs(), [pod("a", labels={"app": "a", "tier": "web"})], None,
                 {"replicas": 1, "fullyLabeledReplicas": 1, "readyReplicas": 1, "availableReplicas": 1},
                 id="fully-labeled"),
    pytest.param(rs(min_ready=3600), [pod("a", ready_since="2025-01-01T11:30:00Z"), pod("b")], None,
                 {"replicas": 2, "fullyLabeledReplicas": 0, "readyReplicas": 2, "availableReplicas": 1},
                 id="min-ready-seconds"),
])
def test_calculate_status(owner: Obj, pods: list[Obj], error: str | None, want: Obj) -> None:
    assert calculate_status(owner, pods, error, NOW) == want


def test_replica_failure_condition_set_and_cleared() -> None:
    status = calculate_status(rs(3), [pod("a")], 'pods "x" is forbidden: quota', NOW)
    (cond,) = status["conditions"]
    assert cond["type"] == "ReplicaFailure" and cond["reason"] == "FailedCreate"
    assert cond["message"] == 'pods "x" is forbidden: quota'
    cleared = calculate_status(rs(3, status=status), [pod("a")], None, NOW)
    assert "conditions" not in cleared


@pytest.mark.parametrize(("status", "want"), [
    pytest.param({"replicas": 1, "fullyLabeledReplicas": 0, "readyReplicas": 1, "availableReplicas": 1,
                  "observedGeneration": 2}, False, id="same"),
    pytest.param({"replicas": 1, "fullyLabeledReplicas": 0, "readyReplicas": 1, "availableReplicas": 1,
                  "observedGeneration": 1}, True, id="new-generation"),
    pytest.param({"replicas": 2, "observedGeneration": 2}, True, id="counts-changed"),
])
def test_status_needs_update(status: Obj, want: bool) -> None:
    new = {"replicas": 1, "fullyLabeledReplicas": 0, "readyReplicas": 1, "availableReplicas": 1}
    assert status_needs_update(rs(status=status), new) is want


def test_claim_pods() -> None:
    owned = pod("owned")
    orphan = pod("orphan", owner=None)
    stray = pod("stray", labels={"app": "other"})
    foreign = pod("foreign", owner="other-uid")
    orphan_deleting = pod("gone", owner=None, deleting=True)
    sel = selector_from_label_selector({"matchLabels": {"app": "a"}})
    claim = claim_pods(rs(), sel, [owned, orphan, stray, foreign, orphan_deleting])
    assert [p["metadata"]["name"] for p in claim.owned] == ["owned"]
    assert [p["metadata"]["name"] for p in claim.adopt] == ["orphan"]
    assert [p["metadata"]["name"] for p in claim.release] == ["stray"]
    patch = adoption_patch(rs(), orphan)
    assert patch["metadata"]["uid"] == "uid-orphan"
    assert patch["metadata"]["ownerReferences"][0]["uid"] == "rs-uid"


def test_map_selector() -> None:
    rc = {"spec": {"selector": {"app": "a"}}}
    assert map_selector_of(rc).matches({"app": "a", "x": "y"})
    assert not map_selector_of(rc).matches({"app": "b"})
    assert not map_selector_of({"spec": {}}).matches({"app": "a"})
