"""Kubernetes protobuf bodies (``application/vnd.kubernetes.protobuf``) to and from JSON dicts.

A body is the magic ``k8s\\x00`` followed by a ``runtime.Unknown`` message: 1 ``typeMeta`` {1 apiVersion, 2
kind}, 2 ``raw`` (the object in upstream's ``generated.proto`` numbering), 3 ``contentEncoding``, 4
``contentType``. Field numbers and types come from the schema table (:mod:`kybernetes.api.schema`).

Decoding gives the dict the same object has as JSON from kubectl. Upstream writes every Go value field, zero
or not, so zero scalars of optional value fields are dropped (Go's ``omitempty``) while pointer fields and
required fields keep them; a zero ``Time`` is dropped; empty messages stay ``{}``.

Special encodings: ``Quantity`` {1 string}, ``IntOrString`` {1 type, 2 intVal, 3 strVal},
``Time``/``MicroTime`` {1 seconds, 2 nanos}, ``Duration`` {1 nanos}, ``RawExtension``/``FieldsV1``/``JSON``
{1 bytes of JSON}, ``bytes`` (base64 in JSON), maps as entries {1 key, 2 value}. Fields the table has no
number for (newer than the protos it was built from) are skipped in both directions.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import re
from typing import Any

import orjson

from kybernetes.api import errors
from kybernetes.api.schema import FieldDef, TypeDef, definition, definition_for_gvk
from kybernetes.api.schema.wire import (
    FIXED64,
    LEN,
    VARINT,
    WireError,
    Writer,
    iter_fields,
    read_varint,
    to_int32,
    to_int64,
    unpack_double,
)

MAGIC = b"k8s\x00"
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"

_UNSUPPORTED_RAW = frozenset({
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray",
})
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class _Unsupported(Exception):
    """A type the codec cannot represent (no protobuf form)."""


def decode_request(body: bytes) -> dict[str, Any]:
    """The JSON dict (with apiVersion and kind) of a protobuf request body.

    Raises ``StatusError`` 400 for malformed bodies and 415 for kinds without a protobuf form (custom
    resources), never anything else.
    """
    if not body.startswith(MAGIC):
        raise errors.bad_request("provided data does not appear to be a protobuf message, expected prefix "
                                 "[107 56 115 0]")
    try:
        api_version, kind, raw, encoding = _unknown(body[len(MAGIC):])
    except WireError as exc:
        raise errors.bad_request(f"unable to decode protobuf body: {exc}") from None
    if encoding:
        raise errors.bad_request(f"unsupported protobuf content encoding {encoding!r}")
    if not kind or not api_version:
        raise errors.bad_request("Object 'Kind' is missing in protobuf body" if not kind
                                 else "Object 'apiVersion' is missing in protobuf body")
    group, _, version = api_version.rpartition("/")
    typedef = definition_for_gvk(group, version, kind)
    if typedef is None or not typedef.has_proto:
        raise errors.unsupported_media_type(MEDIA_TYPE)
    try:
        obj = _decode_message(raw, typedef)
    except (WireError, ValueError, OverflowError, RecursionError, orjson.JSONDecodeError) as exc:
        raise errors.bad_request(f"unable to decode {kind} from protobuf: {exc}") from None
    except _Unsupported as exc:
        raise errors.bad_request(f"unable to decode {kind} from protobuf: {exc} has no protobuf form") \
            from None
    return {"apiVersion": api_version, "kind": kind, **obj}


def encode_object(obj: dict[str, Any]) -> bytes:
    """The protobuf body (magic + ``runtime.Unknown``) of a JSON object with apiVersion and kind.

    Fields unknown to the schema are dropped. Raises ``ValueError`` for kinds without a protobuf form or
    values of the wrong type.
    """
    api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    group, _, version = str(api_version).rpartition("/")
    typedef = definition_for_gvk(group, version, str(kind))
    if typedef is None or not typedef.has_proto:
        raise ValueError(f"no protobuf form for {api_version}/{kind}")
    try:
        raw = _encode_message(obj, typedef)
    except _Unsupported as exc:
        raise ValueError(f"{exc} has no protobuf form") from None
    type_meta = Writer()
    type_meta.string(1, api_version)
    type_meta.string(2, kind)
    unknown = Writer()
    unknown.data(1, type_meta.getvalue())
    unknown.data(2, raw)
    unknown.string(3, "")
    unknown.string(4, "")
    return MAGIC + unknown.getvalue()


# --- decoding ---


def _unknown(data: bytes) -> tuple[str, str, bytes, str]:
    api_version = kind = encoding = ""
    raw = b""
    for number, wire, value in iter_fields(data):
        if number == 1 and wire == LEN:
            for n, w, v in iter_fields(_as_bytes(value)):
                if n == 1 and w == LEN:
                    api_version = _as_bytes(v).decode()
                elif n == 2 and w == LEN:
                    kind = _as_bytes(v).decode()
        elif number == 2 and wire == LEN:
            raw = _as_bytes(value)
        elif number == 3 and wire == LEN:
            encoding = _as_bytes(value).decode()
    return api_version, kind, raw, encoding


def _as_bytes(value: int | bytes) -> bytes:
    if isinstance(value, int):
        raise WireError("expected a length-delimited field")
    return value


@functools.cache
def _index(type_name: str) -> tuple[dict[int, FieldDef], dict[int, dict[int, FieldDef]]]:
    """Direct fields by number, and fields of embedded (inline) messages by embedding number, then number."""
    td = definition(type_name)
    direct: dict[int, FieldDef] = {}
    embedded: dict[int, dict[int, FieldDef]] = {}
    for f in td.fields.values() if td else ():
        if not f.number:
            continue
        if f.via:
            embedded.setdefault(f.via, {})[f.number] = f
        else:
            direct[f.number] = f
    return direct, embedded


def _decode_message(data: bytes, td: TypeDef) -> dict[str, Any]:
    direct, embedded = _index(td.name)
    out: dict[str, Any] = {}
    _decode_into(out, data, direct, embedded)
    return out


def _decode_into(out: dict[str, Any], data: bytes, direct: dict[int, FieldDef],
                 embedded: dict[int, dict[int, FieldDef]]) -> None:
    for number, wire, value in iter_fields(data):
        if number in embedded and wire == LEN:
            _decode_into(out, _as_bytes(value), embedded[number], {})
            continue
        f = direct.get(number)
        if f is None:
            continue
        if f.map:
            key, val = _map_entry(_as_bytes(value), f)
            out.setdefault(f.name, {})[key] = val
        elif f.repeated:
            items = out.setdefault(f.name, [])
            if wire == LEN and f.type in ("int32", "int64", "boolean", "double"):
                items.extend(_packed(_as_bytes(value), f.type))
            else:
                items.append(_value(wire, value, f))
        else:
            v = _value(wire, value, f)
            if v is _OMIT or (not f.pointer and not f.required and _is_zero(v, f)):
                out.pop(f.name, None)
            else:
                out[f.name] = v


_OMIT: Any = object()


def _is_zero(value: Any, f: FieldDef) -> bool:
    if f.type in ("object", "raw"):
        return False
    return value in ("", 0, False) and not (f.type == "double" and value != 0)


def _map_entry(data: bytes, f: FieldDef) -> tuple[str, Any]:
    key = ""
    val: Any = _OMIT
    for number, wire, value in iter_fields(data):
        if number == 1:
            key = _as_bytes(value).decode()
        elif number == 2:
            val = _value(wire, value, f)
    if val is _OMIT:
        val = _zero(f)
    return key, val


def _zero(f: FieldDef) -> Any:
    return {"string": "", "bytes": "", "boolean": False, "int32": 0, "int64": 0, "double": 0.0,
            "quantity": "0", "int-or-string": 0, "object": {}}.get(f.type)


def _packed(data: bytes, typ: str) -> list[Any]:
    out: list[Any] = []
    pos = 0
    while pos < len(data):
        if typ == "double":
            if pos + 8 > len(data):
                raise WireError("truncated packed double")
            out.append(unpack_double(data[pos:pos + 8]))
            pos += 8
            continue
        v, pos = read_varint(data, pos)
        out.append(v != 0 if typ == "boolean" else to_int32(v) if typ == "int32" else to_int64(v))
    return out


def _expect(wire: int, want: int, f: FieldDef) -> None:
    if wire != want:
        raise WireError(f"field {f.name}: wire type {wire}, expected {want}")


def _value(wire: int, value: int | bytes, f: FieldDef) -> Any:
    t = f.type
    if t in ("int32", "int64", "boolean"):
        _expect(wire, VARINT, f)
        assert isinstance(value, int)
        return value != 0 if t == "boolean" else to_int32(value) if t == "int32" else to_int64(value)
    if t == "double":
        _expect(wire, FIXED64, f)
        return unpack_double(_as_bytes(value))
    _expect(wire, LEN, f)
    data = _as_bytes(value)
    if t == "string":
        return data.decode()
    if t == "bytes":
        return base64.b64encode(data).decode()
    if t == "object":
        td = definition(f.ref)
        if td is None:
            raise _Unsupported(f.ref)
        return _decode_message(data, td)
    return _special(t, data, f)


def _special(t: str, data: bytes, f: FieldDef) -> Any:
    fields = {n: v for n, _, v in iter_fields(data)}
    if t == "quantity":
        return _as_bytes(fields.get(1, b"")).decode()
    if t == "int-or-string":
        if fields.get(1, 0) == 1:
            return _as_bytes(fields.get(3, b"")).decode()
        return to_int32(_int(fields.get(2, 0)))
    if t in ("time", "micro-time"):
        if not data:
            return _OMIT
        seconds = to_int64(_int(fields.get(1, 0)))
        when = _EPOCH + dt.timedelta(seconds=seconds)
        if t == "time":
            return when.strftime("%Y-%m-%dT%H:%M:%SZ")
        nanos = to_int32(_int(fields.get(2, 0)))
        return (when + dt.timedelta(microseconds=nanos // 1000)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if t == "duration":
        return go_duration(to_int64(_int(fields.get(1, 0))))
    if t == "raw":
        if f.ref in _UNSUPPORTED_RAW:
            raise _Unsupported(f.ref)
        raw = _as_bytes(fields.get(1, b""))
        return orjson.loads(raw) if raw else _OMIT
    raise WireError(f"unknown scalar type {t}")


def _int(value: int | bytes) -> int:
    if not isinstance(value, int):
        raise WireError("expected a varint")
    return value


_UNITS = (("h", 3600 * 10**9), ("m", 60 * 10**9))


def go_duration(nanos: int) -> str:
    """Go's ``time.Duration.String()``: ``1h2m3.5s``, ``1.5ms``, ``0s``."""
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    n = abs(nanos)
    if n < 10**9:
        for unit, size in (("ms", 10**6), ("µs", 10**3), ("ns", 1)):
            if n >= size:
                return sign + _frac(n, size) + unit
    out = ""
    for unit, size in _UNITS:
        if n >= size or out:
            out += f"{n // size}{unit}"
            n %= size
    return sign + out + _frac(n, 10**9) + "s"


