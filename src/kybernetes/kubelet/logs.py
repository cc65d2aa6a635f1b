"""Container logs in the CRI file format, as ``kubectl logs`` wants them.

containerd writes one record per line: ``<RFC3339Nano> <stdout|stderr> <P|F> <content>``; ``P`` marks a chunk of
a line that was split (longer than ``max_container_log_line_size``) and ``F`` its final chunk. :func:`parse_line`
reads one record, :class:`LineJoiner` joins partial chunks per stream, :func:`select` applies the upstream options
(``sinceTime``/``sinceSeconds`` filter, then ``tailLines``, then ``limitBytes``), and :func:`follow_log` streams a file
like ``kubectl logs -f``: the selected part first, then whatever is appended, until the container is gone.
Malformed lines are skipped (upstream logs and skips them too).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

STREAMS = ("stdout", "stderr")


class LogOptionsError(ValueError):
    """A query parameter of ``/containerLogs`` is malformed (answered with 400)."""


@dataclass(frozen=True)
class LogOptions:
    """Upstream ``PodLogOptions`` as the kubelet applies them. ``since`` is an aware UTC datetime."""

    follow: bool = False
    tail_lines: int | None = None
    since: dt.datetime | None = None
    timestamps: bool = False
    limit_bytes: int | None = None
    previous: bool = False


@dataclass(frozen=True)
class LogRecord:
    """One complete log line: ``content`` ends with ``\\n`` unless the stream ended inside a partial line."""

    timestamp: str
    time: dt.datetime
    stream: str
    content: bytes


@dataclass
class LineJoiner:
    """Joins ``P`` chunks with their ``F`` chunk, separately for stdout and stderr."""

    _pending: dict[str, list[tuple[str, dt.datetime, bytes]]] = field(default_factory=dict)

    def feed(self, line: bytes) -> LogRecord | None:
        """The complete record once ``line`` finishes one; ``None`` for partial or malformed lines."""
        parsed = parse_line(line)
        if parsed is None:
            return None
        ts, when, stream, partial, content = parsed
        chunks = self._pending.setdefault(stream, [])
        if partial:
            chunks.append((ts, when, content))
            return None
        first_ts, first_time = (chunks[0][0], chunks[0][1]) if chunks else (ts, when)
        joined = b"".join(c for _, _, c in chunks) + content + b"\n"
        chunks.clear()
        return LogRecord(first_ts, first_time, stream, joined)


def parse_time(value: str) -> dt.datetime:
    """An RFC 3339 time with up to nanosecond fractions (``Z`` or an offset) as an aware UTC datetime;
    fractions beyond microseconds are truncated. Raises ``ValueError``."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    if "." in text:
        head, rest = text.split(".", 1)
        digits = ""
        while rest and rest[0].isdigit():
            digits, rest = digits + rest[0], rest[1:]
        text = f"{head}.{(digits + '000000')[:6]}{rest}" if digits else head + rest
    when = dt.datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError(f"time {value!r} has no zone")
    return when.astimezone(dt.UTC)


def parse_line(line: bytes) -> tuple[str, dt.datetime, str, bool, bytes] | None:
    """``(timestamp text, time, stream, partial, content)`` of one CRI log line (without its newline), or
    ``None`` when it does not have that shape."""
    line = line.rstrip(b"\n")
    parts = line.split(b" ", 3)
    if len(parts) < 3:
        return None
    ts_raw, stream_raw, tag = parts[0], parts[1], parts[2]
    content = parts[3] if len(parts) == 4 else b""
    stream = stream_raw.decode("ascii", "replace")
    if stream not in STREAMS or tag not in (b"P", b"F"):
        return None
    ts = ts_raw.decode("ascii", "replace")
    try:
        when = parse_time(ts)
    except ValueError:
        return None
    return ts, when, stream, tag == b"P", content


def parse_records(lines: Iterable[bytes], joiner: LineJoiner | None = None) -> list[LogRecord]:
    """The complete records of ``lines`` (partial chunks stay in ``joiner`` for later lines)."""
    joiner = joiner if joiner is not None else LineJoiner()
    out: list[LogRecord] = []
    for line in lines:
        rec = joiner.feed(line)
        if rec is not None:
            out.append(rec)
    return out


def format_record(rec: LogRecord, timestamps: bool) -> bytes:
    """The bytes ``kubectl logs`` prints for ``rec``: the content, prefixed by its time with ``timestamps``."""
    return (rec.timestamp.encode() + b" " + rec.content) if timestamps else rec.content


