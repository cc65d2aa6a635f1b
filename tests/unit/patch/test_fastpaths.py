"""The fast paths of managedFields tracking and server-side apply agree with the original algorithms
(``reference.py``) on a table of objects: shared shapes, the direct create walk, the compare shortcut, the
FieldsV1 caches and the JSON clone."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest

from kybernetes.api.errors import StatusError
from kybernetes.api.patch import apply, track_update
from kybernetes.api.patch import fieldpath as fp
from kybernetes.api.patch import managedfields as mf
from kybernetes.api.patch.common import clone
from kybernetes.api.patch.shape import Schema, default_lookup, schema_for
from kybernetes.api.patch.typed import Typed, same_json

from .conftest import WIDGET, lookup
from .objects import CHANGES, OBJECTS, pair, type_def
from .reference import RefTyped, ref_apply, ref_json, ref_track_update

T0, T1 = "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"
IGNORE_STATUS = (("status",),)
KINDS = [pytest.param(name, id=name) for name in OBJECTS]
KIND_CHANGES = [pytest.param(name, how, id=f"{name}-{how}") for name in OBJECTS for how in CHANGES]


def _text(obj: Any) -> str:
    return ref_json(obj)


@pytest.mark.parametrize("name", KINDS)
@pytest.mark.parametrize("ignored", [pytest.param((), id="nothing-ignored"),
                                     pytest.param(IGNORE_STATUS, id="status-ignored"),
                                     pytest.param((("spec", "replicas"), ("metadata", "labels")), id="deep")])
def test_track_create_matches_reference(name: str, ignored: tuple[tuple[str, ...], ...]) -> None:
    obj = OBJECTS[name]
    before = copy.deepcopy(obj)
    fast = track_update(None, obj, "creator", "Update", type_def(name), ignored_fields=ignored, now=T0)
    slow = ref_track_update(None, obj, "creator", "Update", type_def(name), ignored_fields=ignored, now=T0)
    assert _text(fast) == _text(slow)
    assert fast["metadata"]["managedFields"]
    assert _text(obj) == _text(before)


@pytest.mark.parametrize(("name", "how"), KIND_CHANGES)
def test_track_update_matches_reference(name: str, how: str) -> None:
    td = type_def(name)
    old, new = pair(OBJECTS[name], how)
    old = ref_track_update(None, old, "creator", "Update", td, ignored_fields=IGNORE_STATUS, now=T0)
    new["metadata"].pop("managedFields", None)
    before = (_text(old), _text(new))
    for manager in ("creator", "editor"):
        fast = track_update(old, new, manager, "Update", td, ignored_fields=IGNORE_STATUS, now=T1)
        slow = ref_track_update(old, new, manager, "Update", td, ignored_fields=IGNORE_STATUS, now=T1)
        assert _text(fast) == _text(slow)
    status = track_update(old, new, "kubelet", "Update", td, subresource="status", now=T1)
    assert _text(status) == _text(ref_track_update(old, new, "kubelet", "Update", td, subresource="status",
                                                   now=T1))
    assert (_text(old), _text(new)) == before


@pytest.mark.parametrize("name", KINDS)
def test_track_update_with_sent_managed_fields_matches_reference(name: str) -> None:
    td = type_def(name)
    old = ref_track_update(None, OBJECTS[name], "creator", "Update", td, now=T0)
    sent = copy.deepcopy(old)
    sent["metadata"]["managedFields"][0]["manager"] = "renamed"
    bad = copy.deepcopy(old)
    bad["metadata"]["managedFields"] = [{"operation": "Bogus"}]
    for new in (sent, bad):
        fast = track_update(old, new, "editor", "Update", td, now=T1)
        assert _text(fast) == _text(ref_track_update(old, new, "editor", "Update", td, now=T1))


@pytest.mark.parametrize("name", KINDS)
def test_apply_create_matches_reference(name: str) -> None:
    config = copy.deepcopy(OBJECTS[name])
    del config["metadata"]["uid"]
    for ignored in ((), IGNORE_STATUS, (("apiVersion",), ("kind",), ("metadata",), ("spec",), ("data",),
                                        ("binaryData",), ("status",))):
        fast = apply(None, config, "mgr", False, type_def(name), ignored_fields=ignored, now=T0)
        slow = ref_apply(None, config, "mgr", False, type_def(name), ignored_fields=ignored, now=T0)
        assert _text(fast) == _text(slow)


@pytest.mark.parametrize(("name", "how"), KIND_CHANGES)
def test_apply_update_matches_reference(name: str, how: str) -> None:
    td = type_def(name)
    first, second = pair(OBJECTS[name], how)
    for obj in (first, second):
        obj["metadata"].pop("uid")
    live = ref_apply(None, first, "mgr", False, td, ignored_fields=IGNORE_STATUS, now=T0)
    live = ref_track_update(live, {**live, "extra": "x"}, "other", "Update", td, now=T0)
    before = _text(live)
    fast = apply(live, second, "mgr", False, td, ignored_fields=IGNORE_STATUS, now=T1)
    slow = ref_apply(live, second, "mgr", False, td, ignored_fields=IGNORE_STATUS, now=T1)
    assert _text(fast) == _text(slow)
    assert _text(live) == before
    # another applier sending the changed configuration conflicts exactly when the reference does
    outcomes = []
    for fn in (apply, ref_apply):
        try:
            outcomes.append(_text(fn(live, second, "other-applier", False, td, now=T1)))
        except StatusError as exc:
            outcomes.append(json.dumps(exc.to_status()))
    assert outcomes[0] == outcomes[1]


WIDGETS = [
    pytest.param({"spec": {"replicas": 1, "items": [{"name": "a", "ports": [{"port": 80}, {"port": 80}]}]}},
                 id="duplicate-keyed-items"),
    pytest.param({"spec": {"tags": ["a", "a"], "selector": {"matchLabels": {"x": "1"}}, "config": {}}},
                 id="atomic-and-empty"),
    pytest.param({"spec": {"strategy": {}, "template": None, "items": []}}, id="empty-struct-null-empty-list"),
    pytest.param({"spec": {"items": "not-a-list", "selector": 3}, "unknown": {"a": {"b": [1]}}},
                 id="wrong-types-and-unknown"),
    pytest.param({"metadata": {"finalizers": ["b", "a", "b"], "labels": {"k": None}}}, id="set-and-null"),
    pytest.param({}, id="empty"),
]


@pytest.mark.parametrize("value", WIDGETS)
def test_typed_walks_match_reference_on_edge_values(value: dict[str, Any]) -> None:
    schema = Schema(lookup)
    fast, slow = Typed(schema), RefTyped(schema)
    root = schema.root(WIDGET)
    expected = slow.compare({}, value, root, creating=True).added
    assert fast.created_fields(value, root) == expected
    assert fast.created_fields(value, root) == expected  # the memoized spec fields, the second time
    assert fast.field_set(value, root) == slow.field_set(value, root)
    paths = slow.field_set(value, root) | {("f:spec", "f:strategy", "f:rolling", "f:maxSurge")}
    assert fast.with_named_parents(paths, root) == slow.with_named_parents(paths, root)
    for other in WIDGETS:
        assert fast.compare(other.values[0], value, root) == slow.compare(other.values[0], value, root)


@pytest.mark.parametrize(("lhs", "rhs", "same"), [
    pytest.param({"a": [1, {"b": "c"}]}, {"a": [1, {"b": "c"}]}, True, id="equal"),
    pytest.param({"a": 1}, {"a": 1.0}, False, id="int-float"),
    pytest.param({"a": 1}, {"a": True}, False, id="int-bool"),
    pytest.param({"a": 0}, {"a": False}, False, id="zero-false"),
    pytest.param({"a": 1, "b": 2}, {"b": 2, "a": 1}, False, id="key-order-is-walked"),
    pytest.param([1, 2], [2, 1], False, id="list-order"),
    pytest.param({"a": 2**70}, {"a": 2**70}, False, id="not-encodable-is-walked"),
    pytest.param({"a": None}, {"a": None}, True, id="null"),
])
def test_same_json(lhs: Any, rhs: Any, same: bool) -> None:
    assert same_json(lhs, rhs) is same


@pytest.mark.parametrize("value", [
    pytest.param({"a": [1, 2.5, True, None, "é", {"b": []}]}, id="json"),
    pytest.param({"a": 2**80}, id="big-int"),
    pytest.param({1: "int-key"}, id="int-key"),
])
def test_clone_is_a_deep_copy(value: Any) -> None:
    out = clone(value)
    assert out is not value
    assert repr(out) == repr(copy.deepcopy(value))
    if isinstance(out.get("a"), list):
        out["a"][-1]["b"].append(1)
        assert value["a"][-1]["b"] == []


def test_clone_is_for_json_values() -> None:
    """Tuples come back as JSON arrays; non-finite floats (no JSON form; the decoders reject them) as null."""
    assert clone({"a": (1, 2), "b": float("nan")}) == {"a": [1, 2], "b": None}


@pytest.mark.parametrize("name", KINDS)
def test_fields_v1_caches_match_uncached(name: str) -> None:
    schema = Schema(default_lookup)
    fields = Typed(schema).field_set(OBJECTS[name], schema.root(type_def(name)))
    first = mf.encode_fields(fields)
    assert json.dumps(first) == json.dumps(fp.to_fields_v1(fields))
    first["f:mutated"] = {}  # callers own what they get
    second = mf.encode_fields(fields)
    assert json.dumps(second) == json.dumps(fp.to_fields_v1(fields))
    assert mf.decode_fields(second) == fields
    assert mf.decode_fields(json.loads(json.dumps(second))) == fields
    with pytest.raises(ValueError, match="invalid FieldsV1 element"):
        mf.decode_fields({**second, "bogus": {}})


def test_fields_v1_cache_never_primes_non_canonical_sets() -> None:
    odd = frozenset({("f:a",), ("x:weird",)})  # no FieldsV1 element kind: decoding its encoding must fail
    encoded = mf.encode_fields(odd)
    with pytest.raises(ValueError):
        mf.decode_fields(encoded)


def test_default_schema_is_shared_and_custom_lookups_are_not() -> None:
    assert schema_for(None) is schema_for(default_lookup)
    assert schema_for(lookup) is not schema_for(lookup)
    schema = schema_for(None)
    td = type_def("deployment")
    assert schema.root(td) is schema.root(td)
    fd = td.fields["spec"] if td else None
    assert fd is not None and schema.field(fd) is schema.field(fd)


def test_key_elements_match_json_dumps() -> None:
    for keys in ({"name": "a"}, {"port": 80, "protocol": "TCP"}, {"x": True}, {"x": 1.5}, {"x": None},
                 {"é": "\u2028\"\\\n"}, {"x": [1]}):
        expected = "k:" + json.dumps({k: keys[k] for k in sorted(keys)}, separators=(",", ":"), ensure_ascii=False)
        assert fp.key_element(keys) == expected
    for value in ("a\"b", 3, False, 2.5, None, {"b": 1, "a": 2}, math.pi):
        expected = "v:" + json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
        assert fp.value_element(value) == expected


@pytest.mark.parametrize(("paths", "prefixes"), [
    pytest.param({("f:a",), ("f:a", "f:b"), ("f:c",)}, [("f:a",)], id="top"),
    pytest.param({("f:a",), ("f:a", "f:b"), ("f:c",)}, [("f:a", "f:b")], id="deep"),
    pytest.param({("f:a",), ("f:c",)}, [("f:x",)], id="none"),
    pytest.param({("f:a",), ()}, [()], id="root"),
    pytest.param({("f:a",), ()}, [("f:a",)], id="empty-path-kept"),
])
def test_recursive_difference(paths: set[tuple[str, ...]], prefixes: list[tuple[str, ...]]) -> None:
    expected = frozenset(p for p in paths if not any(p[: len(q)] == q for q in prefixes))
    assert fp.recursive_difference(frozenset(paths), prefixes) == expected
