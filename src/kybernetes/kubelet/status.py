"""Pod status: the pure generator (upstream's generateAPIPodStatus) and the manager that patches ``pods/status``.

:func:`generate_status` turns the pod spec, the runtime view and the kubelet's per-container knowledge (probe
results, waiting reasons from the last sync, termination messages) into a ``status`` dict: phase, conditions,
container statuses (state, lastState, restartCount, image, imageID, containerID, started, ready), pod and host
IPs, startTime and qosClass.  :class:`StatusManager` sends it with a merge patch only when it changed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kybernetes.client.errors import ApiError, NotFoundError
from kybernetes.client.rest import Client, resource
from kybernetes.kubelet import labels as lb
from kybernetes.kubelet.cgroups import qos_class
from kybernetes.kubelet.cri.types import ContainerState, ContainerStatus
from kybernetes.kubelet.images import normalize_image
from kybernetes.kubelet.runtime import RuntimePod
from kybernetes.kubelet.stats import observe_pod_start

log = logging.getLogger(__name__)
Obj = dict[str, Any]
PODS = resource("", "v1", "pods")
RUNTIME_PREFIX = "containerd://"


def rfc3339(ns_or_s: float) -> str:
    seconds = ns_or_s / 1e9 if ns_or_s > 1e12 else ns_or_s
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class PodKnowledge:
    """What the kubelet knows about a pod besides the runtime: probe results and reasons from the last sync."""

    ready: dict[str, bool] = field(default_factory=dict)  # container name → readiness probe result
    started: dict[str, bool] = field(default_factory=dict)  # container name → startup probe passed
    waiting: dict[str, tuple[str, str]] = field(default_factory=dict)  # name → (reason, message)
    messages: dict[str, str] = field(default_factory=dict)  # container id → termination message
    pod_ip: str = ""
    pod_ips: list[str] = field(default_factory=list)
    sandbox_ready: bool = False
    terminating: bool = False


def _state(status: ContainerStatus, message: str) -> Obj:
    cid = RUNTIME_PREFIX + status.id
    if status.state == ContainerState.RUNNING:
        return {"running": {"startedAt": rfc3339(status.started_at)}}
    if status.state == ContainerState.EXITED:
        term: Obj = {"exitCode": status.exit_code, "reason": status.reason or ("Completed" if status.exit_code == 0
                                                                             else "Error"),
                     "startedAt": rfc3339(status.started_at) if status.started_at else None,
                     "finishedAt": rfc3339(status.finished_at) if status.finished_at else None,
                     "containerID": cid}
        if message or status.message:
            term["message"] = message or status.message
        return {"terminated": term}
    if status.state == ContainerState.CREATED:
        return {"waiting": {"reason": "ContainerCreating"}}
    return {"waiting": {"reason": "ContainerStatusUnknown",
                        "message": "The container could not be located when the pod was terminated"}}


def container_statuses(pod: Obj, rt: RuntimePod, know: PodKnowledge, *, init: bool,
                       initialized: bool) -> list[Obj]:
    spec = pod.get("spec") or {}
    out: list[Obj] = []
    for container in spec.get("initContainers" if init else "containers") or []:
        name = container.get("name", "")
        latest = rt.latest(name, init=init)
        previous = rt.previous(name)
        entry: Obj = {"name": name, "image": normalize_image(str(container.get("image", ""))), "imageID": "",
                      "ready": False, "restartCount": 0, "started": False, "state": {}, "lastState": {}}
        if latest is not None:
            entry["containerID"] = RUNTIME_PREFIX + latest.id
            if latest.image and not latest.image.startswith("sha256:"):
                entry["image"] = latest.image
            entry["imageID"] = latest.image_ref
            entry["restartCount"] = lb.restart_count(latest.annotations)
            entry["state"] = _state(latest, know.messages.get(latest.id, ""))
            if previous is not None and previous.state == ContainerState.EXITED:
                entry["lastState"] = _state(previous, know.messages.get(previous.id, ""))
            running = latest.state == ContainerState.RUNNING
            entry["started"] = running and know.started.get(name, True)
            entry["ready"] = running and entry["started"] and know.ready.get(name, True) and not know.terminating
            if init:
                entry["ready"] = latest.state == ContainerState.EXITED and latest.exit_code == 0
        waiting = know.waiting.get(name)
        if waiting and (latest is None or latest.state != ContainerState.RUNNING):
            if latest is not None and latest.state == ContainerState.EXITED:
                entry["lastState"] = entry["state"]
            entry["state"] = {"waiting": {"reason": waiting[0], **({"message": waiting[1]} if waiting[1] else {})}}
        elif latest is None:
            reason = "PodInitializing" if not init and not initialized else "ContainerCreating"
            if init and not know.sandbox_ready:
                reason = "PodInitializing"
            entry["state"] = {"waiting": {"reason": reason}}
        out.append(entry)
    return out


def _initialized(pod: Obj, init_statuses: list[Obj]) -> tuple[bool, list[str]]:
    pending = [s["name"] for s in init_statuses
               if (s["state"].get("terminated") or {}).get("exitCode", -1) != 0]
    return not pending, pending


def pod_phase(pod: Obj, init_statuses: list[Obj], statuses: list[Obj]) -> str:
    """Upstream getPhase."""
    spec = pod.get("spec") or {}
    policy = spec.get("restartPolicy", "Always")
    for s in init_statuses:
        term = s["state"].get("terminated")
        if term and term.get("exitCode") == 0:
            continue
        failed = (term and term.get("exitCode") != 0) or (s["state"].get("waiting") and s["lastState"].get(
            "terminated"))
        if failed and policy == "Never":
            return "Failed"
        return "Pending"
    running = waiting = stopped = succeeded = 0
    for s in statuses:
        state = s["state"]
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            if state["terminated"].get("exitCode") == 0:
                succeeded += 1
        elif "waiting" in state:
            if s["lastState"].get("terminated"):
                stopped += 1
            else:
                waiting += 1
    if waiting > 0:
        return "Pending"
    if running > 0:
        return "Running"
    if stopped > 0:
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        return "Running" if policy == "OnFailure" else "Failed"
    return "Pending"


def _condition(kind: str, ok: bool, reason: str = "", message: str = "") -> Obj:
    cond: Obj = {"type": kind, "status": "True" if ok else "False"}
    if not ok and reason:
        cond["reason"] = reason
    if not ok and message:
        cond["message"] = message
    return cond


def generate_status(pod: Obj, rt: RuntimePod, know: PodKnowledge, *, host_ip: str, now: float) -> Obj:
    """The pod's status as this kubelet sees it (conditions without times: the manager adds them)."""
    old = pod.get("status") or {}
    init_statuses = container_statuses(pod, rt, know, init=True, initialized=False)
    initialized, pending_init = _initialized(pod, init_statuses)
    statuses = container_statuses(pod, rt, know, init=False, initialized=initialized)
    phase = pod_phase(pod, init_statuses, statuses)
    unready = [s["name"] for s in statuses if not s["ready"]]
    conditions = [_condition("PodReadyToStartContainers", know.sandbox_ready)]
    conditions.append(_condition("Initialized", initialized, "ContainersNotInitialized",
                                 f"containers with incomplete status: [{' '.join(pending_init)}]"))
    if phase in ("Succeeded", "Failed"):
        conditions += [_condition("Ready", False, "PodCompleted"), _condition("ContainersReady", False,
                                                                                "PodCompleted")]
    else:
        message = f"containers with unready status: [{' '.join(unready)}]"
        gates = [g.get("conditionType") for g in (pod.get("spec") or {}).get("readinessGates") or []]
        old_conds = {c.get("type"): c.get("status") for c in old.get("conditions") or []}
        gates_ok = all(old_conds.get(g) == "True" for g in gates)
        ready_reason = "ContainersNotReady" if unready else "ReadinessGatesNotReady"
        conditions += [_condition("Ready", not unready and gates_ok, ready_reason, message),
                       _condition("ContainersReady", not unready, "ContainersNotReady", message)]
    for cond in old.get("conditions") or []:
        if cond.get("type") not in {c["type"] for c in conditions}:
            conditions.append(dict(cond))  # PodScheduled and readiness gates stay as they are
    status: Obj = {"phase": phase, "conditions": conditions, "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
                   "startTime": old.get("startTime") or rfc3339(now), "qosClass": qos_class(pod),
                   "containerStatuses": statuses}
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    pod_ip = know.pod_ip or old.get("podIP", "")
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": ip} for ip in (know.pod_ips or [pod_ip])]
    return status


