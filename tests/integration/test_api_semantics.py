"""API semantics a client relies on, over HTTPS against a real ``kyb apiserver``: watch details, dry run,
deletion (finalizers, propagation, graceful pods), subresources, conversion, Tables."""

from __future__ import annotations

import http.client
import json
import os
import time
from typing import Any

import pytest
from harness import Cluster

NS = "semantics"


class Api:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.port = int(cluster.url.rsplit(":", 1)[1])

    def conn(self, timeout: float = 15) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                           context=self.cluster.server.ssl_context())

    def call(self, method: str, path: str, body: Any = None, content_type: str = "application/json",
             accept: str = "application/json") -> tuple[int, Any]:
        conn = self.conn()
        try:
            data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
            headers = {"Accept": accept}
            if data is not None:
                headers["Content-Type"] = content_type
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        return resp.status, json.loads(raw) if raw else None

    def watch_lines(self, path: str, *, until: int, timeout: float = 10) -> list[dict[str, Any]]:
        """Read watch events until ``until`` lines arrived, the stream ended, or ``timeout`` passed."""
        conn = self.conn(timeout)
        events: list[dict[str, Any]] = []
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            assert resp.status == 200
            deadline = time.monotonic() + timeout
            while len(events) < until and time.monotonic() < deadline:
                line = resp.readline()
                if not line:
                    break
                events.append(json.loads(line))
        finally:
            conn.close()
        return events


@pytest.fixture
def api(apiserver: Cluster) -> Api:
    api = Api(apiserver)
    status, _ = api.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                       "metadata": {"name": NS}})
    assert status in (201, 409)
    return api


CMS = f"/api/v1/namespaces/{NS}/configmaps"
PODS = f"/api/v1/namespaces/{NS}/pods"


def cm(name: str, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **meta}, "data": {"a": "1"}}


def pod(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


def test_dry_run_creates_nothing(api: Api) -> None:
    status, obj = api.call("POST", CMS + "?dryRun=All", cm("dry"))
    assert status == 201 and obj["metadata"]["name"] == "dry"
    assert api.call("GET", CMS + "/dry")[0] == 404
    api.call("POST", CMS, cm("dry2"))
    status, _ = api.call("DELETE", CMS + "/dry2?dryRun=All")
    assert status == 200
    assert api.call("GET", CMS + "/dry2")[0] == 200


def test_generate_name(api: Api) -> None:
    status, obj = api.call("POST", CMS, {"apiVersion": "v1", "kind": "ConfigMap",
                                         "metadata": {"generateName": "gen-"}})
    assert status == 201
    assert obj["metadata"]["name"].startswith("gen-") and len(obj["metadata"]["name"]) == 9


def test_finalizers_hold_deletion(api: Api) -> None:
    api.call("POST", CMS, cm("fin", finalizers=["example.com/hold"]))
    status, obj = api.call("DELETE", CMS + "/fin")
    assert status == 200 and obj["metadata"]["deletionTimestamp"]
    status, obj = api.call("GET", CMS + "/fin")
    assert status == 200 and obj["metadata"]["finalizers"] == ["example.com/hold"]
    status, _ = api.call("PATCH", CMS + "/fin", {"metadata": {"finalizers": None}},
                         "application/merge-patch+json")
    assert status == 200
    assert api.call("GET", CMS + "/fin")[0] == 404


@pytest.mark.parametrize(("policy", "finalizer"), [("Foreground", "foregroundDeletion"), ("Orphan", "orphan")])
def test_propagation_policy_is_recorded_for_the_gc(api: Api, policy: str, finalizer: str) -> None:
    name = f"prop-{policy.lower()}"
    api.call("POST", CMS, cm(name))
    status, obj = api.call("DELETE", f"{CMS}/{name}", {"propagationPolicy": policy})
    assert status == 200
    assert finalizer in obj["metadata"]["finalizers"] and obj["metadata"]["deletionTimestamp"]


def test_pods_on_a_node_delete_gracefully(api: Api) -> None:
    api.call("POST", PODS, pod("graceful", nodeName="node-1"))
    status, obj = api.call("DELETE", PODS + "/graceful")
    assert status == 200
    assert obj["metadata"]["deletionGracePeriodSeconds"] == 30 and obj["metadata"]["deletionTimestamp"]
    assert api.call("GET", PODS + "/graceful")[0] == 200
    status, _ = api.call("DELETE", PODS + "/graceful", {"gracePeriodSeconds": 0})
    assert status == 200
    assert api.call("GET", PODS + "/graceful")[0] == 404
    api.call("POST", PODS, pod("unscheduled"))
    api.call("DELETE", PODS + "/unscheduled")
    assert api.call("GET", PODS + "/unscheduled")[0] == 404


def test_binding_and_pod_defaults(api: Api) -> None:
    status, created = api.call("POST", PODS + "?fieldManager=creator", pod("bindme"))
    assert status == 201
    spec = created["spec"]
    assert spec["serviceAccountName"] == "default" and spec["schedulerName"] == "default-scheduler"
    assert any(v["name"].startswith("kube-api-access-") for v in spec["volumes"])
    assert {t["key"] for t in spec["tolerations"]} == {"node.kubernetes.io/not-ready",
                                                       "node.kubernetes.io/unreachable"}
    assert created["status"]["phase"] == "Pending"
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "bindme"},
               "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"}}
    assert api.call("POST", PODS + "/bindme/binding", binding)[0] == 201
    _, obj = api.call("GET", PODS + "/bindme")
    assert obj["spec"]["nodeName"] == "node-1"
    assert {"type": "PodScheduled", "status": "True"}.items() <= obj["status"]["conditions"][0].items()
    # as upstream: the creator owns its own (defaulted) fields, not what admission added, and binding adds no
    # manager of its own
    [entry] = obj["metadata"]["managedFields"]
    owned_spec = entry["fieldsV1"]["f:spec"]
    assert 'k:{"name":"c"}' in owned_spec["f:containers"] and "f:dnsPolicy" in owned_spec
    assert "f:volumes" not in owned_spec and "f:tolerations" not in owned_spec and "f:nodeName" not in owned_spec
    status, answer = api.call("POST", PODS + "/bindme/binding", binding)
    assert status == 409 and answer["reason"] == "Conflict"
    status, answer = api.call("GET", PODS + "/bindme/log")  # bound to a node that does not exist
    assert status == 404 and answer["kind"] == "Status" and answer["message"] == 'nodes "node-1" not found'


