"""Server-side printing: ``meta.k8s.io/v1`` Tables for ``kubectl get``.

* :func:`build_table` — the upstream printer of a built-in kind (every kind in the registry), or the default
  ``Name``/``Created At`` table for kinds without one.
* :func:`build_custom_table` — a custom resource's table from its CRD version's ``additionalPrinterColumns``
  (``Name`` plus ``Age`` when the CRD declares none, as the upstream CRD handler does).

Rows always carry every column, wide (``priority: 1``) ones included; kubectl hides those without ``-o wide``.
``rows[].object`` follows ``includeObject``: ``Metadata`` (default) → ``PartialObjectMetadata`` with the full
metadata, ``Object`` → the object as given, ``None`` → no ``object`` key.  Inputs are never mutated.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from kybernetes.api import errors
from kybernetes.api.conversion import convert
from kybernetes.api.tables import core, other, pods, workloads
from kybernetes.api.tables.base import CREATED_AT, NAME, PRINTERS, Column, Obj, Printer, name_of
from kybernetes.api.tables.format import human_duration, parse_time, rfc3339
from kybernetes.api.tables.jsonpath import JSONPathError, find, parse

__all__ = [
    "DEFAULT_CUSTOM_COLUMNS",
    "INCLUDE_OBJECT_VALUES",
    "build_custom_table",
    "build_table",
    "column_definitions",
    "has_printer",
]

# Imported for their registrations.
_MODULES = (core, other, pods, workloads)

INCLUDE_OBJECT_VALUES = ("Metadata", "None", "Object")
DEFAULT_CUSTOM_COLUMNS: tuple[Obj, ...] = (
    {
        "name": "Age",
        "type": "date",
        "jsonPath": ".metadata.creationTimestamp",
        "description": "Time since the object was created.",
    },
)
_DEFAULT = Printer(
    (NAME, CREATED_AT),
    lambda obj, now: [name_of(obj), rfc3339((obj.get("metadata") or {}).get("creationTimestamp"))],
)


def has_printer(group: str, kind: str) -> bool:
    """True if ``group``/``kind`` has its own printer (otherwise the default table is used)."""
    return (group, kind) in PRINTERS


def column_definitions(group: str, kind: str) -> list[Obj]:
    """The ``columnDefinitions`` :func:`build_table` emits for ``group``/``kind``."""
    return [c.definition() for c in PRINTERS.get((group, kind), _DEFAULT).columns]


def _row_object(obj: Obj, include_object: str) -> Obj | None:
    if include_object == "None":
        return None
    if include_object == "Object":
        return copy.deepcopy(obj)
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": copy.deepcopy(obj.get("metadata") or {}),
    }


def _table(
    columns: tuple[Column, ...],
    objs: list[Obj],
    cells: Callable[[Obj], list[Any]],
    conditions: Callable[[Obj], list[Obj]] | None,
    include_object: str,
    with_columns: bool,
    resource_version: str,
    continue_token: str,
    remaining: int | None,
) -> Obj:
    if include_object not in INCLUDE_OBJECT_VALUES:
        raise errors.bad_request(
            errors.not_supported("includeObject", include_object, list(INCLUDE_OBJECT_VALUES)).error()
        )
    meta: Obj = {}
    if resource_version:
        meta["resourceVersion"] = resource_version
    if continue_token:
        meta["continue"] = continue_token
    if remaining is not None:
        meta["remainingItemCount"] = remaining
    rows: list[Obj] = []
    for obj in objs:
        row: Obj = {"cells": cells(obj)}
        conds = conditions(obj) if conditions else []
        if conds:
            row["conditions"] = conds
        shown = _row_object(obj, include_object)
        if shown is not None:
            row["object"] = shown
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": [c.definition() for c in columns] if with_columns else [],
        "rows": rows,
    }


def _printable(group: str, kind: str, obj: Obj) -> Obj:
    # The HPA printer reads autoscaling/v2 fields; v1 objects are converted for printing only.
    if (
        group == "autoscaling"
        and kind == "HorizontalPodAutoscaler"
        and obj.get("apiVersion") == "autoscaling/v1"
    ):
        return convert(obj, "autoscaling/v2")
    return obj


def build_table(
    group: str,
    kind: str,
    objs: list[dict[str, Any]],
    *,
    include_object: str = "Metadata",
    now: datetime | None = None,
    with_columns: bool = True,
    resource_version: str = "",
    continue_token: str = "",
    remaining: int | None = None,
) -> dict[str, Any]:
    """A complete ``meta.k8s.io/v1`` Table of ``objs`` (all of ``group``/``kind``) as upstream prints them.

    ``now`` fixes the clock for Age cells (default: the current time); ``with_columns=False`` leaves
    ``columnDefinitions`` empty (watch events after the first); ``resource_version``, ``continue_token`` and
    ``remaining`` fill the list metadata.  400 for an unknown ``include_object``.
    """
    clock = now or datetime.now(UTC)
    printer = PRINTERS.get((group, kind), _DEFAULT)
    return _table(
        printer.columns,
        objs,
        lambda o: printer.row(_printable(group, kind, o), clock),
        printer.conditions,
        include_object,
        with_columns,
        resource_version,
        continue_token,
        remaining,
    )


def _string_cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def _typed_cell(column_type: str, value: Any, now: datetime) -> Any:
    """``cellForJSONValue`` of the CRD table convertor."""
    if value is None:
        return None
    if column_type == "string":
        return _string_cell(value)
    if column_type == "integer" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if column_type == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if column_type == "boolean" and isinstance(value, bool):
        return value
    if column_type == "date" and isinstance(value, str):
        ts = parse_time(value)
        if ts is None:
            return "<invalid>"
        return human_duration((now - ts).total_seconds())
    return None


def build_custom_table(
    columns: list[dict[str, Any]],
    objs: list[dict[str, Any]],
    *,
    include_object: str = "Metadata",
    now: datetime | None = None,
    with_columns: bool = True,
    resource_version: str = "",
    continue_token: str = "",
    remaining: int | None = None,
) -> dict[str, Any]:
    """A Table for custom resources from CRD ``additionalPrinterColumns`` (``name``, ``type``, ``jsonPath``,
    optional ``format``, ``description``, ``priority``).  An empty list means upstream's default ``Age``.

    A column whose path finds nothing gets a ``null`` cell; ``date`` columns print as ages; 400 for a
    ``jsonPath`` outside the supported subset (see :mod:`kybernetes.api.tables.jsonpath`).
    """
    clock = now or datetime.now(UTC)
    specs: list[Mapping[str, Any]] = list(columns) or list(DEFAULT_CUSTOM_COLUMNS)
    defs = [NAME]
    paths = []
    for spec in specs:
        json_path = str(spec.get("jsonPath") or "")
        try:
            paths.append(parse(json_path))
        except JSONPathError:
            raise errors.bad_request(f'unrecognized column definition "{json_path}"') from None
        desc = str(spec.get("description") or "") or f"Column from the CRD, at JSONPath {json_path}"
        defs.append(
            Column(
                str(spec.get("name") or ""),
                str(spec.get("type") or "string"),
                desc,
                int(spec.get("priority") or 0),
                str(spec.get("format") or ""),
            )
        )

    def cells(obj: Obj) -> list[Any]:
        out: list[Any] = [name_of(obj)]
        for column, steps in zip(defs[1:], paths, strict=True):
            found = find(steps, obj)
            out.append(_typed_cell(column.type, found[0], clock) if found else None)
        return out

    return _table(
        tuple(defs),
        objs,
        cells,
        None,
        include_object,
        with_columns,
        resource_version,
        continue_token,
        remaining,
    )
