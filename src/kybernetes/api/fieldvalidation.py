"""Strict field validation (``?fieldValidation=Strict|Warn|Ignore``): unknown and duplicate fields.

Paths are rendered like upstream's strict JSON decoder: object keys joined with dots, list indexes in
brackets (``spec.template.spec.containers[0].bar``). Free-form spots are never reported: ``raw`` fields
(``RawExtension``, ``FieldsV1``, CRD ``JSON``) and, in custom resource schemas, objects marked
``x-kubernetes-preserve-unknown-fields``.

With ``Strict`` the request fails with :func:`strict_error` (400, ``<Kind> in version "<v>" cannot be handled
as a <Kind>: strict decoding error: unknown field "spec.foo", duplicate field "x"``); with ``Warn`` each entry
of :func:`warnings` becomes one ``Warning`` header; with ``Ignore`` nothing happens.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import orjson
import yaml

from kybernetes.api import errors
from kybernetes.api.schema import FieldDef, definition

Segment = str | int  # an object key or a list index


def render(path: Sequence[Segment]) -> str:
    """``["spec", "containers", 0, "bar"]`` → ``spec.containers[0].bar``."""
    out = ""
    for seg in path:
        if isinstance(seg, int):
            out += f"[{seg}]"
        else:
            out += f".{seg}" if out else seg
    return out


def unknown_fields(obj: dict[str, Any], type_name: str) -> list[str]:
    """Paths of the fields of ``obj`` that the built-in type ``type_name`` (``io.k8s.api.apps.v1.Deployment``)
    does not define, in document order. An unknown ``type_name`` reports nothing."""
    out: list[str] = []
    td = definition(type_name)
    if td is not None:
        _walk_type(obj, td.fields, [], out)
    return out


def _walk_type(obj: Any, fields: dict[str, FieldDef], path: list[Segment], out: list[str]) -> None:
    if not isinstance(obj, dict):
        return
    for key, value in obj.items():
        f = fields.get(key)
        if f is None:
            out.append(render([*path, key]))
            continue
        if f.type != "object" or value is None:
            continue
        td = definition(f.ref)
        if td is None:
            continue
        here = [*path, key]
        if f.repeated and isinstance(value, list):
            for i, item in enumerate(value):
                _walk_type(item, td.fields, [*here, i], out)
        elif f.map and isinstance(value, dict):
            for k, item in value.items():
                _walk_type(item, td.fields, [*here, k], out)
        elif not f.repeated and not f.map:
            _walk_type(value, td.fields, here, out)


def patch_adds_unknown_fields(patch: Any, type_name: str) -> bool:
    """Whether a merge or strategic merge ``patch`` sets a field ``type_name`` does not define (directives such as
    ``$patch`` and ``$setElementOrder/…`` are not fields; ``null`` removes).  Applied to an object without unknown
    fields, a patch for which this is False gives one without unknown fields, so the patched object's walk can be
    skipped; an unknown ``type_name`` reports False."""
    td = definition(type_name)
    return td is not None and _patch_unknown(patch, td.fields)


def _patch_unknown(obj: Any, fields: dict[str, FieldDef]) -> bool:
    if not isinstance(obj, dict):
        return False
    for key, value in obj.items():
        if value is None or key.startswith("$"):
            continue
        f = fields.get(key)
        if f is None:
            return True
        if f.type != "object":
            continue
        td = definition(f.ref)
        if td is None:
            continue
        if f.repeated and isinstance(value, list):
            if any(_patch_unknown(item, td.fields) for item in value):
                return True
        elif f.map and isinstance(value, dict):
            if any(_patch_unknown(item, td.fields) for item in value.values()):
                return True
        elif not f.repeated and not f.map and _patch_unknown(value, td.fields):
            return True
    return False


def unknown_fields_in_schema(obj: Any, schema: dict[str, Any]) -> list[str]:
    """Paths of fields not described by a structural (CRD) schema: ``properties``, ``items``,
    ``additionalProperties`` and ``x-kubernetes-preserve-unknown-fields``. ``metadata``, ``apiVersion`` and
    ``kind`` at the root (and in ``x-kubernetes-embedded-resource`` objects) are never reported."""
    out: list[str] = []
    _walk_schema(obj, schema, [], out, embedded=True)
    return out


_EMBEDDED = ("apiVersion", "kind", "metadata")


def _walk_schema(obj: Any, schema: dict[str, Any], path: list[Segment], out: list[str],
                 embedded: bool) -> None:
    if isinstance(obj, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(obj):
                _walk_schema(item, items, [*path, i], out, bool(items.get("x-kubernetes-embedded-resource")))
        return
    if not isinstance(obj, dict) or schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    props: dict[str, Any] = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    for key, value in obj.items():
        sub = props.get(key)
        if sub is None and isinstance(extra, dict):
            sub = extra
        if sub is None:
            if not (extra is True or (embedded and key in _EMBEDDED)):
                out.append(render([*path, key]))
            continue
        if embedded and key == "metadata":
            continue
        _walk_schema(value, sub, [*path, key], out, bool(sub.get("x-kubernetes-embedded-resource")))


class _Obj(dict[str, Any]):
    """A decoded JSON object that remembers the relative paths of duplicate keys beneath it."""

    dups: list[list[Segment]]


def _child_dups(value: Any) -> list[list[Segment]]:
    if isinstance(value, _Obj):
        return value.dups
    if isinstance(value, list):
        return [[i, *d] for i, item in enumerate(value) for d in _child_dups(item)]
    return []


def _hook(pairs: list[tuple[str, Any]]) -> _Obj:
    obj = _Obj()
    dups: list[list[Segment]] = []
    for key, value in pairs:
        if key in obj:
            dups.append([key])
        dups += [[key, *d] for d in _child_dups(value)]
        obj[key] = value
    obj.dups = dups
    return obj


def duplicate_fields(body: bytes, content_type: str, decoded: Any = None) -> list[str]:
    """Paths of keys that appear twice in one object of a JSON or YAML body, in document order.

    ``decoded``, when given, is what the body decoded to: a compact JSON body (what client-go, kubectl and our
    clients send) that re-encodes to exactly its own bytes has no duplicate key — the encoding of a decoded
    object never repeats one — and needs no second parse.  Bodies that do not parse, and other media types
    (protobuf), report nothing: syntax errors are the decoder's to report.
    """
    if isinstance(decoded, dict | list):
        try:
            if orjson.dumps(decoded) == body:
                return []
        except (orjson.JSONEncodeError, TypeError):
            pass
    media = content_type.split(";", 1)[0].strip().lower()
    if media.endswith("yaml"):
        # ASCII JSON without \u escapes decodes its keys exactly as YAML does (YAML knows every other JSON
        # escape; \u surrogate pairs and raw non-ASCII line breaks are where they differ), so the JSON proof
        # holds for it; anything else (YAML syntax, \u, a duplicate) takes the exact YAML walk.
        if body.lstrip()[:1] == b"{" and body.isascii() and b"\\u" not in body and _json_unique(body) is True:
            return []
        return _yaml_duplicates(body)
    if not media.endswith("json"):
        return []
    unique = _json_unique(body)
    if unique is not False:
        return []  # no duplicates, or not JSON at all (both report nothing)
    try:
        doc = json.loads(body, object_pairs_hook=_hook)
    except (ValueError, RecursionError):
        return []
    return [render(p) for p in _child_dups(doc)]


class _Duplicate(Exception):
    pass


def _unique_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _Duplicate
    return obj


def _json_unique(body: bytes) -> bool | None:
    """True when ``body`` is JSON whose objects have no repeated key, False when one has, None when it is not
    JSON.  Cheap: the C scanner does the work, Python only compares two lengths per object."""
    try:
        json.loads(body, object_pairs_hook=_unique_hook)
    except _Duplicate:
        return False
    except (ValueError, RecursionError):
        return None
    return True


def _yaml_duplicates(body: bytes) -> list[str]:
    try:
        node = yaml.compose(body, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return []
    out: list[str] = []
    if node is not None:
        _yaml_walk(node, [], out)
    return out


def _yaml_walk(node: yaml.Node, path: list[Segment], out: list[str]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                out.append(render([*path, key]))
            seen.add(key)
            _yaml_walk(value_node, [*path, key], out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _yaml_walk(item, [*path, i], out)


def strict_message(unknown: Sequence[str], duplicates: Sequence[str]) -> str:
    """``strict decoding error: unknown field "spec.foo", duplicate field "x"`` (upstream's wording)."""
    parts = [f'unknown field "{p}"' for p in unknown] + [f'duplicate field "{p}"' for p in duplicates]
    return "strict decoding error: " + ", ".join(parts)


def strict_error(kind: str, version: str, unknown: Sequence[str],
                 duplicates: Sequence[str]) -> errors.StatusError:
    """The 400 a ``fieldValidation=Strict`` write fails with (worded as upstream's create/update handlers)."""
    return errors.bad_request(f'{kind} in version "{version}" cannot be handled as a {kind}: '
                              + strict_message(unknown, duplicates))


def warnings(unknown: Sequence[str], duplicates: Sequence[str]) -> list[str]:
    """One ``Warning`` header text per problem, for ``fieldValidation=Warn``."""
    return [f'unknown field "{p}"' for p in unknown] + [f'duplicate field "{p}"' for p in duplicates]