def test_status_subresource_splits_spec_and_status(api: Api) -> None:
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "split"},
              "spec": {"selector": {"matchLabels": {"app": "s"}},
                       "template": {"metadata": {"labels": {"app": "s"}},
                                    "spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
              "status": {"replicas": 5}}
    base = f"/apis/apps/v1/namespaces/{NS}/deployments"
    status, obj = api.call("POST", base, deploy)
    assert status == 201 and obj.get("status", {}).get("replicas") is None
    obj["status"] = {"replicas": 3, "observedGeneration": 1}
    obj["spec"]["replicas"] = 7
    status, after = api.call("PUT", base + "/split/status", obj)
    assert status == 200
    assert after["status"]["replicas"] == 3 and after["spec"]["replicas"] == 1
    assert after["metadata"]["generation"] == 1
    status, scale = api.call("GET", base + "/split/scale")
    assert scale == {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": scale["metadata"],
                     "spec": {"replicas": 1}, "status": {"replicas": 3, "selector": "app=s"}}
    status, scale = api.call("PATCH", base + "/split/scale", {"spec": {"replicas": 4}},
                             "application/merge-patch+json")
    assert status == 200 and scale["spec"]["replicas"] == 4
    _, obj = api.call("GET", base + "/split")
    assert obj["spec"]["replicas"] == 4 and obj["metadata"]["generation"] == 2 and obj["status"]["replicas"] == 3


def test_hpa_v1_and_v2_are_one_object(api: Api) -> None:
    hpa = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "conv"},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                    "minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 50}}
    status, _ = api.call("POST", f"/apis/autoscaling/v1/namespaces/{NS}/horizontalpodautoscalers", hpa)
    assert status == 201
    status, v2 = api.call("GET", f"/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/conv")
    assert status == 200 and v2["apiVersion"] == "autoscaling/v2"
    assert v2["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]
    _, v1 = api.call("GET", f"/apis/autoscaling/v1/namespaces/{NS}/horizontalpodautoscalers/conv")
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 50


def test_event_field_selectors_and_events_k8s_io(api: Api) -> None:
    event = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "ev1"},
             "involvedObject": {"kind": "Pod", "name": "p1", "namespace": NS, "uid": "u-1"},
             "reason": "Scheduled", "message": "Successfully assigned", "type": "Normal",
             "source": {"component": "default-scheduler"}, "count": 1,
             "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z"}
    assert api.call("POST", f"/api/v1/namespaces/{NS}/events", event)[0] == 201
    other = {**event, "metadata": {"name": "ev2"}, "involvedObject": {**event["involvedObject"], "name": "p2"}}
    assert api.call("POST", f"/api/v1/namespaces/{NS}/events", other)[0] == 201
    selector = f"involvedObject.name=p1,involvedObject.namespace={NS},involvedObject.uid=u-1"
    status, listing = api.call("GET", f"/api/v1/namespaces/{NS}/events?fieldSelector={selector}")
    assert status == 200 and [e["metadata"]["name"] for e in listing["items"]] == ["ev1"]
    status, new_style = api.call("GET", f"/apis/events.k8s.io/v1/namespaces/{NS}/events/ev1")
    assert status == 200 and new_style["regarding"]["name"] == "p1" and new_style["note"] == "Successfully assigned"


