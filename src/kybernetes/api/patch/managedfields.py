"""``metadata.managedFields``: decoding, encoding, manager identity and upstream's entry order and cap.

Managers are identified like upstream: appliers by (manager, subresource), updaters by (manager, apiVersion,
subresource).  Entries are written sorted: ``Apply`` before ``Update``, then by time, manager, apiVersion and
subresource.  At most :data:`MAX_UPDATE_MANAGERS` ``Update`` entries are kept; the oldest are folded into an
``ancient-changes`` entry per apiVersion.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import orjson

from kybernetes.api.patch import fieldpath as fp
from kybernetes.api.patch.fieldpath import FieldSet

APPLY = "Apply"
UPDATE = "Update"
FIELDS_V1 = "FieldsV1"
MAX_UPDATE_MANAGERS = 10
ANCIENT_CHANGES = "ancient-changes"

Identity = tuple[str, str, str, str]  # (manager, operation, apiVersion or "" for Apply, subresource)


@dataclass(frozen=True)
class Manager:
    """One managedFields entry, decoded."""

    manager: str
    operation: str
    api_version: str
    fields: FieldSet
    time: str | None = None
    subresource: str = ""

    @property
    def identity(self) -> Identity:
        version = "" if self.operation == APPLY else self.api_version
        return (self.manager, self.operation, version, self.subresource)

    @property
    def identifier(self) -> str:
        """Upstream's manager identifier: the entry's JSON without time and fields."""
        entry: dict[str, Any] = {"manager": self.manager, "operation": self.operation}
        if self.operation != APPLY and self.api_version:
            entry["apiVersion"] = self.api_version
        if self.subresource:
            entry["subresource"] = self.subresource
        return json.dumps(entry, separators=(",", ":"))

    def describe(self) -> str:
        """How conflict messages name the manager: ``"kubectl-client-side-apply" using apps/v1``."""
        text = json.dumps(self.manager, ensure_ascii=False)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource, ensure_ascii=False)}"
        if self.operation == UPDATE:
            text += f" using {self.api_version}"
        return text


Managers = dict[Identity, Manager]


_last_time: tuple[int, str] = (-1, "")


def now_rfc3339() -> str:
    """The current time as a metav1.Time (RFC 3339, seconds, UTC)."""
    global _last_time
    seconds = int(time.time())
    if seconds != _last_time[0]:
        text = dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        _last_time = (seconds, text)
    return _last_time[1]


def decode(obj: dict[str, Any] | None) -> Managers:
    """The managers recorded in ``obj.metadata.managedFields``; raises ``ValueError`` when malformed."""
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
        fields_type = entry.get("fieldsType", "")
        if fields_type not in ("", FIELDS_V1):
            raise ValueError(f'unknown fieldsType "{fields_type}"')
        operation = entry.get("operation", "")
        if operation not in (APPLY, UPDATE):
            raise ValueError(f'unknown operation "{operation}"')
        manager = Manager(
            manager=str(entry.get("manager", "")),
            operation=operation,
            api_version=str(entry.get("apiVersion", "")),
            fields=decode_fields(entry.get("fieldsV1") or {}),
            time=entry.get("time"),
            subresource=str(entry.get("subresource", "")),
        )
        out[manager.identity] = manager
    return out


# FieldsV1 <-> field set conversions are pure and objects of one kind share a handful of field sets, so both
# directions are memoized: the encoded JSON bytes of a FieldsV1 tree map to its field set and back.
_CACHE_SIZE = 2048
_DECODED: dict[bytes, FieldSet] = {}
_ENCODED: dict[FieldSet, bytes] = {}


def _bounded_put(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= _CACHE_SIZE:
        cache.clear()
    cache[key] = value


def _canonical(fields: FieldSet) -> bool:
    """Whether ``from_fields_v1(to_fields_v1(fields)) == fields`` (true for every set the patch code builds)."""
    return () not in fields and all(e[:2] in _ELEMENT_KINDS for path in fields for e in path)


_ELEMENT_KINDS = frozenset({"f:", "k:", "v:", "i:"})


def decode_fields(raw: Any) -> FieldSet:
    """:func:`fieldpath.from_fields_v1`, memoized; raises ``ValueError`` when ``raw`` is malformed."""
    if not isinstance(raw, dict):
        return fp.from_fields_v1(raw)
    try:
        encoded = orjson.dumps(raw)
    except (orjson.JSONEncodeError, TypeError):
        return fp.from_fields_v1(raw)
    fields = _DECODED.get(encoded)
    if fields is None:
        fields = fp.from_fields_v1(raw)
        _bounded_put(_DECODED, encoded, fields)
    return fields


def encode_fields(fields: FieldSet) -> dict[str, Any]:
    """:func:`fieldpath.to_fields_v1` (a new dict on every call), memoized."""
    try:
        encoded = _ENCODED.get(fields)
    except TypeError:  # not hashable (a plain set)
        return fp.to_fields_v1(fields)
    if encoded is None:
        tree = fp.to_fields_v1(fields)
        try:
            encoded = orjson.dumps(tree)
        except (orjson.JSONEncodeError, TypeError):
            return tree
        _bounded_put(_ENCODED, fields, encoded)
        if _canonical(fields):
            _bounded_put(_DECODED, encoded, fields)
        return tree
    out: dict[str, Any] = orjson.loads(encoded)
    return out


def _sort_key(m: Manager) -> tuple[str, str, str, str, str]:
    return (m.operation, _seconds(m.time), m.manager, m.api_version, m.subresource)


def _seconds(time: str | None) -> str:
    return time or ""


def encode(managers: Iterable[Manager]) -> list[dict[str, Any]]:
    """managedFields entries in upstream's order; managers owning nothing are left out."""
    entries: list[dict[str, Any]] = []
    for m in sorted((m for m in managers if m.fields), key=_sort_key):
        entry: dict[str, Any] = {"manager": m.manager, "operation": m.operation, "apiVersion": m.api_version}
        if m.time is not None:
            entry["time"] = m.time
        entry["fieldsType"] = FIELDS_V1
        entry["fieldsV1"] = encode_fields(m.fields)
        if m.subresource:
            entry["subresource"] = m.subresource
        entries.append(entry)
    return entries


def cap_update_managers(managers: Managers, limit: int = MAX_UPDATE_MANAGERS) -> Managers:
    """Fold the oldest ``Update`` managers into ``ancient-changes`` buckets until at most ``limit`` remain."""
    updaters = [m for m in managers.values() if m.operation == UPDATE]
    if len(updaters) <= limit:
        return managers
    out = dict(managers)
    updaters.sort(key=lambda m: (_seconds(m.time), m.identifier))
    first_for_version: dict[str, Identity] = {}
    remaining = len(updaters)
    for m in updaters:
        if remaining <= limit:
            break
        bucket = (ANCIENT_CHANGES, UPDATE, m.api_version, "")
        if m.api_version not in first_for_version:
            first_for_version[m.api_version] = m.identity
            continue
        if bucket not in out:
            first = out.pop(first_for_version[m.api_version])
            out[bucket] = replace(first, manager=ANCIENT_CHANGES, subresource="")
        out[bucket] = replace(out[bucket], fields=out[bucket].fields | m.fields, time=m.time)
        del out[m.identity]
        remaining -= 1
    return out
