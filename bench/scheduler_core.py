#!/usr/bin/env python3
"""Pure scheduling throughput: the scheduler's decision + assume for N pods on M nodes, no API server.

Nodes and pods are fed through the real cache and queue; the default profile runs with every plugin; binding is a
fake (the cycle's cost is what is measured: pop → snapshot → PreFilter → Filter → Score → select → assume).
Workload ``--workload mixed`` (the default): 80% plain pods with requests, 10% with a nodeSelector on a zone, 5%
with a toleration for the tainted nodes, 5% with a topology spread constraint over zones; 5% of nodes are tainted.
``--workload plain``: bench/scheduler.py's Deployment pods (no requests, no constraints), untainted nodes.

Floors measured in the same run: ``copy`` = a shallow copy of the 1,000-node list plus one integer comparison per
node (the least a per-pod filter pass over the snapshot can cost); ``deepcopy-1`` = copying ONE node object with
``copy.deepcopy`` (what a per-node deep copy would cost, times the node count).

Prints CPU per pod (the loop's process time over the pods: robust to other load), mean/median/p99 wall time
per pod and pods/s, writes ``bench/results/scheduler_core.json``.

    .venv/bin/python bench/scheduler_core.py [--nodes 1000] [--pods 10000] [--workload mixed|plain]
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

from kybernetes.scheduler.binder import FakeBinder, FakeStatusWriter
from kybernetes.scheduler.cache import SchedulerCache
from kybernetes.scheduler.nodeinfo import PodInfo
from kybernetes.scheduler.plugins.registry import default_profile
from kybernetes.scheduler.queue import SchedulingQueue
from kybernetes.scheduler.scheduler import FitError, Scheduler

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
Obj = dict[str, Any]
ZONES = ("zone-a", "zone-b", "zone-c")


class NoEvents:
    def record(self, obj: Obj, event_type: str, reason: str, message: str) -> None:
        return None


def make_node(i: int, tainted: bool = True) -> Obj:
    node: Obj = {"apiVersion": "v1", "kind": "Node",
                 "metadata": {"name": f"node-{i:05d}", "labels": {
                     "kubernetes.io/hostname": f"node-{i:05d}", "topology.kubernetes.io/zone": ZONES[i % 3]}},
                 "spec": {},
                 "status": {"allocatable": {"cpu": "32", "memory": "128Gi", "pods": "110"},
                            "conditions": [{"type": "Ready", "status": "True"}]}}
    if tainted and i % 20 == 0:
        node["spec"]["taints"] = [{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}]
    return node


def make_plain_pod(i: int, rng: random.Random) -> Obj:
    """Like ``bench/scheduler.py``: Deployment replicas without requests or constraints."""
    app = f"bench-{i // 100}"
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"pod-{i:06d}", "namespace": "default", "uid": f"uid-{i}", "labels": {"app": app}},
            "spec": {"schedulerName": "default-scheduler", "priority": 0,
                     "containers": [{"name": "c", "image": "nginx"}]},
            "status": {"phase": "Pending"}}


def make_pod(i: int, rng: random.Random) -> Obj:
    app = f"app-{i % 50}"
    spec: Obj = {"schedulerName": "default-scheduler", "priority": 0,
                 "containers": [{"name": "c", "image": "nginx",
                                 "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}
    r = rng.random()
    if r < 0.10:
        spec["nodeSelector"] = {"topology.kubernetes.io/zone": ZONES[i % 3]}
    elif r < 0.15:
        spec["tolerations"] = [{"key": "dedicated", "operator": "Equal", "value": "infra", "effect": "NoSchedule"}]
    elif r < 0.20:
        spec["topologySpreadConstraints"] = [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                              "whenUnsatisfiable": "DoNotSchedule",
                                              "labelSelector": {"matchLabels": {"app": app}}}]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"pod-{i:06d}", "namespace": "default", "uid": f"uid-{i}", "labels": {"app": app}},
            "spec": spec, "status": {"phase": "Pending"}}


def floor_copy(cache: SchedulerCache) -> float:
    start = time.perf_counter()
    nodes = list(cache.snapshot().nodes)
    hits = 0
    for n in nodes:
        if n.requested.milli_cpu < n.allocatable.milli_cpu:
            hits += 1
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workload", choices=("mixed", "plain"), default="mixed",
                        help="mixed (default, see above) or plain: bench/scheduler.py's Deployment pods")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    cache = SchedulerCache()
    queue = SchedulingQueue()
    profile = default_profile(FakeBinder())
    queue.plugin_events = profile.events
    sched = Scheduler(cache, queue, profile, events=NoEvents(), status_writer=FakeStatusWriter(),
                      rng=random.Random(args.seed))
    for i in range(args.nodes):
        cache.set_node(make_node(i, tainted=args.workload == "mixed"))
    for i in range(args.pods):
        queue.add((make_plain_pod if args.workload == "plain" else make_pod)(i, rng))

    times: list[float] = []
    failed = 0
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    while True:
        qp = queue.pop_nowait()
        if qp is None:
            break
        start = time.perf_counter()
        pi = PodInfo(qp.pod)
        try:
            node = sched.schedule(pi)
            cache.assume(pi, node)
            queue.done(qp.key)
        except FitError:
            failed += 1
            queue.delete(qp.key)
        times.append(time.perf_counter() - start)
    wall = time.perf_counter() - t0
    cpu = (time.process_time() - cpu0) / max(len(times), 1)

    floors = [floor_copy(cache) for _ in range(200)]
    one_node = next(iter(cache.nodes.values())).node
    deep = []
    for _ in range(200):
        s = time.perf_counter()
        copy.deepcopy(one_node)
        deep.append(time.perf_counter() - s)

    times.sort()
    med = statistics.median(times)
    p99 = times[int(len(times) * 0.99) - 1]
    floor_med = statistics.median(floors)
    deep_med = statistics.median(deep) * args.nodes
    rows = [
        ("schedule+assume (per pod)", med, p99),
        ("floor: snapshot copy + 1 compare/node", floor_med, sorted(floors)[int(len(floors) * 0.99) - 1]),
        (f"deepcopy of {args.nodes} node objects", deep_med, deep_med),
    ]
    mean = statistics.fmean(times)
    print(f"{args.nodes} nodes x {args.pods} pods ({args.workload}): {len(times) / wall:,.0f} pods/s, "
          f"mean {mean * 1e3:.3f} ms per pod, CPU {cpu * 1e3:.3f} ms per pod, {failed} unschedulable")
    print(f"{'case':42} {'median ms':>10} {'p99 ms':>10} {'x floor':>8}")
    for name, m, p in rows:
        print(f"{name:42} {m * 1e3:10.3f} {p * 1e3:10.3f} {m / floor_med:8.1f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scheduler_core.json").write_text(json.dumps({
        "nodes": args.nodes, "pods": args.pods, "workload": args.workload, "pods_per_second": len(times) / wall,
        "unschedulable": failed, "cpu_ms_per_pod": cpu * 1e3,
        "per_pod_ms": {"mean": mean * 1e3, "median": med * 1e3, "p99": p99 * 1e3},
        "floor_snapshot_copy_ms": {"median": floor_med * 1e3},
        "deepcopy_all_nodes_ms": deep_med * 1e3,
    }, indent=2) + "\n")


if __name__ == "__main__":
    main()
