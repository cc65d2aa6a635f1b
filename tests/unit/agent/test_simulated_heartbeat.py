"""The heartbeat schedule of simulated nodes: one heap, Lease renewals every interval, status when due or asked."""

from __future__ import annotations

import itertools
import random

import pytest

from kybernetes.agent.simulated_heartbeat import Beat, HeartbeatSchedule

NAMES = [f"n{i}" for i in range(5)]


def schedule(names: list[str] = NAMES, lease: float = 10.0, status: float = 300.0) -> HeartbeatSchedule:
    return HeartbeatSchedule(names, lease_interval=lease, status_interval=status, now=0.0, rng=random.Random(7))


def drain(s: HeartbeatSchedule, until: float, step: float = 0.5) -> list[tuple[float, Beat]]:
    """Every beat from time 0 to ``until``, polling every ``step`` seconds like the agent's loop."""
    out: list[tuple[float, Beat]] = []
    t = 0.0
    while t <= until:
        out.extend((t, b) for b in s.pop_due(t))
        t += step
    return out


def test_first_renewals_spread_over_one_interval_then_every_interval() -> None:
    s = schedule()
    beats = drain(s, 40.0)
    for name in NAMES:
        times = [t for t, b in beats if b.node == name]
        assert times[0] <= 10.0
        assert [round(b - a, 6) for a, b in itertools.pairwise(times)] == [10.0] * (len(times) - 1)
        assert len(times) == 4


@pytest.mark.parametrize(("until", "status_posts"), [
    pytest.param(149.0, 0, id="none-before-half-a-status-interval"),
    pytest.param(300.5, 1, id="one-within-the-first-interval"),
    pytest.param(900.5, 3, id="then-one-per-interval"),
])
def test_status_posted_once_per_status_interval(until: float, status_posts: int) -> None:
    s = schedule(["n0"])
    beats = drain(s, until)
    assert sum(1 for _, b in beats if b.status) == status_posts


def test_now_supersedes_the_pending_entry_and_posts_status() -> None:
    s = schedule(["n0", "n1"])
    s.now("n0", 0.0)
    assert s.next_due() == 0.0
    assert s.pop_due(0.0) == [Beat("n0", True)]
    # the superseded entry does not renew n0 a second time within the interval
    later = [(t, b) for t, b in drain(s, 9.9, step=0.1) if b.node == "n0"]
    assert later == []


def test_now_on_unknown_node_is_ignored() -> None:
    s = schedule(["n0"])
    s.now("other", 0.0)
    assert "other" not in s and "n0" in s


def test_loop_far_behind_renews_once_then_keeps_interval() -> None:
    s = schedule(["n0"])
    first = s.pop_due(35.0)  # the loop stalled past several intervals
    assert first == [Beat("n0", False)]
    assert s.pop_due(35.0) == []
    due = s.next_due()
    assert due is not None and 45.0 - 1e-9 <= due <= 45.0 + 1e-9


def test_empty() -> None:
    s = schedule([])
    assert s.next_due() is None
    assert s.pop_due(100.0) == []
