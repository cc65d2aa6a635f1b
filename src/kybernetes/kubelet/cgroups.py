"""QoS classes, container resources for CRI, and the pod cgroups (cgroup v1, cgroupfs driver).

Layout (every v1 hierarchy under ``root``): ``kubepods/`` → ``besteffort/``, ``burstable/`` → ``pod<uid>/``;
Guaranteed pods sit directly in ``kubepods/pod<uid>``.  The runtime puts containers under the pod cgroup
(``cgroup_parent``).  :class:`CgroupManager` creates the QoS and pod cgroups, writes the pod's limits, and removes
a pod's cgroups leaf-first (children the runtime left behind included) after its sandbox is gone.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any

from kybernetes.api.quantity import parse_quantity
from kybernetes.kubelet.cri.types import Resources

log = logging.getLogger(__name__)
Obj = dict[str, Any]

MIN_SHARES = 2
SHARES_PER_CPU = 1024
PERIOD = 100_000
MIN_QUOTA = 1000
GUARANTEED, BURSTABLE, BESTEFFORT = "Guaranteed", "Burstable", "BestEffort"
COMPUTE = ("cpu", "memory")


def _milli(value: Any) -> int:
    return parse_quantity(value).milli_value()


def _bytes(value: Any) -> int:
    return parse_quantity(value).int_value()


def qos_class(pod: Obj) -> str:
    """Upstream's GetPodQOS over init and regular containers (cpu and memory only)."""
    spec = pod.get("spec") or {}
    requests: dict[str, int] = {}
    limits: dict[str, int] = {}
    guaranteed = True
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        res = container.get("resources") or {}
        c_req = {k: _milli(v) for k, v in (res.get("requests") or {}).items() if k in COMPUTE and _milli(v) > 0}
        c_lim = {k: _milli(v) for k, v in (res.get("limits") or {}).items() if k in COMPUTE and _milli(v) > 0}
        for k, v in c_req.items():
            requests[k] = requests.get(k, 0) + v
        for k, v in c_lim.items():
            limits[k] = limits.get(k, 0) + v
        if set(c_lim) != set(COMPUTE):
            guaranteed = False
        if any(c_req.get(k, c_lim.get(k)) != c_lim.get(k) for k in COMPUTE):
            guaranteed = False
    if not requests and not limits:
        return BESTEFFORT
    return GUARANTEED if guaranteed else BURSTABLE


