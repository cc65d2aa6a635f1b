"""Precomputed, scheduler-private views of pods and nodes: :class:`PodInfo` and :class:`NodeInfo`.

Everything a plugin needs in the hot path is parsed once, when an object enters the cache (quantities to integers,
taints, labels, host ports, affinity terms), so filtering 1,000 nodes is integer comparisons, not dict walks.

Resources follow upstream's ``framework.Resource``: ``milli_cpu``, ``memory`` and ``ephemeral_storage`` in integer
base units, plus ``scalar`` (extended resources, hugepages) by name.  A pod's request is
``max(sum(containers) + sum(sidecars), max(init containers while sidecars run)) + overhead``, like
``resourcehelper.PodRequests``.

These objects are shared between the cache and the scheduling cycle: plugins must treat them as read-only.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field
from typing import Any

from kybernetes.api.quantity import QuantityError, parse_quantity

Obj = dict[str, Any]

CPU = "cpu"
MEMORY = "memory"
EPHEMERAL = "ephemeral-storage"
PODS = "pods"

# Upstream's schedutil.DefaultMilliCPURequest / DefaultMemoryRequest, used for scoring pods without requests.
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024


@functools.lru_cache(maxsize=4096)
def _milli(value: Any) -> int:
    try:
        return parse_quantity(value).milli_value()
    except (QuantityError, TypeError, ValueError):
        return 0


@functools.lru_cache(maxsize=4096)
def _units(value: Any) -> int:
    try:
        return parse_quantity(value).int_value()
    except (QuantityError, TypeError, ValueError):
        return 0


@dataclass(slots=True)
class Resource:
    milli_cpu: int = 0
    memory: int = 0
    ephemeral_storage: int = 0
    allowed_pods: int = 0
    scalar: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_list(cls, items: Obj | None) -> Resource:
        res = cls()
        for name, value in (items or {}).items():
            if name == CPU:
                res.milli_cpu = _milli(value)
            elif name == MEMORY:
                res.memory = _units(value)
            elif name == EPHEMERAL:
                res.ephemeral_storage = _units(value)
            elif name == PODS:
                res.allowed_pods = _units(value)
            elif _is_scalar(name):
                res.scalar[name] = _units(value)
        return res

    def add(self, other: Resource) -> None:
        self.milli_cpu += other.milli_cpu
        self.memory += other.memory
        self.ephemeral_storage += other.ephemeral_storage
        for name, value in other.scalar.items():
            self.scalar[name] = self.scalar.get(name, 0) + value

    def sub(self, other: Resource) -> None:
        self.milli_cpu -= other.milli_cpu
        self.memory -= other.memory
        self.ephemeral_storage -= other.ephemeral_storage
        for name, value in other.scalar.items():
            self.scalar[name] = self.scalar.get(name, 0) - value

    def set_max(self, other: Resource) -> None:
        self.milli_cpu = max(self.milli_cpu, other.milli_cpu)
        self.memory = max(self.memory, other.memory)
        self.ephemeral_storage = max(self.ephemeral_storage, other.ephemeral_storage)
        for name, value in other.scalar.items():
            self.scalar[name] = max(self.scalar.get(name, 0), value)

    def copy(self) -> Resource:
        return Resource(self.milli_cpu, self.memory, self.ephemeral_storage, self.allowed_pods, dict(self.scalar))


def _is_scalar(name: str) -> bool:
    """Extended resources (``example.com/foo``), hugepages and attachable volumes count as scalar resources."""
    return name.startswith("hugepages-") or ("/" in name and not name.startswith("kubernetes.io/")) \
        or name.startswith("attachable-volumes-")


def pod_requests(spec: Obj) -> Resource:
    """The pod's effective request (see the module docstring)."""
    total = Resource()
    for c in spec.get("containers") or []:
        total.add(Resource.from_list((c.get("resources") or {}).get("requests")))
    sidecars = Resource()
    init_max = Resource()
    for c in spec.get("initContainers") or []:
        req = Resource.from_list((c.get("resources") or {}).get("requests"))
        if c.get("restartPolicy") == "Always":
            sidecars.add(req)
            candidate = sidecars.copy()
        else:
            candidate = req.copy()
            candidate.add(sidecars)
        init_max.set_max(candidate)
    total.add(sidecars)
    total.set_max(init_max)
    overhead = spec.get("overhead")
    if overhead:
        total.add(Resource.from_list(overhead))
    return total


