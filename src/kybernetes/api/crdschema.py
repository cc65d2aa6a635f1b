"""Validation of custom resources against a CRD's structural ``openAPIV3Schema`` (upstream's messages).

Covers what users hit: ``type`` (with ``nullable`` and ``x-kubernetes-int-or-string``), ``required``, ``enum``,
``minimum``/``maximum`` (and exclusive variants), ``minLength``/``maxLength``, ``pattern``, ``minItems``/
``maxItems``, ``properties``/``additionalProperties``/``items``.  ``metadata`` is validated by the generic strategy,
not here.
"""

from __future__ import annotations

import re
from typing import Any

from kybernetes.api.errors import FieldError, not_supported, required

_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _type_ok(value: Any, wanted: str) -> bool:
    if wanted == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if wanted == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if wanted == "string":
        return isinstance(value, str)
    if wanted == "boolean":
        return isinstance(value, bool)
    if wanted == "object":
        return isinstance(value, dict)
    if wanted == "array":
        return isinstance(value, list)
    return True


def _invalid(path: str, shown: Any, detail: str) -> FieldError:
    return FieldError("FieldValueInvalid", path, detail, shown, True)


def validate(obj: dict[str, Any], schema: dict[str, Any]) -> list[FieldError]:
    """Field errors of ``obj`` (a whole custom resource) against ``schema``; empty when valid."""
    errors: list[FieldError] = []
    properties = schema.get("properties") or {}
    for key, value in obj.items():
        if key in ("apiVersion", "kind", "metadata"):
            continue
        sub = properties.get(key)
        if sub is not None:
            _check(value, sub, key, errors)
    for key in schema.get("required") or []:
        if key not in obj and key not in ("apiVersion", "kind", "metadata"):
            errors.append(required(key))
    return errors


def _check(value: Any, schema: dict[str, Any], path: str, errors: list[FieldError]) -> None:
    if value is None:
        if not schema.get("nullable") and schema.get("type"):
            errors.append(_invalid(path, "null", f"{path} in body must be of type {schema['type']}: \"null\""))
        return
    wanted = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        if not (isinstance(value, str) or _type_ok(value, "integer")):
            errors.append(_invalid(path, _type_name(value),
                                   f"{path} in body must be of type integer,string: \"{_type_name(value)}\""))
            return
    elif wanted and not _type_ok(value, wanted):
        errors.append(_invalid(path, _type_name(value),
                               f"{path} in body must be of type {wanted}: \"{_type_name(value)}\""))
        return
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        errors.append(not_supported(path, value, [str(e) for e in enum]))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_number(value, schema, path, errors)
    if isinstance(value, str):
        _check_string(value, schema, path, errors)
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(_invalid(path, len(value), f"{path} in body should have at least {schema['minItems']} "
                                                     f"items"))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(FieldError("FieldValueTooMany", path, f"must have at most {schema['maxItems']} items",
                                     len(value), False))
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _check(item, items, f"{path}[{i}]", errors)
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for key, item in value.items():
            sub = properties.get(key)
            if sub is None and isinstance(additional, dict):
                sub = additional
            if sub is not None:
                _check(item, sub, f"{path}.{key}", errors)
        for key in schema.get("required") or []:
            if key not in value:
                errors.append(required(f"{path}.{key}"))


def _check_number(value: float, schema: dict[str, Any], path: str, errors: list[FieldError]) -> None:
    if "minimum" in schema:
        low = schema["minimum"]
        if value < low or (schema.get("exclusiveMinimum") and value == low):
            word = "greater than" if schema.get("exclusiveMinimum") else "greater than or equal to"
            errors.append(_invalid(path, value, f"{path} in body should be {word} {low}"))
    if "maximum" in schema:
        high = schema["maximum"]
        if value > high or (schema.get("exclusiveMaximum") and value == high):
            word = "less than" if schema.get("exclusiveMaximum") else "less than or equal to"
            errors.append(_invalid(path, value, f"{path} in body should be {word} {high}"))


def _check_string(value: str, schema: dict[str, Any], path: str, errors: list[FieldError]) -> None:
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(FieldError("FieldValueTooLong", path, f"may not be more than {schema['maxLength']} bytes",
                                 value, False))
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors.append(_invalid(path, value, f"{path} in body should be at least {schema['minLength']} chars long"))
    pattern = schema.get("pattern")
    if pattern:
        try:
            if re.search(pattern, value) is None:
                errors.append(_invalid(path, value, f"{path} in body should match '{pattern}'"))
        except re.error:
            pass
