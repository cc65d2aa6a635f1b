"""The scheduling queue: priority order, back-off 1 s doubling to 10 s, unschedulable pods re-activated by the
cluster events their rejecting plugins wait for."""

from __future__ import annotations

import asyncio
import time

import pytest
from sched_builders import pod

from kybernetes.scheduler import framework as fw
from kybernetes.scheduler.queue import MAX_UNSCHEDULABLE, SchedulingQueue, backoff_duration


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize(("attempts", "want"), [
    pytest.param(1, 1.0, id="first"), pytest.param(2, 2.0, id="second"), pytest.param(3, 4.0, id="third"),
    pytest.param(4, 8.0, id="fourth"), pytest.param(5, 10.0, id="capped"), pytest.param(20, 10.0, id="many"),
])
def test_backoff_duration(attempts: int, want: float) -> None:
    assert backoff_duration(attempts) == want


def test_priority_then_fifo() -> None:
    q = SchedulingQueue(now=Clock())
    q.add(pod("low"))
    q.add(pod("high", priority=100))
    q.add(pod("low2"))
    order = []
    while (qp := q.pop_nowait()) is not None:
        order.append(qp.key)
    assert order == ["default/high", "default/low", "default/low2"]


def make(events: dict[str, frozenset[str]] | None = None) -> tuple[SchedulingQueue, Clock]:
    clock = Clock()
    return SchedulingQueue(now=clock, plugin_events=events or {
        "NodeResourcesFit": frozenset({fw.NODE_ADD, fw.POD_DELETE}),
        "TaintToleration": frozenset({fw.NODE_ADD, fw.NODE_UPDATE})}), clock


def test_unschedulable_moves_on_interesting_event_only() -> None:
    q, clock = make()
    q.add(pod("p"))
    qp = q.pop_nowait()
    assert qp is not None
    q.add_unschedulable(qp, {"NodeResourcesFit"}, q.scheduling_cycle)
    assert q.location("default/p") == "unschedulable"
    assert q.move_on_event(fw.NODE_UPDATE) == 0  # NodeResourcesFit does not wait for node updates
    assert q.location("default/p") == "unschedulable"
    clock.t += 5  # back-off (1 s after the first attempt) is over
    assert q.move_on_event(fw.POD_DELETE) == 1
    assert q.location("default/p") == "active"
    assert q.pop_nowait() is qp and qp.attempts == 2


def test_moved_pod_still_backing_off_goes_to_backoff() -> None:
    q, clock = make()
    q.add(pod("p"))
    qp = q.pop_nowait()
    assert qp is not None
    q.add_unschedulable(qp, {"TaintToleration"}, q.scheduling_cycle)
    q.move_on_event(fw.NODE_ADD)
    assert q.location("default/p") == "backoff"
    q.flush()
    assert q.location("default/p") == "backoff"
    clock.t += 1.0
    q.flush()
    assert q.location("default/p") == "active"


def test_event_during_cycle_retries_instead_of_parking() -> None:
    q, _ = make()
    q.add(pod("p"))
    qp = q.pop_nowait()
    assert qp is not None
    cycle = q.scheduling_cycle
    q.move_on_event(fw.NODE_ADD)  # arrives while the pod is being scheduled
    q.add_unschedulable(qp, {"NodeResourcesFit"}, cycle)
    assert q.location("default/p") == "backoff"


def test_backoff_doubles_across_attempts() -> None:
    q, clock = make()
    q.add(pod("p"))
    for expected in (1.0, 2.0, 4.0):
        qp = q.pop_nowait()
        assert qp is not None
        q.add_backoff(qp)
        clock.t += expected - 0.01
        q.flush()
        assert q.location("default/p") == "backoff"
        clock.t += 0.01
        q.flush()
        assert q.location("default/p") == "active"


def test_unschedulable_flushed_after_max_duration() -> None:
    q, clock = make()
    q.add(pod("p"))
    qp = q.pop_nowait()
    assert qp is not None
    q.add_unschedulable(qp, {"NodeResourcesFit"}, q.scheduling_cycle)
    clock.t += MAX_UNSCHEDULABLE
    q.flush()
    assert q.location("default/p") == "active"


def test_rejected_without_plugins_moves_on_any_event() -> None:
    q, clock = make()
    q.add(pod("p"))
    qp = q.pop_nowait()
    assert qp is not None
    q.add_unschedulable(qp, set(), q.scheduling_cycle)
    clock.t += 10
    assert q.move_on_event(fw.NAMESPACE_CHANGE) == 1


def test_update_reactivates_and_delete_forgets() -> None:
    q, clock = make()
    q.add(pod("p"))
    qp = q.pop_nowait()
    assert qp is not None
    q.add_unschedulable(qp, {"NodeResourcesFit"}, q.scheduling_cycle)
    clock.t += 10
    q.update(pod("p", labels={"x": "y"}))
    assert q.location("default/p") == "active"
    q.delete("default/p")
    assert q.pop_nowait() is None and len(q) == 0


async def test_pop_waits_for_add() -> None:
    import asyncio
    q = SchedulingQueue()
    task = asyncio.create_task(q.pop())
    await asyncio.sleep(0)
    assert not task.done()
    q.add(pod("p"))
    qp = await asyncio.wait_for(task, 1)
    assert qp is not None and qp.key == "default/p"
    q.close()
    assert await q.pop() is None


def test_next_flush_waits_for_the_earliest_backoff_expiry() -> None:
    q, clock = make()
    assert q.next_flush_in() == 1.0  # nothing backing off: the idle once-a-second tick
    q.add(pod("p"))
    qp = q.pop_nowait()
    assert qp is not None
    q.add_backoff(qp)  # expires 1 s after its failure
    clock.t += 0.75
    assert q.next_flush_in() == pytest.approx(0.25)
    clock.t += 1.0
    assert q.next_flush_in() == 0.0


async def test_flusher_wakes_for_a_new_backoff_without_polling() -> None:
    q = SchedulingQueue(now=time.monotonic, initial_backoff=0.05, max_backoff=0.05)
    task = asyncio.create_task(q.run(interval=60.0))  # the idle tick alone would take a minute
    try:
        await asyncio.sleep(0.05)
        q.add(pod("p"))
        qp = q.pop_nowait()
        assert qp is not None
        q.add_backoff(qp)
        for _ in range(40):
            if q.location("default/p") == "active":
                break
            await asyncio.sleep(0.025)
        assert q.location("default/p") == "active"
    finally:
        task.cancel()
