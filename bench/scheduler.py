#!/usr/bin/env python3
"""Control-plane throughput: simulated nodes, pods from Deployments, creation → Running.

Starts ``kyb server --simulated-nodes N``, waits for the nodes, creates Deployments totalling P pods, and watches
pods until all are Running.  Prints pods/s scheduled (binding observed) and Running, pod start latency p50/p99
(creationTimestamp → Running observed by a watch), and each component's RSS; the floor is the same client creating
and watching P ConfigMaps (API server write+watch throughput without controllers).  Writes
``bench/results/scheduler.json``.

    .venv/bin/python bench/scheduler.py [--nodes 1000] [--pods 10000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from kybernetes.client.config import load_kubeconfig  # noqa: E402
from kybernetes.client.errors import ApiError  # noqa: E402
from kybernetes.client.rest import Client, resource  # noqa: E402

PODS = resource("", "v1", "pods")
NODES = resource("", "v1", "nodes")
DEPLOYMENTS = resource("apps", "v1", "deployments")
CMS = resource("", "v1", "configmaps")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def component_pids(data_dir: str) -> dict[str, int]:
    out = subprocess.run(["pgrep", "-af", "kybernetes.cli.main"], capture_output=True, text=True).stdout
    pids: dict[str, int] = {}
    for line in out.splitlines():
        pid, _, cmd = line.partition(" ")
        if data_dir not in cmd:
            continue
        for name in ("apiserver", "controller-manager", "scheduler", "agent"):
            if f"kybernetes.cli.main {name} " in cmd:
                pids[name] = int(pid)
    return pids


async def wait_nodes(client: Client, n: int, within: float = 300) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        items, _ = await client.list_all(NODES)
        ready = sum(1 for node in items for c in node.get("status", {}).get("conditions", [])
                    if c.get("type") == "Ready" and c.get("status") == "True")
        if ready >= n:
            return
        await asyncio.sleep(1)
    raise SystemExit(f"only {ready} of {n} nodes became Ready")


async def floor(client: Client, count: int) -> float:
    """ConfigMap creates watched back: the API server's own write+watch rate for the same count."""
    _, rv = await client.list_all(CMS, "default")
    seen = 0
    done = asyncio.Event()

    async def watch() -> None:
        nonlocal seen
        async for kind, _obj in client.watch(CMS, "default", resource_version=rv, bookmarks=False):
            if kind == "ADDED":
                seen += 1
                if seen >= count:
                    done.set()
                    return

    watcher = asyncio.create_task(watch())
    t0 = time.perf_counter()
    sem = asyncio.Semaphore(32)

    async def create(i: int) -> None:
        async with sem:
            await client.create(CMS, "default", {"apiVersion": "v1", "kind": "ConfigMap",
                                                 "metadata": {"name": f"floor-{i}"}})

    await asyncio.gather(*(create(i) for i in range(count)))
    await asyncio.wait_for(done.wait(), 600)
    watcher.cancel()
    return count / (time.perf_counter() - t0)


async def requests_per_pod(client: Client, pods: int) -> dict[str, float]:
    """API requests (all components, from the API server's ``apiserver_request_total``) per pod Running, by
    ``VERB resource[/subresource]``; watches and the benchmark's own few requests included."""
    try:
        text = await client.request("GET", "/metrics")
    except ApiError:  # an API server without /metrics
        return {"TOTAL": float("nan")}
    counts: dict[str, float] = {}
    for line in str(text).splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels_text, _, value = line[len("apiserver_request_total{"):].rpartition("} ")
        labels = dict(part.split("=", 1) for part in labels_text.split(",") if "=" in part)
        labels = {k: v.strip('"') for k, v in labels.items()}
        name = labels.get("resource", "") + ("/" + labels["subresource"] if labels.get("subresource") else "")
        key = f"{labels.get('verb', '')} {name}".strip()
        counts[key] = counts.get(key, 0.0) + float(value)
    watches: dict[str, float] = {}
    for line in str(text).splitlines():
        if line.startswith("apiserver_longrunning_requests{") and 'verb="WATCH"' in line:
            res = line.split('resource="', 1)[1].split('"', 1)[0]
            watches[res] = watches.get(res, 0.0) + float(line.rpartition(" ")[2])
    per = {k: round(v / pods, 3) for k, v in sorted(counts.items(), key=lambda kv: -kv[1]) if v / pods >= 0.005}
    per["open watches on pods"] = watches.get("pods", 0.0)
    per["TOTAL"] = round(sum(counts.values()) / pods, 2)
    return per


def _timeline(t0: float, *stages: dict[str, float]) -> list[list[int]]:
    """Per second since ``t0``: [second, pods first seen, bound, Running] (cumulative): where the pipeline stalls."""
    last = max((max(s.values(), default=t0) for s in stages), default=t0)
    rows = []
    for sec in range(int(last - t0) + 2):
        cut = t0 + sec
        rows.append([sec, *(sum(1 for v in s.values() if v <= cut) for s in stages)])
    return rows


