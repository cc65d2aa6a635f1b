#!/usr/bin/env python3
"""Cluster DNS: queries/s and latency p50/p99, from the host (through the kube-dns ClusterIP) and from a pod (root).

Starts ``kyb server --cleanup`` on a fresh data dir, creates 100 Services and a busybox pod, then
1. from the host: N UDP queries for random service names through 10.43.0.10 (one socket, ``--concurrency``
   queries in flight), latency per query and overall queries/s;
2. from the pod: ``nslookup`` in a loop (busybox: one process per lookup, so this is an end-to-end floor that
   includes process start), lookups/s.
Floor: the same host loop against a UDP echo server on 127.0.0.1 (socket round trip without DNS work).
Writes ``bench/results/dns.json``.

    .venv/bin/python bench/dns.py [--queries 5000] [--concurrency 16] [--pod-lookups 200]
"""

# ruff: noqa: ASYNC110, ASYNC220  (a benchmark driver: blocking setup calls are fine)
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from dnslib import DNSRecord  # type: ignore[import-untyped]  # noqa: E402

from kybernetes.client.config import load_kubeconfig  # noqa: E402
from kybernetes.client.rest import Client, resource  # noqa: E402

SERVICES = resource("", "v1", "services")
PODS = resource("", "v1", "pods")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))] if values else float("nan")


async def udp_load(addr: tuple[str, int], names: list[str], n: int, concurrency: int) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    pending: dict[int, tuple[asyncio.Future[bytes], float]] = {}

    class P(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, _addr: Any) -> None:
            ident = int.from_bytes(data[:2], "big")
            entry = pending.pop(ident, None)
            if entry is not None and not entry[0].done():
                entry[0].set_result(data)

    transport, _ = await loop.create_datagram_endpoint(P, remote_addr=addr)
    lat: list[float] = []
    sem = asyncio.Semaphore(concurrency)
    ids = iter(range(1, 65536))
    lost = 0

    async def one() -> None:
        nonlocal lost
        async with sem:
            q = DNSRecord.question(random.choice(names))
            q.header.id = next(ids)
            fut: asyncio.Future[bytes] = loop.create_future()
            t = time.perf_counter()
            pending[q.header.id] = (fut, t)
            transport.sendto(q.pack())
            try:
                await asyncio.wait_for(fut, 2)
                lat.append(time.perf_counter() - t)
            except TimeoutError:
                lost += 1

    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(min(n, 65000))))
    elapsed = time.perf_counter() - start
    transport.close()
    return {"queries": len(lat), "lost": lost, "qps": len(lat) / elapsed, "p50_ms": pct(lat, 50) * 1000,
            "p99_ms": pct(lat, 99) * 1000}


async def echo_floor(n: int, concurrency: int) -> dict[str, float]:
    loop = asyncio.get_running_loop()

    class Echo(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.t = transport

        def datagram_received(self, data: bytes, addr: Any) -> None:
            self.t.sendto(data, addr)  # type: ignore[attr-defined]

    transport, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    try:
        return await udp_load(("127.0.0.1", port), ["x.example"], n, concurrency)
    finally:
        transport.close()


def kubectl(kubeconfig: Path, *args: str) -> str:
    return subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), *args], capture_output=True, text=True,
                          timeout=600).stdout


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--pod-lookups", type=int, default=200)
    args = ap.parse_args()
    data = Path(tempfile.mkdtemp(prefix="kyb-dnsbench-"))
    port = 20000 + (os.getpid() + 7) % 10000
    log = open(data / "server.log", "wb")  # noqa: SIM115, ASYNC230
    proc = subprocess.Popen([sys.executable, "-m", "kybernetes.cli.main", "server", "--data-dir", str(data / "d"),
                             "--https-port", str(port), "--cleanup"], stdout=log, stderr=log,
                            start_new_session=True)
    client: Client | None = None
    result: dict[str, Any] = {}
    try:
        kubeconfig = data / "d" / "kubeconfig.yaml"
        deadline = time.monotonic() + 120
        while not kubeconfig.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        client = Client(load_kubeconfig(kubeconfig))
        names = []
        for i in range(100):
            await client.create(SERVICES, "default", {"metadata": {"name": f"svc{i}"},
                                                      "spec": {"ports": [{"port": 80}]}})
            names.append(f"svc{i}.default.svc.cluster.local")
        await client.create(PODS, "default", {"metadata": {"name": "dnsbench"}, "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]}})
        while time.monotonic() < deadline + 120:
            pod = await client.get(PODS, "default", "dnsbench")
            if (pod.get("status") or {}).get("phase") == "Running":
                break
            await asyncio.sleep(0.3)
        while True:  # DNS up (kube-dns published and programmed)
            r = await udp_load(("10.43.0.10", 53), names[:1], 1, 1)
            if r["queries"]:
                break
            if time.monotonic() > deadline + 300:
                raise RuntimeError(f"cluster DNS never answered; see {data}")
        result["floor_udp_echo"] = await echo_floor(args.queries, args.concurrency)
        result["host_via_clusterip"] = await udp_load(("10.43.0.10", 53), names, args.queries, args.concurrency)
        # busybox date has no %N: /proc/uptime (10 ms resolution) brackets the loop
        script = (f"cut -d' ' -f1 /proc/uptime; for i in $(seq {args.pod_lookups}); do "
                  "nslookup svc$((i % 100)).default.svc.cluster.local >/dev/null || echo FAIL; done; "
                  "cut -d' ' -f1 /proc/uptime")
        out = kubectl(kubeconfig, "exec", "dnsbench", "--", "sh", "-c", script).split()
        try:
            micros = int((float(out[-1]) - float(out[0])) * 1e6)
        except (IndexError, ValueError):
            micros = 0
        result["pod_nslookup"] = {"lookups": args.pod_lookups, "failures": out.count("FAIL"),
                                  "lookups_per_s": args.pod_lookups / (micros / 1e6) if micros else float("nan"),
                                  "mean_ms": micros / 1000 / args.pod_lookups}
        f, h = result["floor_udp_echo"], result["host_via_clusterip"]
        print(f"{'path':34} {'q/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
        print(f"{'floor: UDP echo on 127.0.0.1':34} {f['qps']:9.0f} {f['p50_ms']:8.2f} {f['p99_ms']:8.2f}")
        print(f"{'host -> 10.43.0.10 (ClusterIP)':34} {h['qps']:9.0f} {h['p50_ms']:8.2f} {h['p99_ms']:8.2f}")
        p = result["pod_nslookup"]
        print(f"{'pod: busybox nslookup loop':34} {p['lookups_per_s']:9.0f} {p['mean_ms']:8.2f} {'-':>8}")
        (ROOT / "bench" / "results" / "dns.json").write_text(json.dumps(result, indent=2) + "\n")
    finally:
        if client is not None:
            await client.close()
        proc.terminate()
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


if __name__ == "__main__":
    asyncio.run(main())
