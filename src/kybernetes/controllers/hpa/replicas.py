"""The HPA replica calculation for Resource metrics (upstream's ``replica_calculator.go``), pure.

Inputs are the target's pods, per-pod metric values in milli-units (``{pod name: PodMetric}``, as summed from
PodMetrics containers) and the current replica count; the outputs are the proposed replica count plus the current
utilization (percent of requests) and the raw average value, exactly as upstream computes them:

* pods being deleted or Failed are ignored; Pending pods count as unready; pods without a metric are missing;
  for CPU, a pod is unready when it has no Ready condition or start time, or — within ``cpu_initialization_period``
  of its start — is not Ready or its sample predates one window after its last readiness transition, or — later —
  is not Ready and never became ready (its readiness went False within ``delay_of_initial_readiness`` of start);
* a ratio within ``tolerance`` (0.1) of 1 keeps the current count; missing pods count as using 100 % of their
  request (or the target, if higher) on a scale down and 0 % on a scale up; unready pods count as 0 % on a scale up;
  a recomputation that would change the scale direction keeps the current count.

Errors are :class:`MetricsError` with upstream's messages.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from kybernetes.api.quantity import parse_quantity

Obj = dict[str, Any]
DEFAULT_TOLERANCE = 0.1
CPU_INITIALIZATION_PERIOD = 300.0
DELAY_OF_INITIAL_READINESS = 30.0


class MetricsError(Exception):
    """A replica count cannot be computed; ``str()`` is upstream's message."""


@dataclass(frozen=True)
class PodMetric:
    value: int  # milli-units (milli-cores for cpu, milli-bytes for memory), as upstream's MilliValue()
    timestamp: float = 0.0  # epoch seconds of the sample
    window: float = 15.0  # seconds


@dataclass(frozen=True)
class Result:
    replicas: int
    utilization: int  # percent of request (Utilization targets) or the average value in milli-units
    raw_average: int  # average value in milli-units (Utilization targets only; 0 otherwise)
    timestamp: float


def parse_time(value: Any) -> float | None:
    if not value:
        return None
    try:
        return dt.datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp()
    except ValueError:
        return None


def _ready_condition(pod: Obj) -> Obj | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return dict(cond)
    return None


def group_pods(pods: list[Obj], metrics: dict[str, PodMetric], resource: str, now: float,
               cpu_initialization_period: float = CPU_INITIALIZATION_PERIOD,
               delay_of_initial_readiness: float = DELAY_OF_INITIAL_READINESS,
               ) -> tuple[int, set[str], set[str], set[str]]:
    """(ready count, unready, missing, ignored) pod names, as upstream's ``groupPods``."""
    ready = 0
    unready: set[str] = set()
    missing: set[str] = set()
    ignored: set[str] = set()
    for pod in pods:
        meta = pod.get("metadata") or {}
        name = str(meta.get("name", ""))
        phase = (pod.get("status") or {}).get("phase")
        if meta.get("deletionTimestamp") or phase == "Failed":
            ignored.add(name)
            continue
        if phase == "Pending":
            unready.add(name)
            continue
        metric = metrics.get(name)
        if metric is None:
            missing.add(name)
            continue
        if resource == "cpu":
            cond = _ready_condition(pod)
            start = parse_time((pod.get("status") or {}).get("startTime"))
            if cond is None or start is None:
                is_unready = True
            else:
                transition = parse_time(cond.get("lastTransitionTime")) or 0.0
                if start + cpu_initialization_period > now:
                    is_unready = cond.get("status") == "False" or metric.timestamp < transition + metric.window
                else:
                    is_unready = cond.get("status") == "False" and start + delay_of_initial_readiness > transition
            if is_unready:
                unready.add(name)
                continue
        ready += 1
    return ready, unready, missing, ignored


def pod_requests(pods: list[Obj], resource: str, container: str = "") -> dict[str, int]:
    """Milli-unit requests per pod (of one container when ``container`` is set); a container without a request
    is an error: ``missing request for cpu in container C of Pod P``."""
    out: dict[str, int] = {}
    for pod in pods:
        name = str((pod.get("metadata") or {}).get("name", ""))
        total = 0
        found = False
        for c in (pod.get("spec") or {}).get("containers") or []:
            if container and c.get("name") != container:
                continue
            found = True
            request = ((c.get("resources") or {}).get("requests") or {}).get(resource)
            if request is None:
                raise MetricsError(f"missing request for {resource} in container {c.get('name')} of Pod {name}")
            total += parse_quantity(request).milli_value()
        if container and not found:
            raise MetricsError(f"container {container} not present in pod {name}")
        out[name] = total
    return out


def utilization_ratio(metrics: dict[str, PodMetric], requests: dict[str, int],
                      target_utilization: int) -> tuple[float, int, int]:
    """(usage ratio, utilization %, raw average milli-value), as upstream's ``GetResourceUtilizationRatio``."""
    metrics_total = requests_total = entries = 0
    for name, metric in metrics.items():
        if name not in requests:
            continue
        metrics_total += metric.value
        requests_total += requests[name]
        entries += 1
    if requests_total == 0:
        raise MetricsError("no metrics returned matched known pods")
    utilization = int(metrics_total * 100 / requests_total)
    return utilization / target_utilization, utilization, metrics_total // entries


