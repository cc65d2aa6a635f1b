"""The seed walkthrough's control-plane half on a whole ``kyb server`` with 3 simulated nodes, real kubectl.

Deployment → ReplicaSet → pods scheduled and reported Running; describe, scale, rollout, jobs, cron jobs, daemon
sets, stateful sets, cascading delete, node failure; restarts of the controller manager lose nothing.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import threading
import time
from collections.abc import Callable

import pytest
from harness import Cluster

KUBECTL = "1.32"


def eventually(check: Callable[[], object], timeout: float = 60.0, interval: float = 0.5) -> object:
    """Retry ``check`` until it returns a truthy value without raising; re-raise its last error on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
            error: BaseException | None = AssertionError(f"{check} kept returning {result!r}")
        except (AssertionError, IndexError, KeyError, subprocess.CalledProcessError) as exc:
            error = exc
        if time.monotonic() > deadline:
            assert error is not None
            raise error
        time.sleep(interval)


def rows(cluster: Cluster, *args: str) -> list[list[str]]:
    out = cluster.kubectl(*args, version=KUBECTL).stdout
    return [re.split(r"\s{2,}", line.strip()) for line in out.strip().splitlines()]


def test_nodes_and_component_statuses(cluster: Cluster) -> None:
    def three_ready() -> bool:
        nodes = rows(cluster, "get", "nodes")
        assert nodes[0][:5] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
        return len(nodes) == 4 and all(r[1] == "Ready" for r in nodes[1:])

    eventually(three_ready)

    def healthy() -> bool:
        cs = rows(cluster, "get", "cs")
        return {r[0]: r[1] for r in cs[1:]} == {"scheduler": "Healthy", "controller-manager": "Healthy",
                                                 "etcd-0": "Healthy"}

    eventually(healthy, timeout=30)


def test_seed_deployment_walkthrough(cluster: Cluster) -> None:
    k = cluster.kubectl
    assert k("create", "deployment", "nginx", "--image=nginx", version=KUBECTL).stdout.strip() == \
        "deployment.apps/nginx created"

    def pod_running() -> bool:
        pods = rows(cluster, "get", "pods", "-l", "app=nginx")
        return len(pods) == 2 and bool(re.fullmatch(r"nginx-[a-z0-9]+-[a-z0-9]+", pods[1][0])) and \
            pods[1][1:3] == ["1/1", "Running"]

    eventually(pod_running)

    def described() -> str:
        out = k("describe", "deployment", "nginx", version=KUBECTL).stdout
        assert re.search(r"^Replicas:\s+1 desired \| 1 updated \| 1 total \| 1 available \| 0 unavailable$", out,
                         re.M), out
        return out

    out = str(eventually(described))
    assert re.search(r"^StrategyType:\s+RollingUpdate$", out, re.M)
    assert re.search(r"^RollingUpdateStrategy:\s+25% max unavailable, 25% max surge$", out, re.M)
    assert re.search(r"^NewReplicaSet:\s+nginx-[a-z0-9]+ \(1/1 replicas created\)$", out, re.M)
    assert re.search(r"Normal\s+ScalingReplicaSet\s+\S+\s+deployment-controller\s+Scaled up replica set "
                     r"nginx-[a-z0-9]+ (from 0 )?to 1", out), out

    assert k("scale", "deploy", "nginx", "--replicas=2", version=KUBECTL).stdout.strip() == \
        "deployment.apps/nginx scaled"
    eventually(lambda: rows(cluster, "get", "deployments", "nginx")[1][:4] == ["nginx", "2/2", "2", "2"])
    eventually(lambda: any(re.fullmatch(r"nginx-[a-z0-9]+", r[0]) and r[1:4] == ["2", "2", "2"]
                           for r in rows(cluster, "get", "replicasets")[1:]))
    rs = k("describe", "replicasets", version=KUBECTL).stdout
    assert re.search(r"^Controlled By:\s+Deployment/nginx$", rs, re.M)
    assert re.search(r"^Pods Status:\s+2 Running / 0 Waiting / 0 Succeeded / 0 Failed$", rs, re.M)
    assert "SuccessfulCreate" in rs

    # each replica on a node, with an IP from that node's pod CIDR
    pods = json.loads(k("get", "pods", "-l", "app=nginx", "-o", "json", version=KUBECTL).stdout)["items"]
    for pod in pods:
        assert pod["spec"]["nodeName"].startswith("kyb-sim-")
        assert re.fullmatch(r"10\.42\.\d+\.\d+", pod["status"]["podIP"])

    # a rolling update, its history, and an undo
    k("set", "image", "deployment/nginx", "nginx=nginx:1.27", version=KUBECTL)
    status = k("rollout", "status", "deployment/nginx", "--timeout=60s", version=KUBECTL)
    assert 'deployment "nginx" successfully rolled out' in status.stdout
    history = k("rollout", "history", "deployment/nginx", version=KUBECTL).stdout
    assert re.search(r"^1\s+<none>$", history, re.M) and re.search(r"^2\s+<none>$", history, re.M)
    assert k("rollout", "undo", "deployment/nginx", version=KUBECTL).stdout.strip() == \
        "deployment.apps/nginx rolled back"
    k("rollout", "status", "deployment/nginx", "--timeout=60s", version=KUBECTL)
    image = k("get", "deploy", "nginx", "-o", "jsonpath={.spec.template.spec.containers[0].image}",
              version=KUBECTL).stdout
    assert image == "nginx"

    # cascading delete: the ReplicaSets and pods go too
    k("delete", "deployment", "nginx", version=KUBECTL)
    eventually(lambda: "No resources found" in k("get", "rs,pods", "-l", "app=nginx",
                                                    version=KUBECTL).stderr)