def _frac(n: int, size: int) -> str:
    whole, rest = divmod(n, size)
    if not rest:
        return str(whole)
    digits = str(rest).rjust(len(str(size)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_NANOS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


def parse_go_duration(text: str) -> int:
    """Nanoseconds of a Go duration string; ``ValueError`` when malformed."""
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if body == "0":
        return 0
    pos = total = 0
    for m in _DURATION_PART.finditer(body):
        if m.start() != pos:
            break
        total += int(float(m.group(1)) * _UNIT_NANOS[m.group(2)])
        pos = m.end()
    if not body or pos != len(body):
        raise ValueError(f"invalid duration {text!r}")
    return sign * total


# --- encoding ---


def _encode_message(obj: dict[str, Any], td: TypeDef) -> bytes:
    if not isinstance(obj, dict):
        raise ValueError(f"{td.name}: expected an object")
    direct: list[FieldDef] = []
    embedded: dict[int, list[FieldDef]] = {}
    for f in td.fields.values():
        if f.number and f.name in obj and obj[f.name] is not None:
            if f.via:
                embedded.setdefault(f.via, []).append(f)
            else:
                direct.append(f)
    w = Writer()
    parts: list[tuple[int, FieldDef | None, list[FieldDef]]] = [(f.number, f, []) for f in direct]
    parts += [(via, None, fs) for via, fs in embedded.items()]
    for number, field, inner in sorted(parts, key=lambda p: p[0]):
        if field is None:
            sub = Writer()
            for f in sorted(inner, key=lambda f: f.number):
                _encode_field(sub, f, obj[f.name])
            w.data(number, sub.getvalue())
        else:
            _encode_field(w, field, obj[field.name])
    return w.getvalue()


def _encode_field(w: Writer, f: FieldDef, value: Any) -> None:
    if f.map:
        if not isinstance(value, dict):
            raise ValueError(f"{f.name}: expected an object")
        for key in sorted(value):
            entry = Writer()
            entry.string(1, key)
            if value[key] is not None:
                _encode_value(entry, 2, f, value[key])
            w.data(f.number, entry.getvalue())
    elif f.repeated:
        if not isinstance(value, list):
            raise ValueError(f"{f.name}: expected a list")
        for item in value:
            _encode_value(w, f.number, f, item)
    else:
        _encode_value(w, f.number, f, value)


def _encode_value(w: Writer, number: int, f: FieldDef, value: Any) -> None:
    t = f.type
    if t == "string":
        w.string(number, _check(value, str, f))
    elif t == "boolean":
        w.boolean(number, _check(value, bool, f))
    elif t in ("int32", "int64"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{f.name}: expected an integer")
        w.varint(number, value)
    elif t == "double":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{f.name}: expected a number")
        w.double(number, float(value))
    elif t == "bytes":
        try:
            w.data(number, base64.b64decode(_check(value, str, f), validate=True))
        except binascii.Error as exc:
            raise ValueError(f"{f.name}: {exc}") from None
    elif t == "object":
        td = definition(f.ref)
        if td is None:
            raise _Unsupported(f.ref)
        w.data(number, _encode_message(value, td))
    else:
        w.data(number, _encode_special(t, value, f))


def _check(value: Any, typ: type, f: FieldDef) -> Any:
    if not isinstance(value, typ):
        raise ValueError(f"{f.name}: expected {typ.__name__}, got {type(value).__name__}")
    return value


def _encode_special(t: str, value: Any, f: FieldDef) -> bytes:
    w = Writer()
    if t == "quantity":
        w.string(1, str(value))
    elif t == "int-or-string":
        if isinstance(value, str):
            w.varint(1, 1)
            w.string(3, value)
        elif isinstance(value, int) and not isinstance(value, bool):
            w.varint(1, 0)
            w.varint(2, value)
        else:
            raise ValueError(f"{f.name}: expected an integer or a string")
    elif t in ("time", "micro-time"):
        when = dt.datetime.fromisoformat(_check(value, str, f))
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        delta = when - _EPOCH
        w.varint(1, delta.days * 86400 + delta.seconds)
        if t == "micro-time" and delta.microseconds:
            w.varint(2, delta.microseconds * 1000)
    elif t == "duration":
        w.varint(1, parse_go_duration(_check(value, str, f)))
    elif t == "raw":
        if f.ref in _UNSUPPORTED_RAW:
            raise _Unsupported(f.ref)
        w.data(1, orjson.dumps(value))
    else:
        raise ValueError(f"unknown scalar type {t}")
    return w.getvalue()