def with_transition_times(new: Obj, old: Obj, now: float) -> Obj:
    """Copy each condition's ``lastTransitionTime`` from ``old`` when its status did not change."""
    before = {c.get("type"): c for c in old.get("conditions") or []}
    ts = rfc3339(now)
    for cond in new.get("conditions") or []:
        prev = before.get(cond["type"])
        if prev is not None and prev.get("status") == cond["status"] and prev.get("lastTransitionTime"):
            cond["lastTransitionTime"] = prev["lastTransitionTime"]
        else:
            cond.setdefault("lastTransitionTime", ts)
        cond.setdefault("lastProbeTime", None)
    return new


def _comparable(status: Obj) -> Obj:
    out = {k: v for k, v in status.items() if k not in ("conditions",)}
    out["conditions"] = sorted(((c.get("type"), c.get("status"), c.get("reason"), c.get("message"))
                                for c in status.get("conditions") or []), key=str)
    return out


class StatusManager:
    """Patches ``pods/status`` when the generated status differs from what the server (or our last patch) has."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._sent: dict[str, Obj] = {}  # uid → last status sent
        self.latest: dict[str, Obj] = {}  # uid → last generated status (also when not sent)

    def forget(self, uid: str) -> None:
        self._sent.pop(uid, None)
        self.latest.pop(uid, None)

    async def set_status(self, pod: Obj, status: Obj, now: float) -> bool:
        """Send ``status`` if it changed; True when a patch went out."""
        meta = pod.get("metadata") or {}
        uid = meta.get("uid", "")
        old = pod.get("status") or {}
        status = with_transition_times(status, self._sent.get(uid) or old, now)
        self.latest[uid] = status
        last = self._sent.get(uid)
        if last is not None and _comparable(last) == _comparable(status):
            return False
        if last is None and _comparable({**old, "conditions": old.get("conditions") or []}) == _comparable(status):
            self._sent[uid] = status
            return False
        try:
            await self.client.patch(PODS, meta.get("namespace", ""), meta.get("name", ""),
                                    {"status": status}, subresource="status")
        except NotFoundError:
            return False
        except ApiError as exc:
            log.warning("pod %s/%s: status patch failed: %s", meta.get("namespace"), meta.get("name"), exc)
            return False
        observe_pod_start(last or old, status, now)
        self._sent[uid] = status
        return True