def non_zero_requests(spec: Obj) -> tuple[int, int]:
    """(milli-CPU, memory) for scoring: containers without a request count upstream's defaults."""
    cpu = mem = 0
    for c in spec.get("containers") or []:
        req = (c.get("resources") or {}).get("requests") or {}
        cpu += _milli(req[CPU]) if CPU in req else DEFAULT_MILLI_CPU_REQUEST
        mem += _units(req[MEMORY]) if MEMORY in req else DEFAULT_MEMORY_REQUEST
    init_cpu = init_mem = 0
    for c in spec.get("initContainers") or []:
        req = (c.get("resources") or {}).get("requests") or {}
        init_cpu = max(init_cpu, _milli(req[CPU]) if CPU in req else DEFAULT_MILLI_CPU_REQUEST)
        init_mem = max(init_mem, _units(req[MEMORY]) if MEMORY in req else DEFAULT_MEMORY_REQUEST)
    cpu, mem = max(cpu, init_cpu), max(mem, init_mem)
    overhead = spec.get("overhead") or {}
    return cpu + _milli(overhead.get(CPU, 0)), mem + _units(overhead.get(MEMORY, 0))


@dataclass(frozen=True, slots=True)
class HostPort:
    ip: str
    protocol: str
    port: int

    def conflicts(self, other: HostPort) -> bool:
        if self.port != other.port or self.protocol != other.protocol:
            return False
        return self.ip == other.ip or self.ip == "0.0.0.0" or other.ip == "0.0.0.0"


def host_ports(spec: Obj) -> tuple[HostPort, ...]:
    ports: list[HostPort] = []
    for c in spec.get("containers") or []:
        for p in c.get("ports") or []:
            hp = int(p.get("hostPort") or 0)
            if hp > 0:
                ports.append(HostPort(str(p.get("hostIP") or "0.0.0.0"), str(p.get("protocol") or "TCP"), hp))
    return tuple(ports)


class PodInfo:
    """One pod, parsed once.  ``pod`` is the (shared, read-only) API object."""

    __slots__ = ("affinity", "anti_affinity_required", "has_affinity", "key", "labels", "name", "namespace",
                 "node_name", "non_zero_cpu", "non_zero_memory", "pod", "ports", "preferred_affinity",
                 "preferred_anti_affinity", "priority", "requests", "required_affinity", "tolerations", "uid")

    def __init__(self, pod: Obj) -> None:
        meta = pod.get("metadata") or {}
        spec = pod.get("spec") or {}
        self.pod = pod
        self.name: str = meta.get("name", "")
        self.namespace: str = meta.get("namespace", "")
        self.key = f"{self.namespace}/{self.name}"
        self.uid: str = meta.get("uid", "")
        self.labels: dict[str, str] = meta.get("labels") or {}
        self.node_name: str = spec.get("nodeName") or ""
        self.priority: int = int(spec.get("priority") or 0)
        self.requests = pod_requests(spec)
        self.non_zero_cpu, self.non_zero_memory = non_zero_requests(spec)
        self.ports = host_ports(spec)
        self.tolerations: list[Obj] = spec.get("tolerations") or []
        affinity = spec.get("affinity") or {}
        pa = affinity.get("podAffinity") or {}
        paa = affinity.get("podAntiAffinity") or {}
        self.affinity: Obj = affinity
        self.required_affinity: list[Obj] = pa.get("requiredDuringSchedulingIgnoredDuringExecution") or []
        self.anti_affinity_required: list[Obj] = paa.get("requiredDuringSchedulingIgnoredDuringExecution") or []
        self.preferred_affinity: list[Obj] = pa.get("preferredDuringSchedulingIgnoredDuringExecution") or []
        self.preferred_anti_affinity: list[Obj] = paa.get("preferredDuringSchedulingIgnoredDuringExecution") or []
        self.has_affinity = bool(self.required_affinity or self.anti_affinity_required or self.preferred_affinity
                                 or self.preferred_anti_affinity)

    @property
    def spec(self) -> Obj:
        spec: Obj = self.pod.get("spec") or {}
        return spec

    @property
    def terminating(self) -> bool:
        return bool((self.pod.get("metadata") or {}).get("deletionTimestamp"))


_RESOURCE_IDS: dict[tuple[int, ...], int] = {}
_MAX_RESOURCE_IDS = 4096
_next_resource_id = itertools.count(1)


def _resource_id(key: tuple[int, ...]) -> int:
    """A number for ``key``, never reused for another key; the table is forgotten when it grows large (keys seen
    again then get new numbers, which only costs memo hits)."""
    rid = _RESOURCE_IDS.get(key)
    if rid is None:
        if len(_RESOURCE_IDS) >= _MAX_RESOURCE_IDS:
            _RESOURCE_IDS.clear()
        rid = _RESOURCE_IDS[key] = next(_next_resource_id)
    return rid


