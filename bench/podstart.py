#!/usr/bin/env python3
"""Pod start latency on a real node (root): ``kyb server --cleanup`` with its real agent on a fresh data dir.

Measures, in one run:

* pod start latency: pod created (client clock, just before the POST) → phase Running observed by a watch, over
  ``--pods`` busybox pods created one after the other (each waits for the previous one), through the scheduler
  and the kubelet; median and p99;
* the floor: bare CRI ``RunPodSandbox`` + ``CreateContainer`` + ``StartContainer`` of the same image against the
  same containerd, sequentially, ``--floor`` times (then stopped and removed);
* the agent's RSS (the ``kyb agent`` process, not containerd or the shims) with 30 pods Running;
* idle CPU of the whole ``kyb server`` (every process naming its data dir: supervisor, API server, controllers,
  scheduler, agent, registry, containerd, shims) over ``--idle`` seconds, with no pods and with all pods Running
  (``--settle`` s after the last one), also split by process.

Targets (issue 4): p99 ≤ 1 s and ≤ 1.5 x the floor's p99; agent RSS ≤ 80 MB; idle CPU ≤ 1 % of a core.
Pods use ``imagePullPolicy: IfNotPresent`` (the image is pulled once, before timing; the floor does not pull
either).  Writes ``bench/results/podstart.json``.

    sudo .venv/bin/python bench/podstart.py [--pods 50] [--floor 50] [--idle 30] [--port 28443]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from kybernetes.client.config import load_kubeconfig  # noqa: E402
from kybernetes.client.rest import Client, resource  # noqa: E402
from kybernetes.kubelet.cri.client import CRIClient  # noqa: E402
from kybernetes.kubelet.cri.types import ContainerConfig, PodSandboxConfig  # noqa: E402

PODS = resource("", "v1", "pods")
NODES = resource("", "v1", "nodes")
CLK_TCK = os.sysconf("SC_CLK_TCK")
CGROUP_ROOT = Path("/sys/fs/cgroup")
FLOOR_CGROUP = "kyb-podstart-floor"
RSS_AT = 30


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "median_s": round(statistics.median(values), 4), "p99_s": round(pct(values, 99), 4),
            "min_s": round(min(values), 4), "max_s": round(max(values), 4)}


def server_pids(data_dir: str) -> list[int]:
    """Every process whose command line names the data dir (the whole server, containerd and shims)."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != os.getpid():
            with contextlib.suppress(OSError):
                if data_dir.encode() in (d / "cmdline").read_bytes():
                    pids.append(int(d.name))
    return pids


def agent_pid(data_dir: str) -> int | None:
    for pid in server_pids(data_dir):
        with contextlib.suppress(OSError):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if b"agent" in argv and b"kybernetes.cli.main" in argv:
                return pid
    return None


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_ticks(pids: list[int]) -> dict[int, int]:
    out = {}
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[pid] = int(fields[11]) + int(fields[12])  # utime + stime
    return out


