"""Pure builders for a simulated node: the Node it registers, its status heartbeat, its Lease.

The conditions carry upstream kubelet's reasons and messages; a condition's ``lastTransitionTime`` moves only when
its status changes (so a heartbeat after the node lifecycle controller marked the node Unknown is a transition).
"""

from __future__ import annotations

import functools
import ipaddress
import uuid
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]

SIMULATED_ANNOTATION = "kybernetes.io/simulated"
INSTANCE_TYPE = "kyb-sim"
RUNTIME_VERSION = "kyb-sim://0.1"
LEASE_NAMESPACE = "kube-node-lease"
LEASE_DURATION = 40
NODE_IP_RANGE = ipaddress.ip_network("198.18.0.0/15")  # benchmarking range: never routed, never used for traffic
FALLBACK_POD_RANGE = ipaddress.ip_network("100.64.0.0/10")  # per-node /24s while a node has no spec.podCIDR

CAPACITY = {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi",
            "hugepages-1Gi": "0", "hugepages-2Mi": "0"}

# (type, healthy status, reason, message) as the kubelet reports a healthy node
HEALTHY_CONDITIONS: tuple[tuple[str, str, str, str], ...] = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def node_ip(index: int) -> str:
    """The fake InternalIP of the ``index``-th simulated node (198.18.0.1, 198.18.0.2, …)."""
    return str(NODE_IP_RANGE.network_address + 1 + index % (NODE_IP_RANGE.num_addresses - 2))


@functools.lru_cache(maxsize=65536)
def fallback_pod_cidr(index: int) -> str:
    """A /24 for the node's pods while node IPAM has not given it ``spec.podCIDR``."""
    count = FALLBACK_POD_RANGE.num_addresses // 256
    base = int(FALLBACK_POD_RANGE.network_address) + (index % count) * 256
    return f"{ipaddress.ip_address(base)}/24"


def node_conditions(now: float, old: list[Obj] | None = None) -> list[Obj]:
    """Healthy conditions with ``lastHeartbeatTime`` now; transition times kept from ``old`` when unchanged."""
    previous = {c.get("type"): c for c in old or []}
    ts = rfc3339(now)
    out = []
    for kind, value, reason, message in HEALTHY_CONDITIONS:
        before = previous.get(kind)
        same = before is not None and before.get("status") == value
        out.append({"type": kind, "status": value, "reason": reason, "message": message,
                    "lastHeartbeatTime": ts,
                    "lastTransitionTime": before.get("lastTransitionTime") if same and before else ts})
    return out


def is_healthy(node: Obj) -> bool:
    """Whether the node's conditions on the server are what this agent reports (else it posts status now)."""
    conds = {c.get("type"): c.get("status") for c in (node.get("status") or {}).get("conditions") or []}
    return all(conds.get(kind) == value for kind, value, _, _ in HEALTHY_CONDITIONS)


def node_status(name: str, index: int, *, kubelet_version: str, now: float, boot_id: str,
                old_conditions: list[Obj] | None = None) -> Obj:
    machine = uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}.kyb-sim").hex
    return {
        "capacity": dict(CAPACITY),
        "allocatable": dict(CAPACITY),
        "conditions": node_conditions(now, old_conditions),
        "addresses": [{"type": "InternalIP", "address": node_ip(index)}, {"type": "Hostname", "address": name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": machine, "systemUUID": str(uuid.UUID(machine)), "bootID": boot_id,
            "kernelVersion": "6.1.0-kyb-sim", "osImage": "Kybernetes simulated node",
            "containerRuntimeVersion": RUNTIME_VERSION, "kubeletVersion": kubelet_version,
            "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": "amd64",
        },
    }


def node_object(name: str, index: int, *, kubelet_version: str, now: float, boot_id: str) -> Obj:
    """The Node a simulated kubelet registers (status included; the agent also posts it to ``/status``)."""
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                       "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
                       "node.kubernetes.io/instance-type": INSTANCE_TYPE},
            "annotations": {SIMULATED_ANNOTATION: "true", "node.alpha.kubernetes.io/ttl": "0",
                            "volumes.kubernetes.io/controller-managed-attach-detach": "true"},
        },
        "spec": {},
        "status": node_status(name, index, kubelet_version=kubelet_version, now=now, boot_id=boot_id),
    }


def lease_object(node: Obj, now: float, duration: int = LEASE_DURATION) -> Obj:
    meta = node.get("metadata") or {}
    name = meta.get("name", "")
    return {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": name, "namespace": LEASE_NAMESPACE,
                     "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": name,
                                          "uid": meta.get("uid", "")}]},
        "spec": {"holderIdentity": name, "leaseDurationSeconds": duration, "renewTime": micro_time(now)},
    }


def node_ref(name: str) -> Obj:
    """The involvedObject of a kubelet's node events (the kubelet uses the node name as its UID)."""
    return {"kind": "Node", "name": name, "uid": name, "apiVersion": "v1"}


def registration_events(name: str) -> list[tuple[str, str, str]]:
    """(type, reason, message) a kubelet records while registering its node."""
    return [
        ("Normal", "Starting", "Starting kubelet."),
        ("Normal", "NodeHasSufficientMemory", f"Node {name} status is now: NodeHasSufficientMemory"),
        ("Normal", "NodeHasNoDiskPressure", f"Node {name} status is now: NodeHasNoDiskPressure"),
        ("Normal", "NodeHasSufficientPID", f"Node {name} status is now: NodeHasSufficientPID"),
        ("Normal", "NodeAllocatableEnforced", "Updated Node Allocatable limit across pods"),
        ("Normal", "NodeReady", f"Node {name} status is now: NodeReady"),
    ]