class NodeInfo:
    """One node with the pods assigned (or assumed) to it and their aggregated requests.

    Mutated only by the cache (``add_pod``/``remove_pod``/``set_node``), between scheduling cycles; ``generation``
    increases on every change.  Derived fields kept current by those methods for batch plugins: ``pod_room``
    (allowed pods minus pods), ``free_cpu``/``free_memory``/``free_ephemeral`` (allocatable minus requested),
    ``resource_key`` (allocatable and requested cpu/memory, plain and non-zero: equal keys mean equal resource
    scores for any pod) and ``resource_id``, an integer naming that key (equal ids ⇒ equal keys; nodes in the same
    state usually share one), so per-pod memos hash small integers, not tuples.
    """

    __slots__ = (
        "allocatable",
        "free_cpu",
        "free_ephemeral",
        "free_memory",
        "generation",
        "label_counts",
        "labels",
        "name",
        "node",
        "non_zero_cpu",
        "non_zero_memory",
        "pod_room",
        "pods",
        "pods_with_affinity",
        "pods_with_required_anti_affinity",
        "requested",
        "resource_id",
        "resource_key",
        "taints",
        "unschedulable",
        "used_ports",
    )

    def __init__(self, node: Obj | None = None, name: str = "") -> None:
        self.node: Obj = {}
        self.name = name
        self.labels: dict[str, str] = {}
        self.taints: list[Obj] = []
        self.unschedulable = False
        self.allocatable = Resource()
        self.requested = Resource()
        self.non_zero_cpu = 0
        self.non_zero_memory = 0
        self.pods: dict[str, PodInfo] = {}
        self.pods_with_affinity: dict[str, PodInfo] = {}
        self.pods_with_required_anti_affinity: dict[str, PodInfo] = {}
        self.used_ports: list[HostPort] = []
        # (namespace, label key, label value) → non-terminating pods: O(1) counts for equality selectors
        self.label_counts: dict[tuple[str, str, str], int] = {}
        self.generation = 0
        self.pod_room = 0
        self.free_cpu = self.free_memory = self.free_ephemeral = 0
        self.resource_key: tuple[int, int, int, int, int, int] = (0, 0, 0, 0, 0, 0)
        self.resource_id = 0
        if node is not None:
            self.set_node(node)

    def _derive(self) -> None:
        alloc, used = self.allocatable, self.requested
        self.pod_room = alloc.allowed_pods - len(self.pods)
        self.free_cpu = alloc.milli_cpu - used.milli_cpu
        self.free_memory = alloc.memory - used.memory
        self.free_ephemeral = alloc.ephemeral_storage - used.ephemeral_storage
        key = (alloc.milli_cpu, alloc.memory, used.milli_cpu, used.memory, self.non_zero_cpu, self.non_zero_memory)
        self.resource_key = key
        self.resource_id = _resource_id(key)

    def set_node(self, node: Obj) -> None:
        meta = node.get("metadata") or {}
        spec = node.get("spec") or {}
        self.node = node
        self.name = meta.get("name", self.name)
        self.labels = meta.get("labels") or {}
        self.taints = spec.get("taints") or []
        self.unschedulable = bool(spec.get("unschedulable"))
        self.allocatable = Resource.from_list((node.get("status") or {}).get("allocatable"))
        self._derive()
        self.generation += 1

    def add_pod(self, pi: PodInfo) -> None:
        self.pods[pi.key] = pi
        self.requested.add(pi.requests)
        self.non_zero_cpu += pi.non_zero_cpu
        self.non_zero_memory += pi.non_zero_memory
        if pi.has_affinity:
            self.pods_with_affinity[pi.key] = pi
            if pi.anti_affinity_required:
                self.pods_with_required_anti_affinity[pi.key] = pi
        self.used_ports.extend(pi.ports)
        if not pi.terminating:
            counts = self.label_counts
            for k, v in pi.labels.items():
                key = (pi.namespace, k, v)
                counts[key] = counts.get(key, 0) + 1
        self._derive()
        self.generation += 1

    def remove_pod(self, key: str) -> PodInfo | None:
        pi = self.pods.pop(key, None)
        if pi is None:
            return None
        self.requested.sub(pi.requests)
        self.non_zero_cpu -= pi.non_zero_cpu
        self.non_zero_memory -= pi.non_zero_memory
        self.pods_with_affinity.pop(key, None)
        self.pods_with_required_anti_affinity.pop(key, None)
        for port in pi.ports:
            self.used_ports.remove(port)
        if not pi.terminating:
            counts = self.label_counts
            for k, v in pi.labels.items():
                lk = (pi.namespace, k, v)
                left = counts.get(lk, 0) - 1
                if left > 0:
                    counts[lk] = left
                else:
                    counts.pop(lk, None)
        self._derive()
        self.generation += 1
        return pi

    def without_pods(self, keys: set[str]) -> NodeInfo:
        """A copy of this node minus some pods (for preemption's what-if)."""
        clone = NodeInfo(self.node, self.name) if self.node else NodeInfo(name=self.name)
        for key, pi in self.pods.items():
            if key not in keys:
                clone.add_pod(pi)
        return clone
