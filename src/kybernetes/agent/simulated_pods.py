"""Pure decisions of a simulated kubelet about its pods: QoS class, pod IPs, and the status of each phase.

Nothing here does I/O.  :func:`decide` says what a simulated node does next with a pod (start it, finish it,
confirm its deletion, or wait), :func:`running_status` / :func:`terminated_status` build the ``status`` a real
kubelet would report (upstream condition types, reasons and container states), and :class:`PodIPAllocator`
hands out addresses from a node's pod CIDR.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from kybernetes.api.quantity import Quantity, QuantityError, parse_quantity

Obj = dict[str, Any]

DURATION_ANNOTATION = "kybernetes.io/simulate-duration"
EXIT_CODE_ANNOTATION = "kybernetes.io/simulate-exit-code"
DEFAULT_COMPLETE_AFTER = 5.0
RUNTIME = "kyb-sim"

_QOS_RESOURCES = ("cpu", "memory")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def rfc3339(ts: float) -> str:
    return _rfc3339_second(int(ts // 1))


@functools.lru_cache(maxsize=64)
def _rfc3339_second(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# -- QoS -------------------------------------------------------------------------------------------------------

def _quantity(value: Any) -> Quantity | None:
    try:
        return parse_quantity(value)
    except QuantityError:
        return None


def qos_class(pod: Obj) -> str:
    """BestEffort, Burstable or Guaranteed, computed like upstream's ``GetPodQOS`` (cpu and memory only)."""
    spec = pod.get("spec") or {}
    requests: dict[str, Quantity] = {}
    limits: dict[str, Quantity] = {}
    guaranteed = True
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        resources = container.get("resources") or {}
        for name, raw in (resources.get("requests") or {}).items():
            q = _quantity(raw)
            if name in _QOS_RESOURCES and q is not None and q.value != 0:
                requests[name] = requests[name].add(q) if name in requests else q
        found: set[str] = set()
        for name, raw in (resources.get("limits") or {}).items():
            q = _quantity(raw)
            if name in _QOS_RESOURCES and q is not None and q.value != 0:
                found.add(name)
                limits[name] = limits[name].add(q) if name in limits else q
        if not found.issuperset(_QOS_RESOURCES):
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed:
        for name, req in requests.items():
            lim = limits.get(name)
            if lim is None or lim.cmp(req) != 0:
                guaranteed = False
                break
    if guaranteed and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


# -- simulation knobs -------------------------------------------------------------------------------------------

def parse_duration(text: str) -> float | None:
    """Seconds in a Go-style duration (``"2s"``, ``"1m30s"``, ``"500ms"``) or a bare number; None if invalid."""
    text = text.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return total if pos == len(text) and text else None


def run_duration(pod: Obj, default: float) -> float:
    """How long a Never/OnFailure pod runs before it finishes (annotation override, else ``default``)."""
    raw = ((pod.get("metadata") or {}).get("annotations") or {}).get(DURATION_ANNOTATION)
    parsed = parse_duration(str(raw)) if raw is not None else None
    return default if parsed is None else parsed


def exit_code(pod: Obj) -> int:
    raw = ((pod.get("metadata") or {}).get("annotations") or {}).get(EXIT_CODE_ANNOTATION)
    try:
        return int(str(raw)) if raw is not None else 0
    except ValueError:
        return 0


def finishes(pod: Obj) -> bool:
    """Pods whose containers exit by themselves: restartPolicy Never or OnFailure."""
    return (pod.get("spec") or {}).get("restartPolicy", "Always") in ("Never", "OnFailure")


# -- what to do next -------------------------------------------------------------------------------------------

class Step(Enum):
    NOTHING = "nothing"      # terminal, or not ours to act on
    START = "start"          # report the pod Running
    WAIT = "wait"            # running; look again after ``Decision.after`` seconds
    FINISH = "finish"        # report the pod Succeeded/Failed
    DELETE = "delete"        # deletionTimestamp set: stop containers, confirm with a grace-0 DELETE


@dataclass(frozen=True)
class Decision:
    step: Step
    after: float = 0.0


