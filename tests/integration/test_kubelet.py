"""The kubelet core against a real ``kyb apiserver`` with the in-memory CRI runtime (``FakeRuntime``).

Pods are created already bound (``spec.nodeName``); the kubelet runs in the test process.  Checks the upstream
status, events, CrashLoopBackOff, Job-style completion, deletion, readiness, env and volumes in the CRI config.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import Cluster

from kybernetes.client.config import load_kubeconfig
from kybernetes.client.errors import NotFoundError
from kybernetes.client.rest import Client, resource
from kybernetes.kubelet.cri.fake import Behavior, FakeRuntime
from kybernetes.kubelet.cri.types import ExecResult
from kybernetes.kubelet.kubelet import Kubelet

Obj = dict[str, Any]
PODS = resource("", "v1", "pods")
NODES = resource("", "v1", "nodes")
EVENTS = resource("", "v1", "events")
LEASES = resource("coordination.k8s.io", "v1", "leases")
CONFIGMAPS = resource("", "v1", "configmaps")
SECRETS = resource("", "v1", "secrets")
NODE = "kyb-test-node"


@dataclass
class Env:
    client: Client
    runtime: FakeRuntime
    kubelet: Kubelet


@asynccontextmanager
async def running_kubelet(cluster: Cluster, tmp_path: Path, runtime: FakeRuntime | None = None) -> AsyncIterator[Env]:
    client = Client(load_kubeconfig(cluster.kubeconfig))
    runtime = runtime or FakeRuntime()
    kubelet = Kubelet(client, runtime, runtime, NODE, tmp_path / "kubelet",
                      options={"node_ip": "127.0.0.1", "resync": 1.0, "pleg_period": 0.2,
                               "cgroup_root": tmp_path / "cgroup"})
    ready = asyncio.Event()
    task = asyncio.create_task(kubelet.run(ready))
    try:
        await asyncio.wait_for(ready.wait(), 20)
        yield Env(client, runtime, kubelet)
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError, Exception):
            await task
        await client.close()


def pod(name: str, containers: list[Obj], **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": NODE, "automountServiceAccountToken": False, "containers": containers, **spec}}


async def until(check: Callable[[], Awaitable[Any]], limit: float = 15.0) -> Any:
    deadline = time.monotonic() + limit
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"condition not met in {limit}s (last: {last!r})")


async def get_pod(client: Client, name: str) -> Obj:
    return await client.get(PODS, "default", name)


async def events_for(client: Client, name: str) -> list[tuple[str, str]]:
    out = await client.list(EVENTS, "default", field_selector=f"involvedObject.name={name}")
    items = sorted(out.get("items") or [], key=lambda e: (e.get("firstTimestamp", ""), e["metadata"]["name"]))
    return [(e["reason"], e["message"]) for e in items]


def cond(p: Obj, kind: str) -> str:
    return next((c["status"] for c in p.get("status", {}).get("conditions") or [] if c["type"] == kind), "")


async def test_node_registration_and_lease(fresh_apiserver: Cluster, tmp_path: Path) -> None:
    async with running_kubelet(fresh_apiserver, tmp_path) as env:
        node = await env.client.get(NODES, "", NODE)
        status = node["status"]
        assert status["capacity"]["pods"] == "110"
        assert {"InternalIP", "Hostname"} <= {a["type"] for a in status["addresses"]}
        assert status["nodeInfo"]["containerRuntimeVersion"].startswith("fake://") or \
            "://" in status["nodeInfo"]["containerRuntimeVersion"]
        assert status["daemonEndpoints"]["kubeletEndpoint"]["Port"] == 10250
        ready = next(c for c in status["conditions"] if c["type"] == "Ready")
        assert (ready["status"], ready["reason"]) == ("True", "KubeletReady")
        lease = await env.client.get(LEASES, "kube-node-lease", NODE)
        assert lease["spec"]["holderIdentity"] == NODE


async def test_pod_runs_with_upstream_status_and_events(fresh_apiserver: Cluster, tmp_path: Path) -> None:
    async with running_kubelet(fresh_apiserver, tmp_path) as env:
        await env.client.create(PODS, "default", pod("web", [{"name": "nginx", "image": "nginx"}]))

        async def running() -> Obj | None:
            p = await get_pod(env.client, "web")
            return p if p.get("status", {}).get("phase") == "Running" and cond(p, "Ready") == "True" else None

        p = await until(running)
        status = p["status"]
        cs = status["containerStatuses"][0]
        assert cs["containerID"].startswith("containerd://")
        assert cs["image"] == "docker.io/library/nginx:latest"
        assert cs["imageID"].startswith("sha256:")
        assert cs["ready"] and cs["started"] and cs["restartCount"] == 0
        assert "running" in cs["state"]
        assert status["podIP"].startswith("10.42.0.") and status["hostIP"] == "127.0.0.1"
        assert status["qosClass"] == "BestEffort" and status["startTime"]
        assert {c["type"] for c in status["conditions"]} >= {"PodReadyToStartContainers", "Initialized",
                                                             "ContainersReady", "Ready"}
        await env.kubelet.recorder.flush()
        reasons = await until(lambda: _reasons(env.client, "web", {"Pulling", "Pulled", "Created", "Started"}))
        assert reasons.index("Pulling") < reasons.index("Pulled") < reasons.index("Created") < reasons.index("Started")
        evs = dict(await events_for(env.client, "web"))
        assert evs["Pulling"] == 'Pulling image "nginx"'
        assert evs["Pulled"].startswith('Successfully pulled image "nginx" in ')
        assert evs["Created"] == "Created container: nginx" and evs["Started"] == "Started container nginx"
        # helpers for the kubelet server
        assert env.kubelet.container_id("default", "web", "nginx") == cs["containerID"].removeprefix("containerd://")
        assert env.kubelet.sandbox_id("default", "web")
        log_path = env.kubelet.log_path("default", "web", "nginx")
        assert log_path is not None and log_path.name == "0.log"


async def _reasons(client: Client, name: str, want: set[str]) -> list[str] | None:
    reasons = [r for r, _ in await events_for(client, name)]
    return reasons if want <= set(reasons) else None


async def test_crashloop_backoff(fresh_apiserver: Cluster, tmp_path: Path) -> None:
    runtime = FakeRuntime()
    runtime.set_behavior("crash", Behavior(run_for=0.0, exit_code=1))
    async with running_kubelet(fresh_apiserver, tmp_path, runtime) as env:
        await env.client.create(PODS, "default", pod("crasher", [{"name": "crash", "image": "busybox"}]))

        async def backoff() -> Obj | None:
            p = await get_pod(env.client, "crasher")
            cs = (p.get("status", {}).get("containerStatuses") or [{}])[0]
            waiting = cs.get("state", {}).get("waiting", {})
            return cs if waiting.get("reason") == "CrashLoopBackOff" else None

        cs = await until(backoff)
        assert cs["restartCount"] >= 1
        assert cs["lastState"]["terminated"]["exitCode"] == 1
        assert cs["lastState"]["terminated"]["reason"] == "Error"
        assert "back-off 10s restarting failed container=crash pod=crasher_default(" in \
            cs["state"]["waiting"]["message"]
        key = next(iter(env.kubelet.syncer.backoff._entries))
        assert env.kubelet.syncer.backoff.get(key) == 10.0
        await env.kubelet.recorder.flush()
        evs = await until(lambda: _reasons(env.client, "crasher", {"BackOff"}))
        assert "BackOff" in evs
        messages = [m for r, m in await events_for(env.client, "crasher") if r == "BackOff"]
        assert messages[0].startswith("Back-off restarting failed container crash in pod crasher_default(")
        p = await get_pod(env.client, "crasher")
        assert p["status"]["phase"] == "Running"


async def test_job_pod_completes(fresh_apiserver: Cluster, tmp_path: Path) -> None:
    runtime = FakeRuntime()
    runtime.set_behavior("work", Behavior(run_for=0.3, exit_code=0))
    async with running_kubelet(fresh_apiserver, tmp_path, runtime) as env:
        await env.client.create(PODS, "default", pod("job", [{"name": "work", "image": "busybox"}],
                                                     restartPolicy="Never"))

        async def done() -> Obj | None:
            p = await get_pod(env.client, "job")
            return p if p.get("status", {}).get("phase") == "Succeeded" else None

        p = await until(done)
        term = p["status"]["containerStatuses"][0]["state"]["terminated"]
        assert (term["exitCode"], term["reason"]) == (0, "Completed")
        assert cond(p, "Ready") == "False"
        ready = next(c for c in p["status"]["conditions"] if c["type"] == "Ready")
        assert ready["reason"] == "PodCompleted"
        # the sandbox is stopped, the container kept for logs
        await until(lambda: _sandboxes_stopped(env.runtime))


async def _sandboxes_stopped(runtime: FakeRuntime) -> bool:
    return all(s.state.value == "SANDBOX_NOTREADY" for s in await runtime.list_pod_sandboxes())


async def test_delete_removes_everything(fresh_apiserver: Cluster, tmp_path: Path) -> None:
    async with running_kubelet(fresh_apiserver, tmp_path) as env:
        await env.client.create(PODS, "default", pod("gone", [{"name": "c", "image": "busybox"}],
                                                     volumes=[{"name": "scratch", "emptyDir": {}}]))
        await until(lambda: _phase(env.client, "gone", "Running"))
        uid = (await get_pod(env.client, "gone"))["metadata"]["uid"]
        assert (tmp_path / "kubelet" / "pods" / uid / "volumes").exists()
        await env.client.delete(PODS, "default", "gone")

        async def vanished() -> bool:
            try:
                await get_pod(env.client, "gone")
            except NotFoundError:
                return True
            return False

        await until(vanished)
        assert not await env.runtime.list_containers()
        assert not await env.runtime.list_pod_sandboxes()
        assert not (tmp_path / "kubelet" / "pods" / uid).exists()
        await env.kubelet.recorder.flush()
        assert ("Killing", "Stopping container c") in await events_for(env.client, "gone")


async def _phase(client: Client, name: str, phase: str) -> bool:
    try:
        return bool((await get_pod(client, name)).get("status", {}).get("phase") == phase)
    except NotFoundError:
        return False


async def test_readiness_probe_failure_keeps_ready_false(fresh_apiserver: Cluster, tmp_path: Path) -> None:
    runtime = FakeRuntime()
    runtime.set_behavior("app", Behavior(exec_default=ExecResult(b"not ready\n", b"", 1)))
    async with running_kubelet(fresh_apiserver, tmp_path, runtime) as env:
        probe = {"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1, "failureThreshold": 1}
        await env.client.create(PODS, "default", pod("unready", [{"name": "app", "image": "busybox",
                                                                  "readinessProbe": probe}]))
        await until(lambda: _phase(env.client, "unready", "Running"))
        await asyncio.sleep(2.5)
        p = await get_pod(env.client, "unready")
        assert cond(p, "Ready") == "False" and cond(p, "ContainersReady") == "False"
        ready = next(c for c in p["status"]["conditions"] if c["type"] == "Ready")
        assert ready["message"] == "containers with unready status: [app]"
        assert p["status"]["containerStatuses"][0]["ready"] is False
        await env.kubelet.recorder.flush()
        evs = await until(lambda: _reasons(env.client, "unready", {"Unhealthy"}))
        assert "Unhealthy" in evs
        assert ("Unhealthy", "Readiness probe failed: not ready") in await events_for(env.client, "unready")


async def test_env_and_volumes_land_in_container_config(fresh_apiserver: Cluster, tmp_path: Path) -> None:
    async with running_kubelet(fresh_apiserver, tmp_path) as env:
        await env.client.create(CONFIGMAPS, "default", {"metadata": {"name": "cfg"}, "data": {"color": "blue",
                                                                                             "size": "9"}})
        await env.client.create(SECRETS, "default", {"metadata": {"name": "sec"}, "data": {"pw": "aHVudGVyMg=="}})
        container = {
            "name": "app", "image": "busybox", "command": ["sh", "-c", "echo $(GREETING) $(COLOR)"],
            "env": [{"name": "GREETING", "value": "hello-$(COLOR)"},
                    {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "color"}}},
                    {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "pw"}}},
                    {"name": "MY_POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
            "volumeMounts": [{"name": "config", "mountPath": "/etc/config"}, {"name": "data", "mountPath": "/data"}],
        }
        await env.client.create(PODS, "default", pod("cfg", [container], volumes=[
            {"name": "config", "configMap": {"name": "cfg"}}, {"name": "data", "emptyDir": {}}]))
        await until(lambda: _phase(env.client, "cfg", "Running"))
        created = next(c for c in env.runtime.containers.values() if c.config.name == "app")
        envs = dict(created.config.envs)
        assert envs["COLOR"] == "blue" and envs["PW"] == "hunter2" and envs["MY_POD"] == "cfg"
        assert envs["CFG_color"] == "blue" and envs["CFG_size"] == "9"
        assert envs["GREETING"] == "hello-$(COLOR)"  # COLOR was defined after GREETING
        assert created.config.command == ["sh", "-c", "echo hello-$(COLOR) blue"]
        mounts = {m.container_path: m for m in created.config.mounts}
        assert set(mounts) >= {"/etc/config", "/data", "/etc/hosts", "/dev/termination-log"}
        assert await asyncio.to_thread((Path(mounts["/etc/config"].host_path) / "color").read_text) == "blue"
        hosts = await asyncio.to_thread(Path(mounts["/etc/hosts"].host_path).read_text)
        assert "\tcfg" in hosts and "# Kubernetes-managed hosts file." in hosts
        assert created.config.labels["io.kubernetes.pod.name"] == "cfg"
        assert created.config.annotations["io.kubernetes.container.restartCount"] == "0"
        sandbox = next(iter(env.runtime.sandboxes.values())).config
        assert sandbox.dns is not None and sandbox.dns.servers == ["10.43.0.10"]
        assert sandbox.dns.searches == ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"]
        assert sandbox.dns.options == ["ndots:5"]
        assert sandbox.cgroup_parent.startswith("/kubepods/besteffort/pod")


async def test_missing_configmap_is_failed_mount(fresh_apiserver: Cluster, tmp_path: Path) -> None:
    async with running_kubelet(fresh_apiserver, tmp_path) as env:
        await env.client.create(PODS, "default", pod("nomount", [{"name": "c", "image": "busybox"}],
                                                     volumes=[{"name": "v", "configMap": {"name": "missing"}}]))
        await env.kubelet.recorder.flush()
        await until(lambda: _reasons(env.client, "nomount", {"FailedMount"}))
        messages = [m for r, m in await events_for(env.client, "nomount") if r == "FailedMount"]
        assert messages[0] == 'MountVolume.SetUp failed for volume "v" : configmap "missing" not found'
        p = await get_pod(env.client, "nomount")
        assert p["status"]["phase"] == "Pending"
        assert p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ContainerCreating"


async def test_restart_adopts_running_containers(fresh_apiserver: Cluster, tmp_path: Path) -> None:
    runtime = FakeRuntime()
    async with running_kubelet(fresh_apiserver, tmp_path, runtime) as env:
        await env.client.create(PODS, "default", pod("keep", [{"name": "c", "image": "busybox"}]))
        await until(lambda: _phase(env.client, "keep", "Running"))
        before = {c.info.id for c in runtime.containers.values()}
    async with running_kubelet(fresh_apiserver, tmp_path, runtime) as env:
        await asyncio.sleep(2.0)
        assert {c.info.id for c in runtime.containers.values()} == before
        p = await get_pod(env.client, "keep")
        assert p["status"]["containerStatuses"][0]["restartCount"] == 0
        assert p["status"]["phase"] == "Running"
