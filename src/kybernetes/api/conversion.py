"""Conversion between served versions that share one stored object.

* ``autoscaling/v1`` ↔ ``autoscaling/v2`` HorizontalPodAutoscaler.  v1 only has a CPU utilization target; what
  v1 cannot express travels in the annotations upstream uses, so a v2 → v1 → v2 round trip is lossless:
  ``autoscaling.alpha.kubernetes.io/metrics`` (other spec metrics, in v1's ``MetricSpec`` JSON form),
  ``…/current-metrics`` (all status metrics), ``…/behavior`` (``spec.behavior``, Go field names as upstream
  marshals its internal type) and ``…/conditions`` (``status.conditions``).  v1 → v2 reads them back and drops
  them.  The v1 default target (80% CPU when no metric is given) belongs to the strategy, not here.
* core ``v1`` Event ↔ ``events.k8s.io/v1`` Event: field renames (involvedObject↔regarding, message↔note,
  source↔deprecatedSource, first/lastTimestamp↔deprecatedFirst/LastTimestamp, count↔deprecatedCount,
  reportingComponent↔reportingController); every other field is carried over unchanged.

:func:`convert` never mutates its input and always returns a new dict; the same apiVersion gives a deep copy.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from kybernetes.api import errors

Obj = dict[str, Any]

METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/metrics"
CURRENT_METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/current-metrics"
BEHAVIOR_ANNOTATION = "autoscaling.alpha.kubernetes.io/behavior"
CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"
ROUND_TRIP_ANNOTATIONS = (
    METRICS_ANNOTATION,
    CURRENT_METRICS_ANNOTATION,
    BEHAVIOR_ANNOTATION,
    CONDITIONS_ANNOTATION,
)

HPA_V1 = "autoscaling/v1"
HPA_V2 = "autoscaling/v2"
EVENT_CORE = "v1"
EVENT_EVENTS = "events.k8s.io/v1"


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _drop_round_trip(meta: Obj) -> None:
    annotations = meta.get("annotations")
    if not isinstance(annotations, dict):
        return
    kept = {k: v for k, v in annotations.items() if k not in ROUND_TRIP_ANNOTATIONS}
    if kept:
        meta["annotations"] = kept
    else:
        meta.pop("annotations", None)


def _set_annotation(meta: Obj, key: str, value: str) -> None:
    annotations = meta.setdefault("annotations", {})
    annotations[key] = value


def _put(out: Obj, key: str, value: Any) -> None:
    if value is not None:
        out[key] = value


# ----------------------------------------------------------------------------------------- HPA metric forms


def _target_ref(ref: Mapping[str, Any] | None) -> Obj:
    ref = ref or {}
    return {k: ref[k] for k in ("kind", "name", "apiVersion") if k in ref}


def _metric_ident(name: Any, selector: Any) -> Obj:
    out: Obj = {"name": name or ""}
    _put(out, "selector", selector)
    return out


def _spec_v2_to_v1(metric: Mapping[str, Any]) -> Obj:
    """A v2 ``MetricSpec`` in v1's annotation form (v2beta1 field names)."""
    mtype = metric.get("type", "")
    out: Obj = {"type": mtype}
    if mtype == "Object" and metric.get("object") is not None:
        src, target = metric["object"], metric["object"].get("target") or {}
        obj: Obj = {
            "target": _target_ref(src.get("describedObject")),
            "metricName": (src.get("metric") or {}).get("name", ""),
            "targetValue": target.get("value") or "0",
        }
        _put(obj, "selector", (src.get("metric") or {}).get("selector"))
        _put(obj, "averageValue", target.get("averageValue"))
        out["object"] = obj
    elif mtype == "Pods" and metric.get("pods") is not None:
        src = metric["pods"]
        pods: Obj = {
            "metricName": (src.get("metric") or {}).get("name", ""),
            "targetAverageValue": (src.get("target") or {}).get("averageValue") or "0",
        }
        _put(pods, "selector", (src.get("metric") or {}).get("selector"))
        out["pods"] = pods
    elif mtype in ("Resource", "ContainerResource") and metric.get(_lower_first(mtype)) is not None:
        src = metric[_lower_first(mtype)]
        target = src.get("target") or {}
        res: Obj = {"name": src.get("name", "")}
        _put(res, "targetAverageUtilization", target.get("averageUtilization"))
        _put(res, "targetAverageValue", target.get("averageValue"))
        if mtype == "ContainerResource":
            res["container"] = src.get("container", "")
        out[_lower_first(mtype)] = res
    elif mtype == "External" and metric.get("external") is not None:
        src, target = metric["external"], metric["external"].get("target") or {}
        ext: Obj = {"metricName": (src.get("metric") or {}).get("name", "")}
        _put(ext, "metricSelector", (src.get("metric") or {}).get("selector"))
        _put(ext, "targetValue", target.get("value"))
        _put(ext, "targetAverageValue", target.get("averageValue"))
        out["external"] = ext
    return out


