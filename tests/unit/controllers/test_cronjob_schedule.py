"""Next schedule times: fields, descriptors, time zones and DST (robfig/cron semantics)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kybernetes.controllers import cronschedule

NY = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(("expr", "tz", "after", "want"), [
    pytest.param("*/1 * * * *", None, utc(2024, 1, 1, 0, 0, 30), utc(2024, 1, 1, 0, 1), id="every-minute"),
    pytest.param("*/15 * * * *", None, utc(2024, 1, 1, 0, 15), utc(2024, 1, 1, 0, 30), id="strictly-after"),
    pytest.param("@hourly", None, utc(2024, 1, 1, 0, 10), utc(2024, 1, 1, 1), id="hourly"),
    pytest.param("@daily", None, utc(2024, 1, 1, 0, 10), utc(2024, 1, 2), id="daily"),
    pytest.param("@weekly", None, utc(2024, 1, 1), utc(2024, 1, 7), id="weekly-sunday"),
    pytest.param("@monthly", None, utc(2024, 1, 31), utc(2024, 2, 1), id="monthly"),
    pytest.param("@yearly", None, utc(2024, 6, 1), utc(2025, 1, 1), id="yearly"),
    pytest.param("0 9 * * 1-5", None, utc(2024, 1, 5, 10), utc(2024, 1, 8, 9), id="weekdays"),
    pytest.param("0 0 13 * 5", None, utc(2024, 1, 1), utc(2024, 1, 5), id="dom-or-dow"),
    pytest.param("0 9 * * *", "Europe/Berlin", utc(2024, 1, 1, 7), utc(2024, 1, 1, 8), id="tz-winter"),
    pytest.param("0 9 * * *", "Europe/Berlin", utc(2024, 7, 1, 6), utc(2024, 7, 1, 7), id="tz-summer"),
    pytest.param("30 2 * * *", "America/New_York", datetime(2024, 3, 9, 12, tzinfo=NY),
                 datetime(2024, 3, 11, 2, 30, tzinfo=NY), id="dst-spring-forward-skips"),
    pytest.param("30 1 * * *", "America/New_York", datetime(2024, 11, 3, 1, 30, tzinfo=NY),
                 datetime(2024, 11, 3, 1, 30, fold=1, tzinfo=NY), id="dst-fall-back-runs-twice"),
    pytest.param("0 * * * *", "America/New_York", datetime(2024, 11, 3, 1, 0, fold=1, tzinfo=NY),
                 datetime(2024, 11, 3, 2, tzinfo=NY), id="dst-hourly-after-repeat"),
    pytest.param("@every 90s", None, utc(2024, 1, 1, 0, 0, 0), utc(2024, 1, 1, 0, 1, 30), id="every-duration"),
])
def test_next(expr: str, tz: str | None, after: datetime, want: datetime) -> None:
    got = cronschedule.parse_schedule(expr, cronschedule.zone(tz)).next(after)
    assert got.timestamp() == want.timestamp()


@pytest.mark.parametrize(("expr", "message"), [
    pytest.param("* * * *", "expected exactly 5 fields, found 4: [* * * *]", id="four-fields"),
    pytest.param("@fortnightly", "unrecognized descriptor: @fortnightly", id="bad-descriptor"),
    pytest.param("TZ=UTC * * * * *", "cannot use TZ or CRON_TZ in schedule", id="tz-prefix"),
    pytest.param("61 * * * *", "invalid schedule", id="out-of-range"),
])
def test_parse_errors(expr: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]").replace("*", r"\*")):
        cronschedule.parse_schedule(expr)


def test_unknown_zone() -> None:
    with pytest.raises(ValueError):
        cronschedule.zone("Mars/Olympus")


@pytest.mark.parametrize(("earliest", "now", "want", "missed"), [
    pytest.param(utc(2024, 1, 1, 0, 0, 10), utc(2024, 1, 1, 0, 0, 50), None, 0, id="not-yet"),
    pytest.param(utc(2024, 1, 1, 0, 0, 10), utc(2024, 1, 1, 0, 1, 5), utc(2024, 1, 1, 0, 1), 1, id="one"),
    pytest.param(utc(2024, 1, 1, 0, 0, 10), utc(2024, 1, 1, 0, 5, 5), utc(2024, 1, 1, 0, 5), 5, id="five"),
    pytest.param(utc(2024, 1, 1), utc(2024, 1, 2), utc(2024, 1, 2), 1440, id="many"),
])
def test_most_recent(earliest: datetime, now: datetime, want: datetime | None, missed: int) -> None:
    schedule = cronschedule.parse_schedule("* * * * *")
    got, count = cronschedule.most_recent(schedule, earliest, now)
    assert got == want
    assert count == missed


def test_job_name_and_annotation() -> None:
    when = utc(2024, 1, 1, 0, 1)
    assert cronschedule.job_name("hello", when) == f"hello-{int(when.timestamp()) // 60}"
    assert cronschedule.scheduled_timestamp(when) == "2024-01-01T00:01:00Z"
    assert cronschedule.scheduled_timestamp(when.astimezone(NY)) == "2023-12-31T19:01:00-05:00"
    assert cronschedule.scheduled_timestamp(when + timedelta(microseconds=5)) == "2024-01-01T00:01:00Z"
