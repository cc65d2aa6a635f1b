import asyncio

import pytest

from kybernetes.client.workqueue import FakeClock, ItemExponentialRateLimiter, WorkQueue


async def test_dedup_while_waiting() -> None:
    q = WorkQueue(clock=FakeClock())
    for key in ("a", "b", "a", "a"):
        q.add(key)
    assert len(q) == 2
    assert [await q.get(), await q.get()] == ["a", "b"]


async def test_key_added_while_processing_waits_for_done() -> None:
    q = WorkQueue(clock=FakeClock())
    q.add("a")
    assert await q.get() == "a"
    q.add("a")
    assert len(q) == 0  # not handed to a second worker
    q.done("a")
    assert len(q) == 1 and await q.get() == "a"


async def test_get_waits_and_shutdown_releases() -> None:
    q = WorkQueue(clock=FakeClock())
    waiter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.add("x")
    assert await waiter == "x"
    waiter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.shutdown()
    assert await waiter is None


async def test_add_after_uses_the_clock() -> None:
    clock = FakeClock()
    q = WorkQueue(clock=clock)
    q.add_after("later", 5.0)
    q.add_after("later", 9.0)  # a later due time does not postpone the earlier one
    clock.advance(4.9)
    assert len(q) == 0
    clock.advance(0.2)
    assert len(q) == 1


@pytest.mark.parametrize(
    ("failures", "delay"),
    [pytest.param(1, 0.005, id="first"), pytest.param(2, 0.01, id="second"), pytest.param(11, 5.12, id="11th"),
     pytest.param(40, 1000.0, id="capped")],
)
def test_exponential_backoff(failures: int, delay: float) -> None:
    limiter = ItemExponentialRateLimiter()
    got = 0.0
    for _ in range(failures):
        got = limiter.when("k", 0.0)
    assert got == pytest.approx(delay)
    limiter.forget("k")
    assert limiter.when("k", 0.0) == pytest.approx(0.005)


async def test_rate_limited_requeue_and_forget() -> None:
    clock = FakeClock()
    q = WorkQueue(clock=clock)
    q.add_rate_limited("k")
    q.add_rate_limited("k")
    assert q.retries("k") == 2
    clock.advance(1.0)
    assert await q.get() == "k"
    q.forget("k")
    assert q.retries("k") == 0
