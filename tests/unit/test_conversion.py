"""autoscaling v1 <-> v2 and core/v1 <-> events.k8s.io/v1 conversion: field mapping, lossless round trips."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kybernetes.api.conversion import (
    BEHAVIOR_ANNOTATION,
    CONDITIONS_ANNOTATION,
    CURRENT_METRICS_ANNOTATION,
    METRICS_ANNOTATION,
    can_convert,
    convert,
)
from kybernetes.api.errors import StatusError

REF = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "nginx"}
META = {"name": "nginx", "namespace": "default", "annotations": {"team": "a"}}


def hpa2(spec: dict[str, Any], status: dict[str, Any] | None = None, **meta: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {**copy.deepcopy(META), **meta},
        "spec": {"scaleTargetRef": REF, "minReplicas": 1, "maxReplicas": 10, **spec},
    }
    if status is not None:
        out["status"] = status
    return out


CPU80 = {
    "type": "Resource",
    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
}
MEM = {
    "type": "Resource",
    "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}},
}
PODS = {
    "type": "Pods",
    "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "1k"}},
}
OBJ = {
    "type": "Object",
    "object": {
        "describedObject": {"kind": "Ingress", "name": "main", "apiVersion": "networking.k8s.io/v1"},
        "metric": {"name": "rps", "selector": {"matchLabels": {"a": "b"}}},
        "target": {"type": "Value", "value": "10k"},
    },
}
EXT = {
    "type": "External",
    "external": {"metric": {"name": "queue"}, "target": {"type": "AverageValue", "averageValue": "30"}},
}
CRES = {
    "type": "ContainerResource",
    "containerResource": {
        "name": "cpu",
        "container": "app",
        "target": {"type": "Utilization", "averageUtilization": 60},
    },
}
BEHAVIOR = {
    "scaleDown": {
        "stabilizationWindowSeconds": 300,
        "selectPolicy": "Min",
        "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}],
    }
}
STATUS = {
    "observedGeneration": 2,
    "lastScaleTime": "2024-01-01T11:00:00Z",
    "currentReplicas": 3,
    "desiredReplicas": 4,
    "currentMetrics": [
        {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "50Mi"}}},
        {
            "type": "Resource",
            "resource": {"name": "cpu", "current": {"averageUtilization": 12, "averageValue": "120m"}},
        },
    ],
    "conditions": [
        {
            "type": "AbleToScale",
            "status": "True",
            "lastTransitionTime": "2024-01-01T10:00:00Z",
            "reason": "SucceededGetScale",
            "message": "ok",
        }
    ],
}


@pytest.mark.parametrize(
    "obj",
    [
        pytest.param(hpa2({"metrics": [CPU80]}), id="cpu-only"),
        pytest.param(hpa2({"metrics": [MEM, PODS, OBJ, EXT, CRES, CPU80]}), id="every-metric-type"),
        pytest.param(hpa2({"metrics": [MEM]}), id="no-cpu"),
        pytest.param(hpa2({"metrics": [CPU80], "behavior": BEHAVIOR}), id="behavior"),
        pytest.param(hpa2({"metrics": [MEM, CPU80]}, STATUS), id="status"),
        pytest.param(hpa2({}), id="no-metrics"),
    ],
)
def test_hpa_v2_round_trip(obj: dict[str, Any]) -> None:
    before = copy.deepcopy(obj)
    v1 = convert(obj, "autoscaling/v1")
    assert obj == before  # input untouched
    assert v1["apiVersion"] == "autoscaling/v1"
    back = convert(v1, "autoscaling/v2")
    if "status" not in obj:
        back.pop("status", None)
    assert back == obj


def test_hpa_v2_to_v1_fields() -> None:
    v1 = convert(hpa2({"metrics": [MEM, CPU80], "behavior": BEHAVIOR}, STATUS), "autoscaling/v1")
    assert v1["spec"] == {
        "scaleTargetRef": REF,
        "minReplicas": 1,
        "maxReplicas": 10,
        "targetCPUUtilizationPercentage": 80,
    }
    assert v1["status"] == {
        "observedGeneration": 2,
        "lastScaleTime": "2024-01-01T11:00:00Z",
        "currentReplicas": 3,
        "desiredReplicas": 4,
        "currentCPUUtilizationPercentage": 12,
    }
    ann = v1["metadata"]["annotations"]
    assert ann["team"] == "a"
    assert json.loads(ann[METRICS_ANNOTATION]) == [
        {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "100Mi"}}
    ]
    assert json.loads(ann[CURRENT_METRICS_ANNOTATION]) == [
        {"type": "Resource", "resource": {"name": "memory", "currentAverageValue": "50Mi"}},
        {
            "type": "Resource",
            "resource": {"name": "cpu", "currentAverageUtilization": 12, "currentAverageValue": "120m"},
        },
    ]
    assert json.loads(ann[BEHAVIOR_ANNOTATION]) == {
        "ScaleUp": None,
        "ScaleDown": {
            "StabilizationWindowSeconds": 300,
            "SelectPolicy": "Min",
            "Policies": [{"Type": "Percent", "Value": 10, "PeriodSeconds": 60}],
        },
    }
    assert json.loads(ann[CONDITIONS_ANNOTATION]) == STATUS["conditions"]


@pytest.mark.parametrize(
    ("v1", "spec", "status"),
    [
        pytest.param(
            {
                "spec": {"scaleTargetRef": REF, "maxReplicas": 5, "targetCPUUtilizationPercentage": 50},
                "status": {"currentReplicas": 2, "desiredReplicas": 2, "currentCPUUtilizationPercentage": 40},
            },
            {
                "scaleTargetRef": REF,
                "maxReplicas": 5,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 50},
                        },
                    }
                ],
            },
            {
                "currentReplicas": 2,
                "desiredReplicas": 2,
                "currentMetrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 40}}}
                ],
            },
            id="plain-v1",
        ),
        pytest.param(
            {"spec": {"scaleTargetRef": REF, "maxReplicas": 5}},
            {"scaleTargetRef": REF, "maxReplicas": 5},
            None,
            id="no-target-no-default-here",
        ),
        pytest.param(
            {
                "metadata": {
                    "name": "h",
                    "annotations": {
                        METRICS_ANNOTATION: '[{"type":"Pods",'
                        '"pods":{"metricName":"qps","targetAverageValue":"1k"}}]',
                        BEHAVIOR_ANNOTATION: '{"ScaleUp":{"StabilizationWindowSeconds":0,'
                        '"SelectPolicy":null,"Policies":null},"ScaleDown":null}',
                    },
                },
                "spec": {"scaleTargetRef": REF, "maxReplicas": 5, "targetCPUUtilizationPercentage": 70},
            },
            {
                "scaleTargetRef": REF,
                "maxReplicas": 5,
                "metrics": [
                    {
                        "type": "Pods",
                        "pods": {
                            "metric": {"name": "qps"},
                            "target": {"type": "AverageValue", "averageValue": "1k"},
                        },
                    },
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 70},
                        },
                    },
                ],
                "behavior": {"scaleUp": {"stabilizationWindowSeconds": 0}},
            },
            None,
            id="annotations-read-back",
        ),
        pytest.param(
            {
                "metadata": {"name": "h", "annotations": {METRICS_ANNOTATION: "{not json"}},
                "spec": {"scaleTargetRef": REF, "maxReplicas": 5},
            },
            {"scaleTargetRef": REF, "maxReplicas": 5},
            None,
            id="bad-annotation-ignored",
        ),
    ],
)
def test_hpa_v1_to_v2(v1: dict[str, Any], spec: dict[str, Any], status: dict[str, Any] | None) -> None:
    src = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"}, **v1}
    out = convert(src, "autoscaling/v2")
    assert out["apiVersion"] == "autoscaling/v2"
    assert out["spec"] == spec
    assert out.get("status") == status
    assert "annotations" not in out["metadata"]  # round-trip annotations are consumed


def test_v2_to_v1_replaces_stale_round_trip_annotations() -> None:
    obj = hpa2({"metrics": [CPU80]}, **{"annotations": {METRICS_ANNOTATION: "[]", "keep": "1"}})
    v1 = convert(obj, "autoscaling/v1")
    assert v1["metadata"]["annotations"] == {"keep": "1"}


CORE_EVENT = {
    "apiVersion": "v1",
    "kind": "Event",
    "metadata": {"name": "nginx.17a", "namespace": "default", "uid": "u"},
    "involvedObject": {
        "kind": "Pod",
        "name": "nginx",
        "namespace": "default",
        "uid": "p1",
        "apiVersion": "v1",
        "fieldPath": "spec.containers{nginx}",
    },
    "reason": "Pulled",
    "message": "Successfully pulled",
    "type": "Normal",
    "source": {"component": "kubelet", "host": "node-1"},
    "firstTimestamp": "2024-01-01T11:50:00Z",
    "lastTimestamp": "2024-01-01T11:55:00Z",
    "count": 3,
    "eventTime": None,
    "action": "Pulling",
    "related": {"kind": "Node", "name": "node-1"},
    "reportingComponent": "kubelet",
    "reportingInstance": "node-1",
    "series": {"count": 2, "lastObservedTime": "2024-01-01T11:55:00.000000Z"},
}
EVENTS_EVENT = {
    "apiVersion": "events.k8s.io/v1",
    "kind": "Event",
    "metadata": {"name": "nginx.17a", "namespace": "default", "uid": "u"},
    "regarding": CORE_EVENT["involvedObject"],
    "reason": "Pulled",
    "note": "Successfully pulled",
    "type": "Normal",
    "deprecatedSource": {"component": "kubelet", "host": "node-1"},
    "deprecatedFirstTimestamp": "2024-01-01T11:50:00Z",
    "deprecatedLastTimestamp": "2024-01-01T11:55:00Z",
    "deprecatedCount": 3,
    "eventTime": None,
    "action": "Pulling",
    "related": {"kind": "Node", "name": "node-1"},
    "reportingController": "kubelet",
    "reportingInstance": "node-1",
    "series": {"count": 2, "lastObservedTime": "2024-01-01T11:55:00.000000Z"},
}


@pytest.mark.parametrize(
    ("src", "to", "want"),
    [
        pytest.param(CORE_EVENT, "events.k8s.io/v1", EVENTS_EVENT, id="core-to-events"),
        pytest.param(EVENTS_EVENT, "v1", CORE_EVENT, id="events-to-core"),
        pytest.param(
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": "e"},
                "message": "m",
                "unknownField": 1,
            },
            "events.k8s.io/v1",
            {
                "apiVersion": "events.k8s.io/v1",
                "kind": "Event",
                "metadata": {"name": "e"},
                "note": "m",
                "unknownField": 1,
            },
            id="sparse-and-unknown-kept",
        ),
    ],
)
def test_event_conversion(src: dict[str, Any], to: str, want: dict[str, Any]) -> None:
    before = copy.deepcopy(src)
    out = convert(src, to)
    assert out == want
    assert src == before
    assert convert(out, src["apiVersion"]) == src


@pytest.mark.parametrize(
    ("obj", "to", "ok"),
    [
        pytest.param(CORE_EVENT, "v1", True, id="same-version"),
        pytest.param(CORE_EVENT, "events.k8s.io/v1", True, id="event"),
        pytest.param(hpa2({}), "autoscaling/v1", True, id="hpa"),
        pytest.param({"apiVersion": "apps/v1", "kind": "Deployment"}, "apps/v1beta1", False, id="unknown"),
    ],
)
def test_can_convert(obj: dict[str, Any], to: str, ok: bool) -> None:
    assert can_convert(obj, to) is ok


def test_same_version_is_deep_copy() -> None:
    out = convert(CORE_EVENT, "v1")
    assert out == CORE_EVENT and out is not CORE_EVENT and out["metadata"] is not CORE_EVENT["metadata"]


def test_unknown_conversion_is_500() -> None:
    with pytest.raises(StatusError) as exc:
        convert({"apiVersion": "apps/v1", "kind": "Deployment"}, "apps/v1beta1")
    assert exc.value.code == 500