def milli_cpu_to_shares(milli: int) -> int:
    if milli == 0:
        return MIN_SHARES
    return max(MIN_SHARES, milli * SHARES_PER_CPU // 1000)


def milli_cpu_to_quota(milli: int, period: int = PERIOD) -> int:
    if milli == 0:
        return 0
    return max(MIN_QUOTA, milli * period // 1000)


def container_resources(container: Obj, qos: str, memory_capacity: int = 0) -> Resources:
    """The CRI ``LinuxContainerResources`` for a container (requests default to limits)."""
    res = container.get("resources") or {}
    limits = res.get("limits") or {}
    requests = res.get("requests") or {}
    cpu_request = _milli(requests.get("cpu", limits.get("cpu", 0)))
    cpu_limit = _milli(limits.get("cpu", 0))
    memory_limit = _bytes(limits.get("memory", 0))
    memory_request = _bytes(requests.get("memory", limits.get("memory", 0)))
    if qos == GUARANTEED:
        oom = -997
    elif qos == BESTEFFORT:
        oom = 1000
    else:
        oom = 1000 - (1000 * memory_request) // memory_capacity if memory_capacity else 999
        oom = min(999, max(2, oom))
    return Resources(cpu_period=PERIOD, cpu_quota=milli_cpu_to_quota(cpu_limit),
                     cpu_shares=milli_cpu_to_shares(cpu_request), memory_limit_in_bytes=memory_limit,
                     oom_score_adj=oom)


def pod_cgroup_name(uid: str, qos: str) -> str:
    """The pod cgroup relative to a hierarchy root, cgroupfs syntax with a leading slash."""
    if qos == GUARANTEED:
        return f"/kubepods/pod{uid}"
    return f"/kubepods/{qos.lower()}/pod{uid}"


def pod_limits(pod: Obj) -> dict[str, int]:
    """Pod-level cgroup values: ``cpu.shares`` always, ``cpu.cfs_quota_us`` / ``memory.limit_in_bytes`` only
    when every container has that limit (upstream's ResourceConfigForPod)."""
    containers = (pod.get("spec") or {}).get("containers") or []
    shares = 0
    quota = 0
    memory = 0
    all_cpu = bool(containers)
    all_memory = bool(containers)
    for container in containers:
        res = container.get("resources") or {}
        limits = res.get("limits") or {}
        requests = res.get("requests") or {}
        shares += _milli(requests.get("cpu", limits.get("cpu", 0)))
        if "cpu" in limits:
            quota += milli_cpu_to_quota(_milli(limits["cpu"]))
        else:
            all_cpu = False
        if "memory" in limits:
            memory += _bytes(limits["memory"])
        else:
            all_memory = False
    out = {"cpu.shares": milli_cpu_to_shares(shares)}
    if qos_class(pod) == BESTEFFORT:
        out["cpu.shares"] = MIN_SHARES
    if all_cpu and quota:
        out["cpu.cfs_period_us"] = PERIOD
        out["cpu.cfs_quota_us"] = quota
    if all_memory and memory:
        out["memory.limit_in_bytes"] = memory
    return out


class CgroupManager:
    """Creates and removes pod cgroups in every v1 hierarchy under ``root`` (``/sys/fs/cgroup``)."""

    def __init__(self, root: Path = Path("/sys/fs/cgroup")) -> None:
        self.root = root

    def hierarchies(self) -> list[Path]:
        """The v1 hierarchies (directories with ``cgroup.procs``), symlinked aliases (cpu → cpu,cpuacct)
        skipped; the unified (v2) mount included when present."""
        out: list[Path] = []
        if not self.root.is_dir():
            return out
        for entry in sorted(self.root.iterdir()):
            if entry.is_symlink() or not entry.is_dir():
                continue
            if (entry / "cgroup.procs").exists():
                out.append(entry)
        return out

    def ensure_pod(self, uid: str, qos: str, limits: dict[str, int]) -> str:
        """Create the QoS and pod cgroups, write ``limits`` where the files exist; returns the cgroup parent."""
        name = pod_cgroup_name(uid, qos)
        for hierarchy in self.hierarchies():
            path = hierarchy / name.lstrip("/")
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                log.warning("cgroup %s: %s", path, exc)
                continue
            for key, value in limits.items():
                target = path / key
                if target.exists():
                    try:
                        target.write_text(str(value))
                    except OSError as exc:
                        log.warning("cgroup %s=%s: %s", target, value, exc)
        return name

    def remove_pod(self, uid: str) -> None:
        """rmdir the pod cgroup of any QoS class, leaf-first, in every hierarchy (missing ones ignored)."""
        for hierarchy in self.hierarchies():
            for qos in (GUARANTEED, BURSTABLE, BESTEFFORT):
                top = hierarchy / pod_cgroup_name(uid, qos).lstrip("/")
                if not top.is_dir():
                    continue
                for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda t: -len(t[0])):
                    with contextlib.suppress(OSError):
                        os.rmdir(dirpath)
                if top.exists():
                    log.warning("cgroup %s still busy", top)

    def remove_qos(self) -> None:
        """rmdir the empty QoS cgroups (``kubepods/{besteffort,burstable}``, ``kubepods``) — for shutdown with
        cleanup and for tests; busy ones are left alone."""
        for hierarchy in self.hierarchies():
            for rel in ("kubepods/besteffort", "kubepods/burstable", "kubepods"):
                with contextlib.suppress(OSError):
                    os.rmdir(hierarchy / rel)

    def pod_cgroups(self) -> set[str]:
        """UIDs of pods with a cgroup in the first hierarchy (for orphan cleanup)."""
        out: set[str] = set()
        for hierarchy in self.hierarchies()[:1]:
            base = hierarchy / "kubepods"
            for parent in (base, base / "burstable", base / "besteffort"):
                if parent.is_dir():
                    out |= {p.name[3:] for p in parent.iterdir() if p.is_dir() and p.name.startswith("pod")}
        return out
