"""pods/log and pods/exec through a real ``kyb apiserver`` to a real :class:`KubeletServer` on a fake runtime,
driven by the real kubectl: v5 WebSocket (1.32/1.33, bridged to SPDY) and SPDY passthrough (1.27)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_kubelet import FakeContainer, FakeNode, cri_line
from harness import Cluster, kubectl_binary

from kybernetes.apiserver import certs
from kybernetes.kubelet.server import kubelet_ssl_context

POD = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "busybox"}]},
}


@pytest.fixture
def node(fresh_apiserver: Cluster, tmp_path: Path) -> Iterator[FakeNode]:
    pki = certs.ensure_pki(fresh_apiserver.data_dir)
    cert, key = certs.issue_server_cert(pki.ca, ["localhost"], ["127.0.0.1"])
    (tmp_path / "kubelet.crt").write_bytes(cert)
    (tmp_path / "kubelet.key").write_bytes(key)
    ctx = kubelet_ssl_context(tmp_path / "kubelet.crt", tmp_path / "kubelet.key", pki.ca_cert_path)
    fake = FakeNode(ctx).start()
    try:
        k = fresh_apiserver.kubectl
        k("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}))
        status = {"status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                             "daemonEndpoints": {"kubeletEndpoint": {"Port": fake.port}}}}
        k("patch", "node", "n1", "--subresource=status", "--type=merge", "-p", json.dumps(status))
        k("create", "-f", "-", input=json.dumps(POD))
        log = tmp_path / "app.log"
        log.write_text(cri_line("stdout", "one") + cri_line("stderr", "two", partial=True) +
                       cri_line("stderr", "-three") + cri_line("stdout", "four"))
        fake.view.pods_by_key[("default", "web")] = POD
        fake.view.containers[("default", "web", "app")] = FakeContainer("cid-app", log)
        yield fake
    finally:
        fake.stop()


def test_logs_tail_and_timestamps(fresh_apiserver: Cluster, node: FakeNode) -> None:
    k = fresh_apiserver.kubectl
    assert k("logs", "web").stdout == "one\ntwo-three\nfour\n"
    assert k("logs", "web", "--tail=2").stdout == "two-three\nfour\n"
    assert k("logs", "web", "-c", "app", "--limit-bytes=6").stdout == "one\ntw"
    assert k("logs", "web", "--timestamps", "--tail=1").stdout == "2026-01-01T00:00:00.000000001Z four\n"
    assert k("logs", "web", "--since=1h").stdout == ""


def test_logs_follow_until_container_exits(fresh_apiserver: Cluster, node: FakeNode) -> None:
    log = node.view.containers[("default", "web", "app")].log_path
    cmd = [str(kubectl_binary()), f"--kubeconfig={fresh_apiserver.kubeconfig}", "logs", "-f", "web"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        with log.open("a") as f:
            f.write(cri_line("stdout", "five"))
        time.sleep(0.5)
        node.view.containers[("default", "web", "app")].running = False
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert out == "one\ntwo-three\nfour\nfive\n"


def test_log_errors(fresh_apiserver: Cluster, node: FakeNode) -> None:
    k = fresh_apiserver.kubectl
    bad = k("logs", "web", "-c", "nope", check=False)
    assert bad.returncode != 0
    assert "container nope is not valid for pod web" in bad.stderr
    unbound = dict(POD, metadata={"name": "floating", "namespace": "default"},
                   spec={"containers": [{"name": "app", "image": "busybox"}]})
    k("create", "-f", "-", input=json.dumps(unbound))
    r = k("logs", "floating", check=False)
    assert r.returncode != 0
    assert "pod floating does not have a host assigned" in r.stderr


@pytest.mark.parametrize("version", ["1.33", "1.32", "1.27"])
def test_exec(fresh_apiserver: Cluster, node: FakeNode, version: str) -> None:
    k = fresh_apiserver.kubectl
    assert k("exec", "web", "--", "echo", "hello", "world", version=version).stdout == "hello world\n"
    r = k("exec", "web", "--", "sh", "-c", "exit 3", version=version, check=False)
    assert r.returncode == 3, r.stderr
    assert "command terminated with exit code 3" in r.stderr
    assert "exiting" in r.stderr
    r = k("exec", "-i", "web", "--", "cat", version=version, input="line 1\nline 2\n", timeout=30)
    assert r.stdout == "line 1\nline 2\n"


def test_kubelet_requires_client_cert_and_serves_pods_stats(fresh_apiserver: Cluster, node: FakeNode) -> None:
    import http.client
    import ssl

    pki = certs.ensure_pki(fresh_apiserver.data_dir)
    ctx = ssl.create_default_context(cadata=pki.ca_cert_pem.decode())
    ctx.check_hostname = False

    def get(path: str, context: ssl.SSLContext) -> tuple[int, bytes]:
        conn = http.client.HTTPSConnection("127.0.0.1", node.port, context=context, timeout=10)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        get("/healthz", ctx)  # no client certificate: the handshake fails
    ctx.load_cert_chain(pki.admin_cert_path, pki.admin_key_path)
    assert get("/healthz", ctx) == (200, b"ok")
    status, body = get("/pods", ctx)
    assert status == 200 and [p["metadata"]["name"] for p in json.loads(body)["items"]] == ["web"]
    status, body = get("/stats/summary", ctx)
    summary = json.loads(body)
    assert status == 200 and summary["pods"] == []
    assert summary["node"]["memory"]["workingSetBytes"] > 0
    assert summary["node"]["cpu"]["usageCoreNanoSeconds"] > 0
