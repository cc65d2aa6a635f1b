"""Updates start from the version this server last wrote; a stale suggestion costs a retry, never a lost write."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from kybernetes.api import errors
from kybernetes.api.registry import default_registry
from kybernetes.apiserver.store import RestStore, WriteOptions
from kybernetes.apiserver.suggestions import Suggestions
from kybernetes.storage.interface import KeyValue
from kybernetes.storage.sqlite import SQLiteStorage

CMS = default_registry().get("", "v1", "configmaps")


def kv(key: str, rev: int) -> KeyValue:
    return KeyValue(key, b"{}", rev, rev)


def test_suggestions_keep_the_latest_and_drop_the_oldest() -> None:
    s = Suggestions(size=2)
    s.remember(kv("/a", 1))
    s.remember(kv("/b", 2))
    s.remember(kv("/a", 3))  # rewritten: now the most recent
    s.remember(kv("/c", 4))  # over the size: /b goes
    assert s.get("/b") is None
    assert s.get("/a") == kv("/a", 3) and s.get("/c") == kv("/c", 4)
    s.forget("/a")
    assert s.get("/a") is None


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[RestStore]:
    storage = await SQLiteStorage.open(tmp_path / "db", compact_interval=0)
    yield RestStore(storage)
    await storage.close()


def cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


async def test_a_stale_suggestion_is_caught_by_the_swap(store: RestStore) -> None:
    assert CMS is not None
    await store.create(CMS, "default", cm("x", a="1"), WriteOptions())
    key = CMS.key("default", "x")
    current = await store.storage.get(key)
    # a write that did not go through this store: the suggestion is now stale
    await store.storage.update(key, orjson.dumps({**cm("x", a="2"), "metadata": {"name": "x", "namespace": "default",
                                                                            "uid": "u"}}), current.mod_revision)

    async def add_b(obj: dict[str, Any]) -> dict[str, Any]:
        obj["data"]["b"] = "3"
        return obj

    patched = await store.patch(CMS, "default", "x", add_b, WriteOptions())
    assert patched["data"] == {"a": "2", "b": "3"}  # built on the store's version, not the suggestion
    assert (await store.get(CMS, "default", "x"))["data"] == {"a": "2", "b": "3"}


async def test_a_suggestion_for_a_deleted_key_is_not_found(store: RestStore) -> None:
    assert CMS is not None
    await store.create(CMS, "default", cm("gone"), WriteOptions())
    key = CMS.key("default", "gone")
    await store.storage.delete(key, (await store.storage.get(key)).mod_revision)  # behind the store's back

    async def same(obj: dict[str, Any]) -> dict[str, Any]:
        obj["data"] = {"c": "1"}
        return obj

    with pytest.raises(errors.StatusError) as info:
        await store.patch(CMS, "default", "gone", same, WriteOptions())
    assert info.value.code == 404


async def test_updates_after_own_writes_skip_the_read(store: RestStore) -> None:
    assert CMS is not None
    reads: list[str] = []
    real_get = store.storage.get

    async def counting_get(key: str) -> KeyValue:
        reads.append(key)
        return await real_get(key)

    store.storage.get = counting_get  # type: ignore[method-assign]
    await store.create(CMS, "default", cm("y", a="1"), WriteOptions())
    for value in ("2", "3"):
        async def set_a(obj: dict[str, Any], value: str = value) -> dict[str, Any]:
            obj["data"]["a"] = value
            return obj

        await store.patch(CMS, "default", "y", set_a, WriteOptions())
    assert reads == []
    assert (await real_get(CMS.key("default", "y"))).value.count(b'"a":"3"') == 1


def test_the_written_object_goes_with_its_version_only() -> None:
    s = Suggestions()
    first, obj = kv("/a", 1), {"metadata": {"name": "a"}}
    s.remember(first, obj)
    assert s.decoded(first) is obj
    assert s.decoded(kv("/a", 1)) is None  # an equal but other KeyValue: a read from the store, not our write
    s.remember(kv("/a", 2))
    assert s.decoded(first) is None


async def test_updates_start_from_the_written_object_and_leave_it_alone(store: RestStore) -> None:
    """The update after an own write decodes the stored bytes once (for the caller's copy), not twice, and the
    object the first write answered — shared with watchers from then on — stays as it was."""
    assert CMS is not None
    created = await store.create(CMS, "default", cm("z", a="1"), WriteOptions(field_manager="m"))
    before = orjson.dumps(created)

    async def set_a(obj: dict[str, Any]) -> dict[str, Any]:
        obj["data"]["a"] = "2"
        obj["metadata"].setdefault("labels", {})["l"] = "v"
        return obj

    patched = await store.patch(CMS, "default", "z", set_a, WriteOptions(field_manager="m"))
    assert orjson.dumps(created) == before
    assert patched["data"] == {"a": "2"} and patched["metadata"]["labels"] == {"l": "v"}
    assert patched["metadata"]["uid"] == created["metadata"]["uid"]
    assert int(patched["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    assert store.suggestions.decoded(await store.storage.get(CMS.key("default", "z"))) is None  # a fresh read
    assert (await store.get(CMS, "default", "z"))["data"] == {"a": "2"}


async def test_status_update_after_an_own_write_leaves_the_written_pod_alone(store: RestStore) -> None:
    pods = default_registry().get("", "v1", "pods")
    assert pods is not None
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "x"}},
           "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    created = await store.create(pods, "default", pod, WriteOptions(field_manager="creator"))
    before = orjson.dumps(created)

    async def running(obj: dict[str, Any]) -> dict[str, Any]:
        obj["status"] = {"phase": "Running", "podIP": "10.42.0.9"}
        obj["spec"]["containers"][0]["image"] = "ignored"  # a status write cannot change the spec
        return obj

    updated = await store.patch(pods, "default", "p", running, WriteOptions(field_manager="kubelet",
                                                                           subresource="status"))
    assert orjson.dumps(created) == before
    assert updated["status"]["phase"] == "Running"
    assert updated["spec"]["containers"][0]["image"] == "nginx"
    assert (await store.get(pods, "default", "p"))["status"]["podIP"] == "10.42.0.9"
