"""Small helpers shared by the strategies: safe getters, upstream-style defaulting, field paths, errors."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, TypeGuard

from kybernetes.api.errors import FieldError
from kybernetes.api.patch.common import clone
from kybernetes.api.quantity import Quantity, QuantityError, parse_quantity

Obj = dict[str, Any]


def m(obj: Any, key: str) -> Obj:
    """``obj[key]`` when it is a JSON object, else an empty (detached) dict."""
    if type(obj) is dict or isinstance(obj, Mapping):
        value = obj.get(key)
        if isinstance(value, dict):
            return value
    return {}


def lst(obj: Any, key: str) -> list[Any]:
    if type(obj) is dict or isinstance(obj, Mapping):
        value = obj.get(key)
        if isinstance(value, list):
            return value
    return []


def s(obj: Any, key: str) -> str:
    if type(obj) is dict or isinstance(obj, Mapping):
        value = obj.get(key)
        if isinstance(value, str):
            return value
    return ""


def child(obj: Obj, key: str) -> Obj:
    """``obj[key]`` as a dict, created (or replacing null) when missing — for defaulting in place."""
    value = obj.get(key)
    if not isinstance(value, dict):
        value = {}
        obj[key] = value
    return value


def default_str(obj: Obj, key: str, value: str) -> None:
    """Default a plain Go string field: absent, null or ``""`` take the default."""
    if obj.get(key) in (None, ""):
        obj[key] = value


def default_ptr(obj: Obj, key: str, value: Any) -> None:
    """Default a Go pointer field: only absent or null take the default (``0`` and ``false`` are values)."""
    if obj.get(key) is None:
        obj[key] = clone(value)


def default_zero(obj: Obj, key: str, value: int) -> None:
    """Default a plain Go int field: absent, null or ``0`` take the default."""
    if obj.get(key) in (None, 0):
        obj[key] = value


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def not_found(path: str, value: Any) -> FieldError:
    return FieldError("FieldValueNotFound", path, "", value, True)


_CACHE_SIZE = 4096
# Memos of parse_quantity and Quantity.canonical for hashable values: a Quantity is immutable and the same few
# strings ("100m", "128Mi") recur in every object.  Keys carry the type so 1, 1.0 and True stay apart.
_PARSED: dict[tuple[type, Any], Quantity] = {}
_CANONICAL: dict[tuple[type, Any], str] = {}


def _remember(cache: dict[tuple[type, Any], Any], key: tuple[type, Any], value: Any) -> None:
    if len(cache) >= _CACHE_SIZE:
        cache.clear()
    cache[key] = value


def parse_quantity_memo(value: Any) -> Quantity:
    """:func:`kybernetes.api.quantity.parse_quantity`, memoized; raises QuantityError likewise."""
    try:
        key = (type(value), value)
        q = _PARSED.get(key)
    except TypeError:  # unhashable: let the parser reject it
        return parse_quantity(value)
    if q is None:
        q = parse_quantity(value)
        _remember(_PARSED, key, q)
    return q


def _canonical(value: Any) -> str:
    try:
        key = (type(value), value)
        text = _CANONICAL.get(key)
    except TypeError:
        return parse_quantity(value).canonical()
    if text is None:
        text = parse_quantity_memo(value).canonical()
        _remember(_CANONICAL, key, text)
    return text


def quantity_errors(value: Any, path: str) -> tuple[list[FieldError], Any]:
    """Parse a quantity field: (errors, parsed Quantity or None)."""
    try:
        return [], parse_quantity_memo(value)
    except QuantityError as exc:
        return [FieldError("FieldValueInvalid", path, str(exc), value, True)], None


def canonical_quantities(resources: Any) -> None:
    """Rewrite a ``{name: quantity}`` map's values to canonical strings in place."""
    if not isinstance(resources, dict):
        return
    for key, value in list(resources.items()):
        with contextlib.suppress(QuantityError):
            resources[key] = _canonical(value)


def g(obj: Any, key: str) -> Any:
    """``obj.get(key)`` when ``obj`` is a JSON object, else None."""
    return obj.get(key) if type(obj) is dict or isinstance(obj, Mapping) else None
