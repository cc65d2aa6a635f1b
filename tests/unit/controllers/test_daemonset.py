"""DaemonSet controller: pure predicates and the plan (manage, rolling update, status)."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.controllers.daemonset.plan import plan_daemonset, scaled_value
from kybernetes.controllers.daemonset.predicates import (
    add_daemon_tolerations,
    daemon_pod_template,
    pin_to_node,
    should_run,
    target_node,
    tolerates,
)

Obj = dict[str, Any]
NOW = 1_000_000.0
OLD = "2020-01-01T00:00:00Z"


def node(name: str, labels: dict[str, str] | None = None, taints: list[Obj] | None = None) -> Obj:
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": taints or []}}


def taint(key: str, effect: str = "NoSchedule", value: str = "") -> Obj:
    return {"key": key, "value": value, "effect": effect}


def template(**spec: Any) -> Obj:
    return {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "i"}], **spec}}


def ds(strategy: Obj | None = None, generation: int = 1, min_ready: int = 0, **spec: Any) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "default", "uid": "ds-uid", "generation": generation},
            "spec": {"selector": {"matchLabels": {"app": "a"}}, "template": template(**spec),
                     "updateStrategy": strategy or {"type": "RollingUpdate",
                                                    "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
                     "minReadySeconds": min_ready}}


def pod(name: str, node_name: str, hash_: str = "h1", ready: bool = True, phase: str = "Running",
        created: str = OLD, deleting: bool = False, bound: bool = True) -> Obj:
    spec: Obj = {}
    pin_to_node(spec, node_name)
    if bound:
        spec["nodeName"] = node_name
    meta: Obj = {"name": name, "namespace": "default", "creationTimestamp": created,
                 "labels": {"app": "a", "controller-revision-hash": hash_}}
    if deleting:
        meta["deletionTimestamp"] = OLD
    return {"metadata": meta, "spec": spec, "status": {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": OLD}]}}


# -- predicates ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("the_node", "spec", "expected"), [
    pytest.param(node("n"), {}, (True, True), id="plain"),
    pytest.param(node("n", {"disk": "ssd"}), {"nodeSelector": {"disk": "ssd"}}, (True, True), id="selector-match"),
    pytest.param(node("n", {"disk": "hdd"}), {"nodeSelector": {"disk": "ssd"}}, (False, False), id="selector-miss"),
    pytest.param(node("n", taints=[taint("dedicated")]), {}, (False, True), id="noschedule-taint"),
    pytest.param(node("n", taints=[taint("dedicated", "NoExecute")]), {}, (False, False), id="noexecute-taint"),
    pytest.param(node("n", taints=[taint("dedicated", "PreferNoSchedule")]), {}, (True, True), id="prefer-taint"),
    pytest.param(node("n", taints=[taint("dedicated", value="db")]),
                 {"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "db"}]}, (True, True),
                 id="tolerated"),
    pytest.param(node("n", taints=[taint("node.kubernetes.io/unschedulable")]), {}, (True, True),
                 id="auto-toleration-unschedulable"),
    pytest.param(node("n", taints=[taint("node.kubernetes.io/not-ready", "NoExecute")]), {}, (True, True),
                 id="auto-toleration-not-ready"),
    pytest.param(node("n", taints=[taint("node.kubernetes.io/network-unavailable")]), {}, (False, True),
                 id="network-unavailable-not-tolerated"),
    pytest.param(node("n", taints=[taint("node.kubernetes.io/network-unavailable")]), {"hostNetwork": True},
                 (True, True), id="network-unavailable-hostnetwork"),
    pytest.param(node("n"), {"nodeName": "other"}, (False, False), id="node-name-mismatch"),
    pytest.param(node("n", {"zone": "a"}), {"affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]},
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}}}, (True, True),
                 id="affinity-terms-ored"),
    pytest.param(node("n", {"zone": "a"}), {"affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]}]}}}}, (False, False),
                 id="affinity-notin"),
    pytest.param(node("n", {"cores": "8"}), {"affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["4"]}],
             "matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n"]}]}]}}}}, (True, True),
                 id="affinity-gt-and-fields"),
])
def test_should_run(the_node: Obj, spec: Obj, expected: tuple[bool, bool]) -> None:
    assert should_run(the_node, daemon_pod_template(ds(**spec), "h")) == expected


@pytest.mark.parametrize(("toleration", "the_taint", "expected"), [
    pytest.param({"operator": "Exists"}, taint("k", "NoExecute"), True, id="wildcard"),
    pytest.param({"key": "k", "operator": "Exists", "effect": "NoSchedule"}, taint("k", "NoExecute"), False,
                 id="effect-differs"),
    pytest.param({"key": "k", "value": "v"}, taint("k", value="v"), True, id="equal-default-operator"),
    pytest.param({"key": "k", "value": "w"}, taint("k", value="v"), False, id="value-differs"),
])
def test_tolerates(toleration: Obj, the_taint: Obj, expected: bool) -> None:
    assert tolerates(toleration, the_taint) is expected


def test_automatic_tolerations_are_added_once() -> None:
    spec: Obj = {"tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                                  "effect": "NoExecute"}]}
    add_daemon_tolerations(spec)
    add_daemon_tolerations(spec)
    keys = [t["key"] for t in spec["tolerations"]]
    assert keys == ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable",
                    "node.kubernetes.io/disk-pressure", "node.kubernetes.io/memory-pressure",
                    "node.kubernetes.io/pid-pressure", "node.kubernetes.io/unschedulable"]


def test_template_labels_and_pinning() -> None:
    t = daemon_pod_template(ds(generation=4), "abc")
    assert t["metadata"]["labels"] == {"app": "a", "pod-template-generation": "4", "controller-revision-hash": "abc"}
    spec: Obj = {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1}]}}}
    pin_to_node(spec, "n1")
    assert target_node({"spec": spec}) == "n1"
    assert spec["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] == [{"weight": 1}]
    assert target_node({"spec": {**spec, "nodeName": "n2"}}) == "n2"


@pytest.mark.parametrize(("value", "total", "expected"), [
    pytest.param(None, 10, 1, id="default"),
    pytest.param(2, 10, 2, id="int"),
    pytest.param("25%", 10, 3, id="percent-rounds-up"),
    pytest.param("0%", 10, 0, id="zero-percent"),
])
def test_scaled_value(value: Any, total: int, expected: int) -> None:
    assert scaled_value(value, total, 1) == expected


# -- plan ------------------------------------------------------------------------------------------------------

NODES = [node("n0"), node("n1"), node("n2", taints=[taint("dedicated")])]


@pytest.mark.parametrize(("the_ds", "pods", "creates", "deletes"), [
    pytest.param(ds(), [], ["n0", "n1"], [], id="fresh"),
    pytest.param(ds(), [pod("p0", "n0")], ["n1"], [], id="one-missing"),
    pytest.param(ds(), [pod("p0", "n0"), pod("p1", "n1")], [], [], id="steady"),
    pytest.param(ds(), [pod("p0", "n0"), pod("p1", "n1"), pod("p1b", "n1", created="2021-01-01T00:00:00Z")],
                 [], ["p1b"], id="duplicate-newest-deleted"),
    pytest.param(ds(), [pod("p0", "n0", phase="Failed"), pod("p1", "n1")], [], ["p0"], id="failed-deleted"),
    pytest.param(ds(), [pod("p0", "n0", deleting=True), pod("p1", "n1")], [], [], id="terminating-waits"),
    pytest.param(ds(), [pod("p0", "n0"), pod("p1", "n1"), pod("p2", "n2")], [], [],
                 id="noschedule-keeps-running"),
    pytest.param(ds(), [pod("p0", "n0"), pod("p1", "n1"), pod("px", "gone", bound=False)], [], ["px"],
                 id="pinned-to-missing-node"),
    pytest.param(ds(), [pod("p0", "n0", hash_="old"), pod("p1", "n1", hash_="old")], [], ["p0"],
                 id="rolling-one-at-a-time"),
    pytest.param(ds(), [pod("p0", "n0", hash_="old"), pod("p1", "n1", hash_="old", ready=False)], [], ["p1"],
                 id="rolling-unavailable-old-first"),
    pytest.param(ds(), [pod("p0", "n0", ready=False), pod("p1", "n1", hash_="old")], [], [],
                 id="rolling-waits-for-new-pod"),
    pytest.param(ds({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}}),
                 [pod("p0", "n0", hash_="old"), pod("p1", "n1", hash_="old")], [], ["p0", "p1"],
                 id="rolling-max-unavailable-2"),
    pytest.param(ds({"type": "OnDelete"}), [pod("p0", "n0", hash_="old"), pod("p1", "n1", hash_="old")], [], [],
                 id="on-delete"),
    pytest.param(ds({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}),
                 [pod("p0", "n0", hash_="old"), pod("p1", "n1", hash_="old")], ["n0"], [], id="surge-creates"),
    pytest.param(ds({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}),
                 [pod("p0", "n0", hash_="old"), pod("p0n", "n0", created="2021-01-01T00:00:00Z"),
                  pod("p1", "n1", hash_="old")], ["n1"], ["p0"], id="surge-deletes-old-when-new-available"),
    pytest.param(ds({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}),
                 [pod("p0", "n0", hash_="old"), pod("p0n", "n0", ready=False, created="2021-01-01T00:00:00Z"),
                  pod("p1", "n1", hash_="old")], [], [], id="surge-waits-for-new"),
])
def test_plan(the_ds: Obj, pods: list[Obj], creates: list[str], deletes: list[str]) -> None:
    plan = plan_daemonset(the_ds, NODES, pods, "h1", NOW)
    assert plan.create_on == creates
    assert plan.delete == deletes


def test_status_counts() -> None:
    pods = [pod("p0", "n0"), pod("p1", "n1", hash_="old", ready=False), pod("p2", "n2")]
    status = plan_daemonset(ds(generation=3), NODES, pods, "h1", NOW, collision_count=2).status
    assert status == {"currentNumberScheduled": 2, "numberMisscheduled": 1, "desiredNumberScheduled": 2,
                      "numberReady": 1, "observedGeneration": 3, "updatedNumberScheduled": 1,
                      "numberAvailable": 1, "numberUnavailable": 1, "collisionCount": 2}


def test_status_min_ready_seconds() -> None:
    fresh = pod("p0", "n0")
    fresh["status"]["conditions"][0]["lastTransitionTime"] = "1970-01-12T13:46:35Z"  # NOW - 5s
    status = plan_daemonset(ds(min_ready=30), NODES[:1], [fresh], "h1", NOW).status
    assert (status["numberReady"], status["numberAvailable"]) == (1, 0)


def test_updated_by_template_generation_label() -> None:
    p = pod("p0", "n0", hash_="other")
    p["metadata"]["labels"]["pod-template-generation"] = "1"
    assert plan_daemonset(ds(), NODES[:1], [p], "h1", NOW).status["updatedNumberScheduled"] == 1
