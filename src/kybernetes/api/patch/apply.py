"""Server-side apply (``application/apply-patch+yaml``) and managedFields tracking for ordinary writes.

:func:`apply` merges an applied configuration into the live object, records the applier's fields, prunes
fields the applier set before and dropped now (unless another manager still owns them) and refuses, with 409
``Conflict``, to change fields other managers own — unless ``force``, which takes them over.

:func:`track_update` maintains managedFields for create/update/patch (operation ``Update``): the writer gains
what it added or changed, and other managers lose what it changed or removed.

Both are pure: they return new objects and never modify their inputs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from kybernetes.api.errors import StatusError, bad_request
from kybernetes.api.patch import fieldpath as fp
from kybernetes.api.patch import managedfields as mf
from kybernetes.api.patch.common import clone, server_error
from kybernetes.api.patch.fieldpath import FieldSet, Path
from kybernetes.api.patch.managedfields import Manager, Managers
from kybernetes.api.patch.shape import Lookup, Shape, schema_for
from kybernetes.api.patch.typed import MISSING, Comparison, Typed
from kybernetes.api.schema import TypeDef

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# Fields nobody owns (upstream's stripMetaManager): removed exactly, not recursively.
STRIPPED: FieldSet = frozenset({
    fp.make_path("apiVersion"), fp.make_path("kind"), fp.make_path("metadata"),
    *(fp.make_path("metadata", name) for name in (
        "name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName", "generation",
        "managedFields", "resourceVersion")),
})


def _body(obj: dict[str, Any] | None) -> dict[str, Any]:
    """A deep copy of ``obj`` without managedFields ({} for None)."""
    if obj is None:
        return {}
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        obj = _view(obj)
    body: dict[str, Any] = clone(obj)
    return body


def _view(obj: dict[str, Any] | None) -> dict[str, Any]:
    """``obj`` without managedFields ({} for None), sharing everything else with ``obj``: read it, never
    modify it."""
    if obj is None:
        return {}
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        return {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    return obj


def _with_managed_fields(obj: dict[str, Any], managers: Managers) -> dict[str, Any]:
    entries = mf.encode(managers.values())
    meta = obj.setdefault("metadata", {})
    if entries:
        meta["managedFields"] = entries
    else:
        meta.pop("managedFields", None)
    return obj


def _ignored(paths: Iterable[Path | tuple[str, ...]]) -> list[Path]:
    """Accept ignored paths either as FieldsV1 elements or as plain field names (``("status",)``)."""
    out: list[Path] = []
    for path in paths:
        out.append(tuple(p if p[:2] in ("f:", "k:", "v:", "i:") else fp.field(p) for p in path))
    return out


def _owned_by_others(managers: Managers, me: mf.Identity, comparison: Comparison, force: bool) \
        -> tuple[Managers, list[tuple[Manager, Path]]]:
    """Take changed fields away from other managers; report them as conflicts unless ``force``."""
    changed = comparison.added | comparison.modified
    conflicts: list[tuple[Manager, Path]] = []
    out: Managers = {}
    for identity, m in managers.items():
        if identity == me:
            out[identity] = m
            continue
        taken = m.fields & changed
        conflicts.extend((m, p) for p in taken)
        remaining = m.fields - taken - comparison.removed
        if remaining:
            out[identity] = Manager(m.manager, m.operation, m.api_version, frozenset(remaining), m.time,
                                    m.subresource)
    if conflicts and not force:
        raise conflict_error(conflicts)
    return out, conflicts


def _path_sort_key(path: Path) -> tuple[Any, ...]:
    return tuple(fp.element_sort_key(e) for e in path)


def conflict_error(conflicts: list[tuple[Manager, Path]]) -> StatusError:
    """409 Conflict naming every (manager, field) conflict, worded like upstream."""
    ordered = sorted(conflicts, key=lambda c: (c[0].identifier, _path_sort_key(c[1])))
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {m.describe()}",
               "field": fp.path_string(p)} for m, p in ordered]
    if len(ordered) == 1:
        m, p = ordered[0]
        message = f"Apply failed with 1 conflict: conflict with {m.describe()}: {fp.path_string(p)}"
    else:
        lines: list[str] = []
        current = ""
        for m, p in ordered:
            if m.identifier != current:
                current = m.identifier
                lines.append(f"conflicts with {m.describe()}:")
            lines.append(f"- {fp.path_string(p)}")
        message = f"Apply failed with {len(ordered)} conflicts: " + "\n".join(lines)
    return StatusError(409, "Conflict", message, {"causes": causes})


def _decode_managers(obj: dict[str, Any] | None) -> Managers:
    try:
        return mf.decode(obj)
    except ValueError as exc:
        raise server_error(f"failed to decode managed fields: {exc}") from None


def apply(live: dict[str, Any] | None, applied: dict[str, Any], manager: str, force: bool,
          type_def: TypeDef | None, *, lookup: Lookup | None = None, subresource: str = "",
          ignored_fields: Iterable[tuple[str, ...]] = (), api_version: str | None = None,
          now: str | None = None) -> dict[str, Any]:
    """Server-side apply ``applied`` by ``manager`` onto ``live`` (None: create) and return the new object.

    ``type_def`` None treats the object as a custom resource without schema (objects granular, lists atomic,
    typed metadata).  ``ignored_fields`` are paths the manager never owns (a strategy's reset fields, e.g.
    ``("status",)``).  ``api_version``, when given, is the version the request addresses.  ``now`` overrides
    the timestamp (RFC 3339).

    Raises StatusError: 400 (managedFields or a wrong apiVersion in the configuration), 409 (conflicts with
    other managers unless ``force``), 500 (live managedFields cannot be decoded).
    """
    if not isinstance(applied, dict):
        raise bad_request("error decoding YAML: the applied configuration must be an object")
    meta = applied.get("metadata")
    if isinstance(meta, dict) and meta.get("managedFields") is not None:
        raise bad_request("metadata.managedFields must be nil")
    version = str(applied.get("apiVersion", ""))
    if api_version is not None and version != api_version:
        raise bad_request("Incorrect version specified in apply patch. "
                          f"Specified patch version: {version}, expected: {api_version}")
    manager = manager or "unknown"
    schema = schema_for(lookup)
    typed = Typed(schema)
    root = schema.root(type_def)
    ignored = _ignored(ignored_fields)

    managers = _decode_managers(live)
    live_body = _view(live)
    config = applied  # read only: merge and remove build new containers, the result is cloned at the end
    merged = typed.merge(live_body, config, root)

    applied_set = fp.recursive_difference(typed.field_set(config, root), ignored) - STRIPPED
    me = (manager, mf.APPLY, "", subresource)
    last = managers.get(me)
    managers[me] = Manager(manager, mf.APPLY, version, applied_set, last.time if last else None, subresource)

    if last is not None and last.fields:
        owned: FieldSet = frozenset().union(*(m.fields for m in managers.values()))
        prune = typed.with_named_parents(last.fields, root) - typed.with_named_parents(owned, root)
        merged = typed.remove(merged, frozenset(prune), root)
        if merged is MISSING:
            merged = {}

    if live is None:  # no other managers to take fields from; every key of the new object is "added"
        same = _only_ignored_keys(merged, root, ignored)
    else:
        comparison = typed.compare(live_body, merged, root).exclude(ignored)
        managers, _ = _owned_by_others(managers, me, comparison, force)
        same = comparison.is_same()

    if same:
        result = live_body
    else:
        result = merged
        managers[me] = Manager(manager, mf.APPLY, version, applied_set, now or mf.now_rfc3339(), subresource)
    if manager == "kubectl":
        result = _sync_last_applied(result, applied)
    return _with_managed_fields(clone(result), managers)


def _only_ignored_keys(obj: Any, root: Shape, ignored: list[Path]) -> bool:
    """``Typed.compare({}, obj, root).exclude(ignored).is_same()`` without the walk: each top-level key of a
    non-empty object is itself added, so nothing is left exactly when every key lies under an ignored path."""
    if not (isinstance(obj, dict) and obj and root.granular_object):
        return True
    prefixes = set(ignored)
    return () in prefixes or all((fp.field(key),) in prefixes for key in obj)


def _sync_last_applied(obj: dict[str, Any], applied: dict[str, Any]) -> dict[str, Any]:
    """kubectl's server-side apply keeps an existing client-side apply annotation up to date."""
    annotations = (obj.get("metadata") or {}).get("annotations")
    if not isinstance(annotations, dict) or LAST_APPLIED not in annotations:
        return obj
    config: dict[str, Any] = clone(applied)
    config_annotations = (config.get("metadata") or {}).get("annotations")
    if isinstance(config_annotations, dict):
        config_annotations.pop(LAST_APPLIED, None)
    out: dict[str, Any] = clone(obj)
    out["metadata"]["annotations"][LAST_APPLIED] = json.dumps(
        config, separators=(",", ":"), sort_keys=True, ensure_ascii=False) + "\n"
    return out