async def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = tempfile.mkdtemp(prefix="kyb-sched-bench-")
    port = free_port()  # benchmarks may run side by side
    argv = [sys.executable, "-m", "kybernetes.cli.main", "server", "--data-dir", data_dir,
            "--https-port", str(port), "--simulated-nodes", str(args.nodes)]
    proc = subprocess.Popen(argv,  # noqa: ASYNC220 - started once, before any load
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert proc.stdout is not None
        line = await asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)
        if b"ready" not in line:
            proc.kill()
            err = proc.stderr.read() if proc.stderr else b""
            raise SystemExit(f"kyb server did not start: {line!r} {err[-2000:]!r}")
        client = Client(load_kubeconfig(Path(data_dir) / "kubeconfig.yaml"), user_agent="bench")
        t_nodes = time.perf_counter()
        await wait_nodes(client, args.nodes)
        nodes_s = time.perf_counter() - t_nodes

        _, rv = await client.list_all(PODS)
        started: dict[str, float] = {}
        bound: dict[str, float] = {}
        created_at: dict[str, float] = {}
        done = asyncio.Event()

        async def watch() -> None:
            async for _kind, pod in client.watch(PODS, resource_version=rv, bookmarks=False, timeout_seconds=3600):
                name = pod["metadata"]["name"]
                now = time.perf_counter()
                created_at.setdefault(name, now)
                if pod.get("spec", {}).get("nodeName") and name not in bound:
                    bound[name] = now
                if pod.get("status", {}).get("phase") == "Running" and name not in started:
                    started[name] = now
                    if len(started) >= args.pods:
                        done.set()
                        return

        watcher = asyncio.create_task(watch())
        pids = component_pids(data_dir)
        cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
        per = 100
        t0 = time.perf_counter()
        for i in range(args.pods // per):
            await client.create(DEPLOYMENTS, "default", {
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": f"bench-{i}"},
                "spec": {"replicas": per, "selector": {"matchLabels": {"app": f"bench-{i}"}},
                         "template": {"metadata": {"labels": {"app": f"bench-{i}"}},
                                      "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), args.timeout)
        elapsed = time.perf_counter() - t0
        watcher.cancel()
        latencies = [started[n] - created_at[n] for n in started]
        cpu_ms = {name: round((cpu_seconds(pid) - cpu0[name]) * 1000 / max(len(started), 1), 2)
                  for name, pid in pids.items()}
        timeline = _timeline(t0, created_at, bound, started)
        result: dict[str, Any] = {
            "nodes": args.nodes, "pods": args.pods, "running": len(started), "bound": len(bound),
            "nodes_ready_s": nodes_s, "elapsed_s": elapsed,
            "scheduled_per_s": len(bound) / elapsed, "running_per_s": len(started) / elapsed,
            "pod_start_p50_s": pct(latencies, 50), "pod_start_p99_s": pct(latencies, 99),
            "rss_mb": {name: rss_mb(pid) for name, pid in pids.items()},
            "timeline": timeline, "cpu_ms_per_pod": cpu_ms,
        }
        # every request the pods caused, including work still queued when the last one ran (kubelet events)
        settle = time.monotonic() + 60
        result["requests_per_pod"] = await requests_per_pod(client, len(started) or 1)
        while time.monotonic() < settle:
            await asyncio.sleep(2)
            again = await requests_per_pod(client, len(started) or 1)
            if not again["TOTAL"] - result["requests_per_pod"]["TOTAL"] >= 0.05:  # settled (or unknown)
                break
            result["requests_per_pod"] = again
        result["floor_configmaps_per_s"] = await floor(client, min(args.pods, 2000))
        await client.close()
        return result
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--quick", action="store_true", help="100 nodes, 1,000 pods")
    parser.add_argument("--timeline", action="store_true", help="print cumulative created/bound/Running per second")
    args = parser.parse_args()
    if args.quick:
        args.nodes, args.pods = 100, 1000
    r = asyncio.run(run(args))
    print(f"{'metric':<34}{'value':>12}")
    print(f"{'nodes Ready after (s)':<34}{r['nodes_ready_s']:>12.1f}")
    print(f"{'pods Running':<34}{r['running']:>12} / {r['pods']}")
    print(f"{'pods scheduled per s':<34}{r['scheduled_per_s']:>12.0f}")
    print(f"{'pods Running per s':<34}{r['running_per_s']:>12.0f}")
    print(f"{'pod start p50 (s)':<34}{r['pod_start_p50_s']:>12.2f}")
    print(f"{'pod start p99 (s)':<34}{r['pod_start_p99_s']:>12.2f}")
    print(f"{'floor: configmap create+watch /s':<34}{r['floor_configmaps_per_s']:>12.0f}")
    print(f"{'ratio running/s ÷ floor':<34}{r['running_per_s'] / r['floor_configmaps_per_s']:>12.2f}")
    print("CPU ms per pod: " + ", ".join(f"{k} {v}" for k, v in r["cpu_ms_per_pod"].items()))
    print("API requests per pod: " + ", ".join(f"{k} {v}" for k, v in r["requests_per_pod"].items()))
    if args.timeline:
        print("second  created  bound  running")
        for row in r["timeline"]:
            print("".join(f"{v:>8}" for v in row))
    for name, mb in r["rss_mb"].items():
        print(f"{'RSS ' + name + ' (MB)':<34}{mb:>12.0f}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "scheduler.json").write_text(json.dumps(r, indent=2) + "\n")


if __name__ == "__main__":
    main()
