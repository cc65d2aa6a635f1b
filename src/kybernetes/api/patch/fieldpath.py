"""Field paths and field sets of server-side apply, and their ``FieldsV1`` wire form.

A path is a tuple of path elements, each spelled as in ``FieldsV1``:

* ``f:<name>`` — a field of an object (``f:spec``);
* ``k:<json>`` — an item of a keyed list, by its key fields in name order (``k:{"name":"nginx"}``);
* ``v:<json>`` — an item of a set-like primitive list (``v:"example.com/finalizer"``);
* ``i:<n>`` — an item of a list by position.

A field set is a ``frozenset`` of paths.  In ``FieldsV1`` every path of the set is a key chain ending in
``{}``; a path that is both a member and a prefix of other members carries ``".": {}``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from json.encoder import encode_basestring
from typing import Any

from kybernetes.api.patch.common import go_format, go_quote

Path = tuple[str, ...]
FieldSet = frozenset[Path]

EMPTY: FieldSet = frozenset()


def field(name: str) -> str:
    return "f:" + name


def _scalar_json(value: Any) -> str | None:
    """``json.dumps(value, ensure_ascii=False)`` for strings, ints and booleans; None for anything else."""
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if kind is int:
        return int.__repr__(value)
    if kind is bool:
        return "true" if value else "false"
    return None


def key_element(keys: dict[str, Any]) -> str:
    """``k:`` element for a keyed list item; key fields in name order, compact JSON like upstream."""
    if len(keys) == 1:
        ((name, value),) = keys.items()
        if type(value) is str:
            return _single_string_key(name, value)
    parts: list[str] = []
    for name in sorted(keys):
        encoded = _scalar_json(keys[name])
        if encoded is None:
            return "k:" + json.dumps({k: keys[k] for k in sorted(keys)}, separators=(",", ":"),
                                     ensure_ascii=False)
        parts.append(encode_basestring(name) + ":" + encoded)
    return "k:{" + ",".join(parts) + "}"


@functools.lru_cache(maxsize=8192)
def _single_string_key(name: str, value: str) -> str:
    """The common keyed item (a condition's type, a container's name): the same few over and over."""
    return "k:{" + encode_basestring(name) + ":" + encode_basestring(value) + "}"


def value_element(value: Any) -> str:
    encoded = _scalar_json(value)
    if encoded is not None:
        return "v:" + encoded
    return "v:" + json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def index_element(index: int) -> str:
    return f"i:{index}"


def make_path(*names: str) -> Path:
    """A path of plain fields: ``make_path("spec", "replicas")``."""
    return tuple(field(n) for n in names)


# --- ordering (upstream sorts field sets: fields, then keys, then values, then indexes) ---------------------

_VALUE_RANK = {type(None): 0, bool: 3, int: 1, float: 1, str: 2, list: 4, dict: 5}


def _value_sort_key(value: Any) -> tuple[Any, ...]:
    rank = _VALUE_RANK.get(type(value), 6)
    if rank == 1:
        return (rank, value, "")
    if rank in (2, 3):
        return (rank, 0, str(value))
    if rank in (4, 5):
        return (rank, 0, json.dumps(value, sort_keys=True))
    return (rank, 0, "")


@functools.lru_cache(maxsize=65536)
def element_sort_key(element: str) -> tuple[Any, ...]:
    """Upstream's order of path elements (memoized: the same elements recur in every object of a kind)."""
    kind, _, rest = element.partition(":")
    if kind == "f":
        return (0, rest.encode())
    if kind == "k":
        try:
            keys = json.loads(rest)
        except json.JSONDecodeError:
            return (1, (), rest)
        if isinstance(keys, dict):
            return (1, tuple((name, _value_sort_key(keys[name])) for name in sorted(keys)), rest)
        return (1, (), rest)
    if kind == "v":
        try:
            return (2, _value_sort_key(json.loads(rest)), rest)
        except json.JSONDecodeError:
            return (2, (9, 0, rest), rest)
    if kind == "i":
        try:
            return (3, int(rest))
        except ValueError:
            return (3, -1, rest)
    return (4, element)


# --- set operations -----------------------------------------------------------------------------------------


def has_prefix(path: Path, prefixes: Iterable[Path]) -> bool:
    """True when ``path`` equals or lies below one of ``prefixes``."""
    return any(path[: len(p)] == p for p in prefixes)


def recursive_difference(paths: FieldSet, prefixes: Iterable[Path]) -> FieldSet:
    """``paths`` without every path at or below one of ``prefixes`` (upstream ``RecursiveDifference``)."""
    prefix_list = list(prefixes)
    if not prefix_list:
        return paths
    if all(len(p) == 1 for p in prefix_list):
        heads = {p[0] for p in prefix_list}
        if not any(p and p[0] in heads for p in paths):
            return paths
        return frozenset(p for p in paths if not p or p[0] not in heads)
    return frozenset(p for p in paths if not has_prefix(p, prefix_list))


def with_prefix(paths: FieldSet, element: str) -> FieldSet:
    """The paths that start with ``element``, with that element removed."""
    return frozenset(p[1:] for p in paths if len(p) > 1 and p[0] == element)


# --- FieldsV1 -----------------------------------------------------------------------------------------------


_MEMBER = ""  # marks a tree node whose path is in the set (no path element is empty)


def to_fields_v1(paths: FieldSet) -> dict[str, Any]:
    """Encode a field set as ``FieldsV1`` JSON, keys sorted like upstream (``"."`` first)."""
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for element in path:
            child = node.get(element)
            if child is None:
                child = node[element] = {}
            node = child
        node[_MEMBER] = None

    def emit(node: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if _MEMBER in node:
            if len(node) == 1:
                return out
            out["."] = {}
        for element in sorted((e for e in node if e), key=element_sort_key):
            out[element] = emit(node[element])
        return out

    return emit(tree)


def from_fields_v1(fields: Any) -> FieldSet:
    """Decode ``FieldsV1`` JSON into a field set; raises ``ValueError`` when it is malformed."""
    if not isinstance(fields, dict):
        raise ValueError("FieldsV1 must be a JSON object")
    out: set[Path] = set()

    def walk(node: dict[str, Any], prefix: Path) -> None:
        for element, child in node.items():
            if element == ".":
                if prefix:
                    out.add(prefix)
                continue
            if not isinstance(child, dict) or element[:2] not in ("f:", "k:", "v:", "i:"):
                raise ValueError(f"invalid FieldsV1 element {element!r}")
            path = (*prefix, element)
            if child:
                walk(child, path)
            else:
                out.add(path)

    walk(fields, ())
    return frozenset(out)


# --- human-readable paths (conflict messages) ---------------------------------------------------------------


def element_string(element: str) -> str:
    kind, _, rest = element.partition(":")
    if kind == "f":
        return "." + rest
    try:
        decoded = json.loads(rest)
    except json.JSONDecodeError:
        return "{{invalid path element}}"
    if kind == "k" and isinstance(decoded, dict):
        return "[" + ",".join(f"{k}={go_quote(decoded[k])}" for k in sorted(decoded)) + "]"
    if kind == "v":
        return f"[={go_quote(decoded)}]"
    if kind == "i":
        return f"[{go_format(decoded)}]"
    return "{{invalid path element}}"


def path_string(path: Path) -> str:
    """Upstream's ``fieldpath.Path.String()``: ``.spec.template.spec.containers[name="nginx"].image``."""
    return "".join(element_string(e) for e in path)