def test_job_with_completions_and_parallelism(cluster: Cluster) -> None:
    manifest = """
apiVersion: batch/v1
kind: Job
metadata:
  name: batch3
spec:
  completions: 3
  parallelism: 2
  template:
    metadata:
      annotations:
        kybernetes.io/simulate-duration: "1s"
    spec:
      restartPolicy: Never
      containers:
      - name: work
        image: busybox
"""
    cluster.kubectl("apply", "-f", "-", input=manifest, version=KUBECTL)
    eventually(lambda: rows(cluster, "get", "job", "batch3")[1][1:3] == ["Complete", "3/3"], timeout=90)
    pods = rows(cluster, "get", "pods", "-l", "job-name=batch3")
    assert len(pods) == 4 and all(r[2] == "Completed" for r in pods[1:])


def test_daemonset_and_statefulset(cluster: Cluster) -> None:
    manifest = """
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
      - name: agent
        image: busybox
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: web
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx
"""
    cluster.kubectl("apply", "-f", "-", input=manifest, version=KUBECTL)
    eventually(lambda: rows(cluster, "get", "ds", "agent")[1][1:6] == ["3", "3", "3", "3", "3"], timeout=90)
    nodes = {r[6] for r in rows(cluster, "get", "pods", "-l", "app=agent", "-o", "wide")[1:]}
    assert len(nodes) == 3
    eventually(lambda: rows(cluster, "get", "sts", "web")[1][1] == "3/3", timeout=90)
    names = sorted(r[0] for r in rows(cluster, "get", "pods", "-l", "app=web")[1:])
    assert names == ["web-0", "web-1", "web-2"]


@pytest.mark.parametrize("component", ["controller-manager", "scheduler"])
def test_restart_mid_rollout_creates_no_duplicates(cluster: Cluster, component: str) -> None:
    from kubernetes import client as kclient
    from kubernetes import config as kconfig
    from kubernetes import watch as kwatch

    k = cluster.kubectl
    name = f"steady-{component.split('-')[0]}"
    k("create", "deployment", name, "--image=nginx", "--replicas=4", version=KUBECTL)
    eventually(lambda: rows(cluster, "get", "deploy", name)[1][1] == "4/4", timeout=90)
    api_client = kconfig.new_client_from_config(config_file=str(cluster.kubeconfig))
    api = kclient.CoreV1Api(api_client)
    start = api.list_namespaced_pod("default", label_selector=f"app={name}").metadata.resource_version
    created: list[tuple[str, str]] = []  # every pod ever created for the deployment, with its template hash
    w = kwatch.Watch()

    def record() -> None:
        with contextlib.suppress(Exception):  # the stream ends with an error when the test stops it
            for event in w.stream(api.list_namespaced_pod, "default", label_selector=f"app={name}",
                                  resource_version=start, timeout_seconds=150):
                if event["type"] == "ADDED":
                    pod = event["object"]
                    created.append((pod.metadata.name, pod.metadata.labels["pod-template-hash"]))

    watcher = threading.Thread(target=record, daemon=True)
    watcher.start()
    k("set", "image", f"deployment/{name}", "nginx=nginx:1.27", version=KUBECTL)
    subprocess.run(["kill", "-TERM", str(_component_pid(cluster, component))], check=True)
    k("rollout", "status", f"deployment/{name}", "--timeout=120s", version=KUBECTL)

    def settled() -> list[dict]:  # type: ignore[type-arg]
        pods = json.loads(k("get", "pods", "-l", f"app={name}", "-o", "json", version=KUBECTL).stdout)["items"]
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        assert len(live) == 4 and all(p["status"].get("phase") == "Running" for p in live)
        return live

    live = eventually(settled, timeout=60)
    assert isinstance(live, list)
    new_hash = {p["metadata"]["labels"]["pod-template-hash"] for p in live}
    assert len(new_hash) == 1
    time.sleep(2)  # let the watch catch up
    w.stop()
    watcher.join(10)
    api_client.close()
    new_pods = {pod for pod, template in created if template in new_hash}
    assert len(new_pods) == 4, created  # exactly one pod created per replica of the new template


