"""The shape of a JSON value as patches see it: struct, granular or atomic map, list kind, scalar, or untyped.

A :class:`Shape` is derived from the schema facts (:class:`TypeDef` / :class:`FieldDef`) and carries both
what strategic merge patch needs (patch strategy, merge key) and what server-side apply needs (list type and
keys, atomicity).  Values without schema facts are *untyped*: objects merge key by key, lists are atomic.

Type references are resolved through a :data:`Lookup` callable so the code works with hand-built types in
tests and with the generated table in production (:func:`default_lookup`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kybernetes.api.schema import FieldDef, TypeDef

Lookup = Callable[[str], TypeDef | None]

OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

STRUCT = "struct"
MAP = "map"
LIST = "list"
SCALAR = "scalar"
UNTYPED = "untyped"


def default_lookup(name: str) -> TypeDef | None:
    """Resolve ``name`` in the generated schema table; None when unknown or the table is unavailable."""
    from kybernetes.api import schema

    try:
        return schema.definition(name)
    except NotImplementedError:
        return None


@dataclass(frozen=True, slots=True)
class Shape:
    """What one JSON value is.  ``patch_strategy``/``merge_key`` come from the field that holds the value."""

    kind: str
    type_def: TypeDef | None = None  # STRUCT: the message type
    elem: Shape | None = None  # MAP values / LIST items
    atomic: bool = False  # STRUCT/MAP: replaced whole; LIST: list_type atomic
    list_type: str = ""  # LIST: "atomic", "set" or "map"
    keys: tuple[str, ...] = ()  # LIST map: the key fields
    patch_strategy: str = ""  # SMP strategy without "retainKeys": "", "merge" or "replace"
    merge_key: str = ""  # SMP merge key
    retain_keys: bool = False  # SMP strategy includes retainKeys
    meta_def: TypeDef | None = None  # UNTYPED root of a custom resource: ObjectMeta for "metadata"


_UNTYPED = Shape(UNTYPED)
_SCALAR = Shape(SCALAR)


class Schema:
    """Builds shapes from type facts, resolving references with ``lookup``."""

    def __init__(self, lookup: Lookup | None = None) -> None:
        self.lookup: Lookup = lookup or default_lookup

    def root(self, type_def: TypeDef | None) -> Shape:
        """The shape of a top-level object; ``None`` means a custom resource (untyped, typed metadata)."""
        if type_def is None:
            return Shape(UNTYPED, meta_def=self.lookup(OBJECT_META))
        return self.struct(type_def)

    def struct(self, type_def: TypeDef | None) -> Shape:
        if type_def is None:
            return _UNTYPED
        return Shape(STRUCT, type_def=type_def, atomic=type_def.map_type == "atomic")

    def field(self, fd: FieldDef) -> Shape:
        """The shape of the value held by field ``fd``."""
        if fd.type == "object":
            base = self.struct(self.lookup(fd.ref))
        elif fd.type == "raw":
            base = _UNTYPED
        else:
            base = _SCALAR
        strategies = [s for s in fd.patch_strategy.split(",") if s]
        retain = "retainKeys" in strategies
        strategy = next((s for s in strategies if s != "retainKeys"), "")
        if fd.repeated:
            list_type = fd.list_type
            if not list_type:
                list_type = ("map" if fd.merge_key else "set") if strategy == "merge" else "atomic"
            keys = fd.list_map_keys or ((fd.merge_key,) if fd.merge_key else ())
            return Shape(LIST, elem=base, atomic=list_type == "atomic", list_type=list_type, keys=keys,
                         patch_strategy=strategy, merge_key=fd.merge_key, retain_keys=retain)
        if fd.map:
            return Shape(MAP, elem=base, atomic=fd.map_type == "atomic", patch_strategy=strategy,
                         retain_keys=retain)
        if base.kind == STRUCT:
            return Shape(STRUCT, type_def=base.type_def, atomic=base.atomic, patch_strategy=strategy,
                         retain_keys=retain)
        return base

    def child(self, shape: Shape, key: str) -> tuple[Shape, bool]:
        """The shape of ``key`` inside an object of ``shape`` and whether it is a declared struct field."""
        if shape.kind == STRUCT and shape.type_def is not None:
            fd = shape.type_def.fields.get(key)
            if fd is not None:
                return self.field(fd), True
            return _UNTYPED, False
        if shape.kind == MAP and shape.elem is not None:
            return shape.elem, False
        if shape.kind == UNTYPED and shape.meta_def is not None and key == "metadata":
            return self.struct(shape.meta_def), True
        return _UNTYPED, False

    @staticmethod
    def item(shape: Shape) -> Shape:
        """The shape of one item of a list of ``shape``."""
        return shape.elem if shape.elem is not None else _UNTYPED
