"""StatefulSet controller: identity/storage helpers and the pure plan (ordering, scale-down, rolling update)."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.controllers.history import new_revision
from kybernetes.controllers.statefulset.plan import plan_statefulset
from kybernetes.controllers.statefulset.pods import (
    claims_for,
    identity_patch,
    is_member,
    new_stateful_pod,
    ordinal_of,
)

Obj = dict[str, Any]
NOW = 1_000_000.0
OLD = "2020-01-01T00:00:00Z"


def sts(replicas: int = 3, policy: str = "OrderedReady", strategy: Obj | None = None, image: str = "nginx",
        **spec: Any) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "web", "namespace": "default", "uid": "sts-uid", "generation": 2},
            "spec": {"replicas": replicas, "serviceName": "nginx", "podManagementPolicy": policy,
                     "selector": {"matchLabels": {"app": "web"}},
                     "updateStrategy": strategy or {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "www", "labels": {"tier": "data"}},
                                               "spec": {"accessModes": ["ReadWriteOnce"]}}], **spec}}


CURRENT = new_revision(sts(image="nginx:1"), 1)
UPDATE = new_revision(sts(), 2)
CUR, UPD = CURRENT["metadata"]["name"], UPDATE["metadata"]["name"]


def pod(ordinal: int, ready: bool = True, revision: str = UPD, phase: str = "Running",
        deleting: bool = False) -> Obj:
    p = new_stateful_pod(sts(), {"metadata": {"labels": {"app": "web"}}, "spec": {}}, revision, ordinal)
    p["status"] = {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": OLD}]}
    if deleting:
        p["metadata"]["deletionTimestamp"] = OLD
    return p


def plan_of(the_sts: Obj, pods: list[Obj]) -> list[tuple[str, str]]:
    plan = plan_statefulset(the_sts, pods, CURRENT, UPDATE, NOW)
    return [(a.kind, a.name) for a in plan.actions]


# -- identity --------------------------------------------------------------------------------------------------

def test_new_pod_identity_and_storage() -> None:
    p = new_stateful_pod(sts(), sts()["spec"]["template"], "web-abc", 2)
    meta, spec = p["metadata"], p["spec"]
    assert meta["name"] == "web-2" and "generateName" not in meta
    assert meta["labels"] == {"app": "web", "statefulset.kubernetes.io/pod-name": "web-2",
                              "apps.kubernetes.io/pod-index": "2", "controller-revision-hash": "web-abc"}
    assert meta["ownerReferences"][0]["kind"] == "StatefulSet" and meta["ownerReferences"][0]["controller"]
    assert (spec["hostname"], spec["subdomain"]) == ("web-2", "nginx")
    assert spec["volumes"] == [{"name": "www", "persistentVolumeClaim": {"claimName": "www-web-2"}}]


@pytest.mark.parametrize(("policy", "owned"), [
    pytest.param({"whenDeleted": "Retain", "whenScaled": "Retain"}, False, id="retain"),
    pytest.param({"whenDeleted": "Delete", "whenScaled": "Retain"}, True, id="delete-with-set"),
])
def test_claims(policy: Obj, owned: bool) -> None:
    (claim,) = claims_for(sts(persistentVolumeClaimRetentionPolicy=policy), 1)
    assert claim["metadata"]["name"] == "www-web-1"
    assert claim["metadata"]["labels"] == {"tier": "data", "app": "web"}
    assert claim["spec"] == {"accessModes": ["ReadWriteOnce"]}
    assert ("ownerReferences" in claim["metadata"]) is owned


@pytest.mark.parametrize(("name", "ordinal", "member"), [
    pytest.param("web-0", 0, True, id="zero"),
    pytest.param("web-12", 12, True, id="two-digits"),
    pytest.param("web-x", -1, False, id="no-ordinal"),
    pytest.param("webber-1", 1, False, id="other-set"),
])
def test_ordinals(name: str, ordinal: int, member: bool) -> None:
    obj = {"metadata": {"name": name}}
    assert ordinal_of(obj) == ordinal
    assert is_member(sts(), obj) is member


def test_identity_patch() -> None:
    p = pod(1)
    assert identity_patch(sts(), p) is None
    del p["metadata"]["labels"]["apps.kubernetes.io/pod-index"]
    assert identity_patch(sts(), p) == {"metadata": {"labels": {"apps.kubernetes.io/pod-index": "1"}}}


# -- plan ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("the_sts", "pods", "actions"), [
    pytest.param(sts(), [], [("create", "web-0")], id="ordered-first"),
    pytest.param(sts(), [pod(0, ready=False)], [], id="ordered-waits-for-ready"),
    pytest.param(sts(), [pod(0, phase="Pending", ready=False)], [], id="ordered-waits-for-running"),
    pytest.param(sts(), [pod(0)], [("create", "web-1")], id="ordered-next"),
    pytest.param(sts(), [pod(0), pod(1), pod(2)], [], id="steady"),
    pytest.param(sts(policy="Parallel"), [], [("create", "web-0"), ("create", "web-1"), ("create", "web-2")],
                 id="parallel-all-at-once"),
    pytest.param(sts(policy="Parallel"), [pod(0, ready=False)], [("create", "web-1"), ("create", "web-2")],
                 id="parallel-does-not-wait"),
    pytest.param(sts(), [pod(0), pod(1, phase="Failed", ready=False), pod(2)], [("delete", "web-1")],
                 id="failed-pod-deleted"),
    pytest.param(sts(replicas=1), [pod(0), pod(1), pod(2)], [("delete", "web-2")], id="scale-down-highest-first"),
    pytest.param(sts(replicas=1), [pod(0), pod(1), pod(2, deleting=True)], [], id="scale-down-waits-terminating"),
    pytest.param(sts(replicas=1, policy="Parallel"), [pod(0), pod(1), pod(2)],
                 [("delete", "web-2"), ("delete", "web-1")], id="scale-down-parallel"),
    pytest.param(sts(replicas=1), [pod(0, ready=False), pod(1), pod(2)], [], id="scale-down-waits-unhealthy"),
    pytest.param(sts(replicas=0), [pod(0), pod(1, ready=False)], [("delete", "web-1")],
                 id="scale-down-first-unhealthy-may-go"),
    pytest.param(sts(), [pod(0, revision=CUR), pod(1, revision=CUR), pod(2, revision=CUR)],
                 [("delete", "web-2")], id="rolling-highest-first"),
    pytest.param(sts(), [pod(0, revision=CUR), pod(1, revision=CUR), pod(2, ready=False)], [],
                 id="rolling-waits-for-updated-pod"),
    pytest.param(sts(), [pod(0, revision=CUR), pod(1, revision=CUR), pod(2)], [("delete", "web-1")],
                 id="rolling-continues"),
    pytest.param(sts(strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}),
                 [pod(0, revision=CUR), pod(1, revision=CUR), pod(2)], [], id="rolling-partition"),
    pytest.param(sts(strategy={"type": "OnDelete"}), [pod(0, revision=CUR), pod(1, revision=CUR), pod(2)], [],
                 id="on-delete"),
])
def test_plan(the_sts: Obj, pods: list[Obj], actions: list[tuple[str, str]]) -> None:
    assert plan_of(the_sts, pods) == actions


def test_partition_creates_from_current_revision() -> None:
    the_sts = sts(strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}})
    plan = plan_statefulset(the_sts, [pod(0, revision=CUR)], CURRENT, UPDATE, NOW)
    (action,) = plan.actions
    assert action.name == "web-1"
    assert action.pod["metadata"]["labels"]["controller-revision-hash"] == CUR
    assert action.pod["spec"]["containers"][0]["image"] == "nginx:1"
    assert [c["metadata"]["name"] for c in action.claims] == ["www-web-1"]


def test_start_ordinal() -> None:
    assert plan_of(sts(ordinals={"start": 5}), []) == [("create", "web-5")]
    assert plan_of(sts(replicas=1, ordinals={"start": 1}), [pod(0), pod(1)]) == [("delete", "web-0")]


@pytest.mark.parametrize(("pods", "expected"), [
    pytest.param([], {"replicas": 1, "readyReplicas": 0, "currentReplicas": 0, "updatedReplicas": 1,
                      "currentRevision": CUR}, id="one-planned-create"),
    pytest.param([pod(0, revision=CUR), pod(1, revision=CUR), pod(2)],
                 {"replicas": 3, "readyReplicas": 3, "currentReplicas": 2, "updatedReplicas": 1,
                  "currentRevision": CUR}, id="mid-rollout"),
    pytest.param([pod(0), pod(1), pod(2)], {"replicas": 3, "readyReplicas": 3, "currentReplicas": 3,
                                            "updatedReplicas": 3, "currentRevision": UPD}, id="rollout-complete"),
])
def test_status(pods: list[Obj], expected: Obj) -> None:
    status = plan_statefulset(sts(), pods, CURRENT, UPDATE, NOW, 0).status
    assert {k: status[k] for k in expected} == expected
    assert status["updateRevision"] == UPD and status["observedGeneration"] == 2
    assert status["collisionCount"] == 0
