"""Typed walks over JSON values for server-side apply: field sets, merge, compare, removal.

The semantics follow upstream's structured-merge-diff:

* **field set** of an applied configuration: every leaf (scalar, atomic struct/map/list, ``null``, ``{}``),
  every item of a keyed or set-like list, and every entry of a map (entries are not declared struct fields);
* **merge** (live ⊕ config): objects merge key by key, keyed/set lists merge item by item (config order wins
  for shared items, live-only items keep their place), everything else is replaced by the config;
* **compare** (old → new): leaves are added/modified/removed; an object or list item that appears or
  disappears is itself added/removed;
* **remove**: drop the fields and list items of a set, dropping objects and lists emptied by it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import orjson

from kybernetes.api.patch import fieldpath as fp
from kybernetes.api.patch.fieldpath import FieldSet, Path
from kybernetes.api.patch.shape import Schema, Shape


class _Missing:
    """The absence of a value (distinct from JSON ``null``)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

_CREATED: dict[tuple[Any, ...], tuple[Shape, frozenset[Path]]] = {}  # see Typed.created_fields
_CREATED_MAX = 256

# Defaults of list-map key fields that upstream's schema declares (an item may omit them).
_KEY_DEFAULTS: dict[str, Any] = {"protocol": "TCP"}


@dataclass
class Comparison:
    added: set[Path] = field(default_factory=set)
    modified: set[Path] = field(default_factory=set)
    removed: set[Path] = field(default_factory=set)

    def is_same(self) -> bool:
        return not (self.added or self.modified or self.removed)

    def exclude(self, prefixes: list[Path]) -> Comparison:
        """Drop every path at or below ``prefixes`` (upstream ``ExcludeFields``); ``self`` when there are none."""
        if not prefixes:
            return self
        return Comparison(*(set(fp.recursive_difference(frozenset(s), prefixes))
                            for s in (self.added, self.modified, self.removed)))


_CONTAINERS = frozenset({dict, list})
_SCALARS = frozenset({str, int, float, bool, type(None)})


def same_json(lhs: Any, rhs: Any) -> bool:
    """True when two JSON values are equal including their scalar types (``1``, ``1.0`` and ``true`` differ).

    Python's ``==`` (C speed) proves equality up to numeric types; comparing the orjson encodings (C speed too)
    then proves the types match.  Values orjson cannot encode are reported as different (callers then walk
    them).  NaN/Infinity are not JSON: orjson writes them as ``null``, so equal-by-identity NaNs may be reported
    the same here where a leaf walk (``nan != nan``) would report a change; so are identical objects.
    """
    if lhs is rhs:
        return True
    if lhs != rhs:
        return False
    try:
        return bool(orjson.dumps(lhs) == orjson.dumps(rhs))
    except (orjson.JSONEncodeError, TypeError):
        return False


def _is_object(shape: Shape) -> bool:
    return shape.granular_object


def _is_granular_list(shape: Shape) -> bool:
    return shape.granular_list


