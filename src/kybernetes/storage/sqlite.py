"""The embedded SQLite backend (kine-shaped): :class:`SQLiteStorage`.

Life cycle: ``store = await SQLiteStorage.open(path, ...)`` (or construct, then ``await store.start()``, or
``async with SQLiteStorage(path) as store``).  ``start`` opens/creates the database file, starts the SQL
thread and the background compactor.  ``close`` finishes queued operations, ends every watch (after it yields
what it had buffered), stops the compactor and the thread; calls after ``close`` raise UnavailableError.

Properties:

* All SQL runs on one thread (:mod:`.sqlite_worker`) with group commit; WAL, ``synchronous=NORMAL``.  Only one
  process may use a database file at a time (the store broadcasts its own commits; it does not poll).
* Revisions are row ids (AUTOINCREMENT: never reused, even after compaction removed the newest rows), so a
  restart keeps every key with its create/mod revisions.
* Watches: :class:`.watchhub.HistoryWatch` over this store's history; a watcher that falls more than
  ``watch_queue_size`` events behind ends with WatchOverflowError.
* Compaction every ``compact_interval`` seconds to ``max(newest - keep_revisions, the newest revision seen
  max_history_age seconds ago)``, in batches of ``compact_batch`` scanned rows per transaction so writes
  interleave; then a ``wal_checkpoint(TRUNCATE)``.  The compacted revision is stored in the ``meta`` table
  before rows are deleted, so CompactedError is exact, also across restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from kybernetes.storage import sqlite_sql as sql
from kybernetes.storage.interface import Event, KeyValue, ListResult, StorageError, UnavailableError
from kybernetes.storage.sqlite_worker import Result, SQLWorker, settle
from kybernetes.storage.watchhub import HistoryWatch, WatchHub

log = logging.getLogger(__name__)

HISTORY_PAGE = 1000


class SQLiteStorage:
    """The Storage protocol on one SQLite file; see the module docstring for the life cycle."""

    def __init__(
        self,
        path: str | Path,
        *,
        keep_revisions: int = 10000,
        compact_interval: float = 300.0,
        max_history_age: float = 3600.0,
        compact_batch: int = 1000,
        watch_queue_size: int = 10000,
    ) -> None:
        self.path = Path(path)
        self.keep_revisions = keep_revisions
        self.compact_interval = compact_interval
        self.max_history_age = max_history_age
        self.compact_batch = compact_batch
        self._worker = SQLWorker(self.path, self._deliver)
        self._hub = WatchHub(0, watch_queue_size)
        self._compact_lock = asyncio.Lock()
        self._compactor: asyncio.Task[None] | None = None
        self._state = "new"

    @classmethod
    async def open(cls, path: str | Path, **kwargs: Any) -> Self:
        """Construct with ``kwargs`` and start."""
        store = cls(path, **kwargs)
        await store.start()
        return store

    async def start(self) -> None:
        """Open the database, start the SQL thread and the compactor.  Raises UnavailableError on failure."""
        if self._state != "new":
            raise UnavailableError("", f"storage already {self._state}")
        self._state = "starting"
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)

        def init(conn: sqlite3.Connection) -> int:
            sql.init_schema(conn)
            return sql.current_revision(conn)

        try:
            self._hub.revision = await self._worker.start(init)
        except BaseException:
            self._state = "closed"
            raise
        self._state = "running"
        if self.compact_interval > 0:
            self._compactor = asyncio.create_task(self._compact_loop(), name=f"compactor:{self.path}")

    async def close(self) -> None:
        """Finish queued work, end watches, stop the compactor and the thread.  Idempotent."""
        if self._state == "closed":
            return
        self._state = "closed"
        if self._compactor is not None:
            self._compactor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._compactor
        self._hub.close()  # watches end (after their buffered events); no new ones start
        await self._worker.stop()

    async def __aenter__(self) -> Self:
        if self._state == "new":
            await self.start()
        return self

    async def __aexit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def batches_committed(self) -> int:
        """Transactions committed so far (one per group commit)."""
        return self._worker.batches

    def _deliver(self, events: list[Event], results: list[Result]) -> None:
        if events:
            self._hub.broadcast(events)
        settle(results)

    async def _read(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await self._worker.submit(lambda conn, _events: fn(conn, *args))

    async def _write(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await self._worker.submit(lambda conn, events: fn(conn, events, *args), write=True)

    # -- the Storage protocol ---------------------------------------------------------------------

    async def create(self, key: str, value: bytes) -> KeyValue:
        kv: KeyValue = await self._write(sql.create, key, value)
        return kv

    async def get(self, key: str) -> KeyValue:
        kv: KeyValue = await self._read(sql.get, key)
        return kv

    async def list(
        self, prefix: str, *, revision: int = 0, limit: int = 0, start_after: str = ""
    ) -> ListResult:
        result: ListResult = await self._read(sql.list_, prefix, revision, limit, start_after)
        return result

    async def count(self, prefix: str) -> int:
        n: int = await self._read(sql.count, prefix)
        return n

    async def update(self, key: str, value: bytes, expected_revision: int = 0, *,
                     current: KeyValue | None = None) -> KeyValue:
        kv: KeyValue = await self._write(sql.update, key, value, expected_revision, current)
        return kv

    async def delete(self, key: str, expected_revision: int = 0) -> KeyValue:
        kv: KeyValue = await self._write(sql.delete, key, expected_revision)
        return kv

    def watch(self, prefix: str, revision: int) -> AsyncGenerator[Event, None]:
        """Events under ``prefix`` after ``revision`` (0 = from now on); contract in :mod:`.watchhub`.
        CompactedError is raised by the first ``__anext__``.  Close with ``aclose()``."""
        if self._state != "running":
            raise UnavailableError("", "storage is not running")
        read = partial(self._read, sql.history, prefix)

        async def read_history(after: int) -> tuple[list[Event], int]:
            page: tuple[list[Event], int] = await read(after, HISTORY_PAGE)
            return page

        return HistoryWatch(self._hub, prefix, revision, read_history, HISTORY_PAGE)

    async def current_revision(self) -> int:
        if self._state != "running":
            raise UnavailableError("", "storage is not running")
        return self._hub.revision

    async def compacted_revision(self) -> int:
        rev: int = await self._read(sql.compacted_revision)
        return rev

    async def compact(self, revision: int) -> None:
        """Forget history at and below ``revision`` (clamped to the newest revision); no-op if done."""
        async with self._compact_lock:
            target = min(revision, self._hub.revision)
            if target <= await self.compacted_revision():
                return
            await self._write(sql.set_compacted, target)
            cursor, deleted, done = 0, 0, False
            while not done:
                cursor, n, done = await self._write(sql.compact_batch, cursor, target, self.compact_batch)
                deleted += n
            log.debug("compacted %s to revision %d: %d rows deleted", self.path, target, deleted)

    async def checkpoint(self) -> None:
        """Copy the WAL into the database file and truncate it."""
        # fetchall: a statement left unfinished would make the next batch's COMMIT fail
        await self._worker.submit(
            lambda conn, _events: conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall(), solo=True
        )

    # -- background compaction --------------------------------------------------------------------

    def compaction_target(self, samples: deque[tuple[float, int]], now: float) -> int:
        """The revision to compact to now; ``samples`` holds (time, revision) of earlier ticks (oldest first)
        and is updated: this tick is appended, samples older than ``max_history_age`` are dropped."""
        current = self._hub.revision
        target = current - self.keep_revisions
        while samples and samples[0][0] <= now - self.max_history_age:
            target = max(target, samples.popleft()[1])
        samples.append((now, current))
        return target

    async def _compact_loop(self) -> None:
        samples: deque[tuple[float, int]] = deque()
        while True:
            await asyncio.sleep(self.compact_interval)
            try:
                target = self.compaction_target(samples, time.monotonic())
                if target > 0:
                    await self.compact(target)
                await self.checkpoint()
            except StorageError as exc:
                log.warning("background compaction of %s failed: %s", self.path, exc)
