"""The patch code's original, unoptimized algorithms, kept as an oracle: the fast paths must agree with them.

Everything here is deliberately naive (fresh shapes per call, full typed walks, deep copies, FieldsV1 encoded
and decoded on every call); only the semantics matter.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from typing import Any

from kybernetes.api.patch import fieldpath as fp
from kybernetes.api.patch import managedfields as mf
from kybernetes.api.patch.apply import STRIPPED, _ignored, _owned_by_others
from kybernetes.api.patch.fieldpath import FieldSet, Path
from kybernetes.api.patch.managedfields import Manager, Managers
from kybernetes.api.patch.shape import STRUCT, Lookup, Schema, Shape
from kybernetes.api.patch.typed import MISSING, Comparison, Typed
from kybernetes.api.schema import TypeDef


class RefTyped(Typed):
    """Typed with the original field-set, compare and named-parent walks."""

    def field_set(self, value: Any, shape: Shape) -> FieldSet:
        out: set[Path] = set()
        self._ref_field_set(value, shape, (), out)
        return frozenset(out)

    def _ref_field_set(self, value: Any, shape: Shape, path: Path, out: set[Path]) -> None:
        if isinstance(value, dict) and shape.granular_object:
            for key, child_value in value.items():
                child, declared = self.schema.child(shape, key)
                child_path = (*path, fp.field(key))
                self._ref_field_set(child_value, child, child_path, out)
                if child_value is None or child_value == {} or not declared:
                    out.add(child_path)
        elif isinstance(value, list) and shape.granular_list:
            item_shape = Schema.item(shape)
            for i, item in enumerate(value):
                item_path = (*path, self.item_element(shape, item, i))
                self._ref_field_set(item, item_shape, item_path, out)
                out.add(item_path)
        elif path:
            out.add(path)

    def compare(self, lhs: Any, rhs: Any, shape: Shape, *, creating: bool = False,
                shortcut: bool = False) -> Comparison:
        result = Comparison()
        self._ref_compare(lhs, rhs, shape, (), result, creating, False)
        return result

    def _ref_compare(self, lhs: Any, rhs: Any, shape: Shape, path: Path, acc: Comparison, creating: bool,
                     struct_field: bool) -> None:
        if lhs is MISSING and rhs is MISSING:
            return
        present = [v for v in (lhs, rhs) if v is not MISSING]
        if shape.granular_object and all(isinstance(v, dict) for v in present) and any(present):
            keys = list(lhs) if isinstance(lhs, dict) else []
            keys += [k for k in (rhs if isinstance(rhs, dict) else {}) if k not in keys]
            for key in keys:
                child, declared = self.schema.child(shape, key)
                self._ref_compare(lhs.get(key, MISSING) if isinstance(lhs, dict) else MISSING,
                                  rhs.get(key, MISSING) if isinstance(rhs, dict) else MISSING,
                                  child, (*path, fp.field(key)), acc, creating, declared and child.kind == STRUCT)
        elif shape.granular_list and all(isinstance(v, list) for v in present) and any(present):
            item_shape = Schema.item(shape)
            l_order, l_items = self._index(shape, lhs if isinstance(lhs, list) else [])
            r_order, r_items = self._index(shape, rhs if isinstance(rhs, list) else [])
            for element in l_order + [e for e in r_order if e not in l_items]:
                self._ref_compare(l_items.get(element, MISSING), r_items.get(element, MISSING), item_shape,
                                  (*path, element), acc, creating, False)
        else:
            if not path:
                return
            if lhs is MISSING:
                acc.added.add(path)
            elif rhs is MISSING:
                acc.removed.add(path)
            elif lhs != rhs or type(lhs) is not type(rhs):
                acc.modified.add(path)
            return
        if path:
            if lhs is MISSING and not (creating and struct_field):
                acc.added.add(path)
            elif rhs is MISSING:
                acc.removed.add(path)

    def with_named_parents(self, paths: FieldSet, root: Shape) -> FieldSet:
        out = set(paths)
        for path in paths:
            shape = root
            for i, element in enumerate(path[:-1]):
                if element.startswith("f:"):
                    shape, declared = self.schema.child(shape, element[2:])
                    if declared:
                        out.add(path[: i + 1])
                else:
                    shape = Schema.item(shape)
        return frozenset(out)


def ref_decode(obj: dict[str, Any] | None) -> Managers:
    if obj is None:
        return {}
    raw = (obj.get("metadata") or {}).get("managedFields")
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise ValueError("managedFields must be a list")
    out: Managers = {}
    for entry in raw:
        if not isinstance(entry, dict):
            raise ValueError("managedFields entries must be objects")
        if entry.get("fieldsType", "") not in ("", mf.FIELDS_V1):
            raise ValueError("unknown fieldsType")
        operation = entry.get("operation", "")
        if operation not in (mf.APPLY, mf.UPDATE):
            raise ValueError("unknown operation")
        m = Manager(str(entry.get("manager", "")), operation, str(entry.get("apiVersion", "")),
                    fp.from_fields_v1(entry.get("fieldsV1") or {}), entry.get("time"),
                    str(entry.get("subresource", "")))
        out[m.identity] = m
    return out


def ref_encode(managers: Iterable[Manager]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for m in sorted((m for m in managers if m.fields),
                    key=lambda m: (m.operation, m.time or "", m.manager, m.api_version, m.subresource)):
        entry: dict[str, Any] = {"manager": m.manager, "operation": m.operation, "apiVersion": m.api_version}
        if m.time is not None:
            entry["time"] = m.time
        entry["fieldsType"] = mf.FIELDS_V1
        entry["fieldsV1"] = fp.to_fields_v1(m.fields)
        if m.subresource:
            entry["subresource"] = m.subresource
        entries.append(entry)
    return entries


def _body(obj: dict[str, Any] | None) -> dict[str, Any]:
    if obj is None:
        return {}
    body = copy.deepcopy(obj)
    meta = body.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    return body


def _with_managed_fields(obj: dict[str, Any], managers: Managers) -> dict[str, Any]:
    entries = ref_encode(managers.values())
    meta = obj.setdefault("metadata", {})
    if entries:
        meta["managedFields"] = entries
    else:
        meta.pop("managedFields", None)
    return obj


def ref_track_update(old: dict[str, Any] | None, new: dict[str, Any], manager: str, operation: str,
                     type_def: TypeDef | None, *, lookup: Lookup | None = None, subresource: str = "",
                     ignored_fields: Iterable[tuple[str, ...]] = (), api_version: str | None = None,
                     now: str) -> dict[str, Any]:
    manager = manager or "unknown"
    schema = Schema(lookup)
    typed = RefTyped(schema)
    root = schema.root(type_def)
    ignored = _ignored(ignored_fields)
    version = api_version or str(new.get("apiVersion") or (old or {}).get("apiVersion", ""))
    sent = (new.get("metadata") or {}).get("managedFields")
    try:
        managers = ref_decode(new) if sent and not subresource else ref_decode(old)
    except ValueError:
        try:
            managers = ref_decode(old)
        except ValueError:
            managers = {}
    old_body = _body(old)
    result = _body(new)
    comparison = typed.compare(old_body, result, root, creating=old is None).exclude(ignored)
    me = (manager, operation, version, subresource)
    managers, _ = _owned_by_others(managers, ("", "", "", "\0"), comparison, True)
    mine = fp.recursive_difference(frozenset(comparison.added | comparison.modified), ignored) - STRIPPED
    if mine:
        previous = managers.get(me)
        fields = mine | previous.fields if previous else mine
        managers[me] = Manager(manager, operation, version, fields, now, subresource)
    managers = mf.cap_update_managers(managers)
    return _with_managed_fields(result, managers)


def ref_apply(live: dict[str, Any] | None, applied: dict[str, Any], manager: str, force: bool,
              type_def: TypeDef | None, *, lookup: Lookup | None = None, subresource: str = "",
              ignored_fields: Iterable[tuple[str, ...]] = (), now: str) -> dict[str, Any]:
    """The original server-side apply (without the request checks and the last-applied sync)."""
    version = str(applied.get("apiVersion", ""))
    manager = manager or "unknown"
    schema = Schema(lookup)
    typed = RefTyped(schema)
    root = schema.root(type_def)
    ignored = _ignored(ignored_fields)
    managers = ref_decode(live)
    live_body = _body(live)
    config = copy.deepcopy(applied)
    merged = typed.merge(live_body, config, root)
    applied_set = fp.recursive_difference(typed.field_set(config, root), ignored) - STRIPPED
    me = (manager, mf.APPLY, "", subresource)
    last = managers.get(me)
    managers[me] = Manager(manager, mf.APPLY, version, applied_set, last.time if last else None, subresource)
    if last is not None and last.fields:
        owned: FieldSet = frozenset().union(*(m.fields for m in managers.values()))
        prune = typed.with_named_parents(last.fields, root) - typed.with_named_parents(owned, root)
        merged = typed.remove(merged, frozenset(prune), root)
        if merged is MISSING:
            merged = {}
    comparison = typed.compare(live_body, merged, root).exclude(ignored)
    managers, _ = _owned_by_others(managers, me, comparison, force)
    if comparison.is_same():
        result = live_body
    else:
        result = merged
        managers[me] = Manager(manager, mf.APPLY, version, applied_set, now, subresource)
    return _with_managed_fields(copy.deepcopy(result), managers)


def ref_json(value: Any) -> str:
    """A canonical text of a JSON value that keeps the difference between 1, 1.0 and true."""
    return json.dumps(value, sort_keys=False)