def _spec_v1_to_v2(metric: Mapping[str, Any]) -> Obj:
    """The inverse of :func:`_spec_v2_to_v1`."""
    mtype = metric.get("type", "")
    out: Obj = {"type": mtype}
    if mtype == "Object" and metric.get("object") is not None:
        src = metric["object"]
        target: Obj = {
            "type": "Value" if src.get("averageValue") is None else "AverageValue",
            "value": src.get("targetValue") or "0",
        }
        _put(target, "averageValue", src.get("averageValue"))
        out["object"] = {
            "describedObject": _target_ref(src.get("target")),
            "target": target,
            "metric": _metric_ident(src.get("metricName"), src.get("selector")),
        }
    elif mtype == "Pods" and metric.get("pods") is not None:
        src = metric["pods"]
        out["pods"] = {
            "metric": _metric_ident(src.get("metricName"), src.get("selector")),
            "target": {"type": "AverageValue", "averageValue": src.get("targetAverageValue") or "0"},
        }
    elif mtype in ("Resource", "ContainerResource") and metric.get(_lower_first(mtype)) is not None:
        src = metric[_lower_first(mtype)]
        utilization = src.get("targetAverageUtilization")
        target = {"type": "AverageValue" if utilization is None else "Utilization"}
        _put(target, "averageValue", src.get("targetAverageValue"))
        _put(target, "averageUtilization", utilization)
        res: Obj = {"name": src.get("name", "")}
        if mtype == "ContainerResource":
            res["container"] = src.get("container", "")
        res["target"] = target
        out[_lower_first(mtype)] = res
    elif mtype == "External" and metric.get("external") is not None:
        src = metric["external"]
        target = {"type": "AverageValue" if src.get("targetValue") is None else "Value"}
        _put(target, "value", src.get("targetValue"))
        _put(target, "averageValue", src.get("targetAverageValue"))
        out["external"] = {
            "metric": _metric_ident(src.get("metricName"), src.get("metricSelector")),
            "target": target,
        }
    return out


