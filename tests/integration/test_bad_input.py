"""Bad input gets a clear Status error and changes nothing; anonymous requests get 401; a restart keeps state."""

from __future__ import annotations

import http.client
import json
import ssl
from typing import Any

import pytest
from harness import Cluster


def request(cluster: Cluster, method: str, path: str, body: bytes | None = None,
            content_type: str = "application/json", anonymous: bool = False) -> tuple[int, Any]:
    if anonymous:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx = cluster.server.ssl_context()
    port = int(cluster.url.rsplit(":", 1)[1])
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=15, context=ctx)
    try:
        headers = {"Content-Type": content_type} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    try:
        return resp.status, json.loads(raw)
    except ValueError:
        return resp.status, raw


CMS = "/api/v1/namespaces/default/configmaps"


def _count(cluster: Cluster) -> int:
    code, body = request(cluster, "GET", CMS)
    assert code == 200
    return len(body["items"])


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type", "code", "reason", "message"),
    [
        pytest.param("POST", CMS, b'{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"', None, 400,
                     "BadRequest", "", id="malformed JSON"),
        pytest.param("POST", CMS, b"apiVersion: v1\nkind: [", "application/yaml", 400, "BadRequest", "",
                     id="malformed YAML"),
        pytest.param("POST", CMS, b"k8s\x00\x0a\x05garbage", "application/vnd.kubernetes.protobuf", 400,
                     "BadRequest", "", id="malformed protobuf"),
        pytest.param("POST", CMS + "?fieldValidation=Strict",
                     b'{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "bogus": 1}', None, 400,
                     "BadRequest", 'strict decoding error: unknown field "bogus"', id="unknown field, Strict"),
        pytest.param("POST", CMS, b'{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Not_Valid"}}',
                     None, 422, "Invalid", 'ConfigMap "Not_Valid" is invalid: metadata.name: Invalid value:',
                     id="invalid name"),
        pytest.param("POST", "/apis/apps/v1/namespaces/default/deployments",
                     b'{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {}}', None,
                     422, "Invalid", 'Deployment.apps "d" is invalid', id="invalid deployment"),
        pytest.param("POST", CMS, b'{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"}, '
                     b'"data": {"a": "' + b"x" * (3 * 1024 * 1024) + b'"}}', None, 413, "RequestEntityTooLarge", "",
                     id="over 3 MiB"),
        pytest.param("POST", CMS, b"{}", "text/plain", 415, "UnsupportedMediaType", "", id="unknown media type"),
        pytest.param("GET", "/api/v1/namespaces/default/configmaps/nope", None, None, 404, "NotFound",
                     'configmaps "nope" not found', id="not found"),
        pytest.param("GET", "/apis/nope.example.com/v1/things", None, None, 404, "NotFound", "",
                     id="unknown resource"),
        pytest.param("GET", CMS + "?labelSelector=a%20in%20(", None, None, 400, "BadRequest", "",
                     id="malformed label selector"),
        pytest.param("GET", CMS + "?fieldSelector=spec.foo%3Dbar", None, None, 400, "BadRequest",
                     "field label not supported: spec.foo", id="unsupported field selector"),
        pytest.param("PATCH", CMS + "/kube-root-missing", b"[{", "application/json-patch+json", 400, "BadRequest", "",
                     id="malformed patch"),
    ],
)
def test_bad_input_is_a_status_and_changes_nothing(
    apiserver: Cluster, method: str, path: str, body: bytes | None, content_type: str | None, code: int,
    reason: str, message: str,
) -> None:
    before = _count(apiserver)
    status, answer = request(apiserver, method, path, body, content_type or "application/json")
    assert status == code, answer
    assert isinstance(answer, dict) and answer["kind"] == "Status", answer
    assert answer["code"] == code and answer["reason"] == reason and answer["status"] == "Failure"
    assert message in answer["message"]
    assert _count(apiserver) == before


def test_invalid_has_field_causes(apiserver: Cluster) -> None:
    body = json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                       "spec": {"ports": [{"port": 0}]}}).encode()
    status, answer = request(apiserver, "POST", "/api/v1/namespaces/default/services", body)
    assert status == 422
    causes = answer["details"]["causes"]
    assert {"reason": "FieldValueInvalid", "field": "spec.ports[0].port",
            "message": "Invalid value: 0: must be between 1 and 65535, inclusive"} in causes
    assert answer["details"]["name"] == "web" and answer["details"]["kind"] == "Service"


def test_conflict_and_already_exists(apiserver: Cluster) -> None:
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dup"}}).encode()
    assert request(apiserver, "POST", CMS, body)[0] == 201
    status, answer = request(apiserver, "POST", CMS, body)
    assert (status, answer["reason"]) == (409, "AlreadyExists")
    assert answer["message"] == 'configmaps "dup" already exists'
    stale = json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "dup", "resourceVersion": "1"}}).encode()
    status, answer = request(apiserver, "PUT", CMS + "/dup", stale)
    assert (status, answer["reason"]) == (409, "Conflict")


def test_anonymous_requests_get_401(apiserver: Cluster) -> None:
    status, answer = request(apiserver, "GET", "/api/v1/namespaces", anonymous=True)
    assert status == 401
    assert answer["kind"] == "Status" and answer["reason"] == "Unauthorized"
    status, _ = request(apiserver, "GET", "/readyz", anonymous=True)
    assert status == 200


def test_restart_keeps_objects_and_resource_versions(fresh_apiserver: Cluster) -> None:
    created = {}
    for i in range(20):
        body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"keep-{i}"},
                           "data": {"i": str(i)}}).encode()
        status, obj = request(fresh_apiserver, "POST", CMS, body)
        assert status == 201
        created[obj["metadata"]["name"]] = obj["metadata"]["resourceVersion"]
    request(fresh_apiserver, "DELETE", CMS + "/keep-0")
    del created["keep-0"]
    fresh_apiserver.restart()
    status, listing = request(fresh_apiserver, "GET", CMS)
    assert status == 200
    after = {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in listing["items"]
             if o["metadata"]["name"].startswith("keep-")}
    assert after == created
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "after"}}).encode()
    status, obj = request(fresh_apiserver, "POST", CMS, body)
    assert int(obj["metadata"]["resourceVersion"]) > max(int(v) for v in created.values())