def process_name(pid: int) -> str:
    """``apiserver``/``agent``/… for kyb components, else the executable's name."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    if b"kybernetes.cli.main" in argv and argv.index(b"kybernetes.cli.main") + 1 < len(argv):
        return argv[argv.index(b"kybernetes.cli.main") + 1].decode()
    return Path(argv[0].decode()).name


async def idle_cpu(data_dir: str, seconds: float) -> dict[str, Any]:
    """Share of one core used by the whole server over ``seconds`` (processes alive at the end)."""
    before = cpu_ticks(server_pids(data_dir))
    t0 = time.monotonic()
    await asyncio.sleep(seconds)
    after = cpu_ticks(server_pids(data_dir))
    elapsed = time.monotonic() - t0
    used_by = {pid: (t - before.get(pid, 0)) / CLK_TCK for pid, t in after.items()}
    used = sum(used_by.values())
    top: dict[str, float] = {}
    for pid, cpu in used_by.items():
        key = process_name(pid)
        top[key] = round(top.get(key, 0.0) + 100 * cpu / elapsed, 2)
    return {"seconds": round(elapsed, 1), "cpu_s": round(used, 3), "percent_of_core": round(100 * used / elapsed, 2),
            "processes": len(after), "percent_by_process": dict(sorted(top.items(), key=lambda kv: -kv[1]))}


def busybox_pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"bench": "podstart"}},
            "spec": {"terminationGracePeriodSeconds": 0, "automountServiceAccountToken": False,
                     "containers": [{"name": "c", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                                     "command": ["sleep", "3600"]}]}}


async def wait_node_ready(client: Client, within: float = 120) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        items, _ = await client.list_all(NODES)
        for node in items:
            conds = {c["type"]: c["status"] for c in (node.get("status") or {}).get("conditions") or []}
            if conds.get("Ready") == "True" and (node.get("spec") or {}).get("podCIDR"):
                return str(node["metadata"]["name"])
        await asyncio.sleep(0.5)
    raise SystemExit("the node did not become Ready")


async def pod_latencies(client: Client, count: int, data_dir: str, prefix: str) -> tuple[list[float], float]:
    """Create ``count`` pods one after the other; (latencies, agent RSS MB once RSS_AT pods run)."""
    _, rv = await client.list_all(PODS, "default")
    running: dict[str, asyncio.Future[float]] = {}
    loop = asyncio.get_running_loop()

    async def watch() -> None:
        async for _kind, pod in client.watch(PODS, "default", resource_version=rv, bookmarks=False,
                                             timeout_seconds=3600):
            name = pod["metadata"]["name"]
            fut = running.get(name)
            if fut is not None and not fut.done() and (pod.get("status") or {}).get("phase") == "Running":
                fut.set_result(time.perf_counter())

    watcher = asyncio.create_task(watch())
    latencies: list[float] = []
    rss = 0.0
    try:
        await asyncio.sleep(0.2)
        for i in range(count):
            name = f"{prefix}-{i}"
            running[name] = loop.create_future()
            t0 = time.perf_counter()
            await client.create(PODS, "default", busybox_pod(name))
            latencies.append(await asyncio.wait_for(running[name], 60) - t0)
            if i + 1 == RSS_AT:
                await asyncio.sleep(2)
                pid = agent_pid(data_dir)
                rss = rss_mb(pid) if pid else 0.0
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await watcher
    return latencies, rss


async def floor(socket_path: str, count: int, log_root: Path) -> list[float]:
    """Bare CRI: RunPodSandbox + CreateContainer + StartContainer, sequentially; everything removed after."""
    cri = CRIClient(socket_path)
    times: list[float] = []
    sandboxes: list[str] = []
    try:
        image = await cri.pull_image("busybox")
        for i in range(count):
            uid = str(uuid.uuid4())
            name = f"floor-{i}"
            cfg = PodSandboxConfig(name=name, namespace="bench-floor", uid=uid, hostname=name,
                                   log_directory=str(log_root / uid), cgroup_parent=f"/{FLOOR_CGROUP}/pod{uid}",
                                   labels={"io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": "bench-floor",
                                           "io.kubernetes.pod.uid": uid})
            (log_root / uid).mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            sid = await cri.run_pod_sandbox(cfg)
            sandboxes.append(sid)
            cid = await cri.create_container(sid, ContainerConfig(name="c", image=image, command=["sleep", "3600"],
                                                                  log_path="c/0.log"), cfg)
            await cri.start_container(cid)
            times.append(time.perf_counter() - t0)
    finally:
        for sid in sandboxes:
            with contextlib.suppress(Exception):
                await cri.stop_pod_sandbox(sid)
            with contextlib.suppress(Exception):
                await cri.remove_pod_sandbox(sid)
        await cri.close()
        await asyncio.to_thread(_remove_floor_cgroups)
    return times


def _remove_floor_cgroups() -> None:
    for hierarchy in [CGROUP_ROOT, *[p for p in CGROUP_ROOT.iterdir() if p.is_dir()]]:
        base = hierarchy / FLOOR_CGROUP
        if base.is_dir():
            for dirpath, _d, _f in sorted(os.walk(base), key=lambda t: -t[0].count("/")):
                with contextlib.suppress(OSError):
                    os.rmdir(dirpath)


async def delete_all(client: Client, prefix: str, within: float = 120) -> None:
    items, _ = await client.list_all(PODS, "default", label_selector="bench=podstart")
    await asyncio.gather(*(client.delete(PODS, "default", p["metadata"]["name"]) for p in items))
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        items, _ = await client.list_all(PODS, "default", label_selector="bench=podstart")
        if not items:
            return
        await asyncio.sleep(0.5)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = tempfile.mkdtemp(prefix="kyb-podstart-")
    argv = [sys.executable, "-m", "kybernetes.cli.main", "server", "--data-dir", data_dir,
            "--https-port", str(args.port), "--cleanup"]
    proc = subprocess.Popen(argv,  # noqa: ASYNC220 - started once, before any measurement
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    result: dict[str, Any] = {"pods": args.pods}
    try:
        assert proc.stdout is not None
        line = await asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)
        if b"ready" not in line:
            raise SystemExit(f"kyb server did not start: {line!r}; see {data_dir}/logs")
        client = Client(load_kubeconfig(Path(data_dir) / "kubeconfig.yaml"), user_agent="bench-podstart")
        try:
            await wait_node_ready(client)
            # warm up: image pulled, caches filled, first-pod costs paid
            warm, _ = await pod_latencies(client, 2, data_dir, "warm")
            await delete_all(client, "warm")
            await asyncio.sleep(3)
            result["idle_cpu_no_pods"] = await idle_cpu(data_dir, args.idle)
            socket_path = str(Path(data_dir) / "agent" / "containerd" / "state" / "containerd.sock")
            with tempfile.TemporaryDirectory(prefix="kyb-floor-logs-") as logs:
                result["floor_cri"] = summary(await floor(socket_path, args.floor, Path(logs)))
            latencies, rss = await pod_latencies(client, args.pods, data_dir, "pod")
            result["warmup_s"] = [round(w, 3) for w in warm]
            result["pod_start"] = summary(latencies)
            result["agent_rss_mb_at_30_pods"] = round(rss, 1)
            pid = agent_pid(data_dir)
            result[f"agent_rss_mb_at_{args.pods}_pods"] = round(rss_mb(pid), 1) if pid else None
            await asyncio.sleep(args.settle)
            result[f"idle_cpu_{args.pods}_pods"] = await idle_cpu(data_dir, args.idle)
            result["p99_over_floor_p99"] = round(result["pod_start"]["p99_s"] / result["floor_cri"]["p99_s"], 2)
            await delete_all(client, "pod")
        finally:
            await client.close()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(data_dir, ignore_errors=True)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--pods", type=int, default=50)
    p.add_argument("--floor", type=int, default=50)
    p.add_argument("--idle", type=float, default=30.0, help="seconds of idle CPU measurement")
    p.add_argument("--settle", type=float, default=10.0, help="seconds after the last pod before measuring idle")
    p.add_argument("--port", type=int, default=28443)
    args = p.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (a real node)")
    r = asyncio.run(run(args))
    out = ROOT / "bench" / "results" / "podstart.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(r, indent=2) + "\n")
    ps, fl = r["pod_start"], r["floor_cri"]
    print(f"{'pod start (create → Running watched)':<40} median {ps['median_s'] * 1000:7.0f} ms   "
          f"p99 {ps['p99_s'] * 1000:7.0f} ms   (n={ps['n']})")
    print(f"{'floor: CRI RunPodSandbox+Create+Start':<40} median {fl['median_s'] * 1000:7.0f} ms   "
          f"p99 {fl['p99_s'] * 1000:7.0f} ms   (n={fl['n']})")
    print(f"{'p99 / floor p99':<40} {r['p99_over_floor_p99']:.2f}x  (target ≤ 1.5x, p99 ≤ 1 s)")
    print(f"{'agent RSS with 30 pods':<40} {r['agent_rss_mb_at_30_pods']:.1f} MB  (target ≤ 80 MB)")
    for key in ("idle_cpu_no_pods", f"idle_cpu_{args.pods}_pods"):
        c = r[key]
        print(f"{key.replace('_', ' '):<40} {c['percent_of_core']:.2f} % of a core over {c['seconds']:.0f} s "
              f"({c['processes']} processes; target ≤ 1 %)")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
