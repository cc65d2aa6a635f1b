"""Deployment status and conditions, and a whole rollout driven through a fake API."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest

from kybernetes.client.errors import AlreadyExistsError
from kybernetes.controllers.common import parse_time
from kybernetes.controllers.deployment import progress, util
from kybernetes.controllers.deployment.sync import Rollout

Obj = dict[str, Any]
NOW = parse_time("2025-01-01T12:00:00Z") or 0.0
TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "v1"}]}}


def deployment(replicas: int = 3, generation: int = 1, status: Obj | None = None, pds: int | None = 600) -> Obj:
    spec: Obj = {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "template": copy.deepcopy(TEMPLATE),
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                 "revisionHistoryLimit": 10}
    if pds is not None:
        spec["progressDeadlineSeconds"] = pds
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns", "uid": "d-uid", "generation": generation},
            "spec": spec, "status": status or {}}


def rs(name: str, size: int, available: int) -> Obj:
    return {"metadata": {"name": name, "uid": name}, "spec": {"replicas": size},
            "status": {"replicas": size, "readyReplicas": available, "availableReplicas": available}}


@pytest.mark.parametrize(("rss", "want_status", "want_reason"), [
    pytest.param([rs("n", 3, 3)], "True", "MinimumReplicasAvailable", id="available"),
    pytest.param([rs("n", 4, 3)], "True", "MinimumReplicasAvailable", id="one-unavailable-allowed"),
    pytest.param([rs("n", 3, 2)], "False", "MinimumReplicasUnavailable", id="25-percent-of-3-rounds-to-0"),
    pytest.param([rs("n", 3, 1)], "False", "MinimumReplicasUnavailable", id="unavailable"),
])
def test_available_condition(rss: list[Obj], want_status: str, want_reason: str) -> None:
    size = rss[0]["spec"]["replicas"]
    status = progress.calculate_status(rss, rss[0], deployment(size), NOW)
    cond = progress.get_condition(status, "Available")
    assert cond is not None and (cond["status"], cond["reason"]) == (want_status, want_reason)
    assert status["unavailableReplicas"] == size - rss[0]["status"]["availableReplicas"]


def progressing(reason: str, status: str = "True", updated: str = "2025-01-01T11:59:00Z") -> Obj:
    return {"type": "Progressing", "status": status, "reason": reason, "message": "",
            "lastUpdateTime": updated, "lastTransitionTime": updated}


@pytest.mark.parametrize(("old_status", "rss", "reason", "message"), [
    pytest.param({"conditions": [progressing("NewReplicaSetCreated")]}, [rs("n", 3, 3)],
                 "NewReplicaSetAvailable", 'ReplicaSet "n" has successfully progressed.', id="complete"),
    pytest.param({"conditions": [progressing("NewReplicaSetCreated")]}, [rs("n", 3, 1)],
                 "ReplicaSetUpdated", 'ReplicaSet "n" is progressing.', id="progressing"),
    pytest.param({"updatedReplicas": 3, "replicas": 3, "availableReplicas": 1, "readyReplicas": 1,
                  "conditions": [progressing("ReplicaSetUpdated", updated="2025-01-01T11:00:00Z")]},
                 [rs("n", 3, 1)], "ProgressDeadlineExceeded", 'ReplicaSet "n" has timed out progressing.',
                 id="timed-out"),
])
def test_progressing_condition(old_status: Obj, rss: list[Obj], reason: str, message: str) -> None:
    status = progress.rollout_status(deployment(status=old_status), rss, rss[0], NOW)
    cond = progress.get_condition(status, "Progressing")
    assert cond is not None and cond["reason"] == reason and cond["message"] == message


def test_no_progress_deadline_removes_condition() -> None:
    d = deployment(status={"conditions": [progressing("NewReplicaSetCreated")]}, pds=util.MAX_INT32)
    assert progress.get_condition(progress.rollout_status(d, [rs("n", 3, 3)], None, NOW), "Progressing") is None


def test_set_condition_keeps_transition_time() -> None:
    status: Obj = {"conditions": [progressing("A", updated="2025-01-01T00:00:00Z")]}
    progress.set_condition(status, progress.new_condition("Progressing", "True", "B", "m", NOW))
    (cond,) = status["conditions"]
    assert cond["lastTransitionTime"] == "2025-01-01T00:00:00Z" and cond["reason"] == "B"


# -- a whole rollout through a fake API ---------------------------------------------------------------------

class FakeApi:
    """Keeps ReplicaSets in memory; a "kubelet" makes every replica available on ``settle``."""

    def __init__(self) -> None:
        self.rss: dict[str, Obj] = {}
        self.events: list[str] = []
        self.statuses: list[Obj] = []
        self._seq = itertools.count(1)

    async def create_rs(self, namespace: str, rs: Obj) -> Obj:
        name = rs["metadata"]["name"]
        if name in self.rss:
            raise AlreadyExistsError({"code": 409, "reason": "AlreadyExists", "message": name})
        rs = copy.deepcopy(rs)
        rs["metadata"].update(uid=f"uid-{name}", creationTimestamp=f"2025-01-01T00:00:{next(self._seq):02d}Z",
                              generation=1)
        rs["status"] = {"replicas": 0, "availableReplicas": 0, "observedGeneration": 1}
        self.rss[name] = rs
        return copy.deepcopy(rs)

    async def get_rs(self, namespace: str, name: str) -> Obj:
        return copy.deepcopy(self.rss[name])

    async def update_rs(self, rs: Obj) -> Obj:
        self.rss[rs["metadata"]["name"]] = copy.deepcopy(rs)
        return copy.deepcopy(rs)

    async def delete_rs(self, rs: Obj) -> None:
        self.rss.pop(rs["metadata"]["name"], None)

    async def update_status(self, d: Obj) -> Obj:
        self.statuses.append(copy.deepcopy(d))
        return copy.deepcopy(d)

    def event(self, obj: Obj, event_type: str, reason: str, message: str) -> None:
        self.events.append(f"{reason}: {message}")

    def settle(self) -> None:
        for rs in self.rss.values():
            n = rs["spec"]["replicas"]
            rs["status"] = {"replicas": n, "readyReplicas": n, "availableReplicas": n, "observedGeneration": 1}


async def run(api: FakeApi, d: Obj, times: int = 20) -> Obj:
    for _ in range(times):
        r = Rollout(api, d, list(api.rss.values()), clock=lambda: NOW)
        await r.rolling_update()
        d = r.d
        api.settle()
    return d


async def test_rollout_creates_then_replaces() -> None:
    api = FakeApi()
    d = await run(api, deployment(3))
    (first,) = api.rss.values()
    name = first["metadata"]["name"]
    assert name == f"web-{util.compute_hash(TEMPLATE)}" and first["spec"]["replicas"] == 3
    assert first["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == name.split("-")[1]
    assert f"ScalingReplicaSet: Scaled up replica set {name} from 0 to 3" in api.events
    assert d["metadata"]["annotations"][util.REVISION] == "1"
    assert progress.get_condition(d["status"], "Progressing")["reason"] == "NewReplicaSetAvailable"  # type: ignore[index]

    d["spec"]["template"]["spec"]["containers"][0]["image"] = "v2"
    d["metadata"]["generation"] = 2
    d = await run(api, d)
    sizes = {n: r["spec"]["replicas"] for n, r in api.rss.items()}
    assert sizes[name] == 0 and sorted(sizes.values()) == [0, 3]
    assert d["metadata"]["annotations"][util.REVISION] == "2"
    assert d["status"]["updatedReplicas"] == 3 and d["status"]["observedGeneration"] == 2
    # never more than replicas + maxSurge(1) pods, never fewer than replicas - maxUnavailable(0)... checked via events
    assert any(e.startswith(f"ScalingReplicaSet: Scaled down replica set {name} from 3 to") for e in api.events)

    d["spec"]["template"]["spec"]["containers"][0]["image"] = "v1"  # rollback: the old set is reused
    d["metadata"]["generation"] = 3
    d = await run(api, d)
    assert len(api.rss) == 2 and api.rss[name]["spec"]["replicas"] == 3
    assert api.rss[name]["metadata"]["annotations"][util.REVISION] == "3"
    assert api.rss[name]["metadata"]["annotations"][util.REVISION_HISTORY] == "1"
    assert d["metadata"]["annotations"][util.REVISION] == "3"


async def test_hash_collision_bumps_collision_count() -> None:
    api = FakeApi()
    d = deployment(1)
    name = f"web-{util.compute_hash(TEMPLATE)}"
    api.rss[name] = {"metadata": {"name": name, "uid": "stranger", "creationTimestamp": "2024-01-01T00:00:00Z"},
                     "spec": {"replicas": 0, "template": {"spec": {"containers": []}}}, "status": {}}
    with pytest.raises(AlreadyExistsError):
        await Rollout(api, d, [], clock=lambda: NOW).rolling_update()
    assert api.statuses[-1]["status"]["collisionCount"] == 1
