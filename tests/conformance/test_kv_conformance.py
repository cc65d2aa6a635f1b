"""Conformance: create/get/update/delete, list and paging, guaranteed_update, concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from kybernetes.storage.interface import (
    ConflictError,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    Storage,
    StorageError,
    guaranteed_update,
)

Call = Callable[[Storage, str, dict[str, KeyValue]], Awaitable[object]]


async def test_create_get_roundtrip(store: Storage, root: str) -> None:
    before = await store.current_revision()
    kv = await store.create(root + "a", b"one")
    assert kv == KeyValue(root + "a", b"one", kv.mod_revision, kv.mod_revision)
    assert kv.mod_revision > before
    assert await store.get(root + "a") == kv
    assert await store.current_revision() == kv.mod_revision


async def test_revisions_are_global_and_increasing(store: Storage, root: str) -> None:
    a = await store.create(root + "a", b"1")
    b = await store.create(root + "b", b"1")
    a2 = await store.update(root + "a", b"2")
    gone = await store.delete(root + "b")
    assert a.mod_revision < b.mod_revision < a2.mod_revision < gone.mod_revision
    assert a2.create_revision == a.mod_revision
    assert gone == KeyValue(root + "b", b"1", b.mod_revision, gone.mod_revision)
    assert await store.current_revision() == gone.mod_revision


async def _create_a(s: Storage, root: str, kvs: dict[str, KeyValue]) -> None:
    kvs["a"] = await s.create(root + "a", b"v1")


async def _create_a_deleted(s: Storage, root: str, kvs: dict[str, KeyValue]) -> None:
    await _create_a(s, root, kvs)
    kvs["deleted"] = await s.delete(root + "a")


async def _nothing(s: Storage, root: str, kvs: dict[str, KeyValue]) -> None:
    return None


@pytest.mark.parametrize(
    ("setup", "call", "error"),
    [
        pytest.param(_nothing, lambda s, r, kv: s.get(r + "a"), KeyNotFoundError, id="get-missing"),
        pytest.param(_create_a_deleted, lambda s, r, kv: s.get(r + "a"), KeyNotFoundError, id="get-deleted"),
        pytest.param(
            _create_a, lambda s, r, kv: s.create(r + "a", b"x"), KeyExistsError, id="create-existing"
        ),
        pytest.param(
            _nothing, lambda s, r, kv: s.update(r + "a", b"x"), KeyNotFoundError, id="update-missing"
        ),
        pytest.param(
            _nothing,
            lambda s, r, kv: s.update(r + "a", b"x", 5),
            KeyNotFoundError,
            id="update-missing-expected",
        ),
        pytest.param(
            _create_a_deleted, lambda s, r, kv: s.update(r + "a", b"x"), KeyNotFoundError, id="update-deleted"
        ),
        pytest.param(
            _create_a,
            lambda s, r, kv: s.update(r + "a", b"x", kv["a"].mod_revision + 1),
            ConflictError,
            id="update-stale",
        ),
        pytest.param(
            _create_a,
            lambda s, r, kv: s.update(r + "a", b"x", kv["a"].mod_revision - 1 or 10**9),
            ConflictError,
            id="update-older",
        ),
        pytest.param(_nothing, lambda s, r, kv: s.delete(r + "a"), KeyNotFoundError, id="delete-missing"),
        pytest.param(
            _create_a_deleted, lambda s, r, kv: s.delete(r + "a"), KeyNotFoundError, id="delete-twice"
        ),
        pytest.param(
            _create_a,
            lambda s, r, kv: s.delete(r + "a", kv["a"].mod_revision + 1),
            ConflictError,
            id="delete-stale",
        ),
        pytest.param(
            _create_a,
            lambda s, r, kv: s.list(r, revision=kv["a"].mod_revision + 100),
            FutureRevisionError,
            id="list-future-revision",
        ),
    ],
)
async def test_errors(
    store: Storage,
    root: str,
    setup: Callable[[Storage, str, dict[str, KeyValue]], Awaitable[None]],
    call: Call,
    error: type[StorageError],
) -> None:
    kvs: dict[str, KeyValue] = {}
    await setup(store, root, kvs)
    revision = await store.current_revision()
    with pytest.raises(error):
        await call(store, root, kvs)
    assert await store.current_revision() == revision, "a failed call must not write"
    if "a" in kvs and "deleted" not in kvs:
        assert await store.get(root + "a") == kvs["a"], "a failed call must not change the key"


@pytest.mark.parametrize(
    "expected", [pytest.param(True, id="expected-revision"), pytest.param(False, id="blind")]
)
async def test_update_and_delete_succeed(store: Storage, root: str, expected: bool) -> None:
    kv = await store.create(root + "a", b"v1")
    kv2 = await store.update(root + "a", b"v2", kv.mod_revision if expected else 0)
    assert kv2 == KeyValue(root + "a", b"v2", kv.mod_revision, kv2.mod_revision)
    assert await store.get(root + "a") == kv2
    gone = await store.delete(root + "a", kv2.mod_revision if expected else 0)
    assert gone == KeyValue(root + "a", b"v2", kv.mod_revision, gone.mod_revision)
    with pytest.raises(KeyNotFoundError):
        await store.get(root + "a")


async def test_recreate_after_delete_starts_a_new_life(store: Storage, root: str) -> None:
    first = await store.create(root + "a", b"v1")
    await store.delete(root + "a")
    again = await store.create(root + "a", b"v2")
    assert again.create_revision == again.mod_revision > first.mod_revision
    assert await store.get(root + "a") == again


async def test_list_is_sorted_filtered_and_live_only(store: Storage, root: str) -> None:
    for key in ["b/2", "a/1", "b/1", "bb/1", "b", "c/1"]:
        await store.create(root + key, key.encode())
    await store.delete(root + "c/1")
    result = await store.list(root)
    assert [kv.key for kv in result.items] == [root + k for k in ["a/1", "b", "b/1", "b/2", "bb/1"]]
    assert [kv.value for kv in result.items] == [b"a/1", b"b", b"b/1", b"b/2", b"bb/1"]
    assert result.revision == await store.current_revision()
    assert (result.more, result.remaining) == (False, 0)
    assert [kv.key for kv in (await store.list(root + "b/")).items] == [root + "b/1", root + "b/2"]
    assert (await store.list(root + "c/")).items == []
    assert await store.count(root + "b/") == 2
    assert await store.count(root + "b") == 4
    assert await store.count(root) == 5
    assert await store.count(root + "c/") == 0


@pytest.mark.parametrize(
    ("n", "limit", "pages"),
    [
        pytest.param(5, 2, [(2, True, 3), (2, True, 1), (1, False, 0)], id="5-by-2"),
        pytest.param(4, 2, [(2, True, 2), (2, False, 0)], id="4-by-2"),
        pytest.param(3, 10, [(3, False, 0)], id="one-page"),
        pytest.param(3, 0, [(3, False, 0)], id="unlimited"),
        pytest.param(0, 2, [(0, False, 0)], id="empty"),
    ],
)
async def test_paging(
    store: Storage, root: str, n: int, limit: int, pages: list[tuple[int, bool, int]]
) -> None:
    keys = [f"{root}k{i:02d}" for i in range(n)]
    for key in reversed(keys):
        await store.create(key, b"v")
    await store.create(root[:-1] + "~outside", b"v")  # sorts after every key under root
    first = await store.list(root, limit=limit)
    seen: list[str] = []
    start_after = ""
    for count, more, remaining in pages:
        page = await store.list(root, revision=first.revision, limit=limit, start_after=start_after)
        assert (len(page.items), page.more, page.remaining) == (count, more, remaining)
        assert page.revision == first.revision
        seen += [kv.key for kv in page.items]
        # Writes between pages must not show up in a list pinned to a revision.
        await store.create(f"{root}k{len(seen):02d}-late", b"late")
        if page.items:
            start_after = page.items[-1].key
    assert seen == keys


async def test_list_at_old_revision_reads_history(store: Storage, root: str) -> None:
    a1 = await store.create(root + "a", b"a1")
    b1 = await store.create(root + "b", b"b1")
    at = await store.current_revision()
    a2 = await store.update(root + "a", b"a2")
    await store.delete(root + "b")
    c1 = await store.create(root + "c", b"c1")
    old = await store.list(root, revision=at)
    assert old.items == [a1, b1]
    assert old.revision == at
    assert (await store.list(root, revision=a1.mod_revision)).items == [a1]
    assert (await store.list(root)).items == [a2, c1]
    paged = await store.list(root, revision=at, limit=1)
    assert (paged.items, paged.more, paged.remaining) == ([a1], True, 1)


async def test_guaranteed_update_applies_and_retries(store: Storage, root: str) -> None:
    await store.create(root + "n", b"0")
    calls = 0

    async def increment(kv: KeyValue) -> bytes:
        nonlocal calls
        calls += 1
        if calls == 1:  # someone else writes between our read and our write
            await store.update(root + "n", b"10")
        return str(int(kv.value) + 1).encode()

    result = await guaranteed_update(store, root + "n", increment)
    assert result.value == b"11"
    assert calls == 2
    assert await store.get(root + "n") == result


async def test_guaranteed_update_no_change_and_errors(store: Storage, root: str) -> None:
    kv = await store.create(root + "n", b"0")

    async def unchanged(current: KeyValue) -> None:
        return None

    assert await guaranteed_update(store, root + "n", unchanged) == kv
    assert await store.current_revision() == kv.mod_revision

    async def fails(current: KeyValue) -> bytes:
        raise ValueError("invalid")

    with pytest.raises(ValueError, match="invalid"):
        await guaranteed_update(store, root + "n", fails)
    with pytest.raises(KeyNotFoundError):
        await guaranteed_update(store, root + "missing", unchanged)


async def test_guaranteed_update_gives_up_after_attempts(store: Storage, root: str) -> None:
    await store.create(root + "n", b"0")

    async def always_raced(kv: KeyValue) -> bytes:
        await store.update(root + "n", b"other")
        return b"mine"

    with pytest.raises(ConflictError):
        await guaranteed_update(store, root + "n", always_raced, attempts=3)


@pytest.mark.parametrize("hinted", [False, True])  # with the caller's copy of the current version, or without
async def test_concurrent_conflicting_updates_exactly_one_wins(store: Storage, root: str, hinted: bool) -> None:
    kv = await store.create(root + "a", b"v0")
    current = kv if hinted else None
    results = await asyncio.gather(
        *(store.update(root + "a", f"v{i}".encode(), kv.mod_revision, current=current) for i in range(1, 33)),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, KeyValue)]
    assert len(winners) == 1
    assert all(isinstance(r, ConflictError) for r in results if not isinstance(r, KeyValue))
    assert await store.get(root + "a") == winners[0]
    assert winners[0].create_revision == kv.mod_revision


async def test_concurrent_creates_of_one_key_exactly_one_wins(store: Storage, root: str) -> None:
    results = await asyncio.gather(
        *(store.create(root + "a", f"v{i}".encode()) for i in range(16)), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, KeyValue)]
    assert len(winners) == 1
    assert sum(isinstance(r, KeyExistsError) for r in results) == 15


async def test_concurrent_guaranteed_updates_lose_nothing(store: Storage, root: str) -> None:
    await store.create(root + "n", b"0")

    async def increment(kv: KeyValue) -> bytes:
        await asyncio.sleep(0)
        return str(int(kv.value) + 1).encode()

    await asyncio.gather(*(guaranteed_update(store, root + "n", increment, attempts=100) for _ in range(20)))
    assert (await store.get(root + "n")).value == b"20"


async def test_many_concurrent_creates(store: Storage, root: str) -> None:
    before = await store.current_revision()
    kvs = await asyncio.gather(*(store.create(f"{root}p/{i:04d}", b"x") for i in range(500)))
    revisions = sorted(kv.mod_revision for kv in kvs)
    assert len(set(revisions)) == 500
    assert revisions[0] > before
    assert await store.current_revision() == revisions[-1]
    assert await store.count(root + "p/") == 500
    listed = await store.list(root + "p/")
    assert [kv.key for kv in listed.items] == [f"{root}p/{i:04d}" for i in range(500)]


@pytest.mark.parametrize("compact", [False, True])
async def test_a_stale_current_hint_conflicts(store: Storage, root: str, compact: bool) -> None:
    """A caller's outdated copy never overwrites a newer version, also after compaction removed history."""
    old = await store.create(root + "a", b"v0")
    newer = await store.update(root + "a", b"v1", old.mod_revision)
    newest = await store.update(root + "a", b"v2", newer.mod_revision)
    if compact:
        await store.compact(newest.mod_revision)
    for stale in (old, newer):
        with pytest.raises(ConflictError):
            await store.update(root + "a", b"lost", stale.mod_revision, current=stale)
    gone = await store.delete(root + "a", newest.mod_revision)
    with pytest.raises((ConflictError, KeyNotFoundError)):
        await store.update(root + "a", b"lost", newest.mod_revision, current=newest)
    assert gone.value == b"v2"
    with pytest.raises(KeyNotFoundError):
        await store.get(root + "a")


async def test_the_current_hint_gives_the_same_events(store: Storage, root: str) -> None:
    kv = await store.create(root + "a", b"v0")
    stream = store.watch(root, kv.mod_revision)
    hinted = await store.update(root + "a", b"v1", kv.mod_revision, current=kv)
    plain = await store.update(root + "a", b"v2", hinted.mod_revision)
    events = [await anext(stream), await anext(stream)]
    await stream.aclose()  # type: ignore[attr-defined]
    assert [(e.kv, e.prev) for e in events] == [(hinted, kv), (plain, hinted)]