def _component_pid(cluster: Cluster, component: str) -> int:
    out = subprocess.run(["pgrep", "-f", f"kybernetes.cli.main {component} --kubeconfig {cluster.data_dir}"],
                         capture_output=True, text=True)
    pids = [int(p) for p in out.stdout.split()]
    assert pids, f"no {component} process found"
    return pids[0]


def test_node_failure_evicts_and_reschedules(tmp_path: pytest.TempPathFactory) -> None:
    """A node whose kubelet stops renewing its Lease goes NotReady, gets the unreachable taints, and its pods are
    evicted and recreated on the other nodes."""
    from harness import Cluster as View
    from harness import KybServer

    server = KybServer(tmp_path / "data", simulated_nodes=3, extra_args=(  # type: ignore[operator]
        "--controller-option", "node_monitor_grace_period=6", "--controller-option", "node_monitor_period=1",
        "--controller-option", "max_toleration_seconds=2"))
    with server:
        cluster = View(server, tmp_path / "cache")  # type: ignore[operator]
        k = cluster.kubectl
        eventually(lambda: len(rows(cluster, "get", "nodes")) == 4)
        k("create", "deployment", "spread", "--image=nginx", "--replicas=6", version=KUBECTL)
        eventually(lambda: rows(cluster, "get", "deploy", "spread")[1][1] == "6/6", timeout=90)
        placed = json.loads(k("get", "pods", "-l", "app=spread", "-o", "json", version=KUBECTL).stdout)["items"]
        victim = placed[0]["spec"]["nodeName"]
        on_victim = {p["metadata"]["name"] for p in placed if p["spec"]["nodeName"] == victim}
        k("annotate", "node", victim, "kybernetes.io/simulate-paused=true", version=KUBECTL)

        def not_ready() -> bool:
            node = json.loads(k("get", "node", victim, "-o", "json", version=KUBECTL).stdout)
            ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
            taints = {(t["key"], t["effect"]) for t in node["spec"].get("taints") or []}
            return ready["status"] == "Unknown" and ("node.kubernetes.io/unreachable", "NoExecute") in taints

        eventually(not_ready, timeout=60)
        assert rows(cluster, "get", "node", victim)[1][1] == "NotReady"

        def rescheduled() -> bool:
            pods = json.loads(k("get", "pods", "-l", "app=spread", "-o", "json", version=KUBECTL).stdout)["items"]
            live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
            running = [p for p in live if p["status"].get("phase") == "Running"]
            return len(running) == 6 and all(p["spec"]["nodeName"] != victim for p in running)

        eventually(rescheduled, timeout=90)
        events = k("get", "events", "--field-selector", "reason=TaintManagerEviction", version=KUBECTL).stdout
        assert any(name in events for name in on_victim)


def test_cronjob_fires_every_minute(cluster: Cluster) -> None:
    manifest = """
apiVersion: batch/v1
kind: CronJob
metadata:
  name: minutely
spec:
  schedule: "*/1 * * * *"
  jobTemplate:
    spec:
      template:
        metadata:
          annotations:
            kybernetes.io/simulate-duration: "1s"
        spec:
          restartPolicy: OnFailure
          containers:
          - name: hello
            image: busybox
"""
    cluster.kubectl("apply", "-f", "-", input=manifest, version=KUBECTL)

    def completed_job() -> bool:
        jobs = rows(cluster, "get", "jobs")
        return any(re.fullmatch(r"minutely-\d+", r[0]) and r[1:3] == ["Complete", "1/1"] for r in jobs[1:])

    eventually(completed_job, timeout=100, interval=2)
    cron = rows(cluster, "get", "cronjob", "minutely")
    assert cron[1][1] == "*/1 * * * *" and cron[1][5] != "<none>"  # LAST SCHEDULE is set
    events = cluster.kubectl("get", "events", "--field-selector", "involvedObject.name=minutely",
                             version=KUBECTL).stdout
    assert re.search(r"SuccessfulCreate\s+cronjob/minutely\s+Created job minutely-\d+", events)
