"""The Pod printer: Ready, Status (phase, container reasons, ``Init:…``, ``Terminating``), Restarts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kybernetes.api.tables.base import AGE, NAME, Column, Obj, created, printer, wide
from kybernetes.api.tables.format import as_int, dig, human_duration, parse_time, since

_NODE_LOST = "NodeLost"


def _pod_conditions(pod: Obj) -> list[Obj]:
    phase = dig(pod, "status", "phase")
    if phase == "Succeeded":
        return [
            {
                "type": "Completed",
                "status": "True",
                "reason": "Succeeded",
                "message": "The pod has completed successfully.",
            }
        ]
    if phase == "Failed":
        return [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]
    return []


def _condition_true(conditions: Any, ctype: str) -> bool:
    return any(
        isinstance(c, dict) and c.get("type") == ctype and c.get("status") == "True" for c in conditions or []
    )


def _later(current: datetime | None, candidate: Any) -> datetime | None:
    ts = parse_time(candidate)
    if ts is None:
        return current
    return ts if current is None or ts > current else current


def _terminated_reason(term: Obj, prefix: str) -> str:
    if term.get("reason"):
        return prefix + str(term["reason"])
    if as_int(term.get("signal")):
        return f"{prefix}Signal:{as_int(term.get('signal'))}"
    return f"{prefix}ExitCode:{as_int(term.get('exitCode'))}"


@printer(
    "",
    "Pod",
    NAME,
    Column("Ready", "string", "Ready containers out of all containers."),
    Column("Status", "string", "Summary of the pod's phase and container states."),
    Column("Restarts", "string", "Container restarts, and how long ago the last one was."),
    AGE,
    wide("IP", "The pod's first IP address."),
    wide("Node", "The node the pod is bound to."),
    wide("Nominated Node", "The node the scheduler nominated for preemption."),
    wide("Readiness Gates", "Readiness gates that are true out of all gates."),
    conditions=_pod_conditions,
)
def pod_row(pod: Obj, now: datetime) -> list[Any]:
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    phase = str(status.get("phase") or "")
    reason = str(status.get("reason") or phase)
    for cond in status.get("conditions") or []:
        if (
            isinstance(cond, dict)
            and cond.get("type") == "PodScheduled"
            and cond.get("reason") == "SchedulingGated"
        ):
            reason = "SchedulingGated"

    init_specs = {str(c.get("name")): c for c in spec.get("initContainers") or [] if isinstance(c, dict)}

    def restartable(name: Any) -> bool:
        return (init_specs.get(str(name)) or {}).get("restartPolicy") == "Always"

    total = len(spec.get("containers") or []) + sum(1 for n in init_specs if restartable(n))
    ready = 0
    restarts = sidecar_restarts = 0
    last_restart: datetime | None = None
    last_sidecar_restart: datetime | None = None

    initializing = False
    init_statuses = [s for s in status.get("initContainerStatuses") or [] if isinstance(s, dict)]
    for i, cs in enumerate(init_statuses):
        count = as_int(cs.get("restartCount"))
        restarts += count
        last_finish = dig(cs, "lastState", "terminated", "finishedAt")
        last_restart = _later(last_restart, last_finish)
        if restartable(cs.get("name")):
            sidecar_restarts += count
            last_sidecar_restart = _later(last_sidecar_restart, last_finish)
        state = cs.get("state") or {}
        term = state.get("terminated")
        waiting = state.get("waiting")
        if isinstance(term, dict) and as_int(term.get("exitCode")) == 0:
            continue
        if restartable(cs.get("name")) and cs.get("started") is True:
            if cs.get("ready"):
                ready += 1
            continue
        if isinstance(term, dict):
            reason = _terminated_reason(term, "Init:")
        elif (
            isinstance(waiting, dict) and waiting.get("reason") and waiting.get("reason") != "PodInitializing"
        ):
            reason = "Init:" + str(waiting["reason"])
        else:
            reason = f"Init:{i}/{len(spec.get('initContainers') or [])}"
        initializing = True
        break

    if not initializing or _condition_true(status.get("conditions"), "Initialized"):
        restarts, last_restart = sidecar_restarts, last_sidecar_restart
        has_running = False
        for cs in reversed([s for s in status.get("containerStatuses") or [] if isinstance(s, dict)]):
            restarts += as_int(cs.get("restartCount"))
            last_restart = _later(last_restart, dig(cs, "lastState", "terminated", "finishedAt"))
            state = cs.get("state") or {}
            waiting, term = state.get("waiting"), state.get("terminated")
            if isinstance(waiting, dict) and waiting.get("reason"):
                reason = str(waiting["reason"])
            elif isinstance(term, dict):
                reason = _terminated_reason(term, "")
            elif cs.get("ready") and isinstance(state.get("running"), dict):
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(status.get("conditions"), "Ready") else "NotReady"

    if dig(pod, "metadata", "deletionTimestamp") and status.get("reason") == _NODE_LOST:
        reason = "Unknown"
    elif dig(pod, "metadata", "deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    restarts_cell = str(restarts)
    if restarts and last_restart is not None:
        restarts_cell = f"{restarts} ({human_duration((now - last_restart).total_seconds())} ago)"

    pod_ip = str(dig(status, "podIPs", 0, "ip") or "") or "<none>"
    gates = [g for g in spec.get("readinessGates") or [] if isinstance(g, dict)]
    gates_cell = "<none>"
    if gates:
        conds: dict[Any, Any] = {}
        for c in status.get("conditions") or []:
            if isinstance(c, dict):
                conds.setdefault(c.get("type"), c.get("status"))
        true = sum(1 for g in gates if conds.get(g.get("conditionType")) == "True")
        gates_cell = f"{true}/{len(gates)}"
    return [
        str((pod.get("metadata") or {}).get("name") or ""),
        f"{ready}/{total}",
        reason,
        restarts_cell,
        since(created(pod), now),
        pod_ip,
        str(spec.get("nodeName") or "") or "<none>",
        str(status.get("nominatedNodeName") or "") or "<none>",
        gates_cell,
    ]
