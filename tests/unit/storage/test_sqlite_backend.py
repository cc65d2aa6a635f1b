"""SQLite-specific behaviour: group commit, savepoints, error mapping, locking, compaction, life cycle."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.storage import sqlite_sql
from kybernetes.storage.interface import (
    CompactedError,
    ConflictError,
    Event,
    KeyExistsError,
    StorageError,
    UnavailableError,
    WatchOverflowError,
)
from kybernetes.storage.sqlite import SQLiteStorage
from kybernetes.storage.sqlite_worker import SQLWorker, settle


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStorage]:
    s = await SQLiteStorage.open(tmp_path / "db.sqlite", compact_interval=0)
    yield s
    await s.close()


def rows(path: Path) -> list[tuple[Any, ...]]:
    """All log rows (id, name, created, deleted), read with a separate connection."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT id, name, created, deleted FROM kv ORDER BY id").fetchall()
    finally:
        conn.close()


async def test_database_is_wal_with_normal_sync(store: SQLiteStorage) -> None:
    await store.create("/a", b"v")
    conn = sqlite3.connect(store.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"kv_name_prev_revision_uindex", "kv_name_id_index"} <= names
    finally:
        conn.close()
    synchronous = await store._read(lambda conn: conn.execute("PRAGMA synchronous").fetchone()[0])
    assert synchronous == 1  # NORMAL


async def test_concurrent_writes_are_group_committed(store: SQLiteStorage) -> None:
    before = store.batches_committed
    await asyncio.gather(*(store.create(f"/k/{i}", b"v") for i in range(200)))
    assert 1 <= store.batches_committed - before < 50


async def test_failing_write_in_a_batch_rolls_back_alone(store: SQLiteStorage) -> None:
    def insert_then_fail(conn: sqlite3.Connection, events: list[Event]) -> None:
        sqlite_sql.create(conn, events, "/doomed", b"v")
        raise KeyExistsError("/doomed")

    worker = store._worker
    ok1 = store.create("/ok1", b"v")
    doomed = worker.submit(insert_then_fail, write=True)
    ok2 = store.create("/ok2", b"v")
    results = await asyncio.gather(ok1, doomed, ok2, return_exceptions=True)
    assert isinstance(results[1], KeyExistsError)
    assert [r[1] for r in rows(store.path)] == ["/ok1", "/ok2"]
    assert [kv.key for kv in (await store.list("/")).items] == ["/ok1", "/ok2"]


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        pytest.param(sqlite3.IntegrityError("UNIQUE constraint failed"), ConflictError, id="integrity"),
        pytest.param(sqlite3.OperationalError("database is locked"), UnavailableError, id="locked"),
        pytest.param(KeyExistsError("/x"), KeyExistsError, id="storage-error"),
        pytest.param(ValueError("bug"), ValueError, id="other"),
    ],
)
async def test_errors_are_mapped(store: SQLiteStorage, raised: Exception, expected: type[Exception]) -> None:
    def fail(conn: sqlite3.Connection, events: list[Event]) -> None:
        raise raised

    with pytest.raises(expected) as err:
        await store._worker.submit(fail, write=True)
    assert not isinstance(err.value, sqlite3.Error)
    assert "locked" not in str(err.value)


