#!/usr/bin/env python3
"""The API server's cost of one pod's life as the control plane drives it, without the control plane.

Starts ``kyb apiserver`` alone and replays, per pod, the requests the other components send in
``bench/scheduler.py``: create the pod (ReplicaSet controller), an event, ``pods/binding`` (scheduler), an event,
``pods/status`` to Running (kubelet) — with ``--watchers`` watches on all pods open (the controller manager,
scheduler, agent and benchmark each hold one).  Prints pods/s and the API server's CPU per pod (median over
``--rounds``), beside a floor measured in the same run: the same number of requests as plain ConfigMap creates.
Writes ``bench/results/apiserver_pods.json``.

    .venv/bin/python bench/apiserver_pods.py [--pods 2000] [--concurrency 32] [--watchers 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from kybernetes.client.config import load_kubeconfig  # noqa: E402
from kybernetes.client.rest import STRATEGIC_PATCH, Client, resource  # noqa: E402

PODS = resource("", "v1", "pods")
EVENTS = resource("", "v1", "events")
CMS = resource("", "v1", "configmaps")
REQUESTS_PER_POD = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "bench", "pod-template-hash": "5d59d67564"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "bench-5d59d67564",
                                              "uid": "6b1a8a36-0b0f-4a52-9d3b-5c7ad2b9e1f0", "controller": True,
                                              "blockOwnerDeletion": True}]},
            "spec": {"containers": [{"name": "nginx", "image": "nginx", "resources": {}}]}}


def event(name: str, reason: str, message: str, component: str) -> dict[str, Any]:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": f"{name}.{reason.lower()}"},
            "involvedObject": {"kind": "Pod", "namespace": "default", "name": name, "apiVersion": "v1"},
            "reason": reason, "message": message, "type": "Normal", "source": {"component": component},
            "firstTimestamp": now, "lastTimestamp": now, "count": 1}


def running_status(ip: str) -> dict[str, Any]:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {"status": {
        "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "10.0.0.1", "startTime": now,
        "conditions": [{"type": t, "status": "True", "lastTransitionTime": now}
                       for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")],
        "containerStatuses": [{"name": "nginx", "ready": True, "restartCount": 0, "started": True,
                               "image": "docker.io/library/nginx:latest", "imageID": "sha256:1",
                               "containerID": "containerd://1", "state": {"running": {"startedAt": now}}}]}}


async def pod_life(client: Client, i: int, prefix: str) -> None:
    name = f"{prefix}-{i}"
    await client.create(PODS, "default", pod(name))
    await client.create(EVENTS, "default", event(name, "SuccessfulCreate", f"Created pod: {name}",
                                                 "replicaset-controller"))
    await client.create(PODS, "default", {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
                                          "target": {"apiVersion": "v1", "kind": "Node", "name": f"node-{i % 100}"}},
                        name=name, subresource="binding")
    await client.create(EVENTS, "default", event(name, "Scheduled", f"Successfully assigned default/{name} to "
                                                 f"node-{i % 100}", "default-scheduler"))
    await client.patch(PODS, "default", name, running_status(f"10.42.{i // 250}.{i % 250 + 2}"),
                       subresource="status", patch_type=STRATEGIC_PATCH)


async def floor_one(client: Client, i: int, prefix: str) -> None:
    for k in range(REQUESTS_PER_POD):
        await client.create(CMS, "default", {"apiVersion": "v1", "kind": "ConfigMap",
                                             "metadata": {"name": f"{prefix}-{i}-{k}"}})


async def drive(client: Client, count: int, concurrency: int, prefix: str, one: Any) -> float:
    sem = asyncio.Semaphore(concurrency)

    async def bounded(i: int) -> None:
        async with sem:
            await one(client, i, prefix)

    t0 = time.perf_counter()
    await asyncio.gather(*(bounded(i) for i in range(count)))
    return time.perf_counter() - t0


async def watch_all(client: Client) -> None:
    async for _kind, _obj in client.watch(PODS, bookmarks=True, timeout_seconds=3600):
        pass


async def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = tempfile.mkdtemp(prefix="kyb-apipods-")
    argv = [sys.executable, "-m", "kybernetes.cli.main", "apiserver", "--data-dir", data_dir,
            "--https-port", str(free_port())]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,  # noqa: ASYNC220 - once
                            start_new_session=True)
    try:
        kubeconfig = Path(data_dir) / "kubeconfig.yaml"
        for _ in range(300):
            if kubeconfig.exists():
                break
            await asyncio.sleep(0.1)
        async with Client(load_kubeconfig(kubeconfig), user_agent="bench") as client:
            for _ in range(300):
                try:
                    await client.request("GET", "/readyz")
                    break
                except Exception:
                    await asyncio.sleep(0.1)
            watchers = [asyncio.create_task(watch_all(client)) for _ in range(args.watchers)]
            await asyncio.sleep(0.5)
            rows: dict[str, list[tuple[float, float]]] = {"pods": [], "floor": []}
            for r in range(args.rounds):
                for kind, one in (("pods", pod_life), ("floor", floor_one)):
                    cpu0 = cpu_seconds(proc.pid)
                    elapsed = await drive(client, args.pods, args.concurrency, f"{kind}{r}", one)
                    cpu = cpu_seconds(proc.pid) - cpu0
                    rows[kind].append((args.pods / elapsed, cpu * 1000 / args.pods))
            for w in watchers:
                w.cancel()
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(data_dir, ignore_errors=True)
    result: dict[str, Any] = {"pods": args.pods, "concurrency": args.concurrency, "watchers": args.watchers,
                              "requests_per_pod": REQUESTS_PER_POD}
    for kind, values in rows.items():
        result[kind] = {"per_s_median": statistics.median(v[0] for v in values),
                        "cpu_ms_per_pod_median": statistics.median(v[1] for v in values),
                        "cpu_ms_per_pod_p99": max(v[1] for v in values), "rounds": values}
    result["ratio_cpu_to_floor"] = result["pods"]["cpu_ms_per_pod_median"] / result["floor"]["cpu_ms_per_pod_median"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--watchers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    r = asyncio.run(run(args))
    print(f"{'case':<44}{'per s':>10}{'API CPU ms/pod median':>24}{'max':>8}")
    print(f"{'pod life (create, event, bind, event, status)':<44}{r['pods']['per_s_median']:>10.0f}"
          f"{r['pods']['cpu_ms_per_pod_median']:>24.2f}{r['pods']['cpu_ms_per_pod_p99']:>8.2f}")
    print(f"{'floor: 5 ConfigMap creates':<44}{r['floor']['per_s_median']:>10.0f}"
          f"{r['floor']['cpu_ms_per_pod_median']:>24.2f}{r['floor']['cpu_ms_per_pod_p99']:>8.2f}")
    print(f"ratio of API CPU per pod to the floor: {r['ratio_cpu_to_floor']:.2f}")
    out = ROOT / "bench" / "results" / "apiserver_pods.json"
    out.write_text(json.dumps(r, indent=1))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