def _status_v2_to_v1(metric: Mapping[str, Any]) -> Obj:
    mtype = metric.get("type", "")
    out: Obj = {"type": mtype}
    if mtype == "Object" and metric.get("object") is not None:
        src, cur = metric["object"], metric["object"].get("current") or {}
        obj: Obj = {
            "target": _target_ref(src.get("describedObject")),
            "metricName": (src.get("metric") or {}).get("name", ""),
            "currentValue": cur.get("value") or "0",
        }
        _put(obj, "selector", (src.get("metric") or {}).get("selector"))
        _put(obj, "averageValue", cur.get("averageValue"))
        out["object"] = obj
    elif mtype == "Pods" and metric.get("pods") is not None:
        src = metric["pods"]
        pods: Obj = {
            "metricName": (src.get("metric") or {}).get("name", ""),
            "currentAverageValue": (src.get("current") or {}).get("averageValue") or "0",
        }
        _put(pods, "selector", (src.get("metric") or {}).get("selector"))
        out["pods"] = pods
    elif mtype in ("Resource", "ContainerResource") and metric.get(_lower_first(mtype)) is not None:
        src = metric[_lower_first(mtype)]
        cur = src.get("current") or {}
        res: Obj = {"name": src.get("name", "")}
        _put(res, "currentAverageUtilization", cur.get("averageUtilization"))
        res["currentAverageValue"] = cur.get("averageValue") or "0"
        if mtype == "ContainerResource":
            res["container"] = src.get("container", "")
        out[_lower_first(mtype)] = res
    elif mtype == "External" and metric.get("external") is not None:
        src, cur = metric["external"], metric["external"].get("current") or {}
        ext: Obj = {"metricName": (src.get("metric") or {}).get("name", "")}
        _put(ext, "metricSelector", (src.get("metric") or {}).get("selector"))
        ext["currentValue"] = cur.get("value") or "0"
        _put(ext, "currentAverageValue", cur.get("averageValue"))
        out["external"] = ext
    return out


def _status_v1_to_v2(metric: Mapping[str, Any]) -> Obj:
    mtype = metric.get("type", "")
    out: Obj = {"type": mtype}
    if mtype == "Object" and metric.get("object") is not None:
        src = metric["object"]
        cur: Obj = {"value": src.get("currentValue") or "0"}
        _put(cur, "averageValue", src.get("averageValue"))
        out["object"] = {
            "metric": _metric_ident(src.get("metricName"), src.get("selector")),
            "current": cur,
            "describedObject": _target_ref(src.get("target")),
        }
    elif mtype == "Pods" and metric.get("pods") is not None:
        src = metric["pods"]
        out["pods"] = {
            "metric": _metric_ident(src.get("metricName"), src.get("selector")),
            "current": {"averageValue": src.get("currentAverageValue") or "0"},
        }
    elif mtype in ("Resource", "ContainerResource") and metric.get(_lower_first(mtype)) is not None:
        src = metric[_lower_first(mtype)]
        cur = {}
        _put(cur, "averageValue", src.get("currentAverageValue"))
        _put(cur, "averageUtilization", src.get("currentAverageUtilization"))
        res: Obj = {"name": src.get("name", "")}
        if mtype == "ContainerResource":
            res["container"] = src.get("container", "")
        res["current"] = cur
        out[_lower_first(mtype)] = res
    elif mtype == "External" and metric.get("external") is not None:
        src = metric["external"]
        cur = {"value": src.get("currentValue") or "0"}
        _put(cur, "averageValue", src.get("currentAverageValue"))
        out["external"] = {
            "metric": _metric_ident(src.get("metricName"), src.get("metricSelector")),
            "current": cur,
        }
    return out


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _go_keys(value: Any) -> Any:
    """Rename JSON keys to Go field names (how upstream marshals its internal behavior type)."""
    if isinstance(value, Mapping):
        return {_upper_first(str(k)): _go_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_go_keys(v) for v in value]
    return value


def _behavior_to_annotation(behavior: Mapping[str, Any]) -> str:
    rules_keys = ("stabilizationWindowSeconds", "selectPolicy", "policies")

    def rules(r: Any) -> Any:
        if not isinstance(r, Mapping):
            return None
        out = {k: r.get(k) for k in rules_keys}
        out.update({k: v for k, v in r.items() if k not in rules_keys})
        return out

    return _dumps(
        _go_keys({"scaleUp": rules(behavior.get("scaleUp")), "scaleDown": rules(behavior.get("scaleDown"))})
    )


