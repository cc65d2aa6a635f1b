"""ServiceLB decisions (pure): pool allocation, node addresses, status patches."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.controllers.servicelb import CONDITION, node_addresses, pool_allocations, status_patch


def lb(name: str, *, created: str = "2026-01-01T00:00:00Z", ip: str = "", requested: str = "",
       cls: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "LoadBalancer", "clusterIP": "10.43.0.9"}
    if requested:
        spec["loadBalancerIP"] = requested
    if cls:
        spec["loadBalancerClass"] = cls
    obj: dict[str, Any] = {"metadata": {"namespace": "default", "name": name, "creationTimestamp": created},
                           "spec": spec}
    if ip:
        obj["status"] = {"loadBalancer": {"ingress": [{"ip": ip}]}}
    return obj


@pytest.mark.parametrize(("services", "pool", "want", "failed"), [
    ([lb("a"), lb("b", created="2026-01-02T00:00:00Z")], "127.0.100.0/24",
     {"default/a": "127.0.100.1", "default/b": "127.0.100.2"}, {}),
    ([lb("a"), lb("b", ip="127.0.100.1")], "127.0.100.0/24",  # held addresses stay held
     {"default/a": "127.0.100.2", "default/b": "127.0.100.1"}, {}),
    ([lb("a", requested="127.0.100.7")], "127.0.100.0/24", {"default/a": "127.0.100.7"}, {}),
    ([lb("a", requested="10.0.0.1")], "127.0.100.0/24", {},
     {"default/a": "requested IP 10.0.0.1 is not in pool 127.0.100.0/24"}),
    ([lb("a"), lb("b", created="2026-01-02T00:00:00Z"), lb("c", created="2026-01-03T00:00:00Z")],
     "127.0.100.0/30", {"default/a": "127.0.100.1", "default/b": "127.0.100.2"},
     {"default/c": "no available IPs in pool 127.0.100.0/30"}),
    ([lb("a", cls="example.com/other"), {"metadata": {"namespace": "default", "name": "c"},
                                        "spec": {"type": "ClusterIP"}}], "127.0.100.0/24", {}, {}),
])
def test_pool_allocations(services: list[dict[str, Any]], pool: str, want: dict[str, str],
                          failed: dict[str, str]) -> None:
    assert pool_allocations(services, pool) == (want, failed)


def node(name: str, ready: str, *addrs: tuple[str, str]) -> dict[str, Any]:
    return {"metadata": {"name": name}, "status": {"conditions": [{"type": "Ready", "status": ready}],
                                                   "addresses": [{"type": t, "address": a} for t, a in addrs]}}


@pytest.mark.parametrize(("nodes", "want"), [
    ([node("a", "True", ("InternalIP", "192.0.2.2"), ("Hostname", "a"))], ["192.0.2.2"]),
    ([node("a", "True", ("InternalIP", "192.0.2.2"), ("ExternalIP", "203.0.113.1"))], ["203.0.113.1"]),
    ([node("a", "False", ("InternalIP", "192.0.2.3")), node("b", "True", ("InternalIP", "192.0.2.2"))],
     ["192.0.2.2"]),
    ([node("a", "False", ("InternalIP", "192.0.2.3"))], ["192.0.2.3"]),  # none ready: still an address
    ([], []),
])
def test_node_addresses(nodes: list[dict[str, Any]], want: list[str]) -> None:
    assert node_addresses(nodes) == want


def test_status_patch() -> None:
    svc = lb("a")
    patch = status_patch(svc, ["127.0.100.1"], "")
    assert patch == {"status": {"loadBalancer": {"ingress": [{"ip": "127.0.100.1", "ipMode": "VIP"}]},
                                "conditions": None}}
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": "127.0.100.1", "ipMode": "VIP"}]}}
    assert status_patch(svc, ["127.0.100.1"], "") is None
    failed = status_patch(lb("b"), [], "no available IPs in pool 127.0.100.0/30")
    assert failed is not None
    cond = failed["status"]["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == (CONDITION, "False", "AllocationFailed")
    again = lb("b")
    again["status"] = {"conditions": failed["status"]["conditions"]}
    assert status_patch(again, [], "no available IPs in pool 127.0.100.0/30") is None