async def test_unique_constraint_catches_writes_based_on_a_stale_read(
    store: SQLiteStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the newest-row check ever read stale state, UNIQUE(name, prev_revision) still rejects the write."""
    kv = await store.create("/a", b"v1")
    stale = await store._read(sqlite_sql._latest, "/a")
    await store.update("/a", b"v2")
    monkeypatch.setattr(sqlite_sql, "_latest", lambda conn, key: stale)
    with pytest.raises(ConflictError):
        await store.update("/a", b"mine")
    with pytest.raises(ConflictError):
        await store.delete("/a")
    monkeypatch.setattr(sqlite_sql, "_latest", lambda conn, key: None)
    with pytest.raises(KeyExistsError):
        await store.create("/a", b"again")
    monkeypatch.undo()
    assert (await store.get("/a")).value == b"v2"
    assert [r[1] for r in rows(store.path)] == ["/a", "/a"]
    assert kv.mod_revision == rows(store.path)[0][0]


async def test_writes_wait_for_another_process_lock_without_blocking_the_loop(store: SQLiteStorage) -> None:
    other = sqlite3.connect(store.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        write = asyncio.ensure_future(store.create("/a", b"v"))
        ticks = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < 0.3:
            await asyncio.sleep(0.01)
            ticks += 1
        assert not write.done()
        assert ticks >= 10  # the loop kept running while the SQL thread waited
        other.execute("COMMIT")
        kv = await asyncio.wait_for(write, 5)
        assert kv.key == "/a"
    finally:
        other.close()


async def test_watch_overflow_ends_the_watch_with_an_error(tmp_path: Path) -> None:
    store = await SQLiteStorage.open(tmp_path / "db", compact_interval=0, watch_queue_size=5)
    try:
        watch = store.watch("/", 0)
        for i in range(8):
            await store.create(f"/k{i}", b"v")
        got = [await anext(watch) for _ in range(5)]
        assert [e.kv.key for e in got] == [f"/k{i}" for i in range(5)]
        with pytest.raises(WatchOverflowError):
            await anext(watch)
        with pytest.raises(StopAsyncIteration):
            await anext(watch)
        kv = await store.create("/after", b"v")  # writers are unaffected
        assert kv.key == "/after"
    finally:
        await store.close()


async def test_compaction_deletes_superseded_rows_and_tombstones(store: SQLiteStorage) -> None:
    await store.create("/a", b"1")
    for i in range(5):
        await store.update("/a", str(i).encode())
    await store.create("/b", b"1")
    await store.delete("/b")
    last = await store.create("/c", b"1")
    await store.update("/c", b"2")
    store.compact_batch = 2  # many small transactions
    await store.compact(last.mod_revision)
    assert [(r[1], r[3]) for r in rows(store.path)] == [("/a", 0), ("/c", 0), ("/c", 0)]
    assert [kv.value for kv in (await store.list("/")).items] == [b"4", b"2"]


async def test_compacting_the_newest_tombstone_never_reuses_its_revision(tmp_path: Path) -> None:
    path = tmp_path / "db"
    async with SQLiteStorage(path, compact_interval=0) as store:
        await store.create("/a", b"v")
        gone = await store.delete("/a")
        await store.compact(gone.mod_revision)
        assert rows(path) == []
    async with SQLiteStorage(path, compact_interval=0) as store:
        assert await store.current_revision() == gone.mod_revision
        assert (await store.create("/a", b"v")).mod_revision == gone.mod_revision + 1
        with pytest.raises(CompactedError):
            await store.list("/", revision=gone.mod_revision - 1)


async def test_background_compaction_and_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "db"
    store = await SQLiteStorage.open(path, keep_revisions=5, compact_interval=0.05)
    try:
        for i in range(30):
            await store.update("/a", str(i).encode()) if i else await store.create("/a", b"0")
        for _ in range(100):
            if await store.compacted_revision() >= 25:
                break
            await asyncio.sleep(0.02)
        assert await store.compacted_revision() == 25
        assert len(rows(path)) <= 6
        await asyncio.sleep(0.15)
        assert await asyncio.to_thread(os.path.getsize, f"{path}-wal") == 0  # checkpointed with TRUNCATE
    finally:
        await store.close()


async def test_writes_after_a_checkpoint_commit(store: SQLiteStorage) -> None:
    """A checkpoint leaves no statement running: the next batches (reads and writes together) commit."""
    await store.create("/a", b"0")
    for i in range(20):
        _, written, listed = await asyncio.gather(
            store.checkpoint(), store.update("/a", str(i).encode()), store.list("/")
        )
        assert written.value == str(i).encode() and listed.items


@pytest.mark.parametrize(
    ("keep", "max_age", "samples", "now", "current", "target", "left"),
    [
        pytest.param(10, 100.0, [], 0.0, 50, 40, [(0.0, 50)], id="by-count"),
        pytest.param(10, 100.0, [(0.0, 5)], 50.0, 50, 40, [(0.0, 5), (50.0, 50)], id="young-samples-kept"),
        pytest.param(
            10, 100.0, [(0.0, 45), (60.0, 48)], 120.0, 50, 45, [(60.0, 48), (120.0, 50)], id="by-age"
        ),
        pytest.param(100, 100.0, [], 0.0, 50, -50, [(0.0, 50)], id="nothing-yet"),
    ],
)
def test_compaction_target(
    keep: int,
    max_age: float,
    samples: list[tuple[float, int]],
    now: float,
    current: int,
    target: int,
    left: list[tuple[float, int]],
) -> None:
    store = SQLiteStorage(":memory:", keep_revisions=keep, max_history_age=max_age)
    store._hub.revision = current
    queue = deque(samples)
    assert store.compaction_target(queue, now) == target
    assert list(queue) == left


async def test_calls_after_close_are_unavailable(tmp_path: Path) -> None:
    store = await SQLiteStorage.open(tmp_path / "db", compact_interval=0)
    await store.close()
    await store.close()  # idempotent
    with pytest.raises(UnavailableError):
        await store.create("/a", b"v")
    with pytest.raises(UnavailableError):
        store.watch("/", 0)
    with pytest.raises(UnavailableError):
        await store.current_revision()


async def test_writes_queued_before_close_complete(tmp_path: Path) -> None:
    store = await SQLiteStorage.open(tmp_path / "db", compact_interval=0)
    writes = [asyncio.ensure_future(store.create(f"/k{i}", b"v")) for i in range(50)]
    await asyncio.sleep(0)
    await store.close()
    assert len(await asyncio.gather(*writes)) == 50
    async with SQLiteStorage(tmp_path / "db", compact_interval=0) as again:
        assert await again.count("/") == 50


async def test_open_failure_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    with pytest.raises(StorageError):
        await SQLiteStorage.open(tmp_path / "dir", compact_interval=0)


async def test_settle_skips_cancelled_futures() -> None:
    loop = asyncio.get_running_loop()
    cancelled: asyncio.Future[Any] = loop.create_future()
    cancelled.cancel()
    ok: asyncio.Future[Any] = loop.create_future()
    settle([(cancelled, 1, None), (ok, 2, None)])
    assert ok.result() == 2


async def test_worker_solo_operations_run_outside_transactions(tmp_path: Path) -> None:
    delivered: list[list[Event]] = []

    def deliver(events: list[Event], results: list[Any]) -> None:
        delivered.append(events)
        settle(results)

    worker = SQLWorker(tmp_path / "db", deliver)
    await worker.start(sqlite_sql.init_schema)
    try:
        in_tx = await worker.submit(lambda conn, _e: conn.in_transaction, solo=True)
        in_batch = await worker.submit(lambda conn, _e: conn.in_transaction)
        assert (in_tx, in_batch) == (False, True)
    finally:
        await worker.stop()


async def test_close_ends_a_watch_in_the_middle_of_its_replay(tmp_path: Path) -> None:
    store = await SQLiteStorage.open(tmp_path / "db", compact_interval=0)
    await store.create("/marker", b"")
    await asyncio.gather(*(store.create(f"/k/{i:05d}", b"v") for i in range(2500)))
    watch = store.watch("/k/", 1)
    first = await anext(watch)
    await store.close()
    rest = [e async for e in watch]  # ends, without an error, after at most what was already read
    assert first.kv.key == "/k/00000"
    assert len(rest) < 2499
