"""Cell formatting shared by the printers: durations, timestamps, container and label lists.

Durations follow apimachinery ``duration.HumanDuration`` (what every upstream printer's Age uses, ``3m2s``,
``5h10m``, ``3d4h``) and ``ShortHumanDuration`` (``3m``, ``5h``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def _whole_seconds(seconds: float) -> int:
    # Go's int(d.Seconds()) truncates toward zero
    return int(seconds)


def human_duration(seconds: float) -> str:
    """``duration.HumanDuration``: 2-3 significant figures (``90s``, ``3m2s``, ``5h10m``, ``3d4h``)."""
    s = _whole_seconds(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 2 * MINUTE:
        return f"{s}s"
    minutes = s // MINUTE
    if minutes < 10:
        rest = s % MINUTE
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 3 * 60:
        return f"{minutes}m"
    hours = s // HOUR
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if rest == 0 else f"{hours // 24 // 365}y{rest}d"
    return f"{hours // 24 // 365}y"


def short_human_duration(seconds: float) -> str:
    """``duration.ShortHumanDuration``: one unit only (``59s``, ``3m``, ``5h``, ``3d``, ``2y``)."""
    s = _whole_seconds(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < MINUTE:
        return f"{s}s"
    if s < HOUR:
        return f"{s // MINUTE}m"
    if s < DAY:
        return f"{s // HOUR}h"
    if s < 365 * DAY:
        return f"{s // DAY}d"
    return f"{int(seconds / DAY / 365)}y"


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (``metav1.Time``/``MicroTime``) as an aware datetime; None if absent/invalid."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def since(value: Any, now: datetime) -> str:
    """``translateTimestampSince``: the age of a timestamp, ``<unknown>`` when it is unset."""
    ts = parse_time(value)
    if ts is None:
        return "<unknown>"
    return human_duration((now - ts).total_seconds())


def rfc3339(value: Any) -> str:
    """A timestamp normalised to UTC RFC 3339 seconds (``2024-01-02T03:04:05Z``); ``""`` if unset."""
    ts = parse_time(value)
    if ts is None:
        return ""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def containers_cells(containers: Any) -> tuple[str, str]:
    """``layoutContainerCells``: container names and images, each comma-joined."""
    items = [c for c in containers or [] if isinstance(c, Mapping)]
    return ",".join(str(c.get("name", "")) for c in items), ",".join(str(c.get("image", "")) for c in items)


def dig(obj: Any, *path: str | int) -> Any:
    """``obj[p0][p1]…`` or None as soon as a step is missing or of the wrong type."""
    cur = obj
    for step in path:
        if isinstance(step, int):
            if not isinstance(cur, list) or not -len(cur) <= step < len(cur):
                return None
            cur = cur[step]
        else:
            if not isinstance(cur, Mapping):
                return None
            cur = cur.get(step)
    return cur


def as_int(value: Any) -> int:
    """An integer cell value; absent or non-numeric counts as 0 (Go's zero value)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    return 0


def as_str(value: Any) -> str:
    return "" if value is None else str(value)


def list_with_more(items: list[str], total: int, limit: int, empty: str = "<unset>") -> str:
    """``listWithMoreString``: the first ``limit`` items and ``+ N more...``."""
    text = ",".join(items[:limit])
    if total > limit:
        return f"{text} + {total - limit} more..."
    return text or empty