def test_table_rows_carry_partial_metadata(api: Api) -> None:
    api.call("POST", CMS, cm("tabled", labels={"t": "1"}))
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    status, table = api.call("GET", CMS + "?labelSelector=t%3D1", accept=accept)
    assert status == 200 and table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    (row,) = table["rows"]
    assert row["cells"][:2] == ["tabled", 1]
    assert row["object"]["kind"] == "PartialObjectMetadata" and row["object"]["metadata"]["labels"] == {"t": "1"}


def test_delete_collection_with_selector(api: Api) -> None:
    for i in range(3):
        api.call("POST", CMS, cm(f"dc-{i}", labels={"dc": "yes" if i < 2 else "no"}))
    status, _ = api.call("DELETE", CMS + "?labelSelector=dc%3Dyes")
    assert status == 200
    _, listing = api.call("GET", CMS + "?labelSelector=dc")
    assert [o["metadata"]["name"] for o in listing["items"]] == ["dc-2"]


def test_watch_selector_transitions_and_initial_events(api: Api) -> None:
    _, listing = api.call("GET", CMS)
    rv = listing["metadata"]["resourceVersion"]
    api.call("POST", CMS, cm("moves", labels={"w": "in"}))
    api.call("PATCH", CMS + "/moves", {"metadata": {"labels": {"w": "out"}}}, "application/merge-patch+json")
    api.call("PATCH", CMS + "/moves", {"metadata": {"labels": {"w": "in"}}}, "application/merge-patch+json")
    events = api.watch_lines(f"{CMS}?watch=true&resourceVersion={rv}&labelSelector=w%3Din", until=3)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "moves"), ("DELETED", "moves"), ("ADDED", "moves")]
    revisions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert revisions == sorted(revisions) and len(set(revisions)) == 3

    events = api.watch_lines(f"{CMS}?watch=true&sendInitialEvents=true&allowWatchBookmarks=true"
                             f"&resourceVersionMatch=NotOlderThan&labelSelector=w%3Din", until=2)
    assert events[0]["type"] == "ADDED"
    assert events[1]["type"] == "BOOKMARK"
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_watch_timeout_ends_the_stream(api: Api) -> None:
    started = time.monotonic()
    events = api.watch_lines(f"{CMS}?watch=true&timeoutSeconds=1&fieldSelector=metadata.name%3Dnothing",
                             until=1, timeout=10)
    assert events == []
    assert time.monotonic() - started < 5


def test_compacted_history_gives_410(tmp_path: Any) -> None:
    from harness import ApiServer

    server = ApiServer(tmp_path / "data", extra_args=("--storage-keep-revisions", "5",
                                                      "--storage-compact-interval", "0.2"))
    with server:
        api = Api(Cluster(server, tmp_path / "cache"))
        base = "/api/v1/namespaces/default/configmaps"
        _, listing = api.call("GET", base)
        old_rv = listing["metadata"]["resourceVersion"]
        for i in range(30):
            status, body = api.call("POST", base, cm(f"c{i}"))
            assert status == 201, body
        deadline = time.monotonic() + 10
        while True:
            events = api.watch_lines(f"{base}?watch=true&resourceVersion={old_rv}", until=1)
            if (events and events[0]["type"] == "ERROR") or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert events[0]["type"] == "ERROR"
        assert events[0]["object"]["code"] == 410 and events[0]["object"]["reason"] == "Expired"
        status, answer = api.call("GET", f"{base}?resourceVersion={old_rv}&resourceVersionMatch=Exact")
        assert status == 410 and answer["reason"] == "Expired"
        # the newest state is all still there
        _, listing = api.call("GET", base)
        assert len([o for o in listing["items"] if o["metadata"]["name"].startswith("c")]) == 30


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_idle_watches_sleep_between_bookmark_ticks(tmp_path: Any) -> None:
    """Watches that did not ask for bookmarks pass the bookmark ticks quietly; those that did get them."""
    from harness import ApiServer

    server = ApiServer(tmp_path / "data", extra_args=("--watch-bookmark-interval", "0.3"))
    with server:
        api = Api(Cluster(server, tmp_path / "cache"))
        base = "/api/v1/namespaces/default/configmaps"
        assert server.pid is not None
        cpu0, t0 = _cpu_seconds(server.pid), time.monotonic()
        quiet = api.watch_lines(f"{base}?watch=true&timeoutSeconds=3", until=1, timeout=6)
        elapsed = time.monotonic() - t0
        cpu = _cpu_seconds(server.pid) - cpu0
        assert quiet == [] and elapsed >= 2.5
        assert cpu < 0.3 * elapsed, f"the API server used {cpu:.2f} s of CPU in {elapsed:.1f} s of an idle watch"
        marks = api.watch_lines(f"{base}?watch=true&allowWatchBookmarks=true&timeoutSeconds=2", until=3, timeout=6)
        assert [e["type"] for e in marks] == ["BOOKMARK"] * 3