class Typed:
    """Walks values of a given :class:`Shape`; ``schema`` resolves child shapes."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema

    # --- list items -----------------------------------------------------------------------------------------

    def item_element(self, shape: Shape, item: Any, index: int) -> str:
        if shape.list_type == "set":
            return fp.value_element(item)
        if shape.list_type == "map" and shape.keys and isinstance(item, dict):
            keys = {}
            for key in shape.keys:
                if key in item:
                    keys[key] = item[key]
                elif key in _KEY_DEFAULTS:
                    keys[key] = _KEY_DEFAULTS[key]
            if keys:
                return fp.key_element(keys)
        return fp.index_element(index)

    def _index(self, shape: Shape, items: list[Any]) -> tuple[list[str], dict[str, Any]]:
        order: list[str] = []
        by_element: dict[str, Any] = {}
        for i, item in enumerate(items):
            element = self.item_element(shape, item, i)
            if element in by_element:
                continue
            by_element[element] = item
            order.append(element)
        return order, by_element

    # --- field sets -----------------------------------------------------------------------------------------

    def field_set(self, value: Any, shape: Shape) -> FieldSet:
        out: set[Path] = set()
        self._field_set(value, shape, (), out)
        return frozenset(out)

    def _field_set(self, value: Any, shape: Shape, path: Path, out: set[Path]) -> None:
        # Scalars (and null) are leaves; containers recurse.  A container that is a declared struct field is
        # recorded itself only when it is {}; an empty granular list adds nothing.
        if isinstance(value, dict) and shape.granular_object:
            table, default = self.schema.children(shape)
            for key, child_value in value.items():
                child, declared, _ = table.get(key, default)
                child_path = (*path, "f:" + key)
                if isinstance(child_value, (dict, list)):
                    self._field_set(child_value, child, child_path, out)
                    if declared and (child_value or not isinstance(child_value, dict)):
                        continue
                out.add(child_path)
        elif isinstance(value, list) and shape.granular_list:
            item_shape = Schema.item(shape)
            for i, item in enumerate(value):
                item_path = (*path, self.item_element(shape, item, i))
                if isinstance(item, (dict, list)):
                    self._field_set(item, item_shape, item_path, out)
                out.add(item_path)
        elif path:
            out.add(path)

    def created_fields(self, value: Any, shape: Shape, skip: Collection[str] = ()) -> set[Path]:
        """``compare({}, value, shape, creating=True).exclude(skip as top-level fields).added`` computed by one
        direct walk of ``value`` (nothing can be modified or removed when the old object is empty).

        The fields of a top-level object (``spec``) are memoized by its JSON: the pods of one ReplicaSet, the
        Jobs of one CronJob are created from the same template again and again."""
        out: set[Path] = set()
        if isinstance(value, dict) and value and shape.granular_object:
            if skip and any(key in skip for key in value):
                value = {k: v for k, v in value.items() if k not in skip}
            table, default = self.schema.children(shape)
            rest: dict[str, Any] = {}
            for key, child_value in value.items():
                child, _, struct_field = table.get(key, default)
                if key == "spec" and struct_field and isinstance(child_value, dict) and child_value and \
                        child.granular_object:
                    out |= self._created_subtree(key, child_value, child)
                else:
                    rest[key] = child_value
            if rest:
                self._created_object(rest, shape, (), out)
        return out

    def _created_subtree(self, key: str, value: dict[str, Any], shape: Shape) -> frozenset[Path]:
        try:
            memo_key: tuple[Any, ...] | None = (id(shape), key, orjson.dumps(value))
        except (orjson.JSONEncodeError, TypeError):
            memo_key = None
        cached = _CREATED.get(memo_key) if memo_key is not None else None
        if cached is not None and cached[0] is shape:  # the shape is held: its id cannot be reused meanwhile
            return cached[1]
        found: set[Path] = set()
        self._created_object(value, shape, (fp.field(key),), found)
        fields = frozenset(found)
        if memo_key is not None:
            if len(_CREATED) >= _CREATED_MAX:
                _CREATED.clear()
            _CREATED[memo_key] = (shape, fields)
        return fields

    # Both walkers below get a non-empty container of a matching granular shape.  A child container is
    # recorded itself unless it is a declared struct field (zero-valued Go structs are not "added").

    def _created_object(self, value: dict[str, Any], shape: Shape, path: Path, out: set[Path]) -> None:
        table, default = self.schema.children(shape)
        for key, child_value in value.items():
            child, _, struct_field = table.get(key, default)
            child_path = (*path, "f:" + key)
            if isinstance(child_value, dict):
                if child_value and child.granular_object:
                    self._created_object(child_value, child, child_path, out)
                    if struct_field:
                        continue
            elif isinstance(child_value, list) and child_value and child.granular_list:
                self._created_list(child_value, child, child_path, out)
            out.add(child_path)

    def _created_list(self, value: list[Any], shape: Shape, path: Path, out: set[Path]) -> None:
        item_shape = Schema.item(shape)
        order, items = self._index(shape, value)
        for element in order:
            item = items[element]
            item_path = (*path, element)
            if isinstance(item, dict):
                if item and item_shape.granular_object:
                    self._created_object(item, item_shape, item_path, out)
            elif isinstance(item, list) and item and item_shape.granular_list:
                self._created_list(item, item_shape, item_path, out)
            out.add(item_path)

    # --- merge ----------------------------------------------------------------------------------------------

    def merge(self, lhs: Any, rhs: Any, shape: Shape) -> Any:
        """``lhs`` with ``rhs`` merged in; returns new containers where it merges (leaves are shared)."""
        if rhs is MISSING:
            return lhs
        if lhs is MISSING:
            return rhs
        if isinstance(lhs, dict) and isinstance(rhs, dict) and _is_object(shape) and (lhs or rhs):
            out: dict[str, Any] = {}
            table, default = self.schema.children(shape)
            for key, value in lhs.items():
                if key in rhs:
                    merged = self.merge(value, rhs[key], table.get(key, default)[0])
                    if merged is not None:
                        out[key] = merged
                else:
                    out[key] = value
            for key, value in rhs.items():
                if key not in lhs and value is not None:
                    out[key] = value
            return out
        if isinstance(lhs, list) and isinstance(rhs, list) and _is_granular_list(shape) and (lhs or rhs):
            return self._merge_list(lhs, rhs, shape)
        return rhs

    def _merge_list(self, lhs: list[Any], rhs: list[Any], shape: Shape) -> list[Any]:
        item_shape = Schema.item(shape)
        l_order, l_items = self._index(shape, lhs)
        r_order, r_items = self._index(shape, rhs)
        shared = [e for e in r_order if e in l_items]
        next_shared = shared.pop(0) if shared else None
        out: list[Any] = []
        li = ri = 0
        while li < len(l_order) or ri < len(r_order):
            if li < len(l_order) and ri < len(r_order):
                element = l_order[li]
                if element == r_order[ri]:
                    out.append(self.merge(l_items[element], r_items[element], item_shape))
                    li += 1
                    ri += 1
                    next_shared = shared.pop(0) if shared else None
                    continue
                if element in r_items and next_shared is not None and next_shared != element:
                    li += 1
                    continue
            if li < len(l_order) and l_order[li] not in r_items:
                out.append(l_items[l_order[li]])
                li += 1
                continue
            if ri < len(r_order):
                element = r_order[ri]
                out.append(self.merge(l_items.get(element, MISSING), r_items[element], item_shape))
                ri += 1
                if next_shared is not None and next_shared == element:
                    next_shared = shared.pop(0) if shared else None
                continue
            li += 1  # a live item already merged: nothing left to take from it
        return out

    # --- compare --------------------------------------------------------------------------------------------

    def compare(self, lhs: Any, rhs: Any, shape: Shape, *, creating: bool = False,
                shortcut: bool = True) -> Comparison:
        """What changed from ``lhs`` to ``rhs``.  ``creating``: ``lhs`` is a new (empty) object, and like
        upstream's zero-valued Go structs, appearing struct fields are not themselves recorded as added.

        ``shortcut`` skips subtrees that are identical (:func:`same_json`) instead of walking them; the result
        is the same for JSON values (False: walk everything, the reference behaviour)."""
        result = Comparison()
        self._compare(lhs, rhs, shape, (), result, creating, False, shortcut)
        return result

    def _compare(self, lhs: Any, rhs: Any, shape: Shape, path: Path, acc: Comparison, creating: bool,
                 struct_field: bool, shortcut: bool = False) -> None:
        l_missing = lhs is MISSING
        r_missing = rhs is MISSING
        if l_missing and r_missing:
            return
        if shortcut and type(lhs) is type(rhs) and type(lhs) in _CONTAINERS and same_json(lhs, rhs):
            return
        # "every present side is a dict (list), and one of them is not empty"
        if shape.granular_object and (l_missing or isinstance(lhs, dict)) and (r_missing or isinstance(rhs, dict)) \
                and ((not l_missing and lhs) or (not r_missing and rhs)):
            table, default = self.schema.children(shape)
            lmap: dict[str, Any] = lhs if isinstance(lhs, dict) else {}
            rmap: dict[str, Any] = rhs if isinstance(rhs, dict) else {}
            for key in [*lmap, *(k for k in rmap if k not in lmap)]:
                lv = lmap.get(key, MISSING)
                rv = rmap.get(key, MISSING)
                if shortcut and type(lv) is type(rv) and type(lv) in _SCALARS and lv == rv:
                    continue
                child, _, child_struct = table.get(key, default)
                self._compare(lv, rv, child, (*path, "f:" + key), acc, creating, child_struct, shortcut)
        elif shape.granular_list and (l_missing or isinstance(lhs, list)) and (r_missing or isinstance(rhs, list)) \
                and ((not l_missing and lhs) or (not r_missing and rhs)):
            item_shape = Schema.item(shape)
            l_order, l_items = self._index(shape, lhs if isinstance(lhs, list) else [])
            r_order, r_items = self._index(shape, rhs if isinstance(rhs, list) else [])
            for element in [*l_order, *(e for e in r_order if e not in l_items)]:
                lv = l_items.get(element, MISSING)
                rv = r_items.get(element, MISSING)
                if shortcut and type(lv) is type(rv) and type(lv) in _SCALARS and lv == rv:
                    continue
                self._compare(lv, rv, item_shape, (*path, element), acc, creating, False, shortcut)
        else:
            if not path:
                return
            if l_missing:
                acc.added.add(path)
            elif r_missing:
                acc.removed.add(path)
            elif lhs != rhs or type(lhs) is not type(rhs):
                acc.modified.add(path)
            return
        if path:
            if l_missing and not (creating and struct_field):
                acc.added.add(path)
            elif r_missing:
                acc.removed.add(path)

    # --- removal --------------------------------------------------------------------------------------------

    def remove(self, value: Any, paths: FieldSet, shape: Shape) -> Any:
        """``value`` without the fields/items in ``paths``; MISSING when nothing is left of a container."""
        if not paths:
            return value
        if isinstance(value, dict) and _is_object(shape):
            out: dict[str, Any] = {}
            for key, child_value in value.items():
                element = fp.field(key)
                if (element,) in paths:
                    continue
                sub = fp.with_prefix(paths, element)
                if sub:
                    child_value = self.remove(child_value, sub, self.schema.child(shape, key)[0])
                    if child_value is MISSING:
                        continue
                out[key] = child_value
            return out if out else MISSING
        if isinstance(value, list) and _is_granular_list(shape):
            item_shape = Schema.item(shape)
            items: list[Any] = []
            for i, item in enumerate(value):
                element = self.item_element(shape, item, i)
                if (element,) in paths:
                    continue
                sub = fp.with_prefix(paths, element)
                if sub:
                    item = self.remove(item, sub, item_shape)
                    if item is MISSING:
                        continue
                items.append(item)
            return items if items else MISSING
        return value

    # --- named fields ---------------------------------------------------------------------------------------

    def with_named_parents(self, paths: FieldSet, root: Shape) -> FieldSet:
        """``paths`` plus every ancestor that is a declared struct field (upstream
        ``EnsureNamedFieldsAreMembers``): owning ``.spec.replicas`` also claims ``.spec``."""
        tree: dict[str, Any] = {}  # the proper prefixes of ``paths`` as a trie: each is resolved once
        for path in paths:
            node = tree
            for element in path[:-1]:
                node = node.setdefault(element, {})
        out = set(paths)
        self._named_parents(tree, root, (), out)
        return frozenset(out)

    def _named_parents(self, tree: dict[str, Any], shape: Shape, prefix: Path, out: set[Path]) -> None:
        for element, sub in tree.items():
            path = (*prefix, element)
            if element.startswith("f:"):
                child, declared = self.schema.child(shape, element[2:])
                if declared:
                    out.add(path)
            else:
                child = Schema.item(shape)
            if sub:
                self._named_parents(sub, child, path, out)
