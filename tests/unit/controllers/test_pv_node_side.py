"""Pure node-side storage decisions: the local-path provisioner's claim selection and PV shape, the kubelet's
access-mode conflicts, and the scheduler's RWO/RWOP checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kybernetes.agent import localpath as lp
from kybernetes.api import pvmatch as pm
from kybernetes.kubelet.volumes.pvc import conflicting_pods
from kybernetes.scheduler import framework as fw
from kybernetes.scheduler.nodeinfo import PodInfo
from kybernetes.scheduler.plugins import volumebinding as vb

Obj = dict[str, Any]
SC = {"metadata": {"name": "local-path"}, "provisioner": lp.PROVISIONER, "reclaimPolicy": "Delete"}


def claim(ann: Obj, volume: str = "", deleting: bool = False) -> Obj:
    meta: Obj = {"name": "c", "namespace": "ns", "uid": "u1", "annotations": ann}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"metadata": meta, "spec": {"storageClassName": "local-path", "volumeName": volume,
                                       "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}


OURS = {pm.ANN_STORAGE_PROVISIONER: lp.PROVISIONER, pm.ANN_SELECTED_NODE: "n1"}


@pytest.mark.parametrize(("c", "want"), [
    (claim(OURS), True),
    (claim({**OURS, pm.ANN_SELECTED_NODE: "n2"}), False),
    (claim({pm.ANN_SELECTED_NODE: "n1"}), False),
    (claim(OURS, volume="pv"), False),
    (claim(OURS, deleting=True), False),
])
def test_wants_provisioning(c: Obj, want: bool) -> None:
    assert (lp.wants_provisioning(c, "n1", {"local-path": SC}) is not None) == want


def test_build_volume_is_prebound_and_node_affine() -> None:
    c = claim(OURS)
    pv = lp.build_volume(c, SC, "n1", lp.volume_dir(Path("/d/storage"), c))
    assert pv["metadata"]["name"] == "pvc-u1"
    assert pv["spec"]["hostPath"] == {"path": "/d/storage/pvc-u1_ns_c", "type": "DirectoryOrCreate"}
    assert pm.is_bound_to(pv, c) and pm.volume_mismatch(c, pv) is None
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == ["n1"]
    released = {**pv, "status": {"phase": "Released"}}
    assert lp.to_delete(released, "n1") and not lp.to_delete(released, "n2") and not lp.to_delete(pv, "n1")


def pod(name: str, node: str, claim_name: str = "c", phase: str = "Running", uid: str = "") -> Obj:
    return {"metadata": {"name": name, "namespace": "ns", "uid": uid or name},
            "spec": {"nodeName": node, "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": claim_name}}]},
            "status": {"phase": phase}}


@pytest.mark.parametrize(("modes", "others", "want"), [
    (["ReadWriteOnce"], [pod("a", "n2")], ["a"]),
    (["ReadWriteOnce"], [pod("a", "n1")], []),
    (["ReadWriteOnce"], [pod("a", "n2", phase="Succeeded")], []),
    (["ReadWriteOnce"], [pod("a", "n2", claim_name="other")], []),
    (["ReadWriteOncePod"], [pod("a", "n1")], ["a"]),
    (["ReadWriteMany"], [pod("a", "n2")], []),
    (["ReadWriteOnce", "ReadOnlyMany"], [pod("a", "n2")], []),
])
def test_kubelet_access_mode_conflicts(modes: list[str], others: list[Obj], want: list[str]) -> None:
    me = pod("me", "n1")
    assert conflicting_pods({"spec": {"accessModes": modes}}, "c", me, [me, *others]) == want


class Lookup:
    def __init__(self, modes: list[str]) -> None:
        self.modes = modes

    def pvc(self, namespace: str, name: str) -> Obj | None:
        return {"spec": {"volumeName": "pv"}, "status": {"accessModes": self.modes}}

    def pv(self, name: str) -> Obj | None:
        return {"spec": {"accessModes": self.modes}}

    def storage_class(self, name: str) -> Obj | None:
        return None


class Snap:
    def __init__(self, pods: list[Obj]) -> None:
        self.pods = [PodInfo(p) for p in pods]

    def all_pods(self) -> list[PodInfo]:
        return self.pods


@pytest.mark.parametrize(("modes", "pinned", "code"), [
    (["ReadWriteOnce"], {"n2"}, None),
    (["ReadWriteMany"], None, None),
    (["ReadWriteOncePod"], None, fw.Code.UNSCHEDULABLE_AND_UNRESOLVABLE),
])
def test_scheduler_rwo_pinning(modes: list[str], pinned: set[str] | None, code: fw.Code | None) -> None:
    me = PodInfo({**pod("me", ""), "spec": {"volumes": pod("me", "")["spec"]["volumes"]}})
    state, status = vb.check_claims(me, Lookup(modes), Snap([pod("a", "n2")]))  # type: ignore[arg-type]
    assert (status.code if status else None) == code
    if status is None:
        assert state.pinned == pinned
