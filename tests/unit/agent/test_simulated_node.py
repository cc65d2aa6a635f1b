"""Pure builders of the simulated node: registration object, heartbeat conditions, lease, addresses."""

from __future__ import annotations

import pytest

from kybernetes.agent import simulated_node as sn

T0 = 1704067200.0


def test_node_object() -> None:
    node = sn.node_object("kyb-sim-0", 0, kubelet_version="v1.33.0", now=T0, boot_id="b")
    labels = node["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == "kyb-sim-0"
    assert labels["node.kubernetes.io/instance-type"] == "kyb-sim"
    assert node["metadata"]["annotations"]["kybernetes.io/simulated"] == "true"
    status = node["status"]
    assert status["capacity"]["cpu"] == "8" and status["allocatable"]["memory"] == "32Gi"
    assert status["addresses"] == [{"type": "InternalIP", "address": "198.18.0.1"},
                                   {"type": "Hostname", "address": "kyb-sim-0"}]
    info = status["nodeInfo"]
    assert (info["kubeletVersion"], info["containerRuntimeVersion"]) == ("v1.33.0", "kyb-sim://0.1")
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "True", "KubeletReady", "kubelet is posting ready status")


@pytest.mark.parametrize(("old_status", "keeps_time"), [
    pytest.param("True", True, id="unchanged-keeps-transition-time"),
    pytest.param("Unknown", False, id="back-from-unknown-is-a-transition"),
])
def test_node_conditions_transition_times(old_status: str, keeps_time: bool) -> None:
    old = [{"type": "Ready", "status": old_status, "lastTransitionTime": "2000-01-01T00:00:00Z"}]
    ready = next(c for c in sn.node_conditions(T0, old) if c["type"] == "Ready")
    assert ready["lastHeartbeatTime"] == "2024-01-01T00:00:00Z"
    assert (ready["lastTransitionTime"] == "2000-01-01T00:00:00Z") is keeps_time


@pytest.mark.parametrize(("conditions", "healthy"), [
    pytest.param(sn.node_conditions(T0), True, id="healthy"),
    pytest.param([], False, id="no-conditions"),
    pytest.param([{**c, "status": "Unknown"} if c["type"] == "Ready" else c for c in sn.node_conditions(T0)],
                 False, id="ready-unknown"),
])
def test_is_healthy(conditions: list[dict[str, str]], healthy: bool) -> None:
    assert sn.is_healthy({"status": {"conditions": conditions}}) is healthy


@pytest.mark.parametrize(("index", "ip", "cidr"), [
    pytest.param(0, "198.18.0.1", "100.64.0.0/24", id="first"),
    pytest.param(255, "198.18.1.0", "100.64.255.0/24", id="crosses-octet"),
    pytest.param(999, "198.18.3.232", "100.67.231.0/24", id="thousandth"),
])
def test_addresses(index: int, ip: str, cidr: str) -> None:
    assert sn.node_ip(index) == ip
    assert sn.fallback_pod_cidr(index) == cidr


def test_lease_object() -> None:
    lease = sn.lease_object({"metadata": {"name": "n", "uid": "u"}}, T0)
    assert lease["metadata"]["namespace"] == "kube-node-lease"
    assert lease["metadata"]["ownerReferences"][0] == {"apiVersion": "v1", "kind": "Node", "name": "n", "uid": "u"}
    assert lease["spec"] == {"holderIdentity": "n", "leaseDurationSeconds": 40,
                             "renewTime": "2024-01-01T00:00:00.000000Z"}
