"""Conformance: watch (replay, live, prefixes, handover), compaction and restart persistence."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from storage_backends import Backend

from kybernetes.storage.interface import (
    CompactedError,
    Event,
    EventType,
    KeyNotFoundError,
    KeyValue,
    Storage,
)

TIMEOUT = 5.0


async def take(watch: AsyncIterator[Event], n: int) -> list[Event]:
    """The next ``n`` events of ``watch`` (fails the test instead of hanging)."""

    async def collect() -> list[Event]:
        return [await anext(watch) for _ in range(n)]

    return await asyncio.wait_for(collect(), TIMEOUT)


async def nothing_more(watch: AsyncIterator[Event]) -> bool:
    """True when ``watch`` has no event ready within a short while."""
    try:
        await asyncio.wait_for(anext(watch), 0.1)
    except TimeoutError:
        return True
    return False


async def close(watch: AsyncIterator[Event]) -> None:
    aclose = getattr(watch, "aclose", None)
    if aclose is not None:
        await aclose()


async def begin(store: Storage, root: str) -> int:
    """A revision > 0 to watch from (0 would mean "from now on"): writes a key outside ``root``."""
    await store.create(root.rstrip("/") + "-marker", b"")
    return await store.current_revision()


def summary(events: list[Event]) -> list[tuple[EventType, str, bytes, int]]:
    return [(e.type, e.kv.key, e.kv.value, e.kv.mod_revision) for e in events]


async def test_watch_replays_history_in_order(store: Storage, root: str) -> None:
    start = await begin(store, root)
    a1 = await store.create(root + "a", b"a1")
    a2 = await store.update(root + "a", b"a2")
    b1 = await store.create(root + "b", b"b1")
    gone = await store.delete(root + "a")
    watch = store.watch(root, start)
    events = await take(watch, 4)
    assert events == [
        Event(EventType.CREATE, a1),
        Event(EventType.UPDATE, a2, a1),
        Event(EventType.CREATE, b1),
        Event(EventType.DELETE, gone, a2),
    ]
    assert gone.value == b"a2"
    assert await nothing_more(watch)
    # A start in the middle of history yields only what came after it.
    later = store.watch(root, a2.mod_revision)
    assert summary(await take(later, 2)) == summary(
        [Event(EventType.CREATE, b1), Event(EventType.DELETE, gone)]
    )
    await close(watch)
    await close(later)


async def test_watch_live_and_from_now(store: Storage, root: str) -> None:
    await store.create(root + "old", b"x")
    watch = store.watch(root, 0)
    pending = asyncio.ensure_future(take(watch, 3))
    await asyncio.sleep(0.05)
    a = await store.create(root + "a", b"1")
    a2 = await store.update(root + "a", b"2", a.mod_revision)
    gone = await store.delete(root + "old")
    events = await pending
    assert [e.type for e in events] == [EventType.CREATE, EventType.UPDATE, EventType.DELETE]
    assert [e.kv for e in events] == [a, a2, gone]
    assert events[1].prev == a
    assert events[2].prev is not None and events[2].prev.value == b"x"
    await close(watch)


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        pytest.param("pods/", ["pods/a", "pods/ab", "pods/b"], id="directory"),
        pytest.param("pods/a", ["pods/a", "pods/ab"], id="partial-name"),
        pytest.param("", ["pods/a", "pods/ab", "podsx/c", "pods/b"], id="everything"),
        pytest.param("nodes/", [], id="no-match"),
    ],
)
async def test_watch_prefix_filtering(store: Storage, root: str, prefix: str, expected: list[str]) -> None:
    start = await begin(store, root)
    live = store.watch(root + prefix, 0)
    for key in ["pods/a", "pods/ab", "podsx/c", "pods/b"]:
        await store.create(root + key, b"v")
    replay = store.watch(root + prefix, start)
    for watch in (replay, live):
        assert [e.kv.key for e in await take(watch, len(expected))] == [root + k for k in expected]
        assert await nothing_more(watch)
        await close(watch)


async def test_watch_handover_from_history_to_live_under_writes(store: Storage, root: str) -> None:
    """Writes keep coming while the watch replays: every revision exactly once, in order."""
    start = await begin(store, root)
    first = [await store.create(f"{root}a/{i:04d}", b"v") for i in range(1500)]

    async def writer() -> list[int]:
        revs = []
        for i in range(300):
            revs.append((await store.create(f"{root}b/{i:04d}", b"v")).mod_revision)
            if i % 10 == 0:
                await asyncio.sleep(0)
        return revs

    writing = asyncio.ensure_future(writer())
    watch = store.watch(root, start)
    events = await take(watch, 1800)
    more = await writing
    assert [e.kv.mod_revision for e in events] == [kv.mod_revision for kv in first] + more
    assert await nothing_more(watch)
    await close(watch)


async def test_watch_aclose_unregisters(store: Storage, root: str) -> None:
    watch = store.watch(root, 0)
    waiting = asyncio.ensure_future(anext(watch))
    await asyncio.sleep(0.01)
    await close(watch)
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(waiting, TIMEOUT)
    await store.create(root + "a", b"v")
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(watch), TIMEOUT)


async def test_close_ends_watches(backend: Backend, root: str) -> None:
    store = await backend.open()
    watch = store.watch(root, 0)
    waiting = asyncio.ensure_future(anext(watch))
    await asyncio.sleep(0.01)
    await store.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(waiting, TIMEOUT)


async def test_compaction(store: Storage, root: str) -> None:
    start = await begin(store, root)
    a1 = await store.create(root + "a", b"a1")
    b1 = await store.create(root + "b", b"b1")
    a2 = await store.update(root + "a", b"a2")
    await store.delete(root + "b")
    mark = await store.current_revision()
    a3 = await store.update(root + "a", b"a3")
    c1 = await store.create(root + "c", b"c1")
    await store.compact(mark)
    assert await store.compacted_revision() == mark

    with pytest.raises(CompactedError) as err:
        await store.list(root, revision=mark - 1)
    assert (err.value.requested, err.value.compacted) == (mark - 1, mark)
    watch = store.watch(root, start)
    with pytest.raises(CompactedError):
        await asyncio.wait_for(anext(watch), TIMEOUT)
    await close(watch)

    assert (await store.list(root, revision=mark)).items == [a2]
    assert (await store.list(root)).items == [a3, c1]
    assert await store.get(root + "a") == a3
    with pytest.raises(KeyNotFoundError):
        await store.get(root + "b")
    assert a1.mod_revision < b1.mod_revision  # history before the mark is gone, after it is intact:
    watch = store.watch(root, mark)
    assert summary(await take(watch, 2)) == summary(
        [Event(EventType.UPDATE, a3), Event(EventType.CREATE, c1)]
    )
    await close(watch)
    await store.compact(mark - 1)  # older than the compacted revision: no-op
    assert await store.compacted_revision() == mark
    # A key whose whole history was compacted away can be created again.
    b2 = await store.create(root + "b", b"b2")
    assert b2.create_revision == b2.mod_revision > c1.mod_revision


async def test_restart_keeps_keys_revisions_and_compaction(backend: Backend, root: str) -> None:
    if not backend.restartable:
        pytest.skip(f"{backend.name} cannot be restarted in tests")
    store = await backend.open()
    a1 = await store.create(root + "a", b"a1")
    a2 = await store.update(root + "a", b"a2")
    b1 = await store.create(root + "b", b"b1")
    gone = await store.delete(root + "b")
    c1 = await store.create(root + "c", b"c1")
    await store.compact(a2.mod_revision)
    revision = await store.current_revision()
    await store.close()

    store = await backend.open()
    assert await store.current_revision() == revision
    assert await store.compacted_revision() == a2.mod_revision
    assert (await store.list(root)).items == [a2, c1]
    assert (await store.list(root, revision=b1.mod_revision)).items == [a2, b1]
    with pytest.raises(CompactedError):
        await store.list(root, revision=a1.mod_revision)
    watch = store.watch(root, a2.mod_revision)
    events = await take(watch, 3)
    assert [e.kv for e in events] == [b1, gone, c1]
    d1 = await store.create(root + "d", b"d1")
    assert d1.mod_revision > revision
    assert (await take(watch, 1))[0].kv == d1
    await close(watch)


async def test_watch_sees_writes_from_many_tasks_in_revision_order(store: Storage, root: str) -> None:
    watch = store.watch(root, 0)
    kvs: list[KeyValue] = await asyncio.gather(*(store.create(f"{root}k{i}", b"v") for i in range(200)))
    events = await take(watch, 200)
    assert [e.kv.mod_revision for e in events] == sorted(kv.mod_revision for kv in kvs)
    with contextlib.suppress(Exception):
        await close(watch)
