"""The SQL of the SQLite backend: schema and one synchronous function per operation.

Every function here runs on the backend's single SQL thread, inside a transaction the worker opened
(:mod:`kybernetes.storage.sqlite_worker`); none of them commits.  Write functions append the
:class:`Event` they caused to ``events`` so the store can broadcast it after the commit.

The table is kine-shaped: one append-only log, ``id`` = the revision.  A row is a create (``created`` = 1),
an update, or a deletion tombstone (``deleted`` = 1, ``value`` = the last value).  ``create_revision`` is
stored as 0 for create rows and read as their own ``id``.  ``UNIQUE(name, prev_revision)`` makes two writes
based on the same previous row collide, so a lost race can never be silently applied.  The newest row per
name is the key's current state; a key is live when that row is not a tombstone.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from kybernetes.storage.interface import (
    CompactedError,
    ConflictError,
    Event,
    EventType,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    ListResult,
)

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS kv (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        created INTEGER NOT NULL,
        deleted INTEGER NOT NULL,
        create_revision INTEGER NOT NULL,
        prev_revision INTEGER NOT NULL,
        value BLOB,
        old_value BLOB
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS kv_name_prev_revision_uindex ON kv (name, prev_revision)",
    "CREATE INDEX IF NOT EXISTS kv_name_id_index ON kv (name, id)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
)

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=10000",
    "PRAGMA foreign_keys=OFF",
    "PRAGMA cache_size=-8000",  # 8 MB of pages: the whole working set of 10k objects
)

_COLS = "id, name, created, deleted, create_revision, prev_revision, value, old_value"
_INSERT = (
    "INSERT INTO kv (name, created, deleted, create_revision, prev_revision, value, old_value)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)

Row = tuple[int, str, int, int, int, int, bytes, bytes | None]


def init_schema(conn: sqlite3.Connection) -> None:
    """Set the connection's pragmas and create the tables (idempotent).  Runs outside a transaction."""
    for pragma in PRAGMAS:
        conn.execute(pragma)
    conn.execute("BEGIN IMMEDIATE")
    for statement in SCHEMA:
        conn.execute(statement)
    conn.execute("COMMIT")


