"""CRI log parsing, joining, selection and following (kybernetes.kubelet.logs)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from kybernetes.kubelet import logs

T0 = "2026-01-01T00:00:00.123456789Z"
T1 = "2026-01-01T00:00:10Z"
UTC = dt.UTC


@pytest.mark.parametrize(("line", "expected"), [
    (b"2026-01-01T00:00:00.123456789Z stdout F hello", (T0, "stdout", False, b"hello")),
    (b"2026-01-01T00:00:00.123456789Z stderr P part", (T0, "stderr", True, b"part")),
    (b"2026-01-01T00:00:00.123456789Z stdout F ", (T0, "stdout", False, b"")),
    (b"2026-01-01T00:00:00.123456789Z stdout F", (T0, "stdout", False, b"")),
    (b"2026-01-01T00:00:00.123456789Z stdout F a b  c\n", (T0, "stdout", False, b"a b  c")),
    (b"garbage", None),
    (b"2026-01-01T00:00:00Z stdin F x", None),
    (b"2026-01-01T00:00:00Z stdout X x", None),
    (b"notatime stdout F x", None),
])
def test_parse_line(line: bytes, expected: tuple[str, str, bool, bytes] | None) -> None:
    parsed = logs.parse_line(line)
    if expected is None:
        assert parsed is None
        return
    assert parsed is not None
    ts, _, stream, partial, content = parsed
    assert (ts, stream, partial, content) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-01-01T00:00:00.123456789Z", dt.datetime(2026, 1, 1, 0, 0, 0, 123456, UTC)),
    ("2026-01-01T00:00:00Z", dt.datetime(2026, 1, 1, tzinfo=UTC)),
    ("2026-01-01T02:00:00.5+02:00", dt.datetime(2026, 1, 1, 0, 0, 0, 500000, UTC)),
])
def test_parse_time(text: str, expected: dt.datetime) -> None:
    assert logs.parse_time(text) == expected


def test_partial_lines_join_per_stream() -> None:
    lines = [f"{T0} stdout P ab".encode(), f"{T0} stderr F err".encode(), f"{T1} stdout P cd".encode(),
             f"{T1} stdout F ef".encode()]
    recs = logs.parse_records(lines)
    assert [(r.stream, r.content, r.timestamp) for r in recs] == [("stderr", b"err\n", T0),
                                                                  ("stdout", b"abcdef\n", T0)]


def _records() -> list[logs.LogRecord]:
    return logs.parse_records([f"{T0} stdout F one".encode(), f"{T1} stdout F two".encode(),
                               f"{T1} stderr F three".encode()])


@pytest.mark.parametrize(("opts", "expected"), [
    (logs.LogOptions(), [b"one\n", b"two\n", b"three\n"]),
    (logs.LogOptions(tail_lines=2), [b"two\n", b"three\n"]),
    (logs.LogOptions(tail_lines=0), []),
    (logs.LogOptions(tail_lines=10), [b"one\n", b"two\n", b"three\n"]),
    (logs.LogOptions(since=dt.datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)), [b"two\n", b"three\n"]),
    (logs.LogOptions(limit_bytes=6), [b"one\n", b"tw"]),
    (logs.LogOptions(limit_bytes=4), [b"one\n"]),
    (logs.LogOptions(timestamps=True, tail_lines=1), [f"{T1} three\n".encode()]),
])
def test_select(opts: logs.LogOptions, expected: list[bytes]) -> None:
    assert logs.select(_records(), opts) == expected


NOW = dt.datetime(2026, 1, 1, 1, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("query", "expected"), [
    ({}, logs.LogOptions()),
    ({"follow": "true", "tailLines": "5", "timestamps": "1"}, logs.LogOptions(follow=True, tail_lines=5,
                                                                              timestamps=True)),
    ({"sinceSeconds": "60"}, logs.LogOptions(since=NOW - dt.timedelta(seconds=60))),
    ({"sinceTime": "2026-01-01T00:00:00Z"}, logs.LogOptions(since=dt.datetime(2026, 1, 1, tzinfo=UTC))),
    ({"limitBytes": "10", "previous": "true"}, logs.LogOptions(limit_bytes=10, previous=True)),
])
def test_options_from_query(query: dict[str, str], expected: logs.LogOptions) -> None:
    assert logs.options_from_query(query, NOW) == expected


@pytest.mark.parametrize("query", [{"tailLines": "x"}, {"tailLines": "-1"}, {"limitBytes": "0"},
                                   {"follow": "maybe"}, {"sinceTime": "yesterday"},
                                   {"sinceSeconds": "5", "sinceTime": "2026-01-01T00:00:00Z"}])
def test_options_errors(query: dict[str, str]) -> None:
    with pytest.raises(logs.LogOptionsError):
        logs.options_from_query(query, NOW)


async def test_follow_reads_appended_lines_until_container_exits(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_bytes(f"{T0} stdout F one\n{T0} stdout P tw".encode())
    state = {"running": True}

    async def running() -> bool:
        return state["running"]

    got: list[bytes] = []

    async def consume() -> None:
        async for chunk in logs.follow_log(path, logs.LogOptions(follow=True), running=running,
                                           poll_interval=0.01):
            got.append(chunk)

    task = asyncio.ensure_future(consume())
    await asyncio.sleep(0.05)
    assert got == [b"one\n"]
    with path.open("ab") as f:
        f.write(f"o\n{T1} stdout F three\n".encode())
    await asyncio.sleep(0.05)
    # the half-written record is completed by the append: the P chunk "two" joins the next F chunk
    assert got == [b"one\n", b"twothree\n"]
    with path.open("ab") as f:
        f.write(f"{T1} stdout F four\n".encode())
    state["running"] = False
    await asyncio.wait_for(task, 2)
    assert got[-1] == b"four\n"


async def test_follow_limit_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_bytes(f"{T0} stdout F one\n{T0} stdout F two\n".encode())

    async def running() -> bool:
        return True

    chunks = [c async for c in logs.follow_log(path, logs.LogOptions(follow=True, limit_bytes=5),
                                               running=running)]
    assert b"".join(chunks) == b"one\nt"
    assert [c async for c in logs.follow_log(tmp_path / "none", logs.LogOptions(), running=running)] == []
