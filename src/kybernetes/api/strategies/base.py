"""The base strategy every kind builds on: ObjectMeta validation, status handling, generation rule.

Subclasses override the ``_default``/``_validate``/``_validate_update`` hooks and class attributes; the
public methods implement :class:`kybernetes.api.strategy.Strategy`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from kybernetes.api import validation as v
from kybernetes.api.errors import FieldError, invalid_value, required
from kybernetes.api.patch.common import clone
from kybernetes.api.strategies._util import Obj, lst, m, s

#: metadata a status update may not change (labels, annotations, resourceVersion and managedFields may)
_STATUS_LOCKED_META = (
    "name",
    "namespace",
    "uid",
    "creationTimestamp",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "finalizers",
    "ownerReferences",
)


def validate_object_meta(meta: Any, name_fn: v.NameValidator, path: str = "metadata") -> list[FieldError]:
    """``ValidateObjectMeta`` minus the namespace scope check (the server does that)."""
    if not isinstance(meta, dict):
        return [required(f"{path}.name", "name or generateName is required")]
    errs: list[FieldError] = []
    generate = s(meta, "generateName")
    if generate:
        errs.extend(invalid_value(f"{path}.generateName", generate, msg) for msg in name_fn(generate, True))
    name = s(meta, "name")
    if not name:
        errs.append(required(f"{path}.name", "name or generateName is required"))
    else:
        errs.extend(invalid_value(f"{path}.name", name, msg) for msg in name_fn(name, False))
    errs.extend(v.validate_nonnegative(meta.get("generation"), f"{path}.generation"))
    errs.extend(v.validate_labels(meta.get("labels"), f"{path}.labels"))
    errs.extend(v.validate_annotations(meta.get("annotations"), f"{path}.annotations"))
    errs.extend(_validate_owner_refs(lst(meta, "ownerReferences"), f"{path}.ownerReferences"))
    errs.extend(_validate_finalizers(lst(meta, "finalizers"), f"{path}.finalizers"))
    return errs


def _validate_owner_refs(refs: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    controllers = []
    for ref in refs:
        if not s(ref, "apiVersion"):
            errs.append(
                invalid_value(f"{path}.apiVersion", s(ref, "apiVersion"), "version must not be empty")
            )
        if not s(ref, "kind"):
            errs.append(invalid_value(f"{path}.kind", s(ref, "kind"), "kind must not be empty"))
        if not s(ref, "name"):
            errs.append(invalid_value(f"{path}.name", s(ref, "name"), "name must not be empty"))
        if not s(ref, "uid"):
            errs.append(invalid_value(f"{path}.uid", s(ref, "uid"), "uid must not be empty"))
        if isinstance(ref, dict) and ref.get("controller") is True:
            controllers.append(f"{s(ref, 'kind')}/{s(ref, 'name')}")
    if len(controllers) > 1:
        errs.append(
            invalid_value(
                path,
                refs,
                "Only one reference can have Controller set to true. Found "
                f'"true" in references for {" and ".join(controllers)}',
            )
        )
    return errs


def _validate_finalizers(finalizers: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for fin in finalizers:
        if not isinstance(fin, str):
            continue
        errs.extend(invalid_value(path, fin, msg) for msg in v.is_qualified_name(fin))
        if "/" not in fin and fin != "kubernetes" and fin not in ("orphan", "foregroundDeletion"):
            errs.append(
                invalid_value(
                    path, fin, "name is neither a standard finalizer name nor is it fully qualified"
                )
            )
    return errs


def validate_object_meta_update(new: Any, old: Any, path: str = "metadata") -> list[FieldError]:
    """``ValidateObjectMetaUpdate``: name, namespace, uid and creationTimestamp never change."""
    new_meta = new if isinstance(new, dict) else {}
    old_meta = old if isinstance(old, dict) else {}
    errs: list[FieldError] = []
    for key in ("name", "namespace", "uid", "creationTimestamp"):
        if key in old_meta and new_meta.get(key) is not None:
            errs.extend(v.validate_immutable(new_meta.get(key), old_meta.get(key), f"{path}.{key}"))
    return errs


NAME_RULES: dict[str, v.NameValidator] = {
    "subdomain": v.name_is_dns_subdomain,
    "label": v.name_is_dns_label,
    "dns1035": v.name_is_dns1035_label,
    "path-segment": v.validate_path_segment_name,
}


class BaseStrategy:
    """Metadata validation only; status subresource handling per ``has_status_subresource``."""

    has_status_subresource: bool = False
    #: whether metadata.generation is meaningful and bumped on spec changes
    tracks_generation: ClassVar[bool] = False
    #: how metadata.name is validated: "subdomain", "label", "dns1035" or "path-segment"
    name_rule: ClassVar[str] = "subdomain"

    def __init__(self, has_status: bool | None = None) -> None:
        if has_status is not None:
            self.has_status_subresource = has_status

    # --- hooks ------------------------------------------------------------------------------------
    def initial_status(self, obj: Obj) -> Obj | None:
        """The status a newly created object starts with (None: no ``status`` key)."""
        return None

    def _default(self, obj: Obj) -> None:
        pass

    def _validate(self, obj: Obj) -> list[FieldError]:
        return []

    def _validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return []

    def _validate_status(self, obj: Obj) -> list[FieldError]:
        return []

    # --- the Strategy protocol --------------------------------------------------------------------
    def prepare_for_create(self, obj: Obj) -> None:
        if self.has_status_subresource:
            status = self.initial_status(obj)
            if status is None:
                obj.pop("status", None)
            else:
                obj["status"] = status

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        if self.has_status_subresource:
            if "status" in old:
                new["status"] = clone(old["status"])
            else:
                new.pop("status", None)

    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        """Everything but ``status`` comes from ``old``; of metadata, labels, annotations, resourceVersion and
        managedFields stay as the client sent them.  ``new`` takes ``old``'s values without copying them: ``old``
        is read only from then on (the store's update may hand in the object it last wrote, shared with watchers)."""
        status = new.get("status")
        new_meta: Obj = m(new, "metadata")
        for key in list(new):
            if key not in ("status", "metadata", "apiVersion", "kind"):
                del new[key]
        for key, value in old.items():
            if key not in ("status", "metadata", "apiVersion", "kind"):
                new[key] = value
        meta = dict(new_meta)
        old_meta = m(old, "metadata")
        for key in _STATUS_LOCKED_META:
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        new["metadata"] = meta
        if status is None:
            new.pop("status", None)

    def default(self, obj: Obj) -> None:
        self._default(obj)

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = validate_object_meta(obj.get("metadata"), NAME_RULES[self.name_rule])
        errs.extend(self._validate(obj))
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = validate_object_meta(new.get("metadata"), NAME_RULES[self.name_rule])
        errs.extend(validate_object_meta_update(new.get("metadata"), old.get("metadata")))
        errs.extend(self._validate(new))
        errs.extend(self._validate_update(new, old))
        return errs

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = validate_object_meta(new.get("metadata"), NAME_RULES[self.name_rule])
        errs.extend(validate_object_meta_update(new.get("metadata"), old.get("metadata")))
        errs.extend(self._validate_status(new))
        return errs

    def generation_changes(self, new: Obj, old: Obj) -> bool:
        if not self.tracks_generation:
            return False
        return bool(new.get("spec") != old.get("spec"))

    def warnings(self, obj: Obj) -> list[str]:
        return []


class GenericStrategy(BaseStrategy):
    """Unknown kinds and custom resources: no defaults, metadata validation (path-segment names).

    Generation follows the custom-resource rule: with a status subresource, any change outside ``metadata``
    and ``status`` bumps it; without, any change outside ``metadata``.
    """

    tracks_generation: ClassVar[bool] = True
    name_rule: ClassVar[str] = "path-segment"

    def generation_changes(self, new: Obj, old: Obj) -> bool:
        skip = ("metadata", "status") if self.has_status_subresource else ("metadata",)
        strip = ("apiVersion", "kind", *skip)
        return {k: val for k, val in new.items() if k not in strip} != {
            k: val for k, val in old.items() if k not in strip
        }
