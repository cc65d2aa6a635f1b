"""Table-driven tests of the kubelet's pure logic: back-off, env expansion, pod actions, phase, QoS, DNS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kybernetes.kubelet import labels as lb
from kybernetes.kubelet.backoff import Backoff
from kybernetes.kubelet.cgroups import container_resources, pod_limits, qos_class
from kybernetes.kubelet.cri.types import ContainerState, ContainerStatus, SandboxState, SandboxStatus
from kybernetes.kubelet.env import expand, field_ref, resource_field_ref
from kybernetes.kubelet.images import format_duration, normalize_image, pull_policy
from kybernetes.kubelet.node import conditions, parse_meminfo
from kybernetes.kubelet.pleg import diff
from kybernetes.kubelet.podconfig import NodeConfig, dns_config, hosts_file
from kybernetes.kubelet.runtime import RuntimePod, compute_pod_actions
from kybernetes.kubelet.status import pod_phase
from kybernetes.kubelet.volumes.atomic import write_atomic
from kybernetes.kubelet.volumes.hostpath import check_host_path
from kybernetes.kubelet.volumes.sources import VolumeError, keyed_payload

Obj = dict[str, Any]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_caps_and_resets() -> None:
    clock = Clock()
    b = Backoff(clock=clock)
    delays = []
    for _ in range(7):
        delays.append(b.next("k", clock.now))
        clock.now += 1
    assert delays == [10, 20, 40, 80, 160, 300, 300]
    assert b.in_backoff_since("k", clock.now - 1)
    assert not b.in_backoff_since("k", clock.now - 301)
    clock.now += 601  # 10 min without a failure: forgotten
    assert b.next("k", clock.now) == 10


@pytest.mark.parametrize(("text", "env", "want"), [
    ("$(A)", {"A": "x"}, "x"),
    ("$(B)", {"A": "x"}, "$(B)"),
    ("$$(A)", {"A": "x"}, "$(A)"),
    ("a$b", {}, "a$b"),
    ("$(A)-$(A)", {"A": "1"}, "1-1"),
    ("$(A", {"A": "x"}, "$(A"),
    ("$", {}, "$"),
])
def test_expand(text: str, env: dict[str, str], want: str) -> None:
    assert expand(text, env) == want


POD: Obj = {"metadata": {"name": "p", "namespace": "ns", "uid": "u1", "labels": {"app": "web"}},
            "spec": {"nodeName": "n1", "serviceAccountName": "default",
                     "containers": [{"name": "c", "image": "nginx",
                                     "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}}}]},
            "status": {"podIP": "10.42.0.5", "hostIP": "127.0.0.1"}}


@pytest.mark.parametrize(("path", "want"), [
    ("metadata.name", "p"), ("metadata.namespace", "ns"), ("metadata.uid", "u1"),
    ("metadata.labels['app']", "web"), ("spec.nodeName", "n1"), ("status.podIP", "10.42.0.5"),
])
def test_field_ref(path: str, want: str) -> None:
    assert field_ref(POD, path) == want


@pytest.mark.parametrize(("ref", "want"), [
    ({"resource": "limits.cpu"}, "1"), ({"resource": "limits.cpu", "divisor": "1m"}, "500"),
    ({"resource": "limits.memory", "divisor": "1Mi"}, "64"), ({"resource": "requests.memory"}, str(64 << 20)),
])
def test_resource_field_ref(ref: Obj, want: str) -> None:
    assert resource_field_ref(POD, {**ref, "containerName": "c"}, {}) == want


def _pod(containers: list[Obj], policy: str = "Always", init: list[Obj] | None = None) -> Obj:
    spec: Obj = {"containers": containers, "restartPolicy": policy}
    if init:
        spec["initContainers"] = init
    return {"metadata": {"name": "p", "namespace": "d", "uid": "u"}, "spec": spec}


def _sb(state: SandboxState = SandboxState.READY, ip: str = "10.42.0.2", attempt: int = 0) -> SandboxStatus:
    return SandboxStatus(id=f"sb{attempt}", name="p", namespace="d", uid="u", attempt=attempt, state=state,
                         created_at=attempt, ip=ip)


def _c(name: str, state: ContainerState, exit_code: int = 0, container: Obj | None = None,
       init: bool = False) -> ContainerStatus:
    annotations = {lb.HASH: lb.container_hash(container or {"name": name, "image": "i"})}
    return ContainerStatus(id=f"id-{name}", sandbox_id="sb0", name=name, attempt=0, image="i", image_ref="r",
                           state=state, created_at=1, exit_code=exit_code, annotations=annotations,
                           labels={lb.CONTAINER_TYPE: lb.INIT if init else lb.REGULAR})


A: Obj = {"name": "a", "image": "i"}
B: Obj = {"name": "b", "image": "i"}


@pytest.mark.parametrize(("pod", "rt", "want"), [
    # fresh pod: create the sandbox, start everything
    (_pod([A, B]), RuntimePod("u"), {"create_sandbox": True, "containers_to_start": ["a", "b"]}),
    # init containers go first, one at a time
    (_pod([A], init=[B]), RuntimePod("u"), {"create_sandbox": True, "next_init": "b", "containers_to_start": []}),
    (_pod([A], init=[B]), RuntimePod("u", [_sb()], [_c("b", ContainerState.EXITED, 0, init=True)]),
     {"create_sandbox": False, "next_init": None, "containers_to_start": ["a"]}),
    (_pod([A], "Never", init=[B]), RuntimePod("u", [_sb()], [_c("b", ContainerState.EXITED, 1, init=True)]),
     {"init_failed": True, "kill_pod": True}),
    # all running: nothing to do
    (_pod([A]), RuntimePod("u", [_sb()], [_c("a", ContainerState.RUNNING)]),
     {"create_sandbox": False, "containers_to_start": [], "kill_pod": False}),
    # exited with Always: restart; OnFailure+0: done (kill pod); Never+1: done
    (_pod([A]), RuntimePod("u", [_sb()], [_c("a", ContainerState.EXITED, 0)]), {"containers_to_start": ["a"]}),
    (_pod([A], "OnFailure"), RuntimePod("u", [_sb()], [_c("a", ContainerState.EXITED, 0)]),
     {"containers_to_start": [], "kill_pod": True}),
    (_pod([A], "OnFailure"), RuntimePod("u", [_sb()], [_c("a", ContainerState.EXITED, 1)]),
     {"containers_to_start": ["a"]}),
    (_pod([A], "Never"), RuntimePod("u", [_sb()], [_c("a", ContainerState.EXITED, 1)]),
     {"containers_to_start": [], "kill_pod": True}),
    # spec changed: kill and restart
    (_pod([{"name": "a", "image": "j"}]), RuntimePod("u", [_sb()], [_c("a", ContainerState.RUNNING)]),
     {"containers_to_kill": {"id-a": ("a", "Container a definition changed, will be restarted")},
      "containers_to_start": ["a"]}),
    # dead sandbox: recreate with the next attempt; Never + everything ran: leave it
    (_pod([A]), RuntimePod("u", [_sb(SandboxState.NOTREADY)], []), {"create_sandbox": True, "attempt": 1}),
    (_pod([A], "Never"), RuntimePod("u", [_sb(SandboxState.NOTREADY)], [_c("a", ContainerState.EXITED, 0)]),
     {"create_sandbox": False, "kill_pod": True}),
    # sandbox without an IP: recreate
    (_pod([A]), RuntimePod("u", [_sb(ip="")], []), {"create_sandbox": True, "attempt": 1}),
])
def test_compute_pod_actions(pod: Obj, rt: RuntimePod, want: Obj) -> None:
    actions = compute_pod_actions(pod, rt)
    for key, value in want.items():
        assert getattr(actions, key) == value, key


def test_liveness_failure_kills_and_restarts() -> None:
    rt = RuntimePod("u", [_sb()], [_c("a", ContainerState.RUNNING)])
    actions = compute_pod_actions(_pod([A]), rt, unhealthy={"a": "Container a failed liveness probe, will be "
                                                                  "restarted"})
    assert actions.containers_to_kill == {"id-a": ("a", "Container a failed liveness probe, will be restarted")}
    assert actions.containers_to_start == ["a"]


def _st(state: Obj, last: Obj | None = None) -> Obj:
    return {"name": "x", "state": state, "lastState": last or {}}


RUN: Obj = {"running": {}}
OK = {"terminated": {"exitCode": 0}}
ERR = {"terminated": {"exitCode": 1}}
WAIT = {"waiting": {"reason": "ContainerCreating"}}


@pytest.mark.parametrize(("policy", "init", "statuses", "want"), [
    ("Always", [], [_st(WAIT)], "Pending"),
    ("Always", [], [_st(RUN)], "Running"),
    ("Always", [], [_st(OK)], "Running"),
    ("Never", [], [_st(OK)], "Succeeded"),
    ("Never", [], [_st(ERR)], "Failed"),
    ("OnFailure", [], [_st(ERR)], "Running"),
    ("OnFailure", [], [_st(OK), _st(OK)], "Succeeded"),
    ("Always", [], [_st({"waiting": {"reason": "CrashLoopBackOff"}}, ERR)], "Running"),
    ("Always", [_st(RUN)], [_st(WAIT)], "Pending"),
    ("Never", [_st(ERR)], [_st(WAIT)], "Failed"),
])
def test_pod_phase(policy: str, init: list[Obj], statuses: list[Obj], want: str) -> None:
    assert pod_phase({"spec": {"restartPolicy": policy}}, init, statuses) == want


@pytest.mark.parametrize(("resources", "want"), [
    ([{}], "BestEffort"),
    ([{"limits": {"cpu": "1", "memory": "1Gi"}}], "Guaranteed"),
    ([{"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}], "Guaranteed"),
    ([{"requests": {"cpu": "100m"}}], "Burstable"),
    ([{"limits": {"cpu": "1", "memory": "1Gi"}}, {}], "Burstable"),
])
def test_qos_class(resources: list[Obj], want: str) -> None:
    pod = {"spec": {"containers": [{"name": f"c{i}", "resources": r} for i, r in enumerate(resources)]}}
    assert qos_class(pod) == want


def test_container_resources_and_pod_limits() -> None:
    c = {"resources": {"requests": {"cpu": "250m"}, "limits": {"cpu": "500m", "memory": "64Mi"}}}
    r = container_resources(c, "Burstable", 1 << 30)
    assert (r.cpu_shares, r.cpu_quota, r.cpu_period, r.memory_limit_in_bytes) == (256, 50000, 100000, 64 << 20)
    assert container_resources({}, "BestEffort").cpu_shares == 2
    assert container_resources({}, "BestEffort").oom_score_adj == 1000
    limits = pod_limits({"spec": {"containers": [c]}})
    assert limits == {"cpu.shares": 256, "cpu.cfs_period_us": 100000, "cpu.cfs_quota_us": 50000,
                      "memory.limit_in_bytes": 64 << 20}


@pytest.mark.parametrize(("spec", "want"), [
    ({}, (["10.43.0.10"], ["ns.svc.cluster.local", "svc.cluster.local", "cluster.local"], ["ndots:5"])),
    ({"dnsPolicy": "None", "dnsConfig": {"nameservers": ["1.2.3.4"], "options": [{"name": "ndots", "value": "2"}]}},
     (["1.2.3.4"], [], ["ndots:2"])),
    ({"dnsPolicy": "Default"}, (["10.0.0.1"], ["host.local"], [])),
    ({"hostNetwork": True}, (["10.0.0.1"], ["host.local"], [])),
    ({"hostNetwork": True, "dnsPolicy": "ClusterFirstWithHostNet"},
     (["10.43.0.10"], ["ns.svc.cluster.local", "svc.cluster.local", "cluster.local"], ["ndots:5"])),
])
def test_dns_config(spec: Obj, want: tuple[list[str], list[str], list[str]]) -> None:
    from kybernetes.kubelet.cri.types import DNSConfig
    node = NodeConfig(host_resolv=DNSConfig(["10.0.0.1"], ["host.local"], []))
    d = dns_config({"metadata": {"namespace": "ns"}, "spec": spec}, node)
    assert (d.servers, d.searches, d.options) == want


def test_hosts_file() -> None:
    text = hosts_file({"metadata": {"name": "web"}, "spec": {"hostAliases": [{"ip": "1.1.1.1",
                                                                              "hostnames": ["a", "b"]}]}},
                      ["10.42.0.9"])
    assert "10.42.0.9\tweb" in text and "1.1.1.1\ta\tb" in text


@pytest.mark.parametrize(("container", "want"), [
    ({"image": "nginx"}, "Always"), ({"image": "nginx:latest"}, "Always"), ({"image": "nginx:1.25"}, "IfNotPresent"),
    ({"image": "nginx", "imagePullPolicy": "Never"}, "Never"), ({"image": "localhost:5000/x"}, "Always"),
])
def test_pull_policy(container: Obj, want: str) -> None:
    assert pull_policy(container) == want


@pytest.mark.parametrize(("image", "want"), [
    ("nginx", "docker.io/library/nginx:latest"), ("me/app:1", "docker.io/me/app:1"),
    ("registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9"), ("localhost:5000/x", "localhost:5000/x:latest"),
])
def test_normalize_image(image: str, want: str) -> None:
    assert normalize_image(image) == want


@pytest.mark.parametrize(("seconds", "want"), [(0.34, "340ms"), (1.2, "1.2s"), (2.0, "2s"), (0.0004, "0ms")])
def test_format_duration(seconds: float, want: str) -> None:
    assert format_duration(seconds) == want


def test_pleg_diff() -> None:
    old = {"c1": ("u", "CONTAINER_RUNNING"), "c2": ("u", "CONTAINER_RUNNING"), "s1": ("u", "SANDBOX_READY")}
    new = {"c1": ("u", "CONTAINER_EXITED"), "c3": ("v", "CONTAINER_RUNNING"), "s1": ("u", "SANDBOX_READY")}
    assert sorted(diff(old, new)) == [("u", "ContainerDied", "c1"), ("u", "ContainerRemoved", "c2"),
                                      ("v", "ContainerStarted", "c3")]


def test_meminfo_and_conditions() -> None:
    total, avail = parse_meminfo("MemTotal:       16384 kB\nMemFree: 1 kB\nMemAvailable:    8192 kB\n")
    assert (total, avail) == (16384 * 1024, 8192 * 1024)
    from kybernetes.kubelet.node import HostFacts
    facts = HostFacts(cpus=2, memory=1 << 30, memory_available=1 << 29, disk=100, disk_available=50, kernel="k",
                      os_image="o", machine_id="m", boot_id="b", ip="1.2.3.4", hostname="h")
    conds = {c["type"]: (c["status"], c["reason"]) for c in conditions(facts, True, False, 0.0)}
    assert conds["MemoryPressure"] == ("False", "KubeletHasSufficientMemory")
    assert conds["DiskPressure"] == ("False", "KubeletHasNoDiskPressure")
    assert conds["Ready"] == ("False", "KubeletNotReady")


def test_atomic_writer(tmp_path: Path) -> None:
    target = tmp_path / "vol"
    assert write_atomic(target, {"a": (b"1", 0o644), "dir/b": (b"2", 0o600)})
    assert (target / "a").read_text() == "1" and (target / "dir" / "b").read_text() == "2"
    assert (target / "a").is_symlink() and (target / "..data").is_symlink()
    assert not write_atomic(target, {"a": (b"1", 0o644), "dir/b": (b"2", 0o600)})
    assert write_atomic(target, {"a": (b"3", 0o644)})
    assert (target / "a").read_text() == "3" and not (target / "dir").exists()
    assert len([p for p in target.iterdir() if p.name.startswith("..2")]) == 1


def test_keyed_payload() -> None:
    cm = {"data": {"k": "v", "x": "y"}}
    assert keyed_payload({"name": "c"}, cm, secret=False, default_mode=None) == {"k": (b"v", 0o644),
                                                                                "x": (b"y", 0o644)}
    assert keyed_payload({"name": "c", "items": [{"key": "k", "path": "sub/f", "mode": 0o400}]}, cm, secret=False,
                         default_mode=None) == {"sub/f": (b"v", 0o400)}
    with pytest.raises(VolumeError, match='configmap "c" not found'):
        keyed_payload({"name": "c"}, None, secret=False, default_mode=None)
    assert keyed_payload({"name": "c", "optional": True}, None, secret=False, default_mode=None) == {}
    assert keyed_payload({"secretName": "s"}, {"data": {"p": "aGk="}}, secret=True, default_mode=None) == {
        "p": (b"hi", 0o644)}


def test_host_path_types(tmp_path: Path) -> None:
    check_host_path(tmp_path / "new", "DirectoryOrCreate")
    assert (tmp_path / "new").is_dir()
    check_host_path(tmp_path / "f", "FileOrCreate")
    assert (tmp_path / "f").is_file()
    with pytest.raises(VolumeError, match="is not a directory"):
        check_host_path(tmp_path / "f", "Directory")
    with pytest.raises(VolumeError, match="is not a file"):
        check_host_path(tmp_path / "missing", "File")
    check_host_path(tmp_path / "anything", "")