def prefix_end(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix`` ("" = no bound)."""
    if not prefix:
        return ""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _range(prefix: str, start_after: str = "", column: str = "name") -> tuple[str, list[Any]]:
    """A WHERE fragment selecting names under ``prefix`` and after ``start_after`` ("1" when neither)."""
    clauses: list[str] = []
    args: list[Any] = []
    if prefix:
        clauses.append(f"{column} >= ? AND {column} < ?")
        args += [prefix, prefix_end(prefix)]
    if start_after:
        clauses.append(f"{column} > ?")
        args.append(start_after)
    return (" AND ".join(clauses) or "1"), args


def _create_revision(row: Row) -> int:
    return row[0] if row[2] else row[4]


def row_kv(row: Row) -> KeyValue:
    """The KeyValue a (non-tombstone) row stores."""
    return KeyValue(row[1], row[6], _create_revision(row), row[0])


def row_event(row: Row) -> Event:
    """The watch event a row represents."""
    rev, name, created, deleted, _, prev_rev, value, old_value = row
    create_rev = _create_revision(row)
    if created:
        return Event(EventType.CREATE, KeyValue(name, value, rev, rev))
    prev = KeyValue(name, old_value if old_value is not None else value, create_rev, prev_rev)
    kind = EventType.DELETE if deleted else EventType.UPDATE
    return Event(kind, KeyValue(name, value, create_rev, rev), prev)


def current_revision(conn: sqlite3.Connection) -> int:
    """The newest revision ever assigned (AUTOINCREMENT's sequence: survives compaction of newest rows)."""
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'kv'").fetchone()
    return int(row[0]) if row else 0


def compacted_revision(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = 'compact_rev'").fetchone()
    return int(row[0]) if row else 0


def _latest(conn: sqlite3.Connection, key: str) -> Row | None:
    row: Row | None = conn.execute(
        f"SELECT {_COLS} FROM kv WHERE name = ? ORDER BY id DESC LIMIT 1", (key,)
    ).fetchone()
    return row


def _live(conn: sqlite3.Connection, key: str) -> Row:
    row = _latest(conn, key)
    if row is None or row[3]:
        raise KeyNotFoundError(key)
    return row


def get(conn: sqlite3.Connection, key: str) -> KeyValue:
    return row_kv(_live(conn, key))


def create(conn: sqlite3.Connection, events: list[Event], key: str, value: bytes) -> KeyValue:
    row = _latest(conn, key)
    if row is not None and not row[3]:
        raise KeyExistsError(key)
    try:
        cur = conn.execute(_INSERT, (key, 1, 0, 0, row[0] if row else 0, value, None))
    except sqlite3.IntegrityError:
        raise KeyExistsError(key) from None
    rev = int(cur.lastrowid or 0)
    kv = KeyValue(key, value, rev, rev)
    events.append(Event(EventType.CREATE, kv))
    return kv


def update(
    conn: sqlite3.Connection, events: list[Event], key: str, value: bytes, expected_revision: int,
    current: KeyValue | None = None,
) -> KeyValue:
    if current is not None and expected_revision and current.key == key and \
            current.mod_revision == expected_revision and expected_revision > compacted_revision(conn):
        # No read: the unique (name, prev_revision) index refuses a second successor of ``expected_revision``, so a
        # stale ``current`` conflicts.  Only above the compacted revision: below it, compaction may have removed
        # the successor row that would have refused the insert.
        try:
            cur = conn.execute(_INSERT, (key, 0, 0, current.create_revision, expected_revision, value,
                                         current.value))
        except sqlite3.IntegrityError:
            raise ConflictError(key) from None
        kv = KeyValue(key, value, current.create_revision, int(cur.lastrowid or 0))
        events.append(Event(EventType.UPDATE, kv, current))
        return kv
    row = _live(conn, key)
    if expected_revision and row[0] != expected_revision:
        raise ConflictError(key)
    create_rev = _create_revision(row)
    try:
        cur = conn.execute(_INSERT, (key, 0, 0, create_rev, row[0], value, row[6]))
    except sqlite3.IntegrityError:
        raise ConflictError(key) from None
    kv = KeyValue(key, value, create_rev, int(cur.lastrowid or 0))
    events.append(Event(EventType.UPDATE, kv, row_kv(row)))
    return kv


def delete(conn: sqlite3.Connection, events: list[Event], key: str, expected_revision: int) -> KeyValue:
    row = _live(conn, key)
    if expected_revision and row[0] != expected_revision:
        raise ConflictError(key)
    create_rev = _create_revision(row)
    try:
        cur = conn.execute(_INSERT, (key, 0, 1, create_rev, row[0], row[6], row[6]))
    except sqlite3.IntegrityError:
        raise ConflictError(key) from None
    kv = KeyValue(key, row[6], create_rev, int(cur.lastrowid or 0))
    events.append(Event(EventType.DELETE, kv, row_kv(row)))
    return kv


def _read_revision(conn: sqlite3.Connection, revision: int) -> int:
    """The revision a read at ``revision`` (0 = newest) happens at; raises if it is compacted or future."""
    current = current_revision(conn)
    if revision == 0:
        return current
    compacted = compacted_revision(conn)
    if revision < compacted:
        raise CompactedError(revision, compacted)
    if revision > current:
        raise FutureRevisionError(
            "", f"required revision {revision} is a future revision (newest is {current})"
        )
    return revision


def _newest_per_name(where: str) -> str:
    """The newest row per name among rows with ``id <= ?`` matching ``where``, tombstones dropped."""
    return (
        f"FROM kv k JOIN (SELECT MAX(id) AS mid FROM kv WHERE {where} AND id <= ? GROUP BY name) m"
        " ON k.id = m.mid WHERE k.deleted = 0"
    )


def _newest_per_name_scan(where: str) -> str:
    """Like :func:`_newest_per_name` (``where`` on ``k.name``, the revision parameter twice) but row by
    row in name order with a per-row probe for a newer row: cheaper when a LIMIT stops the scan early."""
    return (
        f"FROM kv k WHERE {where} AND k.id <= ? AND NOT EXISTS"
        " (SELECT 1 FROM kv n WHERE n.name = k.name AND n.id > k.id AND n.id <= ?) AND k.deleted = 0"
    )


def list_(conn: sqlite3.Connection, prefix: str, revision: int, limit: int, start_after: str) -> ListResult:
    at = _read_revision(conn, revision)
    where, args = _range(prefix, start_after)
    cols = "k.id, k.name, k.created, k.deleted, k.create_revision, k.prev_revision, k.value, k.old_value"
    if limit > 0:
        where_k, _ = _range(prefix, start_after, column="k.name")
        sql = f"SELECT {cols} {_newest_per_name_scan(where_k)} ORDER BY k.name LIMIT ?"
        params: list[Any] = [*args, at, at, limit + 1]
    else:
        sql = f"SELECT {cols} {_newest_per_name(where)} ORDER BY k.name"
        params = [*args, at]
    rows: list[Row] = conn.execute(sql, params).fetchall()
    more = limit > 0 and len(rows) > limit
    if more:
        rows = rows[:limit]
    items = [row_kv(r) for r in rows]
    remaining = 0
    if more:
        where2, args2 = _range(prefix, items[-1].key)
        remaining = int(
            conn.execute(f"SELECT COUNT(*) {_newest_per_name(where2)}", [*args2, at]).fetchone()[0]
        )
    return ListResult(items, at, more, remaining)


def count(conn: sqlite3.Connection, prefix: str) -> int:
    where, args = _range(prefix)
    at = current_revision(conn)
    return int(conn.execute(f"SELECT COUNT(*) {_newest_per_name(where)}", [*args, at]).fetchone()[0])


def history(conn: sqlite3.Connection, prefix: str, after: int, limit: int) -> tuple[list[Event], int]:
    """Up to ``limit`` events under ``prefix`` with revision > ``after`` in revision order, and the newest
    revision at the time of reading.  Raises CompactedError when events after ``after`` may be gone."""
    compacted = compacted_revision(conn)
    if after < compacted:
        raise CompactedError(after, compacted)
    where, args = _range(prefix)
    rows: list[Row] = conn.execute(
        f"SELECT {_COLS} FROM kv WHERE {where} AND id > ? ORDER BY id LIMIT ?", [*args, after, limit]
    ).fetchall()
    return [row_event(r) for r in rows], current_revision(conn)


def set_compacted(conn: sqlite3.Connection, events: list[Event], revision: int) -> int:
    """Record ``revision`` as compacted (never lowers it); returns the recorded compacted revision."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('compact_rev', ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE excluded.value > meta.value",
        (revision,),
    )
    return compacted_revision(conn)


def compact_batch(
    conn: sqlite3.Connection, events: list[Event], cursor: int, target: int, scan: int
) -> tuple[int, int, bool]:
    """Delete, among the ``scan`` rows after ``cursor`` with id <= ``target``, those superseded by a newer
    row <= ``target`` and the tombstones.  Returns (new cursor, rows deleted, done)."""
    window = "SELECT id, name, deleted FROM kv WHERE id > ? AND id <= ? ORDER BY id LIMIT ?"
    last = conn.execute(f"SELECT MAX(id) FROM ({window})", (cursor, target, scan)).fetchone()[0]
    if last is None:
        return cursor, 0, True
    cur = conn.execute(
        f"DELETE FROM kv WHERE id IN (SELECT w.id FROM ({window}) w WHERE w.deleted = 1 OR EXISTS"
        " (SELECT 1 FROM kv n WHERE n.name = w.name AND n.id > w.id AND n.id <= ?))",
        (cursor, target, scan, target),
    )
    return int(last), cur.rowcount, False