def usage_ratio(metrics: dict[str, PodMetric], target_usage: int) -> tuple[float, int]:
    """(usage ratio, average milli-value), as upstream's ``GetMetricUsageRatio``."""
    total = sum(m.value for m in metrics.values())
    average = total // len(metrics)
    return average / target_usage, average


def _latest(metrics: dict[str, PodMetric]) -> float:
    return min((m.timestamp for m in metrics.values()), default=0.0)


def resource_replicas(current_replicas: int, target_utilization: int, resource: str, pods: list[Obj],
                      metrics: dict[str, PodMetric], now: float, *, container: str = "",
                      tolerance: float = DEFAULT_TOLERANCE,
                      cpu_initialization_period: float = CPU_INITIALIZATION_PERIOD,
                      delay_of_initial_readiness: float = DELAY_OF_INITIAL_READINESS) -> Result:
    """Replicas for a Utilization target (``GetResourceReplicas``)."""
    if not metrics:
        raise MetricsError(f"unable to get metrics for resource {resource}: no metrics returned from resource "
                           f"metrics API")
    if not pods:
        raise MetricsError("no pods returned by selector while calculating replica count")
    metrics = dict(metrics)
    ready, unready, missing, ignored = group_pods(pods, metrics, resource, now, cpu_initialization_period,
                                                  delay_of_initial_readiness)
    for name in ignored | unready:
        metrics.pop(name, None)
    if not metrics:
        raise MetricsError("did not receive metrics for targeted pods (pods might be unready)")
    requests = pod_requests(pods, resource, container)
    ratio, utilization, raw = utilization_ratio(metrics, requests, target_utilization)
    timestamp = _latest(metrics)
    scale_up_with_unready = bool(unready) and ratio > 1.0
    if not scale_up_with_unready and not missing:
        if abs(1.0 - ratio) <= tolerance:
            return Result(current_replicas, utilization, raw, timestamp)
        return Result(math.ceil(ratio * ready), utilization, raw, timestamp)
    if missing:
        if ratio < 1.0:
            fallback = max(100, target_utilization)
            for name in missing:
                metrics[name] = PodMetric(requests.get(name, 0) * fallback // 100)
        elif ratio > 1.0:
            for name in missing:
                metrics[name] = PodMetric(0)
    if scale_up_with_unready:
        for name in unready:
            metrics[name] = PodMetric(0)
    new_ratio, _, _ = utilization_ratio(metrics, requests, target_utilization)
    if abs(1.0 - new_ratio) <= tolerance or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return Result(current_replicas, utilization, raw, timestamp)
    new_replicas = math.ceil(new_ratio * len(metrics))
    if (new_ratio < 1.0 and new_replicas > current_replicas) or (new_ratio > 1.0 and new_replicas < current_replicas):
        return Result(current_replicas, utilization, raw, timestamp)
    return Result(new_replicas, utilization, raw, timestamp)


def raw_resource_replicas(current_replicas: int, target_average: int, resource: str, pods: list[Obj],
                          metrics: dict[str, PodMetric], now: float, *, tolerance: float = DEFAULT_TOLERANCE,
                          cpu_initialization_period: float = CPU_INITIALIZATION_PERIOD,
                          delay_of_initial_readiness: float = DELAY_OF_INITIAL_READINESS) -> Result:
    """Replicas for an AverageValue target in milli-units (``GetRawResourceReplicas``); ``utilization`` of the
    result is the average value."""
    if not metrics:
        raise MetricsError(f"unable to get metrics for resource {resource}: no metrics returned from resource "
                           f"metrics API")
    if not pods:
        raise MetricsError("no pods returned by selector while calculating replica count")
    metrics = dict(metrics)
    ready, unready, missing, ignored = group_pods(pods, metrics, resource, now, cpu_initialization_period,
                                                  delay_of_initial_readiness)
    for name in ignored | unready:
        metrics.pop(name, None)
    if not metrics:
        raise MetricsError("did not receive metrics for targeted pods (pods might be unready)")
    timestamp = _latest(metrics)
    ratio, average = usage_ratio(metrics, target_average)
    scale_up_with_unready = bool(unready) and ratio > 1.0
    if not scale_up_with_unready and not missing:
        if abs(1.0 - ratio) <= tolerance:
            return Result(current_replicas, average, 0, timestamp)
        return Result(math.ceil(ratio * ready), average, 0, timestamp)
    if missing and ratio != 1.0:
        for name in missing:
            metrics[name] = PodMetric(target_average if ratio < 1.0 else 0)
    if scale_up_with_unready:
        for name in unready:
            metrics[name] = PodMetric(0)
    new_ratio, _ = usage_ratio(metrics, target_average)
    if abs(1.0 - new_ratio) <= tolerance or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return Result(current_replicas, average, 0, timestamp)
    new_replicas = math.ceil(new_ratio * len(metrics))
    if (new_ratio < 1.0 and new_replicas > current_replicas) or (new_ratio > 1.0 and new_replicas < current_replicas):
        return Result(current_replicas, average, 0, timestamp)
    return Result(new_replicas, average, 0, timestamp)
