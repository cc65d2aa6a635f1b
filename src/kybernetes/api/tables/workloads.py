"""Printers for apps/v1, batch/v1 and autoscaling kinds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kybernetes.api.errors import StatusError
from kybernetes.api.selectors import format_label_selector, format_labels, selector_string
from kybernetes.api.tables.base import (
    AGE,
    CONTAINERS,
    IMAGES,
    NAME,
    SELECTOR,
    Column,
    Obj,
    created,
    deleting,
    name_of,
    printer,
)
from kybernetes.api.tables.format import (
    as_int,
    as_str,
    containers_cells,
    dig,
    human_duration,
    parse_time,
    since,
)


def _template_containers(obj: Obj, *prefix: str) -> tuple[str, str]:
    return containers_cells(dig(obj, *prefix, "template", "spec", "containers"))


def _replicas(spec: Obj) -> int:
    value = spec.get("replicas")
    return 1 if value is None else as_int(value)


@printer(
    "apps",
    "Deployment",
    NAME,
    Column("Ready", "string", "Ready replicas out of desired replicas."),
    Column("Up-to-date", "string", "Replicas running the latest pod template."),
    Column("Available", "string", "Replicas available to serve."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
)
def deployment_row(d: Obj, now: datetime) -> list[Any]:
    spec = d.get("spec") or {}
    status = d.get("status") or {}
    try:
        selector = selector_string(spec.get("selector"))
    except StatusError:
        selector = "<invalid>"
    names, images = _template_containers(d, "spec")
    return [
        name_of(d),
        f"{as_int(status.get('readyReplicas'))}/{_replicas(spec)}",
        as_int(status.get("updatedReplicas")),
        as_int(status.get("availableReplicas")),
        since(created(d), now),
        names,
        images,
        selector,
    ]


@printer(
    "apps",
    "ReplicaSet",
    NAME,
    Column("Desired", "integer", "Desired number of replicas."),
    Column("Current", "integer", "Observed number of replicas."),
    Column("Ready", "integer", "Number of ready replicas."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
)
def replicaset_row(rs: Obj, now: datetime) -> list[Any]:
    spec = rs.get("spec") or {}
    status = rs.get("status") or {}
    names, images = _template_containers(rs, "spec")
    return [
        name_of(rs),
        _replicas(spec),
        as_int(status.get("replicas")),
        as_int(status.get("readyReplicas")),
        since(created(rs), now),
        names,
        images,
        format_label_selector(spec.get("selector")),
    ]


@printer(
    "apps",
    "DaemonSet",
    NAME,
    Column("Desired", "integer", "Nodes that should run the daemon pod."),
    Column("Current", "integer", "Nodes running the daemon pod."),
    Column("Ready", "integer", "Nodes with a ready daemon pod."),
    Column("Up-to-date", "integer", "Nodes running the latest daemon pod."),
    Column("Available", "integer", "Nodes with an available daemon pod."),
    Column("Node Selector", "string", "The pod template's node selector."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
)
def daemonset_row(ds: Obj, now: datetime) -> list[Any]:
    status = ds.get("status") or {}
    names, images = _template_containers(ds, "spec")
    return [
        name_of(ds),
        as_int(status.get("desiredNumberScheduled")),
        as_int(status.get("currentNumberScheduled")),
        as_int(status.get("numberReady")),
        as_int(status.get("updatedNumberScheduled")),
        as_int(status.get("numberAvailable")),
        format_labels(dig(ds, "spec", "template", "spec", "nodeSelector")),
        since(created(ds), now),
        names,
        images,
        format_label_selector(dig(ds, "spec", "selector")),
    ]


@printer(
    "apps",
    "StatefulSet",
    NAME,
    Column("Ready", "string", "Ready replicas out of desired replicas."),
    AGE,
    CONTAINERS,
    IMAGES,
)
def statefulset_row(sts: Obj, now: datetime) -> list[Any]:
    names, images = _template_containers(sts, "spec")
    ready = as_int(dig(sts, "status", "readyReplicas"))
    return [
        name_of(sts),
        f"{ready}/{_replicas(sts.get('spec') or {})}",
        since(created(sts), now),
        names,
        images,
    ]


def _controller_of(obj: Obj) -> Obj | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller") is True:
            return ref
    return None


@printer(
    "apps",
    "ControllerRevision",
    NAME,
    Column("Controller", "string", "The object that owns this revision."),
    Column("Revision", "string", "The revision number."),
    AGE,
)
def controllerrevision_row(cr: Obj, now: datetime) -> list[Any]:
    ref = _controller_of(cr)
    controller = "<none>"
    if ref is not None:
        group = as_str(ref.get("apiVersion")).rpartition("/")[0]
        kind = as_str(ref.get("kind"))
        qualified = f"{kind}.{group}" if group else kind
        controller = (
            f"{qualified.lower()}/{as_str(ref.get('name'))}" if qualified else as_str(ref.get("name"))
        )
    return [name_of(cr), controller, as_int(cr.get("revision")), since(created(cr), now)]


def _condition_true(obj: Obj, ctype: str) -> bool:
    for cond in dig(obj, "status", "conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == ctype:
            return cond.get("status") == "True"
    return False


def job_status(job: Obj) -> str:
    """Complete, Failed, Terminating, Suspended, FailureTarget or Running (upstream's precedence)."""
    if _condition_true(job, "Complete"):
        return "Complete"
    if _condition_true(job, "Failed"):
        return "Failed"
    if deleting(job):
        return "Terminating"
    if _condition_true(job, "Suspended"):
        return "Suspended"
    if _condition_true(job, "FailureTarget"):
        return "FailureTarget"
    return "Running"


@printer(
    "batch",
    "Job",
    NAME,
    Column("Status", "string", "The job's state."),
    Column("Completions", "string", "Succeeded pods out of required completions."),
    Column("Duration", "string", "How long the job ran, or has been running."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
)
def job_row(job: Obj, now: datetime) -> list[Any]:
    spec = job.get("spec") or {}
    status = job.get("status") or {}
    succeeded = as_int(status.get("succeeded"))
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{as_int(spec['completions'])}"
    elif as_int(spec.get("parallelism")) > 1:
        completions = f"{succeeded}/1 of {as_int(spec['parallelism'])}"
    else:
        completions = f"{succeeded}/1"
    start, end = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    duration = ""
    if start is not None:
        duration = human_duration(((end or now) - start).total_seconds())
    names, images = _template_containers(job, "spec")
    return [
        name_of(job),
        job_status(job),
        completions,
        duration,
        since(created(job), now),
        names,
        images,
        format_label_selector(spec.get("selector")),
    ]


@printer(
    "batch",
    "CronJob",
    NAME,
    Column("Schedule", "string", "The cron schedule."),
    Column("Timezone", "string", "The time zone the schedule is interpreted in."),
    Column("Suspend", "boolean", "Whether new runs are suspended."),
    Column("Active", "integer", "Number of running jobs."),
    Column("Last Schedule", "string", "When a job was last scheduled."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
)
def cronjob_row(cj: Obj, now: datetime) -> list[Any]:
    spec = cj.get("spec") or {}
    status = cj.get("status") or {}
    last = "<none>"
    if status.get("lastScheduleTime") is not None:
        last = since(status["lastScheduleTime"], now)
    names, images = containers_cells(dig(spec, "jobTemplate", "spec", "template", "spec", "containers"))
    return [
        name_of(cj),
        as_str(spec.get("schedule")),
        as_str(spec.get("timeZone")) or "<none>",
        _bool_ptr(spec.get("suspend")),
        len(status.get("active") or []),
        last,
        since(created(cj), now),
        names,
        images,
        format_label_selector(dig(spec, "jobTemplate", "spec", "selector")),
    ]


def _current(statuses: list[Any], i: int, key: str) -> Obj | None:
    if i < len(statuses) and isinstance(statuses[i], dict) and isinstance(statuses[i].get(key), dict):
        return dict(statuses[i][key])
    return None


def _resource_metric(name: str, src: Obj, status: Obj | None) -> str:
    target = src.get("target") or {}
    if target.get("averageValue") is not None:
        current = "<unknown>"
        if status is not None:
            current = as_str(dig(status, "current", "averageValue")) or "0"
        return f"{name}: {current}/{as_str(target['averageValue'])}"
    current = "<unknown>"
    if status is not None and dig(status, "current", "averageUtilization") is not None:
        current = f"{as_int(dig(status, 'current', 'averageUtilization'))}%"
    want = "<auto>"
    if target.get("averageUtilization") is not None:
        want = f"{as_int(target['averageUtilization'])}%"
    return f"{name}: {current}/{want}"


def _value_metric(src: Obj, status: Obj | None, value_key: str) -> str:
    target = src.get("target") or {}
    if target.get("averageValue") is not None:
        current = "<unknown>"
        if status is not None and dig(status, "current", "averageValue") is not None:
            current = as_str(dig(status, "current", "averageValue"))
        return f"{current}/{as_str(target['averageValue'])} (avg)"
    current = "<unknown>"
    if status is not None:
        current = as_str(dig(status, "current", value_key)) or "0"
    return f"{current}/{as_str(target.get(value_key)) or '0'}"


def hpa_targets(spec_metrics: Any, status_metrics: Any) -> str:
    """``formatHPAMetrics`` over autoscaling/v2 fields: ``cpu: 12%/80%``; two at most, ``+ N more...``."""
    specs = [m for m in spec_metrics or [] if isinstance(m, dict)]
    if not specs:
        return "<none>"
    statuses = list(status_metrics or [])
    items: list[str] = []
    for i, m in enumerate(specs):
        mtype = m.get("type")
        if mtype == "External" and isinstance(m.get("external"), dict):
            items.append(_value_metric(m["external"], _current(statuses, i, "external"), "value"))
        elif mtype == "Pods" and isinstance(m.get("pods"), dict):
            st = _current(statuses, i, "pods")
            current = "<unknown>" if st is None else (as_str(dig(st, "current", "averageValue")) or "0")
            items.append(f"{current}/{as_str(dig(m, 'pods', 'target', 'averageValue')) or '0'}")
        elif mtype == "Object" and isinstance(m.get("object"), dict):
            items.append(_value_metric(m["object"], _current(statuses, i, "object"), "value"))
        elif mtype == "Resource" and isinstance(m.get("resource"), dict):
            items.append(
                _resource_metric(
                    as_str(m["resource"].get("name")), m["resource"], _current(statuses, i, "resource")
                )
            )
        elif mtype == "ContainerResource" and isinstance(m.get("containerResource"), dict):
            items.append(
                _resource_metric(
                    as_str(m["containerResource"].get("name")),
                    m["containerResource"],
                    _current(statuses, i, "containerResource"),
                )
            )
        else:
            items.append("<unknown type>")
    if len(items) > 2:
        return ", ".join(items[:2]) + f" + {len(items) - 2} more..."
    return ", ".join(items)


@printer(
    "autoscaling",
    "HorizontalPodAutoscaler",
    NAME,
    Column("Reference", "string", "The scaled object, as Kind/name."),
    Column("Targets", "string", "Current and target values of each metric."),
    Column("MinPods", "string", "Lower replica limit."),
    Column("MaxPods", "string", "Upper replica limit."),
    Column("Replicas", "string", "Current number of replicas."),
    AGE,
)
def hpa_row(hpa: Obj, now: datetime) -> list[Any]:
    """Prints the autoscaling/v2 form (the stored one); callers convert v1 objects first."""
    spec = hpa.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    min_pods = "<unset>" if spec.get("minReplicas") is None else str(as_int(spec["minReplicas"]))
    return [
        name_of(hpa),
        f"{as_str(ref.get('kind'))}/{as_str(ref.get('name'))}",
        hpa_targets(spec.get("metrics"), dig(hpa, "status", "currentMetrics")),
        min_pods,
        as_int(spec.get("maxReplicas")),
        as_int(dig(hpa, "status", "currentReplicas")),
        since(created(hpa), now),
    ]


def _bool_ptr(value: object) -> str:
    """Upstream's printBoolPtr: ``True``/``False``, ``<unset>`` when absent."""
    if value is None:
        return "<unset>"
    return "True" if value else "False"
