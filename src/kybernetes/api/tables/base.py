"""Printer plumbing: column definitions, the per-kind printer registry and the ``Name``/``Age`` helpers.

A printer is a tuple of :class:`Column` plus a function ``(obj, now) -> cells`` returning one cell per column
in column order (wide columns included: the server always prints wide; kubectl hides ``priority > 0`` ones).
Printers register under ``(group, kind)`` with :func:`printer`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

Obj = dict[str, Any]
RowFn = Callable[[Obj, datetime], list[Any]]
ConditionsFn = Callable[[Obj], list[Obj]]


@dataclass(frozen=True)
class Column:
    """One ``TableColumnDefinition``; ``priority`` 1 marks a wide-only column."""

    name: str
    type: str = "string"
    description: str = ""
    priority: int = 0
    format: str = ""

    def definition(self) -> Obj:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


def wide(name: str, description: str, type: str = "string") -> Column:
    return Column(name, type, description, 1)


NAME = Column("Name", "string", "Name of the object, unique within its namespace.", 0, "name")
AGE = Column("Age", "string", "Time since the object was created.")
CREATED_AT = Column("Created At", "date", "When the object was created (RFC 3339, UTC).")
CONTAINERS = wide("Containers", "Names of the containers in the pod template.")
IMAGES = wide("Images", "Images used by the containers in the pod template.")
SELECTOR = wide("Selector", "Label query over the pods this object manages.")


@dataclass(frozen=True)
class Printer:
    columns: tuple[Column, ...]
    row: RowFn
    conditions: ConditionsFn | None = None


PRINTERS: dict[tuple[str, str], Printer] = {}


def printer(
    group: str, kind: str, *columns: Column, conditions: ConditionsFn | None = None
) -> Callable[[RowFn], RowFn]:
    """Register the decorated row function as the printer of ``group``/``kind``."""

    def register(fn: RowFn) -> RowFn:
        PRINTERS[(group, kind)] = Printer(tuple(columns), fn, conditions)
        return fn

    return register


def name_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def created(obj: Obj) -> Any:
    return (obj.get("metadata") or {}).get("creationTimestamp")


def deleting(obj: Obj) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))
