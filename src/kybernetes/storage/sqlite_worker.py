"""The single SQL thread of the SQLite backend, with group commit.

Contract:

* Every statement on the database runs on one thread that owns the only connection; the event loop only
  enqueues work and awaits futures, so it never blocks on SQLite.
* The thread takes everything queued (up to ``max_batch`` operations) and runs it in ONE transaction: each
  write in its own SAVEPOINT, so one write's failure (a constraint, a conflict) is rolled back alone.  Then it
  commits, and hands all results and the batch's events to the loop in one ``call_soon_threadsafe``: the
  ``deliver`` callback receives the events (in revision order) and must resolve the futures after
  broadcasting them.
* Results of reads in a batch are released only after the batch committed too, so no caller ever sees data
  that did not become durable.  If BEGIN or COMMIT itself fails, every operation of the batch fails with
  :class:`UnavailableError` (never a raw ``sqlite3`` error).
* "Solo" operations (checkpoints) run alone, outside any transaction, in queue order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kybernetes.storage.interface import ConflictError, Event, StorageError, UnavailableError

log = logging.getLogger(__name__)

# A write gets the connection and the batch's event list; a read ignores the list.
SQLFunc = Callable[[sqlite3.Connection, list[Event]], Any]
Result = tuple["asyncio.Future[Any]", Any, BaseException | None]
Deliver = Callable[[list[Event], list[Result]], None]


@dataclass(slots=True)
class _Op:
    fn: SQLFunc
    future: asyncio.Future[Any]
    write: bool
    solo: bool = False


_STOP = object()


def _unavailable(exc: sqlite3.Error) -> UnavailableError:
    """SQLite's own message never reaches callers ("database is locked" means: another process held the
    write lock longer than the busy timeout)."""
    name = getattr(exc, "sqlite_errorname", "")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in str(exc):
        return UnavailableError("", "the datastore is busy, please retry")
    log.error("sqlite error: %s (%s)", exc, name)
    return UnavailableError("", f"the datastore failed ({name or type(exc).__name__})")


def _map_error(exc: Exception) -> BaseException:
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, sqlite3.IntegrityError):
        return ConflictError("", "the key changed concurrently")
    if isinstance(exc, sqlite3.Error):
        return _unavailable(exc)
    return exc


class SQLWorker:
    """Owns the connection and the thread.  ``start`` opens the database (running ``init`` on the thread),
    ``submit`` enqueues work, ``stop`` finishes everything queued before it and closes the connection."""

    def __init__(self, path: str | Path, deliver: Deliver, *, max_batch: int = 1024) -> None:
        self._path = str(path)
        self._deliver = deliver
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Op | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Future[None] | None = None
        self._accepting = False
        self.batches = 0  # transactions committed (for tests and metrics; written by the SQL thread only)

    async def start(self, init: Callable[[sqlite3.Connection], Any]) -> Any:
        """Start the thread, open the connection and run ``init`` on it (outside a transaction)."""
        self._loop = asyncio.get_running_loop()
        self._stopped = self._loop.create_future()
        ready: asyncio.Future[Any] = self._loop.create_future()
        self._thread = threading.Thread(
            target=self._run, args=(init, ready), name=f"sqlite:{self._path}", daemon=True
        )
        self._thread.start()
        self._accepting = True
        try:
            return await ready
        except BaseException:
            self._accepting = False
            await self._stopped
            raise

    def submit(self, fn: SQLFunc, *, write: bool = False, solo: bool = False) -> asyncio.Future[Any]:
        """Enqueue ``fn``; the future resolves after the batch it ran in committed."""
        if not self._accepting or self._loop is None:
            raise UnavailableError("", "storage is closed")
        fut = self._loop.create_future()
        self._queue.put(_Op(fn, fut, write, solo))
        return fut

    async def stop(self) -> None:
        """Run what is queued, close the connection, end the thread.  Idempotent."""
        if self._thread is None or self._stopped is None:
            return
        if self._accepting:
            self._accepting = False
            self._queue.put(_STOP)
        await asyncio.shield(self._stopped)
        self._thread.join()

    # -- the SQL thread ---------------------------------------------------------------------------

    def _post(self, callback: Callable[..., None], *args: Any) -> None:
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            self._loop.call_soon_threadsafe(callback, *args)

    def _run(self, init: Callable[[sqlite3.Connection], Any], ready: asyncio.Future[Any]) -> None:
        try:
            conn = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False, cached_statements=256
            )
        except sqlite3.Error as exc:
            self._post(_settle, [(ready, None, UnavailableError("", f"cannot open {self._path}: {exc}"))])
            self._post(_settle, [(self._stopped, None, None)])
            return
        try:
            try:
                result = init(conn)
            except Exception as exc:
                self._post(_settle, [(ready, None, _map_error(exc))])
                return
            self._post(_settle, [(ready, result, None)])
            self._loop_forever(conn)
        finally:
            conn.close()
            self._post(_settle, [(self._stopped, None, None)])

    def _loop_forever(self, conn: sqlite3.Connection) -> None:
        while True:
            ops: list[_Op | object] = [self._queue.get()]
            while len(ops) < self._max_batch:
                try:
                    ops.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            batch: list[_Op] = []
            for op in ops:
                if op is _STOP:
                    self._flush(conn, batch)
                    return
                assert isinstance(op, _Op)
                if op.solo:
                    self._flush(conn, batch)
                    batch = []
                    self._solo(conn, op)
                else:
                    batch.append(op)
            self._flush(conn, batch)

    def _solo(self, conn: sqlite3.Connection, op: _Op) -> None:
        try:
            result: Result = (op.future, op.fn(conn, []), None)
        except Exception as exc:
            result = (op.future, None, _map_error(exc))
        self._post(self._deliver, [], [result])

    def _flush(self, conn: sqlite3.Connection, batch: list[_Op]) -> None:
        if not batch:
            return
        events: list[Event] = []
        results: list[Result] = []
        try:
            conn.execute("BEGIN IMMEDIATE" if any(op.write for op in batch) else "BEGIN")
            for op in batch:
                results.append(self._one(conn, op, events))
            conn.execute("COMMIT")
            self.batches += 1
        except sqlite3.Error as exc:
            log.error("sqlite batch of %d operations failed: %s", len(batch), exc)
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    log.exception("rollback failed")
            events = []
            error = _unavailable(exc)
            results = [(op.future, None, error) for op in batch]
        self._post(self._deliver, events, results)

    @staticmethod
    def _one(conn: sqlite3.Connection, op: _Op, events: list[Event]) -> Result:
        if not op.write:
            try:
                return (op.future, op.fn(conn, events), None)
            except Exception as exc:
                return (op.future, None, _map_error(exc))
        mark = len(events)
        conn.execute("SAVEPOINT w")
        try:
            result = op.fn(conn, events)
        except Exception as exc:
            del events[mark:]
            conn.execute("ROLLBACK TO w")
            conn.execute("RELEASE w")
            return (op.future, None, _map_error(exc))
        conn.execute("RELEASE w")
        return (op.future, result, None)


def _settle(results: list[Result]) -> None:
    settle(results)


def settle(results: list[Result]) -> None:
    """Resolve futures (on the loop), skipping those whose waiter gave up."""
    for fut, value, exc in results:
        if fut.done():
            continue
        if exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(value)
