"""Custom resources: a CustomResourceDefinition becomes registry entries, served like built-ins.

Every served version of an established CRD is a :class:`Resource` with ``is_custom``; objects are stored once, in
the CRD's storage version, under ``/registry/<group>/<plural>/``.  Conversion between versions is strategy
``None`` (only ``apiVersion`` changes), which is what upstream does without a webhook.
"""

from __future__ import annotations

import re
from typing import Any

from kybernetes.api import crdschema
from kybernetes.api.errors import FieldError
from kybernetes.api.registry import STATUS, Registry, Resource, Subresource
from kybernetes.api.strategy import Strategy

Obj = dict[str, Any]

_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Kube-aware version order: v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > anything else (alphabetical)."""
    m = _VERSION.match(version)
    if not m:
        return (0, 0, 0, version)
    major, stage, minor = int(m.group(1)), m.group(2), int(m.group(3) or 0)
    rank = {None: 3, "beta": 2, "alpha": 1}[stage]
    return (rank, major, minor, "")


def resources_from_crd(crd: Obj) -> list[Resource]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group", "")
    plural = names.get("plural", "")
    kind = names.get("kind", "")
    if not (group and plural and kind):
        return []
    versions = [v for v in spec.get("versions") or [] if v.get("served", True)]
    versions.sort(key=lambda v: version_priority(v.get("name", "")), reverse=True)
    storage = next((v["name"] for v in spec.get("versions") or [] if v.get("storage")), "")
    out: list[Resource] = []
    for v in versions:
        subs: list[Subresource] = []
        subresources = v.get("subresources") or {}
        if "status" in subresources:
            subs.append(STATUS)
        if "scale" in subresources:
            scale = subresources.get("scale") or {}
            subs.append(Subresource("scale", "Scale", "autoscaling", "v1", scale_paths=(
                scale.get("specReplicasPath", ".spec.replicas"), scale.get("statusReplicasPath", ".status.replicas"),
                scale.get("labelSelectorPath", ""))))
        out.append(Resource(
            group, v["name"], kind, plural, spec.get("scope", "Namespaced") == "Namespaced",
            tuple(names.get("shortNames") or ()), tuple(names.get("categories") or ()),
            subresources=tuple(subs), storage_resource=f"{group}/{plural}",
            storage_api_version=f"{group}/{storage}" if storage else "", is_custom=True))
    return out


def printer_columns(crd: Obj) -> dict[str, list[Obj]]:
    """additionalPrinterColumns per version name."""
    return {v["name"]: list(v.get("additionalPrinterColumns") or [])
            for v in (crd.get("spec") or {}).get("versions") or []}


def version_schemas(crd: Obj) -> dict[str, Obj]:
    """openAPIV3Schema per version name (versions without a schema are left out)."""
    out: dict[str, Obj] = {}
    for v in (crd.get("spec") or {}).get("versions") or []:
        schema = (v.get("schema") or {}).get("openAPIV3Schema")
        if isinstance(schema, dict):
            out[v["name"]] = schema
    return out


def has_status(crd: Obj, version: str) -> bool:
    for v in (crd.get("spec") or {}).get("versions") or []:
        if v.get("name") == version:
            return "status" in (v.get("subresources") or {})
    return False


def apply_crd(registry: Registry, crd: Obj | None, old: Obj | None) -> list[Resource]:
    """Update the registry for a created, changed or deleted CRD; returns the resources now served for it."""
    if old is not None:
        for res in resources_from_crd(old):
            registry.remove(res.group, res.version, res.plural)
    if crd is None:
        return []
    resources = resources_from_crd(crd)
    for res in resources:
        registry.add(res)
    return resources


class CustomResourceStrategy:
    """The generic strategy plus validation against the CRD version's openAPIV3Schema."""

    def __init__(self, base: Strategy, schema: Obj | None) -> None:
        self._base = base
        self._schema = schema
        self.has_status_subresource = base.has_status_subresource

    def prepare_for_create(self, obj: Obj) -> None:
        self._base.prepare_for_create(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        self._base.prepare_for_update(new, old)

    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        self._base.prepare_for_status_update(new, old)

    def default(self, obj: Obj) -> None:
        self._base.default(obj)

    def _schema_errors(self, obj: Obj) -> list[FieldError]:
        return crdschema.validate(obj, self._schema) if self._schema else []

    def validate(self, obj: Obj) -> list[FieldError]:
        return self._base.validate(obj) + self._schema_errors(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return self._base.validate_update(new, old) + self._schema_errors(new)

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return self._base.validate_status_update(new, old) + self._schema_errors(new)

    def generation_changes(self, new: Obj, old: Obj) -> bool:
        return self._base.generation_changes(new, old)

    def warnings(self, obj: Obj) -> list[str]:
        return self._base.warnings(obj)
