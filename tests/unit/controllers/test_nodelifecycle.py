"""Node lifecycle: staleness, Unknown conditions, taints, tolerations and eviction timing (pure functions)."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.controllers.nodelifecycle import (
    NOT_READY,
    UNREACHABLE,
    desired_taints,
    eviction_delay,
    is_stale,
    probe_signature,
    reconcile_taints,
    tolerates,
    unknown_conditions,
)

Obj = dict[str, Any]
T0 = 1704067200.0  # 2024-01-01T00:00:00Z


def node(ready: str | None = "True", *, unschedulable: bool = False, taints: list[Obj] | None = None,
         **conditions: str) -> Obj:
    conds = [{"type": k, "status": v, "reason": "R", "message": "M", "lastHeartbeatTime": "h",
              "lastTransitionTime": "t"} for k, v in conditions.items()]
    if ready is not None:
        conds.insert(0, {"type": "Ready", "status": ready, "reason": "KubeletReady", "message": "m",
                         "lastHeartbeatTime": "h", "lastTransitionTime": "t"})
    spec: Obj = {"taints": taints or []}
    if unschedulable:
        spec["unschedulable"] = True
    return {"metadata": {"name": "n", "creationTimestamp": "c"}, "spec": spec, "status": {"conditions": conds}}


@pytest.mark.parametrize(("probed", "now", "grace", "stale"), [
    pytest.param(100.0, 130.0, 40.0, False, id="fresh"),
    pytest.param(100.0, 140.0, 40.0, False, id="exactly-grace"),
    pytest.param(100.0, 140.5, 40.0, True, id="past-grace"),
])
def test_is_stale(probed: float, now: float, grace: float, stale: bool) -> None:
    assert is_stale(probed, now, grace) is stale


def test_probe_signature_changes_with_lease_or_heartbeat() -> None:
    n = node()
    lease = {"spec": {"renewTime": "r1"}}
    assert probe_signature(n, lease) == ("h", "r1")
    assert probe_signature(n, {"spec": {"renewTime": "r2"}}) != probe_signature(n, lease)
    assert probe_signature(n, None) == ("h", "")


def test_unknown_conditions() -> None:
    got = unknown_conditions(node("True", MemoryPressure="False"), T0)
    assert got is not None
    by_type = {c["type"]: c for c in got}
    assert by_type["Ready"] == {"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
                                "message": "Kubelet stopped posting node status.", "lastHeartbeatTime": "h",
                                "lastTransitionTime": "2024-01-01T00:00:00Z"}
    assert by_type["MemoryPressure"]["status"] == "Unknown"
    assert by_type["DiskPressure"]["reason"] == "NodeStatusNeverUpdated"
    assert by_type["DiskPressure"]["message"] == "Kubelet never posted node status."
    assert unknown_conditions({"metadata": {}, "status": {"conditions": got}}, T0 + 1) is None


@pytest.mark.parametrize(("n", "expected"), [
    pytest.param(node("True"), [], id="ready"),
    pytest.param(node("False"), [(NOT_READY, "NoSchedule"), (NOT_READY, "NoExecute")], id="not-ready"),
    pytest.param(node("Unknown"), [(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")], id="unknown"),
    pytest.param(node(None), [(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")], id="no-ready-condition"),
    pytest.param(node("True", MemoryPressure="True", DiskPressure="False"),
                 [("node.kubernetes.io/memory-pressure", "NoSchedule")], id="memory-pressure"),
    pytest.param(node("True", unschedulable=True), [("node.kubernetes.io/unschedulable", "NoSchedule")],
                 id="cordoned"),
])
def test_desired_taints(n: Obj, expected: list[tuple[str, str]]) -> None:
    assert [(t["key"], t["effect"]) for t in desired_taints(n)] == expected


CUSTOM = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
OLD_NE = {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": "2000-01-01T00:00:00Z"}


@pytest.mark.parametrize(("existing", "desired", "expected"), [
    pytest.param([], [], None, id="nothing"),
    pytest.param([CUSTOM], [], None, id="custom-only"),
    pytest.param([CUSTOM], [{"key": UNREACHABLE, "effect": "NoSchedule"}, {"key": UNREACHABLE, "effect": "NoExecute"}],
                 [CUSTOM, {"key": UNREACHABLE, "effect": "NoSchedule"},
                  {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": "2024-01-01T00:00:00Z"}], id="add"),
    pytest.param([OLD_NE, CUSTOM], [{"key": UNREACHABLE, "effect": "NoExecute"}], None, id="keeps-time-added"),
    pytest.param([OLD_NE, CUSTOM], [], [CUSTOM], id="node-came-back"),
    pytest.param([OLD_NE], [{"key": NOT_READY, "effect": "NoExecute"}],
                 [{"key": NOT_READY, "effect": "NoExecute", "timeAdded": "2024-01-01T00:00:00Z"}], id="swap"),
])
def test_reconcile_taints(existing: list[Obj], desired: list[Obj], expected: list[Obj] | None) -> None:
    assert reconcile_taints(existing, desired, T0) == expected


TAINT = {"key": UNREACHABLE, "effect": "NoExecute"}


@pytest.mark.parametrize(("toleration", "ok"), [
    pytest.param({"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}, True, id="exists"),
    pytest.param({"key": UNREACHABLE, "operator": "Exists"}, True, id="any-effect"),
    pytest.param({"operator": "Exists"}, True, id="tolerate-everything"),
    pytest.param({"key": UNREACHABLE, "operator": "Exists", "effect": "NoSchedule"}, False, id="other-effect"),
    pytest.param({"key": NOT_READY, "operator": "Exists"}, False, id="other-key"),
    pytest.param({"key": UNREACHABLE, "value": ""}, True, id="equal-empty-value"),
    pytest.param({"key": UNREACHABLE, "operator": "Equal", "value": "x"}, False, id="equal-other-value"),
    pytest.param({"operator": "Equal"}, False, id="empty-key-needs-exists"),
])
def test_tolerates(toleration: Obj, ok: bool) -> None:
    assert tolerates(toleration, TAINT) is ok


def pod(*tolerations: Obj) -> Obj:
    return {"spec": {"tolerations": list(tolerations)}}


def tol(key: str = UNREACHABLE, seconds: int | None = None) -> Obj:
    t: Obj = {"key": key, "operator": "Exists", "effect": "NoExecute"}
    if seconds is not None:
        t["tolerationSeconds"] = seconds
    return t


ADDED = {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": "2024-01-01T00:00:00Z"}


@pytest.mark.parametrize(("p", "taints", "now", "cap", "delay"), [
    pytest.param(pod(), [], T0, None, None, id="no-taints"),
    pytest.param(pod(), [{"key": UNREACHABLE, "effect": "NoSchedule"}], T0, None, None, id="noschedule-only"),
    pytest.param(pod(), [ADDED], T0, None, 0.0, id="not-tolerated"),
    pytest.param(pod(tol()), [ADDED], T0, None, None, id="tolerated-forever"),
    pytest.param(pod(tol(seconds=300)), [ADDED], T0 + 100, None, 200.0, id="counts-from-time-added"),
    pytest.param(pod(tol(seconds=300)), [ADDED], T0 + 400, None, 0.0, id="expired"),
    pytest.param(pod(tol(seconds=300), tol(seconds=60)), [ADDED], T0, None, 60.0, id="shortest-toleration"),
    pytest.param(pod(tol(seconds=300)), [ADDED], T0, 2.0, 2.0, id="test-cap"),
    pytest.param(pod(tol(seconds=300)), [ADDED, {"key": NOT_READY, "effect": "NoExecute"}], T0, None, 0.0,
                 id="second-taint-not-tolerated"),
    pytest.param(pod(tol(seconds=-5)), [ADDED], T0, None, 0.0, id="negative-means-now"),
])
def test_eviction_delay(p: Obj, taints: list[Obj], now: float, cap: float | None, delay: float | None) -> None:
    assert eviction_delay(p, taints, now, cap) == delay
