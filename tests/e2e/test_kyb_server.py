"""Issue 4's must-show list on a whole ``kyb server --cleanup`` with a real node, driven by the real kubectl (root).

One module-scoped server (API server, controller manager, scheduler and the real agent: registry, containerd,
safety net, CNI, kubelet) on a fresh data dir and port.  The tests run in file order: the nginx deployment first
(Running in ≤ 10 s, curl, logs, exec, ``exec -ti`` under tmux, port-forward, describe), then restarts, probes and
a Job, then the agent restart (SIGKILL by PID; the supervisor starts it again and it adopts the running pods with
0 restarts), and last: after deleting every pod, no containers, sandboxes, netns, veths or mounts remain.  When
the server stops, the host is checked: no process, mount, netns, veth, route, nft table or kubepods cgroup of
ours is left.

Other engineers may run a ``kyb`` node on this machine at the same time (``cni0``, port 10250, the shared nft
table): host-wide checks that such a run could disturb are only made when no other ``kyb agent`` is running.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from harness import KybServer, kubectl_binary

pytestmark = [pytest.mark.root, pytest.mark.kubectl]

Obj = dict[str, Any]
T = TypeVar("T")
CGROUP_ROOT = Path("/sys/fs/cgroup")
BUSYBOX_SLEEP = ["sleep", "3600"]


def _sh(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout


def _cmdlines() -> dict[int, str]:
    out: dict[int, str] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            with contextlib.suppress(OSError):
                out[int(d.name)] = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    return out


def _our_pids(data_dir: Path) -> list[int]:
    """Processes whose command line names our data dir (kyb components, registry, containerd, shims)."""
    return [pid for pid, cmd in _cmdlines().items() if str(data_dir) in cmd and pid != os.getpid()]


def _other_agents(data_dir: Path) -> bool:
    """Whether another engineer's real ``kyb agent`` runs on this machine (it shares cni0 and the nft table)."""
    return any(" agent " in cmd and "kybernetes" in cmd and "--simulate" not in cmd and str(data_dir) not in cmd
               for cmd in _cmdlines().values())


def _netns() -> set[str]:
    return set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set()


def _links() -> set[str]:
    return {line.split()[0].split("@")[0] for line in _sh("ip", "-br", "link").splitlines() if line.strip()}


def _kubepods() -> set[str]:
    return {str(p) for p in CGROUP_ROOT.glob("*/kubepods*")} | {str(p) for p in CGROUP_ROOT.glob("kubepods*")}


def _mounts_under(path: Path) -> list[str]:
    return [line for line in Path("/proc/self/mountinfo").read_text().splitlines() if str(path) in line]


