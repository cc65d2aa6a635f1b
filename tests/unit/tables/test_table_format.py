"""Duration and timestamp formatting against upstream's duration tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kybernetes.api.tables.format import human_duration, rfc3339, short_human_duration, since

M, H, D = 60, 3600, 86400


@pytest.mark.parametrize(
    ("seconds", "want"),
    [
        pytest.param(-2, "<invalid>", id="future-beyond-tolerance"),
        pytest.param(-1.5, "0s", id="future-within-tolerance"),
        pytest.param(0, "0s", id="zero"),
        pytest.param(1, "1s", id="1s"),
        pytest.param(70, "70s", id="70s"),
        pytest.param(119.9, "119s", id="just-under-2m"),
        pytest.param(2 * M, "2m", id="2m"),
        pytest.param(2 * M + 1, "2m1s", id="2m1s"),
        pytest.param(9 * M + 59, "9m59s", id="9m59s"),
        pytest.param(10 * M + 30, "10m", id="10m-drops-seconds"),
        pytest.param(179 * M, "179m", id="179m"),
        pytest.param(3 * H, "3h", id="3h"),
        pytest.param(3 * H + M, "3h1m", id="3h1m"),
        pytest.param(7 * H + 59 * M, "7h59m", id="7h59m"),
        pytest.param(8 * H + 30 * M, "8h", id="8h-drops-minutes"),
        pytest.param(47 * H + 59 * M, "47h", id="47h"),
        pytest.param(48 * H, "2d", id="2d"),
        pytest.param(49 * H, "2d1h", id="2d1h"),
        pytest.param(191 * H, "7d23h", id="7d23h"),
        pytest.param(192 * H, "8d", id="8d"),
        pytest.param(729 * D, "729d", id="729d"),
        pytest.param(730 * D, "2y", id="2y"),
        pytest.param(731 * D, "2y1d", id="2y1d"),
        pytest.param((365 * 8 - 1) * D, "7y364d", id="7y364d"),
        pytest.param(365 * 8 * D, "8y", id="8y"),
        pytest.param(365 * 9 * D + 5 * D, "9y", id="9y"),
    ],
)
def test_human_duration(seconds: float, want: str) -> None:
    assert human_duration(seconds) == want


@pytest.mark.parametrize(
    ("seconds", "want"),
    [
        pytest.param(-2, "<invalid>", id="invalid"),
        pytest.param(-1, "0s", id="tolerance"),
        pytest.param(59, "59s", id="59s"),
        pytest.param(3 * M + 2, "3m", id="3m"),
        pytest.param(5 * H + 10 * M, "5h", id="5h"),
        pytest.param(3 * D + 4 * H, "3d", id="3d"),
        pytest.param(400 * D, "1y", id="1y"),
    ],
)
def test_short_human_duration(seconds: float, want: str) -> None:
    assert short_human_duration(seconds) == want


NOW = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "want"),
    [
        pytest.param("2024-01-01T11:55:00Z", "5m", id="rfc3339"),
        pytest.param("2024-01-01T11:59:30.123456Z", "29s", id="microtime"),
        pytest.param("2024-01-01T13:55:00+02:00", "5m", id="offset"),
        pytest.param(None, "<unknown>", id="unset"),
        pytest.param("", "<unknown>", id="empty"),
        pytest.param("garbage", "<unknown>", id="unparsable"),
    ],
)
def test_since(value: str | None, want: str) -> None:
    assert since(value, NOW) == want


@pytest.mark.parametrize(
    ("value", "want"),
    [
        pytest.param("2024-01-01T13:55:00+02:00", "2024-01-01T11:55:00Z", id="to-utc"),
        pytest.param("2024-01-01T11:55:00.5Z", "2024-01-01T11:55:00Z", id="drops-fraction"),
        pytest.param(None, "", id="unset"),
    ],
)
def test_rfc3339(value: str | None, want: str) -> None:
    assert rfc3339(value) == want
