"""Benchmark of the SQLite storage backend: concurrent creates/updates/gets against a raw-sqlite floor.

Usage: ``python bench/storage.py [--ops N] [--clients C]``.  Prints a table (throughput, median and p99
latency, and the ratio of the per-operation time to the floor measured in the same run) and writes
``bench/results/storage.json``.  The floor is plain ``sqlite3`` inserting rows of the same shape into the same
kind of table in transactions of ``clients`` rows each, on one thread, with no asyncio at all.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from kybernetes.storage import sqlite_sql
from kybernetes.storage.sqlite import SQLiteStorage

VALUE = b'{"kind":"Pod","apiVersion":"v1","metadata":{"name":"x","namespace":"default"},"spec":{}}' * 4


def floor(path: Path, ops: int, batch: int) -> float:
    """Seconds per insert of plain sqlite3 with the backend's schema and pragmas."""
    conn = sqlite3.connect(path, isolation_level=None)
    sqlite_sql.init_schema(conn)
    insert = (
        "INSERT INTO kv (name, created, deleted, create_revision, prev_revision, value, old_value)"
        " VALUES (?, 1, 0, 0, 0, ?, NULL)"
    )
    start = time.perf_counter()
    for first in range(0, ops, batch):
        conn.execute("BEGIN IMMEDIATE")
        for i in range(first, min(ops, first + batch)):
            conn.execute(insert, (f"/registry/pods/default/p{i}", VALUE))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed / ops


async def run_clients(
    ops: int, clients: int, op: Callable[[int], Awaitable[Any]]
) -> tuple[float, list[float]]:
    """Run ``op(i)`` for i in range(ops) from ``clients`` concurrent tasks; (seconds, latencies)."""
    latencies: list[float] = []
    counter = iter(range(ops))

    async def client() -> None:
        for i in counter:
            t0 = time.perf_counter()
            await op(i)
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    async with asyncio.TaskGroup() as tg:
        for _ in range(clients):
            tg.create_task(client())
    return time.perf_counter() - start, latencies


async def bench(path: Path, ops: int, clients: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    store = await SQLiteStorage.open(path, compact_interval=0)
    try:
        revs: dict[int, int] = {}

        async def create(i: int) -> None:
            revs[i] = (await store.create(f"/registry/pods/default/p{i}", VALUE)).mod_revision

        async def update(i: int) -> None:
            await store.update(f"/registry/pods/default/p{i}", VALUE, revs[i])

        async def get(i: int) -> None:
            await store.get(f"/registry/pods/default/p{i}")

        for name, op in (("create", create), ("update", update), ("get", get)):
            seconds, lat = await run_clients(ops, clients, op)
            lat.sort()
            results[name] = {
                "ops_per_s": ops / seconds,
                "median_ms": statistics.median(lat) * 1e3,
                "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1e3,
                "s_per_op": seconds / ops,
            }
    finally:
        await store.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ops", type=int, default=20000)
    parser.add_argument("--clients", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        floor_s = floor(Path(tmp) / "floor.db", args.ops, args.clients)
        results = asyncio.run(bench(Path(tmp) / "store.db", args.ops, args.clients))
    print(f"{args.ops} ops, {args.clients} clients; floor: raw sqlite insert {floor_s * 1e6:.1f} us")
    print(f"{'op':<8}{'ops/s':>10}{'median ms':>12}{'p99 ms':>10}{'x floor':>10}")
    for name, r in results.items():
        r["ratio_to_floor"] = r["s_per_op"] / floor_s
        print(
            f"{name:<8}{r['ops_per_s']:>10.0f}{r['median_ms']:>12.2f}{r['p99_ms']:>10.2f}"
            f"{r['ratio_to_floor']:>10.1f}"
        )
    out = Path(__file__).parent / "results" / "storage.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"ops": args.ops, "clients": args.clients, "floor_insert_s": floor_s, "results": results}
    out.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
