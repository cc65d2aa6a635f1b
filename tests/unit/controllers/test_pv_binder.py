"""Table-driven tests of the pure PV/PVC matching (:mod:`kybernetes.api.pvmatch`) and the PV controller's
decisions (:mod:`kybernetes.controllers.persistentvolume.decide`)."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.api import pvmatch as pm
from kybernetes.controllers.persistentvolume import decide as d

Obj = dict[str, Any]


def pv(name: str, size: str = "1Gi", modes: tuple[str, ...] = ("ReadWriteOnce",), cls: str = "manual",
       phase: str = "Available", labels: dict[str, str] | None = None, claim_ref: Obj | None = None,
       mode: str = "Filesystem", host: str = "", reclaim: str = "Retain", annotations: Obj | None = None) -> Obj:
    spec: Obj = {"capacity": {"storage": size}, "accessModes": list(modes), "storageClassName": cls,
                 "volumeMode": mode, "hostPath": {"path": "/tmp/x"}, "persistentVolumeReclaimPolicy": reclaim}
    if claim_ref is not None:
        spec["claimRef"] = claim_ref
    if host:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [host]}]}]}}
    return {"metadata": {"name": name, "labels": labels or {}, "annotations": annotations or {}}, "spec": spec,
            "status": {"phase": phase}}


def pvc(name: str = "c", size: str = "1Gi", modes: tuple[str, ...] = ("ReadWriteOnce",), cls: str | None = "manual",
        selector: Obj | None = None, volume: str = "", mode: str = "Filesystem", uid: str = "u1",
        annotations: Obj | None = None, phase: str = "Pending") -> Obj:
    spec: Obj = {"accessModes": list(modes), "resources": {"requests": {"storage": size}}, "volumeMode": mode}
    if cls is not None:
        spec["storageClassName"] = cls
    if selector is not None:
        spec["selector"] = selector
    if volume:
        spec["volumeName"] = volume
    return {"metadata": {"name": name, "namespace": "default", "uid": uid, "annotations": annotations or {}},
            "spec": spec, "status": {"phase": phase}}


REF = {"namespace": "default", "name": "c", "uid": "u1"}

MATCH_CASES: list[tuple[str, Obj, list[Obj], str | None]] = [
    ("exact fit", pvc(), [pv("a")], "a"),
    ("smaller PV never binds", pvc(size="2Gi"), [pv("a", "1Gi")], None),
    ("smallest that fits", pvc(size="1Gi"), [pv("big", "10Gi"), pv("small", "1Gi"), pv("tiny", "500Mi"),
                                               pv("mid", "2Gi")], "small"),
    ("units compare as quantities", pvc(size="1G"), [pv("a", "1000Mi"), pv("b", "953Mi")], "a"),
    ("RWO claim, ROX volume", pvc(modes=("ReadWriteOnce",)), [pv("a", modes=("ReadOnlyMany",))], None),
    ("RWX claim, RWO volume", pvc(modes=("ReadWriteMany",)), [pv("a")], None),
    ("RWO claim, RWO+RWX volume", pvc(), [pv("a", modes=("ReadWriteOnce", "ReadWriteMany"))], "a"),
    ("RWOP claim, RWO volume", pvc(modes=("ReadWriteOncePod",)), [pv("a")], None),
    ("RWOP claim, RWOP volume", pvc(modes=("ReadWriteOncePod",)), [pv("a", modes=("ReadWriteOncePod",))], "a"),
    ("ROX+RWO claim needs both", pvc(modes=("ReadOnlyMany", "ReadWriteOnce")), [pv("a")], None),
    ("class must match", pvc(cls="fast"), [pv("a", cls="manual")], None),
    ("no class binds only classless", pvc(cls=""), [pv("a", cls="manual"), pv("b", cls="")], "b"),
    ("volumeMode must match", pvc(mode="Block"), [pv("a")], None),
    ("selector filters", pvc(selector={"matchLabels": {"type": "local"}}),
     [pv("a", labels={"type": "nfs"}), pv("b", "5Gi", labels={"type": "local"})], "b"),
    ("bound volumes are skipped", pvc(), [pv("a", phase="Bound", claim_ref={"namespace": "x", "name": "y",
                                                                               "uid": "z"})], None),
    ("released volumes are skipped", pvc(), [pv("a", phase="Released")], None),
    ("pre-bound to this claim wins over smaller", pvc(), [pv("s"), pv("pre", "5Gi", claim_ref=REF)], "pre"),
    ("pre-bound to other claim skipped", pvc(), [pv("a", claim_ref={"namespace": "default", "name": "o"})], None),
    ("pre-bound by name without uid", pvc(), [pv("a", claim_ref={"namespace": "default", "name": "c"})], "a"),
]


@pytest.mark.parametrize(("claim", "volumes", "want"), [c[1:] for c in MATCH_CASES], ids=[c[0] for c in MATCH_CASES])
def test_find_matching_volume(claim: Obj, volumes: list[Obj], want: str | None) -> None:
    got = pm.find_matching_volume(claim, volumes)
    assert (got or {}).get("metadata", {}).get("name") == want


def test_delay_binding_only_prebound() -> None:
    assert pm.find_matching_volume(pvc(), [pv("a")], delay_binding=True) is None
    assert pm.find_matching_volume(pvc(), [pv("a", claim_ref=REF)], delay_binding=True) is not None


def test_node_affinity() -> None:
    vols = [pv("n1", host="n1"), pv("n2", host="n2")]

    def on(node: str) -> pm.NodeMatcher:
        return lambda v: node in str(v["spec"].get("nodeAffinity"))

    assert pm.find_matching_volume(pvc(), vols, node=on("n2"), delay_binding=True)["metadata"]["name"] == "n2"
    assert pm.find_matching_volume(pvc(), vols, node=on("n3"), delay_binding=True) is None


@pytest.mark.parametrize(("claim", "volume", "reason"), [
    (pvc(size="2Gi"), pv("a"), "requested PV is too small"),
    (pvc(cls="x"), pv("a"), "storageClassName does not match"),
    (pvc(mode="Block"), pv("a"), "incompatible volumeMode"),
    (pvc(modes=("ReadWriteMany",)), pv("a"), "incompatible accessMode"),
    (pvc(), pv("a"), None),
])
def test_volume_mismatch(claim: Obj, volume: Obj, reason: str | None) -> None:
    assert pm.volume_mismatch(claim, volume) == reason


def test_default_class() -> None:
    def sc(name: str, default: bool, ts: str) -> Obj:
        ann = {pm.ANN_DEFAULT_CLASS: "true"} if default else {}
        return {"metadata": {"name": name, "annotations": ann, "creationTimestamp": ts}}

    assert pm.default_class([sc("a", False, "1")]) is None
    assert pm.default_class([sc("a", True, "1"), sc("b", True, "2"), sc("c", False, "3")])["metadata"]["name"] == "b"


WFFC = {"metadata": {"name": "local-path"}, "provisioner": "rancher.io/local-path",
        "volumeBindingMode": "WaitForFirstConsumer"}
IMMEDIATE = {"metadata": {"name": "manual"}, "provisioner": "kubernetes.io/no-provisioner",
             "volumeBindingMode": "Immediate"}
CLASSES = {"local-path": WFFC, "manual": IMMEDIATE}


@pytest.mark.parametrize(("claim", "volumes", "classes", "kind", "event"), [
    (pvc(), {"a": pv("a")}, {}, "bind", None),
    (pvc(cls=""), {}, {}, "none", ("Normal", "FailedBinding", d.NO_VOLUMES_NO_CLASS)),
    (pvc(cls="gold"), {}, {}, "none", ("Warning", "ProvisioningFailed",
                                       'storageclass.storage.k8s.io "gold" not found')),
    (pvc(cls="local-path"), {}, CLASSES, "none", ("Normal", "WaitForFirstConsumer", d.WAIT_FOR_FIRST_CONSUMER)),
    (pvc(cls="local-path"), {"a": pv("a", cls="local-path")}, CLASSES, "none",
     ("Normal", "WaitForFirstConsumer", d.WAIT_FOR_FIRST_CONSUMER)),
    (pvc(cls="local-path", annotations={pm.ANN_SELECTED_NODE: "n1"}), {}, CLASSES, "provision",
     ("Normal", "ExternalProvisioning", d.EXTERNAL_PROVISIONING.format("rancher.io/local-path"))),
    (pvc(volume="a"), {"a": pv("a")}, {}, "bind", None),
    (pvc(volume="a", size="5Gi"), {"a": pv("a")}, {}, "none",
     ("Warning", "VolumeMismatch", 'Cannot bind to requested volume "a": requested PV is too small')),
    (pvc(volume="gone", phase="Bound"), {}, {}, "lost", ("Warning", "ClaimLost", d.CLAIM_LOST)),
    (pvc(volume="gone"), {}, {}, "none", None),
])
def test_claim_action(claim: Obj, volumes: dict[str, Obj], classes: dict[str, Obj], kind: str,
                      event: tuple[str, str, str] | None) -> None:
    action = d.claim_action(claim, volumes, classes)
    assert action.kind == kind
    assert action.events == ([event] if event else [])


@pytest.mark.parametrize(("volume", "claim", "kind", "phase"), [
    (pv("a", phase="Pending"), None, "phase", "Available"),
    (pv("a"), None, "none", ""),
    (pv("a", phase="Bound", claim_ref=REF), None, "phase", "Released"),
    (pv("a", phase="Bound", claim_ref=REF), pvc(uid="other"), "phase", "Released"),
    (pv("a", phase="Released", claim_ref=REF), None, "released", ""),
    (pv("a", phase="Available", claim_ref=REF), pvc(volume="a"), "phase", "Bound"),
    (pv("a", phase="Bound", claim_ref=REF), pvc(volume="a"), "none", ""),
    (pv("a", phase="Bound", claim_ref=REF, annotations={pm.ANN_BOUND_BY_CONTROLLER: "yes"}), pvc(volume="b"),
     "unbind", ""),
])
def test_volume_action(volume: Obj, claim: Obj | None, kind: str, phase: str) -> None:
    action = d.volume_action(volume, claim)
    assert (action.kind, action.phase) == (kind, phase)