def select(records: list[LogRecord], opts: LogOptions) -> list[bytes]:
    """What a non-follow request returns: records at or after ``since``, the last ``tail_lines`` of those,
    formatted, and cut at ``limit_bytes`` in total (possibly inside a line, like upstream)."""
    chosen = [r for r in records if opts.since is None or r.time >= opts.since]
    if opts.tail_lines is not None:
        chosen = chosen[len(chosen) - opts.tail_lines:] if opts.tail_lines > 0 else []
    out = [format_record(r, opts.timestamps) for r in chosen]
    return list(limit(out, opts.limit_bytes))


def limit(chunks: Iterable[bytes], limit_bytes: int | None) -> Iterable[bytes]:
    """``chunks`` cut off after ``limit_bytes`` bytes in total (no limit for ``None``)."""
    if limit_bytes is None:
        yield from chunks
        return
    left = limit_bytes
    for chunk in chunks:
        if left <= 0:
            return
        yield chunk[:left]
        left -= len(chunk)


def _flag(query: Mapping[str, str], name: str) -> bool:
    value = query.get(name, "").lower()
    if value in ("", "0", "false"):
        return False
    if value in ("1", "true"):
        return True
    raise LogOptionsError(f"invalid value {query[name]!r} for {name}: must be a boolean")


def _int(query: Mapping[str, str], name: str, minimum: int) -> int | None:
    if name not in query or query[name] == "":
        return None
    try:
        value = int(query[name])
    except ValueError:
        raise LogOptionsError(f"invalid value {query[name]!r} for {name}: must be an integer") from None
    if value < minimum:
        raise LogOptionsError(f"{name}: must be greater than or equal to {minimum}")
    return value


def options_from_query(query: Mapping[str, str], now: dt.datetime | None = None) -> LogOptions:
    """:class:`LogOptions` from ``/containerLogs`` (or ``pods/log``) query parameters; ``sinceSeconds`` counts
    back from ``now``. Raises :class:`LogOptionsError`."""
    since: dt.datetime | None = None
    seconds = _int(query, "sinceSeconds", 1)
    if seconds is not None and query.get("sinceTime"):
        raise LogOptionsError("at most one of sinceTime or sinceSeconds may be specified")
    if seconds is not None:
        since = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(seconds=seconds)
    elif query.get("sinceTime"):
        try:
            since = parse_time(query["sinceTime"])
        except ValueError:
            raise LogOptionsError(f"invalid sinceTime {query['sinceTime']!r}") from None
    return LogOptions(
        follow=_flag(query, "follow"),
        tail_lines=_int(query, "tailLines", 0),
        since=since,
        timestamps=_flag(query, "timestamps"),
        limit_bytes=_int(query, "limitBytes", 1),
        previous=_flag(query, "previous"),
    )


async def follow_log(path: Path, opts: LogOptions, *, running: Callable[[], Awaitable[bool]],
                     poll_interval: float = 0.2, chunk_size: int = 65536) -> AsyncIterator[bytes]:
    """Stream the log file at ``path`` for ``opts``: the :func:`select`-ed existing records first, then (with
    ``follow``) each record appended later, until ``running()`` is false and the file has no more data, or
    ``limit_bytes`` is reached. A missing file yields nothing."""
    left = opts.limit_bytes
    joiner = LineJoiner()
    try:
        f = await asyncio.to_thread(path.open, "rb")
    except FileNotFoundError:
        return
    try:
        data = await asyncio.to_thread(f.read)
        lines = data.split(b"\n")
        rest = lines.pop()  # b"" when the file ends with a newline, else an unfinished line
        for chunk in select(parse_records(lines, joiner), LogOptions(
                since=opts.since, tail_lines=opts.tail_lines, timestamps=opts.timestamps, limit_bytes=left)):
            if left is not None:
                left -= len(chunk)
            yield chunk
        if not opts.follow or (left is not None and left <= 0):
            return
        while True:
            data = await asyncio.to_thread(f.read, chunk_size)
            if not data:
                if not await running():
                    # one last read: the container may have written right before it exited
                    data = await asyncio.to_thread(f.read)
                    if not data:
                        return
                else:
                    await asyncio.sleep(poll_interval)
                    continue
            lines = (rest + data).split(b"\n")
            rest = lines.pop()
            for rec in parse_records(lines, joiner):
                if opts.since is not None and rec.time < opts.since:
                    continue
                out = format_record(rec, opts.timestamps)
                if left is not None:
                    out = out[:left]
                    left -= len(out)
                yield out
                if left is not None and left <= 0:
                    return
    finally:
        f.close()
