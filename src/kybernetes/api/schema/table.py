"""Loads ``types.json`` once and answers lookups.  (Placeholder until the generator lands.)"""

from __future__ import annotations

from kybernetes.api.schema import TypeDef


def all_types() -> dict[str, TypeDef]:
    """Every known type by name."""
    raise NotImplementedError


def definition(name: str) -> TypeDef | None:
    """The type named ``name`` or None."""
    raise NotImplementedError


def definition_for_gvk(group: str, version: str, kind: str) -> TypeDef | None:
    """The top-level type served as group/version/kind, or None (e.g. custom resources)."""
    raise NotImplementedError
