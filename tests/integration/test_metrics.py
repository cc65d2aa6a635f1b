"""``metrics.k8s.io`` and ``/metrics`` through a real ``kyb apiserver``: a fake node (the real KubeletServer with a
synthetic ``/stats/summary``) is scraped, and the real ``kubectl top`` prints what upstream prints."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_kubelet import FakeNode
from harness import Cluster, KubectlError

from kybernetes.apiserver import certs
from kybernetes.kubelet.server import kubelet_ssl_context
from kybernetes.kubelet.stats import resource_metrics_text

START = time.time()


class FakeStats:
    """A node at 0.5 cores and a pod container at 0.25 cores, 10 MiB; the pod's uid is set by the test."""

    def __init__(self) -> None:
        self.pod_uid = ""

    async def summary(self) -> dict[str, Any]:
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        used = now - START
        container = {"name": "app", "startTime": stamp,
                     "cpu": {"time": stamp, "usageCoreNanoSeconds": int(used * 0.25e9), "usageNanoCores": 250_000_000},
                     "memory": {"time": stamp, "workingSetBytes": 10 * 1024 * 1024}}
        pods = []
        if self.pod_uid:
            pods.append({"podRef": {"name": "web", "namespace": "default", "uid": self.pod_uid},
                         "containers": [container], "cpu": container["cpu"], "memory": container["memory"]})
        return {"node": {"nodeName": "n1", "cpu": {"time": stamp, "usageCoreNanoSeconds": int(used * 0.5e9)},
                         "memory": {"time": stamp, "workingSetBytes": 512 * 1024 * 1024}},
                "pods": pods}


@pytest.fixture
def node(fresh_apiserver: Cluster, tmp_path: Path) -> Iterator[tuple[FakeNode, FakeStats]]:
    pki = certs.ensure_pki(fresh_apiserver.data_dir)
    cert, key = certs.issue_server_cert(pki.ca, ["localhost"], ["127.0.0.1"])
    (tmp_path / "kubelet.crt").write_bytes(cert)
    (tmp_path / "kubelet.key").write_bytes(key)
    ctx = kubelet_ssl_context(tmp_path / "kubelet.crt", tmp_path / "kubelet.key", pki.ca_cert_path)
    fake = FakeNode(ctx)
    stats = FakeStats()
    fake.server.stats = stats  # type: ignore[assignment]
    fake.start()
    try:
        yield fake, stats
    finally:
        fake.stop()


def _wait_for_group(cluster: Cluster, within: float = 40.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        code, body = cluster.get("/apis")
        if code == 200 and b"metrics.k8s.io" in body:
            return
        time.sleep(0.5)
    raise AssertionError("metrics.k8s.io never appeared in /apis")


def test_top_nodes_and_pods(fresh_apiserver: Cluster, node: tuple[FakeNode, FakeStats]) -> None:
    fake, stats = node
    k = fresh_apiserver.kubectl
    with pytest.raises(KubectlError) as info:
        k("top", "nodes")
    assert "Metrics API not available" in info.value.stderr
    k("create", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
        "status": {"capacity": {"cpu": "4", "memory": "8Gi"}, "allocatable": {"cpu": "4", "memory": "8Gi"}}}))
    status = {"status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                         "allocatable": {"cpu": "4", "memory": "8Gi"}, "capacity": {"cpu": "4", "memory": "8Gi"},
                         "daemonEndpoints": {"kubeletEndpoint": {"Port": fake.port}}}}
    k("patch", "node", "n1", "--subresource=status", "--type=merge", "-p", json.dumps(status))
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"app": "web"}},
           "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "busybox"}]}}
    created = json.loads(k("create", "-o", "json", "-f", "-", input=json.dumps(pod)).stdout)
    stats.pod_uid = created["metadata"]["uid"]
    _wait_for_group(fresh_apiserver)

    lines = k("top", "nodes").stdout.splitlines()
    assert lines[0].split() == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"] or \
        lines[0].split()[:3] == ["NAME", "CPU(cores)", "CPU%"]
    row = lines[1].split()
    assert row[0] == "n1"
    assert 400 <= int(row[1].rstrip("m")) <= 600, lines
    assert row[3] == "512Mi"

    lines = k("top", "pods").stdout.splitlines()
    assert lines[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    name, cpu, mem = lines[1].split()
    assert name == "web" and 200 <= int(cpu.rstrip("m")) <= 300 and mem == "10Mi", lines

    lines = k("top", "pods", "--containers", "-l", "app=web").stdout.splitlines()
    assert lines[0].split() == ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert lines[1].split()[:2] == ["web", "app"]
    assert "No resources found" in k("top", "pods", "-l", "app=nothing").stderr + \
        k("top", "pods", "-l", "app=nothing").stdout

    with pytest.raises(KubectlError) as info:
        k("top", "pod", "nope")
    assert 'podmetrics.metrics.k8s.io "default/nope" not found' in info.value.stderr

    code, body = fresh_apiserver.get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web")
    assert code == 200
    doc = json.loads(body)
    assert doc["kind"] == "PodMetrics" and doc["window"].endswith("s") and doc["timestamp"].endswith("Z")
    assert doc["metadata"]["labels"] == {"app": "web"}
    code, body = fresh_apiserver.get("/apis/metrics.k8s.io/v1beta1/nodes/n1")
    assert code == 200 and json.loads(body)["kind"] == "NodeMetrics"


def test_apiserver_metrics_endpoint(fresh_apiserver: Cluster) -> None:
    fresh_apiserver.kubectl("get", "pods")
    code, body = fresh_apiserver.get("/metrics")
    assert code == 200
    text = body.decode()
    assert "# TYPE apiserver_request_total counter" in text
    assert 'apiserver_request_total{code="200",component="apiserver",group="",resource="pods"' in text
    assert "apiserver_request_duration_seconds_bucket{" in text
    assert fresh_apiserver.get("/metrics", anonymous=True)[0] == 401


def test_resource_metrics_text() -> None:
    summary = {"node": {"cpu": {"time": "2026-01-01T00:00:00Z", "usageCoreNanoSeconds": 2_500_000_000},
                        "memory": {"time": "2026-01-01T00:00:00Z", "workingSetBytes": 1024}},
               "pods": [{"podRef": {"name": "p", "namespace": "ns"},
                         "cpu": {"time": "2026-01-01T00:00:00Z", "usageCoreNanoSeconds": 1_000_000_000},
                         "memory": {"time": "2026-01-01T00:00:00Z", "workingSetBytes": 512},
                         "containers": [{"name": "c", "startTime": "2026-01-01T00:00:00Z",
                                         "cpu": {"time": "2026-01-01T00:00:00Z", "usageCoreNanoSeconds": 10**9},
                                         "memory": {"time": "2026-01-01T00:00:00Z", "workingSetBytes": 512}}]}]}
    text = resource_metrics_text(summary)
    assert "# TYPE node_cpu_usage_seconds_total counter" in text
    assert "node_cpu_usage_seconds_total 2.5 1767225600000" in text
    assert 'container_cpu_usage_seconds_total{container="c",namespace="ns",pod="p"} 1.0 1767225600000' in text
    assert 'pod_memory_working_set_bytes{namespace="ns",pod="p"} 512.0 1767225600000' in text
    assert "resource_scrape_error 0.0" in text
