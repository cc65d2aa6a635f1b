"""Issue 5's must-show list on a whole ``kyb server --cleanup --lb-pool 127.0.100.0/24`` with a real node (root).

Tests run in file order on one module-scoped server: ClusterIP from the host and from a pod (by IP and by DNS name),
three replicas all reached, hairpin, NodePort on 127.0.0.1, a LoadBalancer address from the pool, ExternalName
CNAME, headless → ready pod IPs, a removed pod leaving rotation and DNS, REJECT for a Service without endpoints.
When the server stops, the machine's nft rule set, routes and ``route_localnet`` are what they were before (checked
only when no other engineer's ``kyb agent`` shares the machine).  From pods: busybox ``nc`` and ``nslookup``
(busybox-static ``wget`` segfaults).
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import KybServer
from test_kyb_server import Node, _links, _netns, _other_agents, _our_pids, _phase, _sh, busybox_pod, wait_for

pytestmark = [pytest.mark.root, pytest.mark.kubectl]

Obj = dict[str, Any]
POOL = "127.0.100.0/24"
ROUTE_LOCALNET = Path("/proc/sys/net/ipv4/conf/all/route_localnet")
HTTP_GET = r"printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 {host} {port}"


def _http_status(url: str, timeout: float = 3.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # ClusterIPs, pod IPs and loopback only
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    if shutil.which("ctr") is None or shutil.which("nft") is None:
        pytest.skip("containerd and nft are needed")
    base = tmp_path_factory.mktemp("kyb-svc")
    def machine_free() -> bool:  # one real node per machine at a time (cni0, 10250, containerd's 10010)
        return not _other_agents(base) and ":10010 " not in _sh("ss", "-ltn")

    with contextlib.suppress(AssertionError):
        wait_for("other kyb agents to stop", machine_free, 900, interval=2)
    ruleset, routes, localnet = _sh("nft", "list", "ruleset"), _sh("ip", "route"), ROUTE_LOCALNET.read_text()
    server = KybServer(base / "data", simulated_nodes=0, extra_args=("--cleanup", "--lb-pool", POOL),
                       start_timeout=120, stop_timeout=90)
    n = Node(server, _netns(), _links())
    try:
        server.start()
        wait_for("the node registered", lambda: json.loads(n.k("get", "nodes", "-o", "json").stdout)["items"], 60)
        n.k("wait", "--for=condition=Ready", "node", "--all", "--timeout=90s", timeout=100)
        yield n
    finally:
        server.close()
    time.sleep(0.5)
    assert _our_pids(server.data_dir) == []
    if not _other_agents(server.data_dir):
        assert _sh("nft", "list", "ruleset") == ruleset
        assert _sh("ip", "route") == routes
        assert ROUTE_LOCALNET.read_text() == localnet
        assert "kyb-svc" not in _links()


def cluster_ip(node: Node, name: str) -> str:
    return str(json.loads(node.k("get", "svc", name, "-o", "json").stdout)["spec"]["clusterIP"])


def ready_pods(node: Node, selector: str) -> list[Obj]:
    return [p for p in node.pods(selector) if _phase(p) == "Running" and not p["metadata"].get("deletionTimestamp")
            and any(c.get("type") == "Ready" and c.get("status") == "True"
                    for c in (p.get("status") or {}).get("conditions") or [])]


def in_pod(node: Node, pod: str, script: str, *, check: bool = False) -> str:
    return node.k("exec", pod, "--", "sh", "-c", script, check=check, timeout=30).stdout


@pytest.fixture(scope="module")
def nginx(node: Node) -> str:
    node.k("create", "deployment", "nginx", "--image=nginx")
    node.k("expose", "deployment", "nginx", "--port=80", "--type=ClusterIP")
    wait_for("nginx ready", lambda: ready_pods(node, "app=nginx"), 60)
    node.track()
    return cluster_ip(node, "nginx")


@pytest.fixture(scope="module")
def client(node: Node) -> str:
    node.apply(busybox_pod("client", ["sleep", "3600"]))
    wait_for("client running", lambda: _phase(node.pod("client")) == "Running", 60)
    node.track()
    return "client"


# ---------------------------------------------------------------------------------------------------- seed


def test_cluster_ip_from_host(node: Node, nginx: str) -> None:
    assert nginx.startswith("10.43."), nginx
    assert wait_for("HTTP 200 from the ClusterIP", lambda: _http_status(f"http://{nginx}/") == 200, 10)


def test_cluster_ip_from_pod_by_ip_and_name(node: Node, nginx: str, client: str) -> None:
    out = wait_for("nginx via ClusterIP from a pod",
                   lambda: (lambda o: o if "200 OK" in o else None)(
                       in_pod(node, client, HTTP_GET.format(host=nginx, port=80))), 15)
    assert "Welcome to nginx!" in out
    resolv = in_pod(node, client, "cat /etc/resolv.conf")
    assert "nameserver 10.43.0.10" in resolv and "ndots:5" in resolv, resolv
    looked = wait_for("nginx.default.svc.cluster.local resolves",
                      lambda: (lambda o: o if nginx in o else None)(
                          in_pod(node, client, "nslookup nginx.default.svc.cluster.local")), 15)
    assert "nginx.default.svc.cluster.local" in looked
    out = in_pod(node, client, HTTP_GET.format(host="nginx.default.svc.cluster.local", port=80))
    assert "200 OK" in out, out
    short = in_pod(node, client, "nslookup nginx")  # search path
    assert nginx in short, short


def test_three_replicas_all_reached(node: Node, nginx: str) -> None:
    node.k("scale", "deployment", "nginx", "--replicas=3")
    pods = wait_for("3 ready replicas", lambda: (lambda p: p if len(p) == 3 else None)(ready_pods(node, "app=nginx")),
                    60)
    node.track()
    names = sorted(p["metadata"]["name"] for p in pods)

    def all_hit() -> bool:
        for _ in range(30):
            _http_status(f"http://{nginx}/?probe=spread")
        return all("probe=spread" in node.k("logs", name).stdout for name in names)

    assert wait_for("requests reach all 3 pods", all_hit, 30, interval=0.5)


def test_hairpin(node: Node, nginx: str) -> None:
    node.k("create", "deployment", "solo", "--image=nginx")
    node.k("expose", "deployment", "solo", "--port=80")
    pod = wait_for("solo ready", lambda: ready_pods(node, "app=solo"), 60)[0]
    node.track()
    ip = cluster_ip(node, "solo")
    out = wait_for("a pod reaches itself through its service",
                   lambda: (lambda o: o if "200 OK" in o else None)(
                       in_pod(node, pod["metadata"]["name"], HTTP_GET.format(host=ip, port=80))), 15)
    assert "Welcome to nginx!" in out


# ------------------------------------------------------------------------------------------- other types


def test_node_port_on_localhost(node: Node, nginx: str) -> None:
    node.k("expose", "deployment", "nginx", "--name=nginx-np", "--port=80", "--type=NodePort")
    svc = json.loads(node.k("get", "svc", "nginx-np", "-o", "json").stdout)
    port = svc["spec"]["ports"][0]["nodePort"]
    assert 30000 <= port <= 32767
    assert wait_for("NodePort on 127.0.0.1", lambda: _http_status(f"http://127.0.0.1:{port}/") == 200, 10)


def test_load_balancer_address_answers(node: Node, nginx: str) -> None:
    node.k("expose", "deployment", "nginx", "--name=nginx-lb", "--port=8081", "--target-port=80",
           "--type=LoadBalancer")

    def external_ip() -> str | None:
        out = node.k("get", "svc", "nginx-lb").stdout
        m = re.search(r"nginx-lb +LoadBalancer +10\.43\.\S+ +(127\.0\.100\.\d+) +8081:3\d{4}/TCP", out)
        return m.group(1) if m else None

    ip = wait_for("EXTERNAL-IP from the pool", external_ip, 20)
    assert wait_for("the LoadBalancer address answers", lambda: _http_status(f"http://{ip}:8081/") == 200, 10)


def test_external_name_cname(node: Node, client: str) -> None:
    node.k("create", "service", "externalname", "ext", "--external-name=nginx.default.svc.cluster.local")
    out = wait_for("ExternalName CNAME", lambda: (lambda o: o if "canonical name" in o else None)(
        in_pod(node, client, "nslookup ext.default.svc.cluster.local")), 15)
    assert "nginx.default.svc.cluster.local" in out, out


def test_headless_resolves_ready_pods_and_removal(node: Node, nginx: str, client: str) -> None:
    node.k("create", "service", "clusterip", "web-headless", "--clusterip=None", "--tcp=80:80")
    node.k("set", "selector", "service", "web-headless", "app=nginx")
    ips = sorted(p["status"]["podIP"] for p in ready_pods(node, "app=nginx"))
    assert len(ips) == 3

    def answered() -> list[str]:
        out = in_pod(node, client, "nslookup web-headless.default.svc.cluster.local")
        return sorted(set(re.findall(r"Address: (10\.42\.\d+\.\d+)", out)))

    assert wait_for("headless → 3 pod IPs", lambda: answered() == ips, 15)
    node.k("scale", "deployment", "nginx", "--replicas=2")
    remaining = wait_for("2 replicas", lambda: (lambda p: p if len(p) == 2 else None)(ready_pods(node, "app=nginx")),
                         60)
    left = sorted(p["status"]["podIP"] for p in remaining)
    gone = (set(ips) - set(left)).pop()
    assert wait_for("DNS drops the removed pod", lambda: answered() == left, 20)
    assert wait_for("rules drop the removed pod",
                    lambda: f"dnat to {gone}:80" not in _sh("nft", "list", "table", "ip", "kybernetes"), 10)
    for _ in range(10):
        assert _http_status(f"http://{nginx}/") == 200


def test_service_without_endpoints_rejects(node: Node, nginx: str) -> None:
    node.k("create", "service", "clusterip", "nobody", "--tcp=80:80")
    ip = cluster_ip(node, "nobody")
    time.sleep(1)
    start = time.monotonic()
    with pytest.raises(urllib.error.URLError) as err:
        urllib.request.urlopen(f"http://{ip}/", timeout=5)
    assert time.monotonic() - start < 2, "REJECT, not a hang"
    assert "refused" in str(err.value).lower(), err.value


def test_kubernetes_service_from_pod_and_host(node: Node, client: str) -> None:
    out = in_pod(node, client, "echo | nc -w 2 10.43.0.1 443 >/dev/null 2>&1; echo rc=$?")
    assert "rc=0" in out, out  # connected to the API server through default/kubernetes
    done = subprocess.run(["curl", "-sk", "-m", "3", "https://10.43.0.1/readyz"], capture_output=True, text=True)
    assert done.stdout == "ok", done