def decide(pod: Obj, *, started_at: float | None, now: float, complete_after: float) -> Decision:
    """The next step for ``pod`` on a live simulated node.

    ``started_at`` is when this agent reported the pod Running (None if it did not, or forgot after a restart: then
    a Running pod's ``status.startTime`` stands in for it).  A Running pod that is not Ready (the node lifecycle
    controller marked it while the node was unreachable) is reported again.
    """
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    if meta.get("deletionTimestamp"):
        return Decision(Step.DELETE)
    if phase in ("Succeeded", "Failed"):
        return Decision(Step.NOTHING)
    ready = next((c.get("status") for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    if phase == "Running" and ready != "True":
        return Decision(Step.START)  # marked not ready while this node was away: report it again
    if started_at is None:
        if phase != "Running" or not status.get("containerStatuses"):
            return Decision(Step.START)
        started_at = parse_rfc3339(status.get("startTime")) or now
    if not finishes(pod):
        return Decision(Step.NOTHING)
    remaining = started_at + run_duration(pod, complete_after) - now
    if remaining > 0:
        return Decision(Step.WAIT, remaining)
    return Decision(Step.FINISH)


# -- statuses --------------------------------------------------------------------------------------------------

def container_id(pod: Obj, name: str) -> str:
    uid = (pod.get("metadata") or {}).get("uid", "")
    return f"{RUNTIME}://" + hashlib.sha256(f"{uid}/{name}".encode()).hexdigest()


@functools.lru_cache(maxsize=1024)
def image_ref(image: str) -> tuple[str, str]:
    """(image, imageID) as a container runtime reports them: a fully qualified name and a digest reference."""
    name = image.split("@", 1)[0]
    repo = name
    last = repo.rsplit("/", 1)[-1]
    if ":" in last:
        repo = repo[: len(repo) - len(last)] + last.split(":", 1)[0]
    else:
        name = f"{name}:latest"
    first = repo.split("/", 1)[0]
    if "/" not in repo:
        repo, name = f"docker.io/library/{repo}", f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        repo, name = f"docker.io/{repo}", f"docker.io/{name}"
    digest = hashlib.sha256(repo.encode()).hexdigest()
    return name, f"{repo}@sha256:{digest}"


def _condition(kind: str, value: str, now: str, old: Obj | None, reason: str = "") -> Obj:
    """A pod condition keeping ``lastTransitionTime`` when the status did not change."""
    same = old is not None and old.get("status") == value
    cond: Obj = {"type": kind, "status": value, "lastProbeTime": None,
                 "lastTransitionTime": old.get("lastTransitionTime") if same and old else now}
    if reason:
        cond["reason"] = reason
    return cond


def _old_conditions(pod: Obj) -> dict[str, Obj]:
    return {c.get("type", ""): c for c in (pod.get("status") or {}).get("conditions") or []}


def _init_statuses(pod: Obj, started: str) -> list[Obj]:
    out = []
    for c in (pod.get("spec") or {}).get("initContainers") or []:
        image, image_id = image_ref(str(c.get("image", "")))
        out.append({"name": c.get("name", ""), "ready": True, "restartCount": 0, "started": False,
                    "image": image, "imageID": image_id, "containerID": container_id(pod, c.get("name", "")),
                    "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started,
                                             "finishedAt": started,
                                             "containerID": container_id(pod, c.get("name", ""))}}})
    return out


def running_status(pod: Obj, *, host_ip: str, pod_ip: str, now: float) -> Obj:
    """The status a kubelet reports once every container of ``pod`` started (phase Running, Ready)."""
    ts = rfc3339(now)
    old = _old_conditions(pod)
    containers = []
    for c in (pod.get("spec") or {}).get("containers") or []:
        image, image_id = image_ref(str(c.get("image", "")))
        containers.append({"name": c.get("name", ""), "ready": True, "restartCount": 0, "started": True,
                           "image": image, "imageID": image_id, "containerID": container_id(pod, c.get("name", "")),
                           "state": {"running": {"startedAt": ts}}, "lastState": {}})
    status: Obj = {
        "phase": "Running",
        "conditions": [
            _condition("PodReadyToStartContainers", "True", ts, old.get("PodReadyToStartContainers")),
            _condition("Initialized", "True", ts, old.get("Initialized")),
            _condition("Ready", "True", ts, old.get("Ready")),
            _condition("ContainersReady", "True", ts, old.get("ContainersReady")),
            _condition("PodScheduled", "True", ts, old.get("PodScheduled")),
        ],
        "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
        "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
        "startTime": (pod.get("status") or {}).get("startTime") or ts,
        "containerStatuses": containers,
        "qosClass": qos_class(pod),
    }
    inits = _init_statuses(pod, ts)
    if inits:
        status["initContainerStatuses"] = inits
    return status


def terminated_status(pod: Obj, *, code: int, now: float, started_at: float | None) -> Obj:
    """The status after every container exited with ``code`` (0 → Succeeded/Completed, else Failed/Error)."""
    ts = rfc3339(now)
    started = rfc3339(started_at) if started_at is not None else ts
    old = _old_conditions(pod)
    reason = "Completed" if code == 0 else "Error"
    containers = []
    for c in (pod.get("spec") or {}).get("containers") or []:
        image, image_id = image_ref(str(c.get("image", "")))
        cid = container_id(pod, c.get("name", ""))
        containers.append({"name": c.get("name", ""), "ready": False, "restartCount": 0, "started": False,
                           "image": image, "imageID": image_id, "containerID": cid, "lastState": {},
                           "state": {"terminated": {"exitCode": code, "reason": reason, "startedAt": started,
                                                    "finishedAt": ts, "containerID": cid}}})
    status: Obj = {
        "phase": "Succeeded" if code == 0 else "Failed",
        "conditions": [
            _condition("PodReadyToStartContainers", "False", ts, old.get("PodReadyToStartContainers")),
            _condition("Initialized", "True", ts, old.get("Initialized")),
            _condition("Ready", "False", ts, old.get("Ready"), "PodCompleted" if code == 0 else "PodFailed"),
            _condition("ContainersReady", "False", ts, old.get("ContainersReady"),
                       "PodCompleted" if code == 0 else "PodFailed"),
            _condition("PodScheduled", "True", ts, old.get("PodScheduled")),
        ],
        "containerStatuses": containers,
    }
    return status


# -- pod IPs ---------------------------------------------------------------------------------------------------

class PodIPAllocator:
    """Addresses for one node's pods: hosts of ``cidr`` from .2 on (.1 is the bridge), lowest free first."""

    def __init__(self, cidr: str) -> None:
        self.network = ipaddress.ip_network(cidr, strict=False)
        self._used: set[int] = set()
        self._first = int(self.network.network_address) + 2
        self._last = int(self.network.broadcast_address) - 1

    def reserve(self, ip: str) -> None:
        """Mark an address already in use (pods found when the agent starts)."""
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return
        if addr in self.network:
            self._used.add(int(addr))

    def allocate(self) -> str | None:
        for value in range(self._first, self._last + 1):
            if value not in self._used:
                self._used.add(value)
                return str(ipaddress.ip_address(value))
        return None

    def release(self, ip: str) -> None:
        with contextlib.suppress(ValueError):
            self._used.discard(int(ipaddress.ip_address(ip)))

    def __len__(self) -> int:
        return len(self._used)