def track_update(old: dict[str, Any] | None, new: dict[str, Any], manager: str, operation: str,
                 type_def: TypeDef | None, *, lookup: Lookup | None = None, subresource: str = "",
                 ignored_fields: Iterable[tuple[str, ...]] = (), api_version: str | None = None,
                 now: str | None = None, consume: bool = False) -> dict[str, Any]:
    """``new`` with managedFields updated for a create (``old`` None), update or non-apply patch.

    managedFields sent in ``new`` replace the recorded ones (clients may edit them; an empty list keeps the
    old ones); subresource writes always start from ``old``'s.  Never raises for bad managedFields: they are
    reset like upstream.  Returns a copy of ``new``, or ``new`` itself changed in place when ``consume`` says the
    caller gives it away.
    """
    manager = manager or "unknown"
    schema = schema_for(lookup)
    typed = Typed(schema)
    root = schema.root(type_def)
    ignored = _ignored(ignored_fields)
    version = api_version or str(new.get("apiVersion") or (old or {}).get("apiVersion", ""))

    managers: Managers = {}
    sent = (new.get("metadata") or {}).get("managedFields")
    try:
        managers = mf.decode(new) if sent and not subresource else mf.decode(old)
    except ValueError:
        try:
            managers = mf.decode(old)
        except ValueError:
            managers = {}

    if consume:
        result = new
        (new.get("metadata") or {}).pop("managedFields", None)
    else:
        result = _body(new)
    if old is None:
        top = {p[0][2:] for p in ignored if len(p) == 1 and p[0].startswith("f:")}
        deeper = [p for p in ignored if not (len(p) == 1 and p[0].startswith("f:"))]
        comparison = Comparison(added=typed.created_fields(result, root, skip=top)).exclude(deeper)
    else:
        comparison = typed.compare(_view(old), result, root).exclude(ignored)
    me = (manager, operation, version, subresource)
    if managers:
        managers, _ = _owned_by_others(managers, ("", "", "", "\0"), comparison, True)
    mine = frozenset(comparison.added | comparison.modified) - STRIPPED
    if mine:
        previous = managers.get(me)
        fields = mine | previous.fields if previous else mine
        managers[me] = Manager(manager, operation, version, fields, now or mf.now_rfc3339(), subresource)
    managers = mf.cap_update_managers(managers)
    return _with_managed_fields(result, managers)
