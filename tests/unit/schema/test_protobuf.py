"""Protobuf request bodies: real kubectl 1.32/1.33 captures, round trips, malformed input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kybernetes.api.errors import StatusError
from kybernetes.api.protobuf import decode_request, encode_object, go_duration, parse_go_duration
from kybernetes.api.schema.wire import Writer

FIXTURES = Path(__file__).parent / "fixtures"


def _drop_null_timestamps(obj: Any) -> Any:
    """kubectl ≤ 1.31 JSON carries ``creationTimestamp: null``; the protobuf form has no such value."""
    if isinstance(obj, dict):
        return {k: _drop_null_timestamps(v) for k, v in obj.items()
                if not (k == "creationTimestamp" and v is None)}
    if isinstance(obj, list):
        return [_drop_null_timestamps(v) for v in obj]
    return obj


@pytest.mark.parametrize("name", [
    pytest.param(n, id=n) for n in ("deployment-web", "deployment-zero", "service-clusterip",
                                    "service-nodeport", "namespace", "configmap", "secret-generic", "job",
                                    "cronjob")
])
def test_kubectl_132_protobuf_matches_kubectl_131_json(name: str) -> None:
    body = (FIXTURES / f"{name}.k132.pb").read_bytes()
    expected = _drop_null_timestamps(json.loads((FIXTURES / f"{name}.k131.json").read_text()))
    assert decode_request(body) == expected


@pytest.mark.parametrize(("name", "expected"), [
    pytest.param("hpa-v1.k132", {
        "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
                 "minReplicas": 2, "maxReplicas": 5, "targetCPUUtilizationPercentage": 70},
        "status": {"currentReplicas": 0, "desiredReplicas": 0}}, id="autoscale-v1-1.32"),
    pytest.param("hpa-v2.k133", {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
                 "minReplicas": 1, "maxReplicas": 4,
                 "metrics": [{"type": "Resource", "resource": {
                     "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}]},
        "status": {"desiredReplicas": 0}}, id="autoscale-v2-1.33"),
])
def test_kubectl_autoscale_bodies(name: str, expected: dict[str, Any]) -> None:
    assert decode_request((FIXTURES / f"{name}.pb").read_bytes()) == expected


ROUND_TRIP = [
    pytest.param({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"},
                     "creationTimestamp": "2024-01-01T00:00:00Z", "generation": 3,
                     "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "o", "uid": "u",
                                          "controller": True}],
                     "managedFields": [{"manager": "kubectl", "operation": "Update", "fieldsType": "FieldsV1",
                                        "fieldsV1": {"f:spec": {"f:replicas": {}}},
                                        "time": "2024-01-01T00:00:00Z"}]},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}},
                 "strategy": {"type": "RollingUpdate",
                              "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 0}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                     "containers": [{"name": "c", "image": "nginx", "args": ["-g", "x"],
                                     "ports": [{"containerPort": 80, "protocol": "TCP"}],
                                     "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
                                     "readinessProbe": {"httpGet": {"path": "/", "port": "http"},
                                                        "periodSeconds": 5},
                                     "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {
                                         "name": "cm", "key": "k"}}}]}],
                     "volumes": [{"name": "v", "configMap": {"name": "cm", "defaultMode": 420}},
                                 {"name": "e", "emptyDir": {}}],
                     "terminationGracePeriodSeconds": 30}}},
        "status": {"replicas": 2, "conditions": [{"type": "Available", "status": "True",
                                                  "lastUpdateTime": "2024-05-06T07:08:09Z"}]},
    }, id="deployment-with-inline-volume-probe-and-selector"),
    pytest.param({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                  "spec": {"type": "ClusterIP", "clusterIP": "10.43.0.5", "clusterIPs": ["10.43.0.5"],
                           "ports": [{"port": 53, "protocol": "UDP", "targetPort": "dns"}],
                           "ipFamilies": ["IPv4"], "sessionAffinity": "None"},
                  "status": {"loadBalancer": {}}}, id="service"),
    pytest.param({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"},
                  "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}, id="namespace"),
    pytest.param({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                  "data": {"a": "1", "": "x"}, "binaryData": {"b": "AAEC/w=="}, "immutable": False},
                 id="configmap-explicit-false-pointer"),
    pytest.param({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque",
                  "data": {"k": "cGFzcw==", "empty": ""}}, id="secret"),
    pytest.param({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
                  "spec": {"backoffLimit": 0, "completions": 1, "template": {"spec": {
                      "containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "Never"}}},
                  "status": {"startTime": "2024-01-01T00:00:00Z", "succeeded": 1}}, id="job"),
    pytest.param({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cj"},
                  "spec": {"schedule": "@hourly", "suspend": True, "jobTemplate": {"spec": {"template": {
                      "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}}}, id="cronjob"),
    pytest.param({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                  "metadata": {"name": "h"},
                  "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "d"}, "maxReplicas": 3,
                           "metrics": [{"type": "Resource", "resource": {"name": "memory", "target": {
                               "type": "AverageValue", "averageValue": "100Mi"}}}]}}, id="hpa-v2-quantity"),
    pytest.param({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"},
                  "spec": {"holderIdentity": "me", "leaseDurationSeconds": 15,
                           "renewTime": "2024-01-01T00:00:00.123456Z"}}, id="lease-microtime"),
    pytest.param({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                  "spec": {"containers": [{"name": "c", "image": "i",
                                           "securityContext": {"runAsUser": -1}}],
                           "overhead": {"cpu": "1"}},
                  "status": {"phase": "Running", "podIPs": [{"ip": "10.42.0.3"}]}}, id="pod-negative-int64"),
]


@pytest.mark.parametrize("obj", ROUND_TRIP)
def test_round_trip(obj: dict[str, Any]) -> None:
    assert decode_request(encode_object(obj)) == obj


def _unknown(api_version: str, kind: str, raw: bytes, encoding: str = "") -> bytes:
    tm = Writer()
    tm.string(1, api_version)
    tm.string(2, kind)
    w = Writer()
    w.data(1, tm.getvalue())
    w.data(2, raw)
    w.string(3, encoding)
    return b"k8s\x00" + w.getvalue()


@pytest.mark.parametrize(("body", "code"), [
    pytest.param(b"", 400, id="empty"),
    pytest.param(b'{"kind":"Pod"}', 400, id="json-not-protobuf"),
    pytest.param(b"k8s\x00\x0a\xff", 400, id="truncated-length"),
    pytest.param(b"k8s\x00\x0a\x02\x0a", 400, id="truncated-inner"),
    pytest.param(b"k8s\x00\x0f", 400, id="bad-wire-type"),
    pytest.param(_unknown("", "", b""), 400, id="no-kind"),
    pytest.param(_unknown("v1", "ConfigMap", b"\x0a\x03\x0a"), 400, id="truncated-object"),
    pytest.param(_unknown("v1", "ConfigMap", b"\x0a\x02\x0a\x01"), 400, id="truncated-metadata-field"),
    pytest.param(_unknown("v1", "ConfigMap", b"\x0a\x03\x0a\x01\xff"), 400, id="invalid-utf8"),
    pytest.param(_unknown("v1", "ConfigMap", b"\x0a\x02\x08\x01"), 400, id="varint-for-string-field"),
    pytest.param(_unknown("v1", "ConfigMap", b"", "gzip"), 400, id="content-encoding"),
    pytest.param(_unknown("example.com/v1", "Widget", b""), 415, id="custom-resource"),
    pytest.param(_unknown("v1", "NoSuchKind", b""), 415, id="unknown-kind"),
])
def test_malformed_bodies_are_status_errors(body: bytes, code: int) -> None:
    with pytest.raises(StatusError) as info:
        decode_request(body)
    assert info.value.code == code


def test_unknown_field_numbers_are_skipped() -> None:
    w = Writer()
    w.string(99, "future")
    meta = Writer()
    meta.string(1, "x")
    w.data(1, meta.getvalue())
    assert decode_request(_unknown("v1", "ConfigMap", w.getvalue())) == {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}


def test_packed_repeated_scalars() -> None:
    # PodSecurityContext.supplementalGroups = 4 (repeated int64), sent packed.
    sc = Writer()
    sc.data(4, bytes([1, 2, 0x80, 0x01]))
    spec = Writer()
    spec.data(14, sc.getvalue())
    pod = Writer()
    pod.data(2, spec.getvalue())
    obj = decode_request(_unknown("v1", "Pod", pod.getvalue()))
    assert obj["spec"]["securityContext"] == {"supplementalGroups": [1, 2, 128]}


@pytest.mark.parametrize(("nanos", "text"), [
    pytest.param(0, "0s", id="zero"),
    pytest.param(1_500_000, "1.5ms", id="ms"),
    pytest.param(3_600_000_000_000, "1h0m0s", id="hour"),
    pytest.param(90 * 10**9 + 5 * 10**8, "1m30.5s", id="minute-fraction"),
    pytest.param(-2 * 10**9, "-2s", id="negative"),
])
def test_go_duration(nanos: int, text: str) -> None:
    assert go_duration(nanos) == text
    assert parse_go_duration(text) == nanos
