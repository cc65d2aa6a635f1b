"""Endpoints and EndpointSlice decisions: pod inclusion, ports, subsets, slices and the freshness tracker."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.controllers.endpoints import (
    HEADLESS_LABEL,
    OVER_CAPACITY,
    TRIGGER_TIME,
    desired_endpoints,
    endpoint_subsets,
    find_port,
    should_pod_be_in_endpoints,
    truncate,
)
from kybernetes.controllers.endpointslice import (
    CONTROLLER_NAME,
    MANAGED_BY_LABEL,
    SERVICE_NAME_LABEL,
    SliceTracker,
    reconcile,
)

Obj = dict[str, Any]
T0 = "2024-05-01T10:00:00Z"
T1 = "2024-05-01T10:05:00Z"


def pod(name: str, ip: str = "", *, ready: bool = True, phase: str = "Running", deleting: bool = False,
        ports: list[Obj] | None = None, hostname: str = "", subdomain: str = "") -> Obj:
    meta: Obj = {"name": name, "namespace": "ns", "uid": f"uid-{name}", "creationTimestamp": T0}
    if deleting:
        meta["deletionTimestamp"] = T1
    spec: Obj = {"nodeName": "node-1", "containers": [{"name": "c", "ports": ports or []}]}
    if hostname:
        spec.update(hostname=hostname, subdomain=subdomain)
    status: Obj = {"phase": phase,
                   "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                   "lastTransitionTime": T0}]}
    if ip:
        status["podIP"] = ip
    return {"metadata": meta, "spec": spec, "status": status}


def service(ports: list[Obj] | None = None, *, cluster_ip: str = "10.43.0.9", publish: bool = False,
            labels: dict[str, str] | None = None) -> Obj:
    spec: Obj = {"selector": {"app": "web"}, "clusterIP": cluster_ip,
                 "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}] if ports is None else ports}
    if publish:
        spec["publishNotReadyAddresses"] = True
    return {"metadata": {"name": "web", "namespace": "ns", "uid": "svc-uid", "creationTimestamp": T0,
                         "labels": labels or {}}, "spec": spec}


@pytest.mark.parametrize(("p", "include_terminating", "want"), [
    pytest.param(pod("a", "10.0.0.1"), False, True, id="running-with-ip"),
    pytest.param(pod("a"), False, False, id="no-ip"),
    pytest.param(pod("a", "10.0.0.1", phase="Succeeded"), True, False, id="succeeded"),
    pytest.param(pod("a", "10.0.0.1", phase="Failed"), True, False, id="failed"),
    pytest.param(pod("a", "10.0.0.1", deleting=True), False, False, id="terminating-excluded"),
    pytest.param(pod("a", "10.0.0.1", deleting=True), True, True, id="terminating-included"),
])
def test_should_pod_be_in_endpoints(p: Obj, include_terminating: bool, want: bool) -> None:
    assert should_pod_be_in_endpoints(p, include_terminating) is want


NAMED = [{"name": "http", "containerPort": 8080}, {"name": "dns", "containerPort": 53, "protocol": "UDP"}]


@pytest.mark.parametrize(("sp", "want"), [
    pytest.param({"port": 80, "targetPort": 9090}, 9090, id="number"),
    pytest.param({"port": 80}, 80, id="defaults-to-port"),
    pytest.param({"port": 80, "targetPort": "http"}, 8080, id="named"),
    pytest.param({"port": 53, "targetPort": "dns", "protocol": "UDP"}, 53, id="named-udp"),
    pytest.param({"port": 53, "targetPort": "dns"}, None, id="named-wrong-protocol"),
    pytest.param({"port": 80, "targetPort": "nope"}, None, id="named-missing"),
])
def test_find_port(sp: Obj, want: int | None) -> None:
    assert find_port(pod("a", "10.0.0.1", ports=NAMED), sp) == want


def test_subsets_split_ready_and_not_ready() -> None:
    subsets = endpoint_subsets(service(), [pod("b", "10.0.0.2", ready=False), pod("a", "10.0.0.1")])
    assert subsets == [{
        "addresses": [{"ip": "10.0.0.1", "nodeName": "node-1",
                       "targetRef": {"kind": "Pod", "namespace": "ns", "name": "a", "uid": "uid-a"}}],
        "notReadyAddresses": [{"ip": "10.0.0.2", "nodeName": "node-1",
                               "targetRef": {"kind": "Pod", "namespace": "ns", "name": "b", "uid": "uid-b"}}],
        "ports": [{"port": 8080, "protocol": "TCP"}]}]


@pytest.mark.parametrize(("svc", "pods", "want_ready", "want_not_ready", "want_ports"), [
    pytest.param(service(publish=True), [pod("a", "10.0.0.1", ready=False)], ["10.0.0.1"], [], [[8080]],
                 id="publish-not-ready"),
    pytest.param(service(ports=[], cluster_ip="None"), [pod("a", "10.0.0.1")], ["10.0.0.1"], [], [[]],
                 id="headless-without-ports"),
    pytest.param(service(ports=[{"name": "web", "port": 80, "targetPort": "http"}]),
                 [pod("a", "10.0.0.1", ports=NAMED), pod("b", "10.0.0.2")], ["10.0.0.1"], [], [[8080]],
                 id="pod-without-named-port-left-out"),
    pytest.param(service(ports=[{"name": "web", "port": 80, "targetPort": "http"}]),
                 [pod("a", "10.0.0.1", ports=NAMED),
                  pod("b", "10.0.0.2", ports=[{"name": "http", "containerPort": 9000}])],
                 ["10.0.0.1", "10.0.0.2"], [], [[8080], [9000]], id="different-ports-different-subsets"),
    pytest.param(service(), [pod("a", "10.0.0.1", deleting=True)], [], [], [], id="terminating-dropped"),
    pytest.param(service(), [], [], [], [], id="no-pods"),
])
def test_subsets_table(svc: Obj, pods: list[Obj], want_ready: list[str], want_not_ready: list[str],
                       want_ports: list[list[int]]) -> None:
    subsets = endpoint_subsets(svc, pods)
    assert sorted(a["ip"] for s in subsets for a in s.get("addresses") or []) == want_ready
    assert sorted(a["ip"] for s in subsets for a in s.get("notReadyAddresses") or []) == want_not_ready
    assert [[p["port"] for p in s.get("ports") or []] for s in subsets] == want_ports


def test_hostname_set_for_pods_in_the_service_subdomain() -> None:
    subsets = endpoint_subsets(service(), [pod("a", "10.0.0.1", hostname="a", subdomain="web"),
                                           pod("b", "10.0.0.2", hostname="b", subdomain="other")])
    hosts = {a["ip"]: a.get("hostname") for a in subsets[0]["addresses"]}
    assert hosts == {"10.0.0.1": "a", "10.0.0.2": None}


def test_desired_endpoints_labels_annotations_and_no_op() -> None:
    svc = service(cluster_ip="None", labels={"tier": "front"})
    want = desired_endpoints(svc, [pod("a", "10.0.0.1")], None)
    assert want is not None
    assert want["metadata"]["labels"] == {"tier": "front", HEADLESS_LABEL: ""}
    assert want["metadata"]["annotations"][TRIGGER_TIME] == T0
    assert desired_endpoints(svc, [pod("a", "10.0.0.1")], want) is None
    assert desired_endpoints(svc, [pod("a", "10.0.0.1", ready=False)], want) is not None


def test_truncate_keeps_ready_first() -> None:
    subsets = [{"addresses": [{"ip": f"a{i}"} for i in range(900)],
                "notReadyAddresses": [{"ip": f"n{i}"} for i in range(300)]}]
    assert truncate(subsets)
    assert len(subsets[0]["addresses"]) == 900 and len(subsets[0]["notReadyAddresses"]) == 100
    many = endpoint_subsets(service(), [pod(f"p{i}", f"10.0.{i // 250}.{i % 250}") for i in range(1001)])
    assert truncate(many) and sum(len(s["addresses"]) for s in many) == 1000
    big = desired_endpoints(service(), [pod(f"p{i}", f"10.0.{i // 250}.{i % 250}") for i in range(1001)], None)
    assert big is not None and big["metadata"]["annotations"][OVER_CAPACITY] == "truncated"


# -- EndpointSlices --------------------------------------------------------------------------------------------

def existing(name: str, eps: list[Obj], ports: list[Obj] | None = None) -> Obj:
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": "5",
                         "labels": {SERVICE_NAME_LABEL: "web", MANAGED_BY_LABEL: CONTROLLER_NAME},
                         "ownerReferences": [{"uid": "svc-uid", "controller": True}]},
            "addressType": "IPv4", "endpoints": eps,
            "ports": [{"name": "", "port": 8080, "protocol": "TCP"}] if ports is None else ports}


def test_reconcile_creates_a_slice_with_conditions() -> None:
    plan = reconcile(service(labels={"tier": "front"}),
                     [pod("a", "10.0.0.1"), pod("b", "10.0.0.2", ready=False), pod("c", "10.0.0.3", deleting=True)],
                     [])
    assert not plan.update and not plan.delete and len(plan.create) == 1
    sl = plan.create[0]
    assert sl["metadata"]["generateName"] == "web-"
    assert sl["metadata"]["labels"] == {"tier": "front", SERVICE_NAME_LABEL: "web",
                                        MANAGED_BY_LABEL: CONTROLLER_NAME}
    assert sl["metadata"]["ownerReferences"] == [{"apiVersion": "v1", "kind": "Service", "name": "web",
                                                  "uid": "svc-uid", "controller": True, "blockOwnerDeletion": True}]
    assert sl["addressType"] == "IPv4" and sl["ports"] == [{"name": "", "port": 8080, "protocol": "TCP"}]
    assert {e["addresses"][0]: e["conditions"] for e in sl["endpoints"]} == {
        "10.0.0.1": {"ready": True, "serving": True, "terminating": False},
        "10.0.0.2": {"ready": False, "serving": False, "terminating": False},
        "10.0.0.3": {"ready": False, "serving": True, "terminating": True}}
    assert sl["endpoints"][0]["targetRef"]["name"] == "a" and sl["endpoints"][0]["nodeName"] == "node-1"


@pytest.mark.parametrize(("n_pods", "slices", "create_sizes", "updates", "deletes"), [
    pytest.param(250, [], [100, 100, 50], 0, 0, id="chunks-of-100"),
    pytest.param(0, [], [0], 0, 0, id="placeholder-created"),
    pytest.param(0, ["keep"], [0], 0, 1, id="stale-slice-deleted-placeholder-created"),
    pytest.param(3, ["keep"], [], 1, 0, id="existing-slice-refilled"),
])
def test_reconcile_table(n_pods: int, slices: list[str], create_sizes: list[int], updates: int,
                         deletes: int) -> None:
    pods = [pod(f"p{i}", f"10.0.{i // 250}.{i % 250 + 1}") for i in range(n_pods)]
    current = [existing(n, [{"addresses": ["10.9.9.9"], "targetRef": {"uid": "gone"}}]) for n in slices]
    plan = reconcile(service(), pods, current)
    assert [len(s["endpoints"]) for s in plan.create] == create_sizes
    assert len(plan.update) == updates and len(plan.delete) == deletes


def test_reconcile_is_stable_and_keeps_endpoints_in_place() -> None:
    pods = [pod("a", "10.0.0.1"), pod("b", "10.0.0.2")]
    first = reconcile(service(), pods, []).create[0]
    sl = {**first, "metadata": {**first["metadata"], "name": "web-abcde", "resourceVersion": "7"}}
    assert reconcile(service(), pods, [sl]).empty
    plan = reconcile(service(), [pod("a", "10.0.0.1", ready=False), pod("b", "10.0.0.2")], [sl])
    assert not plan.create and not plan.delete and len(plan.update) == 1
    assert plan.update[0]["metadata"]["name"] == "web-abcde"
    assert plan.update[0]["endpoints"][0]["conditions"]["ready"] is False


def test_reconcile_deletes_slices_of_old_ports() -> None:
    old = existing("web-old", [{"addresses": ["10.0.0.1"], "targetRef": {"uid": "uid-a"}}],
                   ports=[{"name": "", "port": 9999, "protocol": "TCP"}])
    plan = reconcile(service(), [pod("a", "10.0.0.1")], [old])
    assert [s["metadata"]["name"] for s in plan.delete] == ["web-old"] and len(plan.create) == 1


def test_tracker_waits_for_the_cache() -> None:
    tracker = SliceTracker()
    tracker.wrote("ns/web", {"metadata": {"name": "web-a", "resourceVersion": "10"}})
    tracker.deleted("ns/web", "web-b")
    assert tracker.stale("ns/web", [{"metadata": {"name": "web-b"}}])  # create unseen, delete unseen
    assert tracker.stale("ns/web", [{"metadata": {"name": "web-a", "resourceVersion": "9"}},
                                    {"metadata": {"name": "web-b"}}])
    cache = [{"metadata": {"name": "web-a", "resourceVersion": "10"}}, {"metadata": {"name": "web-b"}}]
    assert tracker.stale("ns/web", cache)
    assert not tracker.stale("ns/web", cache[:1])
    assert not tracker.stale("ns/other", [])
