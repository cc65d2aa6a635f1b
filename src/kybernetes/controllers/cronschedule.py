"""CronJob schedules, pure: parsing (5 fields, ``@hourly``-style descriptors, ``@every <duration>``), the next
run after an instant in a time zone, the most recent missed run, and job names.

Semantics follow robfig/cron v3, which upstream uses: fields are matched on the zone's wall clock; a wall time that
does not exist (the hour skipped when clocks spring forward) does not run that day; a wall time that happens twice
(the hour repeated when clocks fall back) runs at both instants.  All instants are timezone-aware datetimes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter  # type: ignore[import-untyped, unused-ignore]

DESCRIPTORS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
               "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
MANY_MISSED = 100
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


class Schedule(Protocol):
    def next(self, after: datetime) -> datetime:
        """The first activation strictly after ``after``."""
        ...


def zone(name: str | None) -> tzinfo:
    """The zone for ``spec.timeZone`` (UTC when unset); ValueError for unknown names."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name}") from exc


def _exists(naive: datetime, tz: tzinfo, fold: int) -> datetime | None:
    aware = naive.replace(tzinfo=tz, fold=fold)
    back = aware.astimezone(UTC).astimezone(tz)
    return aware if back.replace(tzinfo=None) == naive else None


@dataclass(frozen=True)
class CronSchedule:
    expr: str
    tz: tzinfo

    def next(self, after: datetime) -> datetime:
        local = after.astimezone(self.tz).replace(tzinfo=None)
        # Near a DST transition wall times repeat or vanish: look a few hours around (shifts are at most that).
        margin = timedelta(0) if self._steady(after) else timedelta(hours=3)
        it = croniter(self.expr, local - margin)
        best: datetime | None = None
        for _ in range(100_000):
            candidate: datetime = it.get_next(datetime)
            for fold in (0, 1):
                inst = _exists(candidate, self.tz, fold)
                if inst is not None and inst.timestamp() > after.timestamp() and \
                        (best is None or inst.timestamp() < best.timestamp()):
                    best = inst
            if best is not None and candidate >= local + margin:
                return best
        if best is None:
            raise ValueError(f"schedule {self.expr!r} never activates")
        return best


    def _steady(self, when: datetime) -> bool:
        """No UTC-offset change within three hours either side of ``when``."""
        offsets = {(when + timedelta(hours=h)).astimezone(self.tz).utcoffset() for h in (-3, 0, 3)}
        return len(offsets) == 1


@dataclass(frozen=True)
class EverySchedule:
    seconds: float

    def next(self, after: datetime) -> datetime:
        return after.replace(microsecond=0) + timedelta(seconds=self.seconds)


def parse_schedule(text: str, tz: tzinfo = UTC) -> Schedule:
    """A schedule from ``spec.schedule``; ValueError with a message for unparseable ones."""
    spec = text.strip()
    if "TZ=" in spec:
        raise ValueError("cannot use TZ or CRON_TZ in schedule, use timeZone field instead")
    if spec.startswith("@every "):
        rest = spec[len("@every "):].strip()
        parts = _DURATION.findall(rest)
        if not parts or "".join(n + u for n, u in parts) != rest:
            raise ValueError(f"failed to parse duration {spec}: time: invalid duration {rest!r}")
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
        return EverySchedule(max(1.0, float(int(seconds))))
    if spec.startswith("@"):
        if spec not in DESCRIPTORS:
            raise ValueError(f"unrecognized descriptor: {spec}")
        spec = DESCRIPTORS[spec]
    fields = spec.split()
    if len(fields) != 5:
        raise ValueError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    if not croniter.is_valid(spec):
        raise ValueError(f"invalid schedule: {spec}")
    return CronSchedule(spec, tz)


def most_recent(schedule: Schedule, earliest: datetime, now: datetime) -> tuple[datetime | None, int]:
    """The latest activation in ``(earliest, now]`` and how many activations that interval holds (counting stops
    just above :data:`MANY_MISSED`)."""
    t = schedule.next(earliest)
    if t.timestamp() > now.timestamp():
        return None, 0
    latest, count = t, 1
    while True:
        t = schedule.next(t)
        if t.timestamp() > now.timestamp():
            return latest, count
        latest, count = t, count + 1
        if count > MANY_MISSED:
            break
    # Many missed: jump near ``now`` (the last activation at or before it), count approximately like upstream.
    step = max((schedule.next(t) - t).total_seconds(), 1.0)
    jump = schedule.next(now - timedelta(seconds=step * 2))
    last = latest
    while jump.timestamp() <= now.timestamp():
        last, jump = jump, schedule.next(jump)
    approx = count + int((now.timestamp() - t.timestamp()) // step)
    return last, approx


def job_name(cronjob_name: str, scheduled: datetime) -> str:
    """``<cronjob>-<scheduled time in minutes since the epoch>``."""
    return f"{cronjob_name}-{int(scheduled.timestamp()) // 60}"


def scheduled_timestamp(scheduled: datetime) -> str:
    """RFC 3339 in the schedule's zone (``Z`` for UTC), for ``batch.kubernetes.io/cronjob-scheduled-timestamp``."""
    text = scheduled.replace(microsecond=0).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
