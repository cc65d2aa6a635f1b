"""HistoryWatch and WatchHub with a scripted history: the replay-to-live handover, paging, overflow, ends."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import pytest

from kybernetes.storage.interface import CompactedError, Event, EventType, KeyValue, WatchOverflowError
from kybernetes.storage.watchhub import HistoryWatch, WatchHub


def ev(rev: int, key: str = "") -> Event:
    return Event(EventType.CREATE, KeyValue(key or f"/k/{rev}", b"", rev, rev))


class History:
    """A fake store: ``log`` is every committed event.  Hooks keyed by the read's number (0 = first) run
    around it: ``before`` as if committed and delivered just before the read runs, ``after`` just after."""

    def __init__(self, hub: WatchHub, upto: int, page: int) -> None:
        self.hub = hub
        self.log = [ev(r) for r in range(1, upto + 1)]
        self.page = page
        self.reads: list[int] = []
        self.before: dict[int, Callable[[], None]] = {}
        self.after: dict[int, Callable[[], None]] = {}
        self.compacted = 0

    def commit(self, n: int, deliver: bool = True) -> None:
        first = len(self.log) + 1
        new = [ev(r) for r in range(first, first + n)]
        self.log += new
        if deliver:
            self.hub.broadcast(new)

    async def read(self, after: int) -> tuple[list[Event], int]:
        number = len(self.reads)
        self.reads.append(after)
        if number in self.before:
            self.before[number]()
        if after < self.compacted:
            raise CompactedError(after, self.compacted)
        result = [e for e in self.log if e.kv.mod_revision > after][: self.page]
        read_revision = len(self.log)
        await asyncio.sleep(0)
        if number in self.after:
            self.after[number]()
        return result, read_revision


async def revisions(watch: HistoryWatch, n: int) -> list[int]:
    return [(await asyncio.wait_for(anext(watch), 1)).kv.mod_revision for _ in range(n)]


@pytest.mark.parametrize(
    ("page", "after_short", "before_next", "expected_reads"),
    [
        pytest.param(100, 0, 0, [5], id="nothing-raced"),
        # Commits delivered after the short read but before registration reach no subscriber: read again.
        pytest.param(100, 3, 0, [5, 10], id="raced-before-registration"),
        # ... and commits made just before that second read are both read and delivered: yielded once.
        pytest.param(100, 3, 2, [5, 10], id="read-and-delivered"),
        pytest.param(2, 0, 0, [5, 7, 9], id="paged"),
        pytest.param(2, 3, 2, [5, 7, 9, 10, 12, 14], id="paged-raced"),
    ],
)
async def test_handover_without_gaps_or_duplicates(
    page: int, after_short: int, before_next: int, expected_reads: list[int]
) -> None:
    hub = WatchHub(10, queue_size=100)
    history = History(hub, 10, page)
    short = 5 // page  # the number of the first read that returns less than a page
    history.after[short] = lambda: history.commit(after_short)
    history.before[short + 1] = lambda: history.commit(before_next)
    watch = HistoryWatch(hub, "/k/", 5, history.read, page)
    got = await revisions(watch, 5 + after_short + before_next)
    history.commit(2)  # live
    got += await revisions(watch, 2)
    assert got == list(range(6, 6 + 5 + after_short + before_next + 2))
    assert history.reads == expected_reads
    await watch.aclose()
    assert len(hub) == 0


async def test_start_zero_means_from_now_on() -> None:
    hub = WatchHub(10, queue_size=100)
    history = History(hub, 10, 100)
    watch = HistoryWatch(hub, "/k/", 0, history.read, 100)
    history.commit(1)
    assert await revisions(watch, 1) == [11]
    assert history.reads == []


async def test_prefix_filter() -> None:
    hub = WatchHub(0, queue_size=100)
    watch = HistoryWatch(hub, "/a/", 0, History(hub, 0, 10).read, 10)
    hub.broadcast([ev(1, "/a/x"), ev(2, "/b/x"), ev(3, "/ab"), ev(4, "/a/y")])
    assert await revisions(watch, 2) == [1, 4]


async def test_overflow_yields_the_buffer_then_raises() -> None:
    hub = WatchHub(0, queue_size=3)
    watch = HistoryWatch(hub, "/", 0, History(hub, 0, 10).read, 10)
    hub.broadcast([ev(r) for r in range(1, 6)])
    assert await revisions(watch, 3) == [1, 2, 3]
    with pytest.raises(WatchOverflowError):
        await anext(watch)
    assert len(hub) == 0


async def test_compacted_history_raises_and_unregisters() -> None:
    hub = WatchHub(10, queue_size=10)
    history = History(hub, 10, 100)
    history.compacted = 6
    watch = HistoryWatch(hub, "/", 5, history.read, 100)
    with pytest.raises(CompactedError):
        await anext(watch)
    with pytest.raises(StopAsyncIteration):
        await anext(watch)
    assert len(hub) == 0


async def test_hub_close_ends_watches_after_buffered_events() -> None:
    hub = WatchHub(0, queue_size=10)
    watch = HistoryWatch(hub, "/", 0, History(hub, 0, 10).read, 10)
    hub.broadcast([ev(1)])
    hub.close()
    assert await revisions(watch, 1) == [1]
    with pytest.raises(StopAsyncIteration):
        await anext(watch)
    late = HistoryWatch(hub, "/", 0, History(hub, 0, 10).read, 10)
    with pytest.raises(StopAsyncIteration):
        await anext(late)


async def test_aclosing_and_athrow() -> None:
    hub = WatchHub(0, queue_size=10)
    async with contextlib.aclosing(HistoryWatch(hub, "/", 0, History(hub, 0, 10).read, 10)) as watch:
        assert len(hub) == 1
        hub.broadcast([ev(1)])
        assert (await watch.asend(None)).kv.mod_revision == 1
    assert len(hub) == 0
    other = HistoryWatch(hub, "/", 0, History(hub, 0, 10).read, 10)
    with pytest.raises(ValueError, match="stop"):
        await other.athrow(ValueError("stop"))
    assert len(hub) == 0
