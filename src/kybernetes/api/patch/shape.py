"""The shape of a JSON value as patches see it: struct, granular or atomic map, list kind, scalar, or untyped.

A :class:`Shape` is derived from the schema facts (:class:`TypeDef` / :class:`FieldDef`) and carries both
what strategic merge patch needs (patch strategy, merge key) and what server-side apply needs (list type and
keys, atomicity).  Values without schema facts are *untyped*: objects merge key by key, lists are atomic.

Type references are resolved through a :data:`Lookup` callable so the code works with hand-built types in
tests and with the generated table in production (:func:`default_lookup`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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
    # Derived: objects merged/compared key by key (non-atomic struct or map, or untyped), granular lists.
    granular_object: bool = field(init=False, repr=False, compare=False)
    granular_list: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "granular_object",
                           (self.kind in (STRUCT, MAP) and not self.atomic) or self.kind == UNTYPED)
        object.__setattr__(self, "granular_list", self.kind == LIST and not self.atomic)


Child = tuple[Shape, bool, bool]  # see Schema.children

_UNTYPED = Shape(UNTYPED)
_SCALAR = Shape(SCALAR)


class Schema:
    """Builds shapes from type facts, resolving references with ``lookup``."""

    def __init__(self, lookup: Lookup | None = None) -> None:
        self.lookup: Lookup = lookup or default_lookup
        # Memos keyed by id(); each entry keeps its key object alive so the id cannot be reused meanwhile.
        self._structs: dict[int, tuple[TypeDef, Shape]] = {}
        self._fields: dict[int, tuple[FieldDef, Shape]] = {}
        self._refs: dict[str, TypeDef | None] = {}
        self._untyped_root: Shape | None = None
        self._children: dict[int, tuple[Shape, tuple[dict[str, Child], Child]]] = {}

    def root(self, type_def: TypeDef | None) -> Shape:
        """The shape of a top-level object; ``None`` means a custom resource (untyped, typed metadata)."""
        if type_def is None:
            if self._untyped_root is None:
                self._untyped_root = Shape(UNTYPED, meta_def=self._resolve(OBJECT_META))
            return self._untyped_root
        return self.struct(type_def)

    def _resolve(self, name: str) -> TypeDef | None:
        try:
            return self._refs[name]
        except KeyError:
            td = self._refs[name] = self.lookup(name)
            return td

    def struct(self, type_def: TypeDef | None) -> Shape:
        if type_def is None:
            return _UNTYPED
        memo = self._structs.get(id(type_def))
        if memo is not None:
            return memo[1]
        shape = Shape(STRUCT, type_def=type_def, atomic=type_def.map_type == "atomic")
        self._structs[id(type_def)] = (type_def, shape)
        return shape

    def field(self, fd: FieldDef) -> Shape:
        """The shape of the value held by field ``fd``."""
        memo = self._fields.get(id(fd))
        if memo is not None:
            return memo[1]
        shape = self._field(fd)
        self._fields[id(fd)] = (fd, shape)
        return shape

    def _field(self, fd: FieldDef) -> Shape:
        if fd.type == "object":
            base = self.struct(self._resolve(fd.ref))
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
        table, default = self.children(shape)
        child, declared, _ = table.get(key, default)
        return child, declared

    def children(self, shape: Shape) -> tuple[dict[str, Child], Child]:
        """:meth:`child` for every key of an object of ``shape`` at once: a table of the keys with their own
        answer and the answer for every other key.  Each answer is (shape, declared struct field, declared
        struct field holding a struct).  Memoized per shape; callers must not modify the table."""
        memo = self._children.get(id(shape))
        if memo is not None:
            return memo[1]
        table: dict[str, Child] = {}
        default: Child = (_UNTYPED, False, False)
        if shape.kind == STRUCT and shape.type_def is not None:
            for key, fd in shape.type_def.fields.items():
                child = self.field(fd)
                table[key] = (child, True, child.kind == STRUCT)
        elif shape.kind == MAP and shape.elem is not None:
            default = (shape.elem, False, False)
        elif shape.kind == UNTYPED and shape.meta_def is not None:
            table["metadata"] = (self.struct(shape.meta_def), True, True)
        answer = (table, default)
        self._children[id(shape)] = (shape, answer)
        return answer

    @staticmethod
    def item(shape: Shape) -> Shape:
        """The shape of one item of a list of ``shape``."""
        return shape.elem if shape.elem is not None else _UNTYPED


_DEFAULT_SCHEMA: Schema | None = None


def schema_for(lookup: Lookup | None) -> Schema:
    """A :class:`Schema` for ``lookup``.  The default lookup (None or :func:`default_lookup`) resolves against
    the immutable generated table, so its schema and memoized shapes are shared process-wide; any other lookup
    gets a fresh schema (it may answer differently from one call to the next)."""
    global _DEFAULT_SCHEMA
    if lookup is None or lookup is default_lookup:
        if _DEFAULT_SCHEMA is None:
            _DEFAULT_SCHEMA = Schema()
        return _DEFAULT_SCHEMA
    return Schema(lookup)