def wait_for(what: str, fn: Callable[[], T | None], timeout: float, interval: float = 0.25) -> T:
    """Call ``fn`` until it returns something truthy; fail with ``what`` and the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")
        time.sleep(interval)


def wait_for_text(what: str, fn: Callable[[], str], needle: str, timeout: float) -> str:
    """Call ``fn`` until its output contains ``needle``; return that output."""
    return wait_for(what, lambda: (lambda out: out if needle in out else None)(fn()), timeout)


@dataclass
class Node:
    server: KybServer
    baseline_netns: set[str]
    baseline_links: set[str]
    seen_netns: set[str] = field(default_factory=set)
    seen_links: set[str] = field(default_factory=set)

    @property
    def data_dir(self) -> Path:
        return Path(self.server.data_dir)

    @property
    def socket(self) -> Path:
        return self.data_dir / "agent" / "containerd" / "state" / "containerd.sock"

    def k(self, *args: str, version: str = "1.32", input: str | None = None, check: bool = True,
          timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        proc: subprocess.CompletedProcess[str] = self.server.kubectl(*args, version=version, input=input, check=check,
                                                                     timeout=timeout)
        return proc

    def apply(self, obj: Obj) -> None:
        self.k("apply", "-f", "-", input=json.dumps(obj))

    def pod(self, name: str) -> Obj:
        return dict(json.loads(self.k("get", "pod", name, "-o", "json").stdout))

    def pods(self, selector: str = "") -> list[Obj]:
        args = ["get", "pods", "-o", "json"] + ([f"-l={selector}"] if selector else [])
        return list(json.loads(self.k(*args).stdout)["items"])

    def events(self, name: str) -> list[Obj]:
        out = self.k("get", "events", f"--field-selector=involvedObject.name={name}", "-o", "json").stdout
        return list(json.loads(out)["items"])

    def track(self) -> None:
        """Remember the netns and links our pods created (to check they are gone later)."""
        self.seen_netns |= _netns() - self.baseline_netns
        self.seen_links |= {x for x in _links() - self.baseline_links if x.startswith("veth")}

    def ctr(self, *args: str) -> list[str]:
        out = _sh("ctr", "--address", str(self.socket), "--namespace", "k8s.io", *args)
        return [line for line in out.splitlines()[1:] if line.strip()]


def _phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def _container_status(pod: Obj) -> Obj:
    statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
    return dict(statuses[0])


def busybox_pod(name: str, command: list[str], **spec: Any) -> Obj:
    container: Obj = {"name": "c", "image": "busybox", "command": command}
    container.update(spec.pop("container", {}))
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [container], **spec}}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    if shutil.which("ctr") is None:
        pytest.skip("ctr (containerd) is not installed")
    base = tmp_path_factory.mktemp("kyb-server")
    # one real node per machine at a time (cni0, 10.42.0.0/24, port 10250): let another run finish first
    with contextlib.suppress(AssertionError):
        wait_for("other kyb agents to stop", lambda: not _other_agents(base), 600, interval=2)
    routes = _sh("ip", "route")
    kubepods = _kubepods()
    server = KybServer(base / "data", simulated_nodes=0, extra_args=("--cleanup",), start_timeout=120,
                       stop_timeout=90)
    n = Node(server, _netns(), _links())
    try:
        server.start()
        wait_for("the node registered", lambda: json.loads(n.k("get", "nodes", "-o", "json").stdout)["items"], 60)
        n.k("wait", "--for=condition=Ready", "node", "--all", "--timeout=90s", timeout=100)
        yield n
    finally:
        server.close()
    # the whole server stopped with --cleanup: nothing of ours is left on the host
    time.sleep(0.5)
    left = {pid: _cmdlines().get(pid, "") for pid in _our_pids(server.data_dir)}
    assert not left, f"processes of this server survived it: {left}"
    assert _mounts_under(server.data_dir) == []
    assert not (n.seen_netns & _netns()), f"pod netns left behind: {n.seen_netns & _netns()}"
    assert not (n.seen_links & _links()), f"pod veths left behind: {n.seen_links & _links()}"
    if not _other_agents(server.data_dir):
        assert _sh("ip", "route") == routes
        assert "cni0" not in _links()
        assert "table ip kybernetes" not in _sh("nft", "list", "tables")
        assert _kubepods() <= kubepods, _kubepods() - kubepods


@pytest.fixture(scope="module")
def nginx(node: Node) -> Obj:
    """The one pod of ``kubectl create deployment nginx --image=nginx``, Running; ``created_to_running`` is the
    time from the create command to the first observation of phase Running."""
    start = time.monotonic()
    node.k("create", "deployment", "nginx", "--image=nginx")

    def running() -> Obj | None:
        pods = [p for p in node.pods("app=nginx") if _phase(p) == "Running"]
        return pods[0] if pods else None

    pod = wait_for("nginx Running", running, 30, interval=0.1)
    pod["created_to_running"] = time.monotonic() - start
    node.track()
    return pod


def _http(url: str, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # pod IPs and loopback only
        return str(resp.read().decode(errors="replace"))


# ------------------------------------------------------------------------------------------------ 1. nginx


def test_nginx_running_within_10s_and_serves(node: Node, nginx: Obj) -> None:
    assert nginx["created_to_running"] <= 10.0, nginx["created_to_running"]
    ip = nginx["status"]["podIP"]
    assert ip.startswith("10.42."), ip
    assert "Welcome to nginx!" in _http(f"http://{ip}/")
    out = node.k("get", "pods", "-l=app=nginx").stdout
    assert re.search(r"nginx-[a-z0-9]+-[a-z0-9]+ +1/1 +Running +0 ", out), out


def test_logs_and_follow(node: Node, nginx: Obj) -> None:
    name = nginx["metadata"]["name"]
    _http(f"http://{nginx['status']['podIP']}/")
    out = wait_for_text("the access log line", lambda: node.k("logs", name).stdout, '"GET / HTTP/1.1" 200', 10)
    assert "start worker process" in out
    # stdout and stderr are separate pipes: lines written back to back may be logged in either order (upstream
    # too), so the stderr line comes a moment later
    node.apply(busybox_pod("talker", ["sh", "-c", "echo one; sleep 2; echo two; sleep 1; echo err >&2"],
                           restartPolicy="Never"))
    wait_for("talker started", lambda: _phase(node.pod("talker")) in ("Running", "Succeeded"), 20)
    followed = node.k("logs", "-f", "talker", timeout=30)
    assert followed.stdout == "one\ntwo\nerr\n", followed
    assert node.k("logs", "talker", "--tail=1").stdout == "err\n"


@pytest.mark.parametrize("version", ["1.27", "1.32", "1.33"])
def test_exec(node: Node, nginx: Obj, version: str) -> None:
    name = nginx["metadata"]["name"]
    r = node.k("exec", name, "--", "cat", "/etc/hostname", version=version)
    assert r.stdout == f"{name}\n"
    r = node.k("exec", "-i", name, "--", "cat", version=version, input="a\nb\n")
    assert r.stdout == "a\nb\n"
    r = node.k("exec", name, "--", "sh", "-c", "exit 3", version=version, check=False)
    assert r.returncode == 3, r
    assert "command terminated with exit code 3" in r.stderr


def test_exec_tty_under_tmux(node: Node, nginx: Obj) -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    name = nginx["metadata"]["name"]
    sock = f"kyb-e2e-{uuid.uuid4().hex[:8]}"
    kubectl = f"{kubectl_binary('1.32')} --kubeconfig={node.server.kubeconfig}"

    def tmux(*args: str) -> str:
        return subprocess.run(["tmux", "-L", sock, *args], capture_output=True, text=True, check=False).stdout

    try:
        tmux("new-session", "-d", "-x", "120", "-y", "30", f"{kubectl} exec -ti {name} -- sh; sleep 30")
        wait_for("a shell prompt", lambda: "#" in tmux("capture-pane", "-p"), 20)
        tmux("send-keys", "echo tty=$(tty) sum=$((6*7))", "Enter")
        pane = wait_for_text("the shell's answer", lambda: tmux("capture-pane", "-p"), "sum=42", 20)
        assert re.search(r"tty=/dev/pts/\d+", pane), pane
        tmux("send-keys", "exit", "Enter")
    finally:
        tmux("kill-server")


def test_port_forward(node: Node, nginx: Obj) -> None:
    name = nginx["metadata"]["name"]
    cmd = [str(kubectl_binary("1.32")), f"--kubeconfig={node.server.kubeconfig}", "port-forward", name, ":80"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            m = re.match(r"Forwarding from 127\.0\.0\.1:(\d+) -> 80", line)
            assert m, line
            for _ in range(3):  # several connections over the one forwarding session
                assert "Welcome to nginx!" in _http(f"http://127.0.0.1:{m.group(1)}/")
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_describe_pod(node: Node, nginx: Obj) -> None:
    name = nginx["metadata"]["name"]
    out = node.k("describe", "pod", name).stdout
    for pattern in (r"^Node: +\S+/\d+\.\d+\.\d+\.\d+$", rf"^IP: +{re.escape(nginx['status']['podIP'])}$",
                    r"^Containers:\n  nginx:$", r"^    State: +Running$", r"^      Started: ", r"^    Ready: +True$",
                    r"^    Restart Count: +0$", r"^Conditions:\n  Type +Status$", r"^  Ready +True $",
                    r"^  ContainersReady +True $", r"^  PodScheduled +True $", r"^Volumes:\n  kube-api-access-",
                    r"^QoS Class: +BestEffort$"):
        assert re.search(pattern, out, re.M), f"{pattern!r} not in:\n{out}"
    events = out[out.index("\nEvents:"):]
    reasons = re.findall(r"^  Normal +(\w+) ", events, re.M)
    assert reasons[:5] == ["Scheduled", "Pulling", "Pulled", "Created", "Started"], events
    assert f"Successfully assigned default/{name} to " in events
    assert 'Pulling image "nginx"' in events and "Started container nginx" in events


# ------------------------------------------------------------------------------------------------ 2. restarts


def test_crash_loop_back_off(node: Node) -> None:
    node.apply(busybox_pod("crasher", ["sh", "-c", "echo bye; exit 1"]))
    node.track()

    def crashlooping() -> str | None:
        out = node.k("get", "pod", "crasher", "--no-headers").stdout
        m = re.search(r"0/1 +CrashLoopBackOff +(\d+)", out)
        return out if m and int(m.group(1)) >= 2 else None

    wait_for("CrashLoopBackOff with 2 restarts", crashlooping, 60)
    status = _container_status(node.pod("crasher"))
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert status["lastState"]["terminated"]["reason"] == "Error"
    assert status["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    backoff = [e for e in node.events("crasher") if e["reason"] == "BackOff"]
    assert backoff, node.events("crasher")
    assert backoff[0]["message"].startswith("Back-off restarting failed container c in pod crasher_default(")
    assert node.k("logs", "crasher", "--previous").stdout == "bye\n"


def test_failing_liveness_probe_restarts(node: Node) -> None:
    # the first instance never becomes healthy; the restarted one is (an emptyDir survives container restarts)
    script = "if [ -e /state/ran ]; then touch /tmp/healthy; else touch /state/ran; fi; sleep 3600"
    node.apply(busybox_pod("live", ["sh", "-c", script], volumes=[{"name": "state", "emptyDir": {}}], container={
        "volumeMounts": [{"name": "state", "mountPath": "/state"}],
        "livenessProbe": {"exec": {"command": ["cat", "/tmp/healthy"]}, "initialDelaySeconds": 1,
                          "periodSeconds": 1, "failureThreshold": 2}}))
    node.track()

    def restarted() -> Obj | None:
        pod = node.pod("live")
        status = _container_status(pod)
        return pod if status.get("restartCount", 0) >= 1 and "running" in (status.get("state") or {}) else None

    pod = wait_for("a restart after the liveness probe failed", restarted, 60)
    assert _container_status(pod)["lastState"]["terminated"]["exitCode"] == 137
    events = node.events("live")
    assert any(e["reason"] == "Killing" and e["message"] == "Container c failed liveness probe, will be restarted"
               for e in events), events
    unhealthy = [e for e in events if e["reason"] == "Unhealthy"]
    assert unhealthy and unhealthy[0]["message"].startswith("Liveness probe failed:")


def test_readiness_probe_gates_ready(node: Node) -> None:
    node.apply(busybox_pod("gated", BUSYBOX_SLEEP, container={
        "readinessProbe": {"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1}}))
    node.track()
    wait_for("gated Running", lambda: _phase(node.pod("gated")) == "Running", 30)
    time.sleep(2)
    pod = node.pod("gated")
    conditions = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
    assert conditions["Ready"] == "False" and conditions["ContainersReady"] == "False", conditions
    assert re.search(r"gated +0/1 +Running", node.k("get", "pod", "gated").stdout)
    node.k("exec", "gated", "--", "touch", "/tmp/ready")
    wait_for("gated Ready", lambda: re.search(r"gated +1/1 +Running", node.k("get", "pod", "gated").stdout), 15)
    conditions = {c["type"]: c["status"] for c in node.pod("gated")["status"]["conditions"]}
    assert conditions["Ready"] == "True", conditions


def test_job_pod_succeeds(node: Node) -> None:
    node.k("create", "job", "once", "--image=busybox", "--", "sh", "-c", "echo done")

    def succeeded() -> list[Obj] | None:
        pods = node.pods("job-name=once")
        return pods if pods and all(_phase(p) == "Succeeded" for p in pods) else None

    pods = wait_for("the Job's pod Succeeded", succeeded, 60)
    node.track()
    status = _container_status(pods[0])
    assert status["state"]["terminated"]["reason"] == "Completed"
    assert status["state"]["terminated"]["exitCode"] == 0
    wait_for("Job Complete", lambda: "Complete" in node.k(
        "get", "job", "once", "-o", "jsonpath={.status.conditions[*].type}").stdout, 30)
    assert node.k("logs", "job/once").stdout == "done\n"


# ------------------------------------------------------------------------------------------------ 4. restarts


def test_agent_restart_adopts_running_pods(node: Node, nginx: Obj) -> None:
    name = nginx["metadata"]["name"]
    for pod in ("crasher", "live", "talker"):  # quiet node: only long-running, healthy pods
        node.k("delete", "pod", pod, "--wait=true", "--timeout=60s", timeout=70)
    before = _container_status(node.pod(name))
    gated_before = _container_status(node.pod("gated"))
    agents = [pid for pid, cmd in _cmdlines().items()
              if " agent " in cmd and str(node.data_dir / "components") in cmd]
    assert len(agents) == 1, agents
    os.kill(agents[0], signal.SIGKILL)

    def new_agent() -> list[int] | None:
        found = [pid for pid, cmd in _cmdlines().items()
                 if " agent " in cmd and str(node.data_dir / "components") in cmd and pid != agents[0]]
        return found or None

    wait_for("the supervisor to restart the agent", new_agent, 30)
    # the new kubelet serves again (exec goes through it) and has synced the pods
    wait_for("exec through the new kubelet", lambda: node.k("exec", name, "--", "true", check=False).returncode == 0,
             60, interval=1)
    time.sleep(5)  # some PLEG/sync rounds
    after = _container_status(node.pod(name))
    assert after["restartCount"] == 0
    assert after["containerID"] == before["containerID"]
    assert after["state"] == before["state"]
    assert _container_status(node.pod("gated"))["containerID"] == gated_before["containerID"]
    assert "Welcome to nginx!" in _http(f"http://{nginx['status']['podIP']}/")
    out = node.k("get", "pods").stdout
    assert re.search(rf"{name} +1/1 +Running +0 ", out), out


def test_deleting_all_pods_leaves_nothing(node: Node) -> None:
    node.track()
    assert node.seen_netns and node.seen_links  # the earlier tests really made pod networks
    node.k("delete", "deployment", "--all")
    node.k("delete", "job", "--all")
    node.k("delete", "pod", "--all", "--wait=true", "--timeout=90s", timeout=100)
    wait_for("no pods", lambda: node.pods() == [], 60)
    wait_for("no containers or sandboxes", lambda: not node.ctr("containers", "list") and not node.ctr(
        "tasks", "list"), 30)
    assert not (node.seen_netns & _netns()), node.seen_netns & _netns()
    assert not (node.seen_links & _links()), node.seen_links & _links()
    pods_dir = node.data_dir / "agent" / "kubelet" / "pods"
    assert _mounts_under(node.data_dir) == []
    assert not pods_dir.exists() or list(pods_dir.iterdir()) == []
