#!/usr/bin/env python3
"""API server benchmark: creates/s, gets/s, lists, watch fan-out, paced latencies and RSS.

Starts ``kyb apiserver`` on a temporary data dir, drives it over HTTPS with the admin client certificate at 1, 8
and 64 concurrent clients, and measures a floor in the same run: raw SQLite inserts (one row per transaction, WAL,
synchronous=NORMAL) on the same disk.  Prints a table and writes ``bench/results/api.json``.

    .venv/bin/python bench/api.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


class Server:
    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="kyb-bench-")
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        kyb = Path(sys.executable).parent / "kyb"
        self.proc = subprocess.Popen([str(kyb), "apiserver", "--data-dir", self.dir, "--https-port", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 60
        kubeconfig = Path(self.dir) / "kubeconfig.yaml"
        while not kubeconfig.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("apiserver did not start: " + (self.proc.stderr.read().decode()
                                                                if self.proc.stderr else ""))
            time.sleep(0.05)

    def ssl_context(self) -> ssl.SSLContext:
        cfg = yaml.safe_load((Path(self.dir) / "kubeconfig.yaml").read_text())
        import base64

        tls = Path(self.dir) / "bench-tls"
        tls.mkdir(exist_ok=True)
        user = cfg["users"][0]["user"]
        (tls / "ca.crt").write_bytes(base64.b64decode(cfg["clusters"][0]["cluster"]["certificate-authority-data"]))
        (tls / "c.crt").write_bytes(base64.b64decode(user["client-certificate-data"]))
        (tls / "c.key").write_bytes(base64.b64decode(user["client-key-data"]))
        ctx = ssl.create_default_context(cafile=str(tls / "ca.crt"))
        ctx.load_cert_chain(str(tls / "c.crt"), str(tls / "c.key"))
        return ctx

    def rss_mb(self) -> float:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def cm(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"bench": "yes"}},
            "data": {"key": "value " * 20}}


async def run_clients(n_clients: int, total: int, op: Any) -> tuple[float, list[float], int]:
    """Run ``total`` ops spread over ``n_clients`` workers; returns (ops/s, latencies ms, errors)."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))

    async def worker() -> None:
        nonlocal errors
        for i in counter:
            t0 = time.perf_counter()
            ok = await op(i)
            latencies.append((time.perf_counter() - t0) * 1000)
            if not ok:
                errors += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(n_clients)))
    elapsed = time.perf_counter() - t0
    return total / elapsed, latencies, errors