def _json_keys(value: Any) -> Any:
    """Go's case-insensitive JSON field matching, as far as the behavior annotation needs; nulls dropped."""
    if isinstance(value, Mapping):
        return {_lower_first(str(k)): _json_keys(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_json_keys(v) for v in value]
    return value


def _load_annotation(annotations: Mapping[str, Any], key: str) -> Any:
    """The decoded annotation, or None when absent or not valid JSON (upstream ignores bad ones)."""
    raw = annotations.get(key)
    if not isinstance(raw, str):
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


# ------------------------------------------------------------------------------------------------- HPA


def _is_cpu_resource(metric: Mapping[str, Any]) -> bool:
    return (
        metric.get("type") == "Resource"
        and isinstance(metric.get("resource"), Mapping)
        and metric["resource"].get("name") == "cpu"
    )


def _hpa_v2_to_v1(obj: Mapping[str, Any]) -> Obj:
    out = {k: copy.deepcopy(v) for k, v in obj.items() if k not in ("spec", "status")}
    out["apiVersion"] = HPA_V1
    meta: Obj = out.setdefault("metadata", {})
    _drop_round_trip(meta)
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    metrics = spec.get("metrics") or []

    v1spec: Obj = {}
    if "scaleTargetRef" in spec:
        v1spec["scaleTargetRef"] = copy.deepcopy(spec["scaleTargetRef"])
    _put(v1spec, "minReplicas", spec.get("minReplicas"))
    _put(v1spec, "maxReplicas", spec.get("maxReplicas"))
    for m in metrics:
        if _is_cpu_resource(m):
            _put(
                v1spec,
                "targetCPUUtilizationPercentage",
                (m["resource"].get("target") or {}).get("averageUtilization"),
            )
            break
    out["spec"] = v1spec

    other = [
        _spec_v2_to_v1(m)
        for m in metrics
        if not (
            _is_cpu_resource(m) and (m["resource"].get("target") or {}).get("averageUtilization") is not None
        )
    ]
    if other:
        _set_annotation(meta, METRICS_ANNOTATION, _dumps(other))
    current = status.get("currentMetrics") or []
    if current:
        _set_annotation(meta, CURRENT_METRICS_ANNOTATION, _dumps([_status_v2_to_v1(m) for m in current]))
    if spec.get("behavior") is not None:
        _set_annotation(meta, BEHAVIOR_ANNOTATION, _behavior_to_annotation(spec["behavior"]))
    if status.get("conditions"):
        _set_annotation(meta, CONDITIONS_ANNOTATION, _dumps(status["conditions"]))

    v1status: Obj = {}
    _put(v1status, "observedGeneration", status.get("observedGeneration"))
    _put(v1status, "lastScaleTime", status.get("lastScaleTime"))
    v1status["currentReplicas"] = status.get("currentReplicas", 0)
    v1status["desiredReplicas"] = status.get("desiredReplicas", 0)
    for m in current:
        if _is_cpu_resource(m):
            _put(
                v1status,
                "currentCPUUtilizationPercentage",
                (m["resource"].get("current") or {}).get("averageUtilization"),
            )
    out["status"] = v1status
    return out


def _hpa_v1_to_v2(obj: Mapping[str, Any]) -> Obj:
    out = {k: copy.deepcopy(v) for k, v in obj.items() if k not in ("spec", "status")}
    out["apiVersion"] = HPA_V2
    meta: Obj = out.setdefault("metadata", {})
    annotations = meta.get("annotations") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}

    v2spec: Obj = {}
    if "scaleTargetRef" in spec:
        v2spec["scaleTargetRef"] = copy.deepcopy(spec["scaleTargetRef"])
    _put(v2spec, "minReplicas", spec.get("minReplicas"))
    _put(v2spec, "maxReplicas", spec.get("maxReplicas"))
    metrics: list[Obj] = []
    other = _load_annotation(annotations, METRICS_ANNOTATION)
    if isinstance(other, list):
        metrics += [_spec_v1_to_v2(m) for m in other if isinstance(m, Mapping)]
    if spec.get("targetCPUUtilizationPercentage") is not None:
        metrics.append(
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {
                        "type": "Utilization",
                        "averageUtilization": spec["targetCPUUtilizationPercentage"],
                    },
                },
            }
        )
    if metrics:
        v2spec["metrics"] = metrics
    behavior = _load_annotation(annotations, BEHAVIOR_ANNOTATION)
    if isinstance(behavior, Mapping):
        decoded = _json_keys(behavior)
        if decoded:
            v2spec["behavior"] = decoded
    out["spec"] = v2spec

    v2status: Obj = {}
    _put(v2status, "observedGeneration", status.get("observedGeneration"))
    _put(v2status, "lastScaleTime", status.get("lastScaleTime"))
    _put(v2status, "currentReplicas", status.get("currentReplicas"))
    v2status["desiredReplicas"] = status.get("desiredReplicas", 0)
    current = _load_annotation(annotations, CURRENT_METRICS_ANNOTATION)
    if isinstance(current, list):
        v2status["currentMetrics"] = [_status_v1_to_v2(m) for m in current if isinstance(m, Mapping)]
    elif status.get("currentCPUUtilizationPercentage") is not None:
        v2status["currentMetrics"] = [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "current": {"averageUtilization": status["currentCPUUtilizationPercentage"]},
                },
            }
        ]
    conditions = _load_annotation(annotations, CONDITIONS_ANNOTATION)
    if isinstance(conditions, list):
        v2status["conditions"] = conditions
    if status or v2status.get("currentMetrics") or v2status.get("conditions"):
        out["status"] = v2status
    _drop_round_trip(meta)
    return out


