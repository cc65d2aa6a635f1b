"""Issue 7's must-show list on a whole ``kyb server --cleanup`` with a real node (root, real containers):
``kubectl top nodes|pods`` print real non-zero usage, and an HPA made by ``kubectl autoscale --cpu-percent=50
--min=1 --max=4`` scales a busybox deployment up under a CPU-burning loop and back to 1 after the loop stops and
the shortened stabilization window (``--controller-option hpa_downscale_stabilization=10``) passes; its events and
conditions say why.  The host checks after the server stops are those of ``test_kyb_server.py``."""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Iterator

import pytest
from harness import KybServer
from test_kyb_server import Node, _kubepods, _links, _netns, _other_agents, _our_pids, _sh, wait_for

pytestmark = [pytest.mark.root, pytest.mark.kubectl]

# every replica burns CPU (capped at its 500m limit) until /tmp/stop exists in it, then idles
BURN = "while [ ! -f /tmp/stop ]; do :; done; exec sleep 3600"


@pytest.fixture(scope="module")
def hpa_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    if shutil.which("ctr") is None:
        pytest.skip("ctr (containerd) is not installed")
    base = tmp_path_factory.mktemp("kyb-hpa")
    with contextlib.suppress(AssertionError):
        wait_for("other kyb agents to stop", lambda: not _other_agents(base), 600, interval=2)
    routes = _sh("ip", "route")
    kubepods = _kubepods()
    server = KybServer(base / "data", simulated_nodes=0, start_timeout=120, stop_timeout=90, extra_args=(
        "--cleanup", "--controller-option", "hpa_downscale_stabilization=10",
        "--controller-option", "hpa_sync_period=5"))
    n = Node(server, _netns(), _links())
    try:
        server.start()
        wait_for("the node registered", lambda: json.loads(n.k("get", "nodes", "-o", "json").stdout)["items"], 60)
        n.k("wait", "--for=condition=Ready", "node", "--all", "--timeout=90s", timeout=100)
        yield n
    finally:
        server.close()
    time.sleep(0.5)
    assert _our_pids(server.data_dir) == [], "processes of this server survived it"
    if not _other_agents(server.data_dir):
        assert _sh("ip", "route") == routes
        assert "cni0" not in _links()
        assert "table ip kybernetes" not in _sh("nft", "list", "tables")
        assert _kubepods() <= kubepods


def _replicas(n: Node) -> int:
    return int(json.loads(n.k("get", "deploy", "burn", "-o", "json").stdout)["spec"].get("replicas", 0))


def test_top_and_autoscale(hpa_node: Node) -> None:
    n = hpa_node
    n.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "burn"},
             "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "burn"}},
                      "template": {"metadata": {"labels": {"app": "burn"}},
                                   "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                                       "name": "c", "image": "busybox", "command": ["sh", "-c", BURN],
                                       "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "500m"}}}]}}}})
    n.k("rollout", "status", "deploy/burn", "--timeout=120s", timeout=130)
    first = n.pods("app=burn")[0]["metadata"]["name"]
    n.k("autoscale", "deployment", "burn", "--cpu-percent=50", "--min=1", "--max=4")

    def top_pod() -> str | None:
        proc = n.k("top", "pod", first, check=False)
        if proc.returncode != 0:
            return None
        row = proc.stdout.splitlines()[1].split()
        return proc.stdout if int(row[1].rstrip("m")) >= 100 else None

    out = wait_for("kubectl top pod to show the burner", top_pod, 90, interval=2)
    assert out.splitlines()[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    nodes = n.k("top", "nodes").stdout.splitlines()
    assert nodes[0].split()[:2] == ["NAME", "CPU(cores)"]
    assert int(nodes[1].split()[1].rstrip("m")) > 0

    start = time.monotonic()
    wait_for("the HPA to scale up", lambda: _replicas(n) > 1, 60, interval=1)
    assert time.monotonic() - start <= 60
    hpa = n.k("get", "hpa", "burn").stdout
    assert "Deployment/burn" in hpa and "%/50%" in hpa, hpa
    events = n.events("burn")
    rescales = [e["message"] for e in events if e["reason"] == "SuccessfulRescale"]
    assert any(m.startswith("New size: ") and m.endswith(
        "reason: cpu resource utilization (percentage of request) above target") for m in rescales), rescales

    wait_for("the HPA to reach max", lambda: _replicas(n) == 4, 90, interval=1)
    n.k("rollout", "status", "deploy/burn", "--timeout=120s", timeout=130)
    for pod in n.pods("app=burn"):
        n.k("exec", pod["metadata"]["name"], "--", "touch", "/tmp/stop", check=False)
    wait_for("the HPA to scale back to 1", lambda: _replicas(n) == 1, 120, interval=2)
    obj = json.loads(n.k("get", "hpa.v2.autoscaling", "burn", "-o", "json").stdout)
    conditions = {c["type"]: c for c in obj["status"]["conditions"]}
    assert conditions["AbleToScale"]["status"] == "True"
    assert conditions["ScalingActive"]["reason"] == "ValidMetricFound"
    assert "ScalingLimited" in conditions
    rescales = [e["message"] for e in n.events("burn") if e["reason"] == "SuccessfulRescale"]
    assert "New size: 1; reason: All metrics below target" in rescales, rescales
    describe = n.k("describe", "hpa", "burn").stdout
    assert "SuccessfulRescale" in describe and "ValidMetricFound" in describe
    n.k("delete", "hpa", "burn")
    n.k("delete", "deploy", "burn")
