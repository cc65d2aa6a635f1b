#!/usr/bin/env python3
"""Simulated nodes benchmark: N nodes and M pre-bound pods (``spec.nodeName`` set, no scheduler) in one agent.

Starts ``kyb apiserver`` on a temporary data dir, runs :class:`kybernetes.agent.simulated.SimulatedNodes` in this
process, registers the nodes, creates the pods at 32 concurrent requests and watches them go Running.  Prints node
registration time, pods/s Running, pod start p50/p99 (creation → Running seen by a watch), agent CPU and RSS and
API server RSS; the floor is the pod creation rate alone (measured in the same run: the agent cannot report pods
faster than they are created).  Writes ``bench/results/simulated_nodes.json``.

    .venv/bin/python bench/simulated_nodes.py [--nodes 1000] [--pods 10000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from pathlib import Path
from typing import Any

from api import RESULTS, Server, pct  # bench/api.py

from kybernetes.agent.simulated import SimulatedNodes
from kybernetes.client.config import load_kubeconfig
from kybernetes.client.rest import Client
from kybernetes.client.rest import resource as api_resource

PODS = api_resource("", "v1", "pods")


def pod(i: int, nodes: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"bench-{i}", "labels": {"bench": "sim"}},
            "spec": {"nodeName": f"kyb-sim-{i % nodes}", "automountServiceAccountToken": False,
                     "containers": [{"name": "nginx", "image": "nginx"}]}}


async def bench(args: argparse.Namespace, server: Server) -> dict[str, Any]:
    kubeconfig = Path(server.dir) / "kubeconfig.yaml"
    agent_client = Client(load_kubeconfig(kubeconfig), user_agent="bench-agent")
    client = Client(load_kubeconfig(kubeconfig), user_agent="bench")
    sim = SimulatedNodes(agent_client, args.nodes, options={"events": not args.no_events})
    ready = asyncio.Event()
    created: dict[str, float] = {}
    running: dict[str, float] = {}
    all_running = asyncio.Event()

    async def watch() -> None:
        async for kind, obj in client.watch(PODS, "default", label_selector="bench=sim", timeout_seconds=3600):
            if kind in ("ADDED", "MODIFIED") and (obj.get("status") or {}).get("phase") == "Running":
                running.setdefault(obj["metadata"]["name"], time.monotonic())
                if len(running) >= args.pods:
                    all_running.set()
                    return

    try:
        async with asyncio.TaskGroup() as tg:
            t0 = time.monotonic()
            agent = tg.create_task(sim.run(ready))
            await ready.wait()
            registered = time.monotonic() - t0
            watcher = tg.create_task(watch())
            await asyncio.sleep(0.5)
            gate = asyncio.Semaphore(32)

            async def create(i: int) -> None:
                async with gate:
                    created[f"bench-{i}"] = time.monotonic()
                    await client.create(PODS, "default", pod(i, args.nodes))

            t1 = time.monotonic()
            await asyncio.gather(*(create(i) for i in range(args.pods)))
            create_s = time.monotonic() - t1
            await asyncio.wait_for(all_running.wait(), timeout=600)
            total_s = max(running.values()) - t1
            agent.cancel()
            watcher.cancel()
    finally:
        await client.close()
        await agent_client.close()
    starts = [running[n] - created[n] for n in running if n in created]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "nodes": args.nodes, "pods": args.pods, "events": not args.no_events,
        "register_s": round(registered, 2),
        "create_pods_per_s": round(args.pods / create_s, 1),
        "running_pods_per_s": round(args.pods / total_s, 1),
        "ratio_to_floor": round((args.pods / total_s) / (args.pods / create_s), 2),
        "start_p50_ms": round(pct(starts, 50) * 1000, 1), "start_p99_ms": round(pct(starts, 99) * 1000, 1),
        "agent_cpu_s": round(usage.ru_utime + usage.ru_stime, 1), "agent_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "apiserver_rss_mb": round(server.rss_mb(), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--no-events", action="store_true", help="do not record kubelet events")
    parser.add_argument("--quick", action="store_true", help="100 nodes, 1000 pods")
    args = parser.parse_args()
    if args.quick:
        args.nodes, args.pods = 100, 1000
    server = Server()
    server.start()
    try:
        result = asyncio.run(bench(args, server))
    finally:
        server.stop()
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "simulated_nodes.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