# ----------------------------------------------------------------------------------------------- events

# core/v1 field → events.k8s.io/v1 field; fields not listed keep their name.
_EVENT_RENAMES = {
    "involvedObject": "regarding",
    "message": "note",
    "source": "deprecatedSource",
    "firstTimestamp": "deprecatedFirstTimestamp",
    "lastTimestamp": "deprecatedLastTimestamp",
    "count": "deprecatedCount",
    "reportingComponent": "reportingController",
}
_EVENT_RENAMES_BACK = {v: k for k, v in _EVENT_RENAMES.items()}


def _rename(obj: Mapping[str, Any], renames: Mapping[str, str], api_version: str) -> Obj:
    out: Obj = {}
    for key, value in obj.items():
        out[renames.get(key, key)] = copy.deepcopy(value)
    out["apiVersion"] = api_version
    return out


def _event_core_to_events(obj: Mapping[str, Any]) -> Obj:
    return _rename(obj, _EVENT_RENAMES, EVENT_EVENTS)


def _event_events_to_core(obj: Mapping[str, Any]) -> Obj:
    return _rename(obj, _EVENT_RENAMES_BACK, EVENT_CORE)


_CONVERTERS: dict[tuple[str, str, str], Callable[[Mapping[str, Any]], Obj]] = {
    ("HorizontalPodAutoscaler", HPA_V2, HPA_V1): _hpa_v2_to_v1,
    ("HorizontalPodAutoscaler", HPA_V1, HPA_V2): _hpa_v1_to_v2,
    ("Event", EVENT_CORE, EVENT_EVENTS): _event_core_to_events,
    ("Event", EVENT_EVENTS, EVENT_CORE): _event_events_to_core,
}


def can_convert(obj: Mapping[str, Any], to_api_version: str) -> bool:
    """True if :func:`convert` handles ``obj`` → ``to_api_version`` (same version counts)."""
    src = str(obj.get("apiVersion") or "")
    return src == to_api_version or (str(obj.get("kind") or ""), src, to_api_version) in _CONVERTERS


def convert(obj: Mapping[str, Any], to_api_version: str) -> Obj:
    """``obj`` as ``to_api_version`` (a new dict; the input is not touched).

    Raises a 500 :class:`~kybernetes.api.errors.StatusError` for a pair of versions that has no conversion.
    """
    src = str(obj.get("apiVersion") or "")
    if src == to_api_version:
        return copy.deepcopy(dict(obj))
    kind = str(obj.get("kind") or "")
    fn = _CONVERTERS.get((kind, src, to_api_version))
    if fn is None:
        raise errors.internal_error(f"no conversion for {kind} from {src!r} to {to_api_version!r}")
    return fn(obj)