def sqlite_floor(n: int) -> float:
    with tempfile.TemporaryDirectory() as d:
        db = sqlite3.connect(Path(d) / "floor.db", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE kv (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, value BLOB)")
        value = json.dumps(cm("x")).encode()
        t0 = time.perf_counter()
        for i in range(n):
            db.execute("BEGIN")
            db.execute("INSERT INTO kv (name, value) VALUES (?, ?)", (f"/registry/configmaps/default/{i}", value))
            db.execute("COMMIT")
        elapsed = time.perf_counter() - t0
        db.close()
    return n / elapsed


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    server = Server()
    server.start()
    results: dict[str, Any] = {"rows": []}
    try:
        ctx = server.ssl_context()
        base = f"https://127.0.0.1:{server.port}"
        conn = aiohttp.TCPConnector(ssl=ctx, limit=0)
        async with aiohttp.ClientSession(connector=conn) as http:
            ns_url = f"{base}/api/v1/namespaces/default/configmaps"
            per = 400 if args.quick else 2000
            floor = sqlite_floor(per)
            results["floor_sqlite_inserts_per_s"] = floor
            seq = 0
            for clients in (1, 8, 64):
                start = seq

                async def create(i: int, start: int = start) -> bool:
                    async with http.post(ns_url, json=cm(f"c{start + i}")) as r:
                        await r.read()
                        return r.status == 201

                rate, lat, errs = await run_clients(clients, per, create)
                seq += per
                results["rows"].append({"op": "create", "clients": clients, "per_s": rate, "p50_ms": pct(lat, 50),
                                        "p99_ms": pct(lat, 99), "errors": errs, "ratio_to_floor": rate / floor})

                async def get(i: int, start: int = start) -> bool:
                    async with http.get(f"{ns_url}/c{start + i % per}") as r:
                        await r.read()
                        return r.status == 200

                rate, lat, errs = await run_clients(clients, per, get)
                results["rows"].append({"op": "get", "clients": clients, "per_s": rate, "p50_ms": pct(lat, 50),
                                        "p99_ms": pct(lat, 99), "errors": errs, "ratio_to_floor": rate / floor})

                async def list_(i: int) -> bool:
                    async with http.get(ns_url, params={"limit": "500"}) as r:
                        await r.read()
                        return r.status == 200

                n_lists = 20 if args.quick else 50
                rate, lat, errs = await run_clients(clients, n_lists, list_)
                results["rows"].append({"op": "list 500", "clients": clients, "per_s": rate, "p50_ms": pct(lat, 50),
                                        "p99_ms": pct(lat, 99), "errors": errs, "ratio_to_floor": rate / floor})

            # paced latency at 20 req/s: GET and mutating (update via merge patch)
            paced_get: list[float] = []
            paced_mut: list[float] = []
            n_paced = 100 if args.quick else 400
            for i in range(n_paced):
                t0 = time.perf_counter()
                async with http.get(f"{ns_url}/c{i}") as r:
                    await r.read()
                paced_get.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                async with http.patch(f"{ns_url}/c{i}", data=json.dumps({"data": {"n": str(i)}}),
                                      headers={"Content-Type": "application/merge-patch+json"}) as r:
                    await r.read()
                paced_mut.append((time.perf_counter() - t0) * 1000)
                await asyncio.sleep(max(0.0, 0.05 - (paced_get[-1] + paced_mut[-1]) / 1000))
            results["rows"].append({"op": "GET @20/s", "clients": 1, "per_s": 20, "p50_ms": pct(paced_get, 50),
                                    "p99_ms": pct(paced_get, 99), "errors": 0, "ratio_to_floor": None})
            results["rows"].append({"op": "PATCH @20/s", "clients": 1, "per_s": 20, "p50_ms": pct(paced_mut, 50),
                                    "p99_ms": pct(paced_mut, 99), "errors": 0, "ratio_to_floor": None})

            # watch fan-out: W watchers, E events, delivery latency
            watchers = 50 if args.quick else 200
            events = 20 if args.quick else 100
            async with http.get(ns_url, params={"limit": "1"}) as r:
                rv = (await r.json())["metadata"]["resourceVersion"]
            sent: dict[str, float] = {}
            delivery: list[float] = []
            done = asyncio.Event()
            received = 0

            async def watcher() -> None:
                nonlocal received
                async with http.get(ns_url, params={"watch": "true", "resourceVersion": rv,
                                                    "labelSelector": "fanout=yes"}) as r:
                    seen = 0
                    async for line in r.content:
                        ev = json.loads(line)
                        name = ev["object"]["metadata"]["name"]
                        delivery.append((time.perf_counter() - sent[name]) * 1000)
                        seen += 1
                        received += 1
                        if seen >= events:
                            break
                if received >= watchers * events:
                    done.set()

            tasks = [asyncio.create_task(watcher()) for _ in range(watchers)]
            await asyncio.sleep(1.0)
            t0 = time.perf_counter()
            for i in range(events):
                body = cm(f"fan{i}")
                body["metadata"]["labels"] = {"fanout": "yes"}
                sent[f"fan{i}"] = time.perf_counter()
                async with http.post(ns_url, json=body) as r:
                    await r.read()
            await asyncio.wait_for(done.wait(), 120)
            elapsed = time.perf_counter() - t0
            await asyncio.gather(*tasks)
            results["rows"].append({"op": f"watch fan-out x{watchers}", "clients": watchers,
                                    "per_s": watchers * events / elapsed, "p50_ms": pct(delivery, 50),
                                    "p99_ms": pct(delivery, 99), "errors": watchers * events - len(delivery),
                                    "ratio_to_floor": None})

            # RSS with 10,000 objects stored
            async with http.get(ns_url, params={"limit": "1"}) as r:
                have = (await r.json())["metadata"].get("remainingItemCount", 0) + 1
            target = 2000 if args.quick else 10000
            if have < target:
                extra = target - have

                async def fill(i: int) -> bool:
                    async with http.post(ns_url, json=cm(f"fill{i}")) as r:
                        await r.read()
                        return r.status == 201

                await run_clients(64, extra, fill)
            async with http.get(ns_url) as r:
                count = len((await r.json())["items"])
            results["objects_stored"] = count
            results["rss_mb"] = server.rss_mb()
            # the same server after 35 s without load (it returns freed heap every 30 s): the steady state
            await asyncio.sleep(35)
            results["rss_settled_mb"] = server.rss_mb()
    finally:
        server.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller counts (a smoke run)")
    args = parser.parse_args()
    results = asyncio.run(bench(args))
    print(f"floor: raw SQLite inserts {results['floor_sqlite_inserts_per_s']:.0f}/s")
    print(f"{'op':<24}{'clients':>8}{'per s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'÷floor':>8}")
    for row in results["rows"]:
        ratio = f"{row['ratio_to_floor']:.2f}" if row["ratio_to_floor"] is not None else "-"
        print(f"{row['op']:<24}{row['clients']:>8}{row['per_s']:>10.0f}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}"
              f"{row['errors']:>8}{ratio:>8}")
    print(f"RSS with {results['objects_stored']} objects: {results['rss_mb']:.0f} MB right after the load, "
          f"{results['rss_settled_mb']:.0f} MB after 35 s idle")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "api.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
