"""Small helpers shared by the strategies: safe getters, upstream-style defaulting, field paths, errors."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Mapping
from typing import Any, TypeGuard

from kybernetes.api.errors import FieldError
from kybernetes.api.quantity import QuantityError, parse_quantity

Obj = dict[str, Any]


def m(obj: Any, key: str) -> Obj:
    """``obj[key]`` when it is a JSON object, else an empty (detached) dict."""
    if isinstance(obj, Mapping):
        value = obj.get(key)
        if isinstance(value, dict):
            return value
    return {}


def lst(obj: Any, key: str) -> list[Any]:
    if isinstance(obj, Mapping):
        value = obj.get(key)
        if isinstance(value, list):
            return value
    return []


def s(obj: Any, key: str) -> str:
    if isinstance(obj, Mapping):
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
        obj[key] = copy.deepcopy(value)


def default_zero(obj: Obj, key: str, value: int) -> None:
    """Default a plain Go int field: absent, null or ``0`` take the default."""
    if obj.get(key) in (None, 0):
        obj[key] = value


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def not_found(path: str, value: Any) -> FieldError:
    return FieldError("FieldValueNotFound", path, "", value, True)


def quantity_errors(value: Any, path: str) -> tuple[list[FieldError], Any]:
    """Parse a quantity field: (errors, parsed Quantity or None)."""
    try:
        return [], parse_quantity(value)
    except QuantityError as exc:
        return [FieldError("FieldValueInvalid", path, str(exc), value, True)], None


def canonical_quantities(resources: Any) -> None:
    """Rewrite a ``{name: quantity}`` map's values to canonical strings in place."""
    if not isinstance(resources, dict):
        return
    for key, value in list(resources.items()):
        with contextlib.suppress(QuantityError):
            resources[key] = parse_quantity(value).canonical()


def g(obj: Any, key: str) -> Any:
    """``obj.get(key)`` when ``obj`` is a JSON object, else None."""
    return obj.get(key) if isinstance(obj, Mapping) else None
