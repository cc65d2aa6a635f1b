"""ControllerRevision history: hashing, naming, sync decisions, pruning."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kybernetes.controllers.history import (
    HASH_LABEL,
    FakeHistoryControl,
    apply_history,
    fnv32a,
    hash_revision,
    new_revision,
    revision_name,
    revisions_to_prune,
    safe_encode,
    sync_history,
    template_of,
)

Obj = dict[str, Any]


def parent(image: str = "nginx", name: str = "web") -> Obj:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": "default", "uid": "u1"},
            "spec": {"template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}}}


def rev(image: str, number: int) -> Obj:
    return new_revision(parent(image), number)


def test_fnv32a_known_values() -> None:
    assert fnv32a(b"") == 0x811C9DC5
    assert fnv32a(b"a") == 0xE40C292C


def test_safe_encode_uses_upstream_alphabet() -> None:
    assert safe_encode("0123456789") == "456789bcdf"  # like pod-template-hash "66b6c48dd5"


def test_hash_is_stable_and_depends_on_data_and_collisions() -> None:
    data = {"spec": {"template": {"b": 1, "a": 2}}}
    assert hash_revision(data) == hash_revision({"spec": {"template": {"a": 2, "b": 1}}})
    assert hash_revision(data) != hash_revision(data, 1)
    assert hash_revision(data) != hash_revision({"spec": {"template": {"a": 3}}})


def test_new_revision_shape() -> None:
    r = rev("nginx", 3)
    hash_ = r["metadata"]["labels"][HASH_LABEL]
    assert r["metadata"]["name"] == f"web-{hash_}"
    assert r["metadata"]["labels"]["app"] == "web"
    assert r["metadata"]["ownerReferences"][0] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web",
                                                   "uid": "u1", "controller": True, "blockOwnerDeletion": True}
    assert r["revision"] == 3
    assert r["data"]["spec"]["template"]["$patch"] == "replace"
    assert template_of(r) == parent()["spec"]["template"]


def test_revision_name_truncates_long_prefixes() -> None:
    assert revision_name("x" * 300, "abc") == "x" * 223 + "-abc"


@pytest.mark.parametrize(("history", "image", "create", "renumber", "number", "dups"), [
    pytest.param([], "nginx", True, False, 1, 0, id="first-revision"),
    pytest.param([rev("nginx", 1)], "nginx", False, False, 1, 0, id="unchanged"),
    pytest.param([rev("nginx", 1)], "nginx:2", True, False, 2, 0, id="template-changed"),
    pytest.param([rev("nginx", 1), rev("nginx:2", 2)], "nginx", False, True, 3, 0, id="rollback-renumbers"),
    pytest.param([rev("nginx", 1), rev("nginx", 2)], "nginx", False, False, 2, 1, id="duplicates-dropped"),
])
def test_sync_history(history: list[Obj], image: str, create: bool, renumber: bool, number: int,
                      dups: int) -> None:
    decision = sync_history(parent(image), history, None)
    assert (decision.create, decision.renumber) == (create, renumber)
    assert decision.update["revision"] == number
    assert len(decision.duplicates) == dups
    assert template_of(decision.update)["spec"]["containers"][0]["image"] == image


def test_sync_history_does_not_mutate_input() -> None:
    history = [rev("nginx", 1), rev("nginx:2", 2)]
    before = copy.deepcopy(history)
    sync_history(parent("nginx"), history, None)
    assert history == before


@pytest.mark.parametrize(("count", "in_use", "limit", "pruned"), [
    pytest.param(3, set(), 10, [], id="under-limit"),
    pytest.param(5, set(), 2, [1, 2, 3], id="oldest-first"),
    pytest.param(5, {"r1"}, 2, [2, 3], id="in-use-kept-and-not-counted"),
    pytest.param(2, set(), 0, [1, 2], id="limit-zero"),
])
def test_revisions_to_prune(count: int, in_use: set[str], limit: int, pruned: list[int]) -> None:
    revisions = [{"metadata": {"name": f"r{i}"}, "revision": i} for i in range(count, 0, -1)]
    assert [r["revision"] for r in revisions_to_prune(revisions, in_use, limit)] == pruned


async def test_apply_history_creates_and_renumbers() -> None:
    control = FakeHistoryControl()
    update, collisions = await apply_history(control, parent("nginx"), [], 0)
    assert control.created == [update] and update["revision"] == 1 and collisions == 0
    control = FakeHistoryControl()
    update, _ = await apply_history(control, parent("nginx"), [rev("nginx", 1), rev("nginx:2", 2)], 0)
    assert control.renumbered == [update] and update["revision"] == 3 and not control.created
