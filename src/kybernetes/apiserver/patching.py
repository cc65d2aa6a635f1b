"""PATCH and server-side apply over the store, and field validation (Strict/Warn/Ignore) of write bodies."""

from __future__ import annotations

from collections.abc import Callable

from kybernetes.api import errors, fieldvalidation, patch, schema
from kybernetes.api.registry import Resource
from kybernetes.apiserver import codec
from kybernetes.apiserver.codec import Body
from kybernetes.apiserver.objects import Obj
from kybernetes.apiserver.params import QueryParams
from kybernetes.apiserver.requestinfo import RequestInfo
from kybernetes.apiserver.store import RestStore, WriteOptions


def type_def(res: Resource) -> schema.TypeDef | None:
    if res.is_custom:
        return None
    return schema.definition_for_gvk(res.group, res.version, res.kind)


def check_fields(res: Resource, body: Body, validation: str, warnings: list[str]) -> None:
    """Strict → 400 ``… strict decoding error: unknown field "spec.foo"``; Warn → Warning headers; Ignore → nothing."""
    if validation == "Ignore":
        return
    duplicates: list[str] = []
    if body.raw and body.media_type != codec.PROTOBUF:
        duplicates = fieldvalidation.duplicate_fields(body.raw, body.media_type, body.value)
    td = type_def(res)
    unknown = fieldvalidation.unknown_fields(body.value, td.name) if td is not None else []
    if not unknown and not duplicates:
        return
    if validation == "Strict":
        raise fieldvalidation.strict_error(res.kind, res.version, unknown, duplicates)
    warnings.extend(fieldvalidation.warnings(unknown, duplicates))


def _apply_to(res: Resource, body: Body, params: QueryParams) -> Callable[[Obj], Obj]:
    td = type_def(res)
    media = body.media_type
    if media == codec.JSON_PATCH:
        return lambda obj: patch.apply_json_patch(obj, body.raw)
    if media == codec.MERGE_PATCH:
        return lambda obj: patch.apply_merge_patch(obj, body.value, consume=True)  # the store's copy: see below
    if media == codec.STRATEGIC_PATCH:
        if td is None:
            raise errors.StatusError(415, "UnsupportedMediaType",
                                     f"strategic merge patch is not supported for {res.kind}.{res.group}"
                                     if res.group else f"strategic merge patch is not supported for {res.kind}")
        # the store hands ``compute`` a copy of its own: no need to copy it again
        return lambda obj: patch.apply_strategic_merge_patch(obj, body.value, td, consume=True)
    raise errors.unsupported_media_type(media)


async def patch_object(store: RestStore, res: Resource, info: RequestInfo, body: Body, params: QueryParams,
                       opts: WriteOptions) -> tuple[Obj, bool]:
    """Returns (object, created).  Apply patches create a missing object (201)."""
    if body.media_type == codec.APPLY_PATCH_YAML:
        return await _server_side_apply(store, res, info, body, params, opts)
    fn = _apply_to(res, body, params)
    td = type_def(res)  # stored objects hold no unknown fields: only a patch that adds one needs the full walk

    async def compute(current: Obj) -> Obj:
        patched = fn(current)
        if not isinstance(patched, dict):
            raise errors.bad_request("the patched object is not a JSON object")
        if params.field_validation != "Ignore" and body.media_type != codec.JSON_PATCH and td is not None and \
                fieldvalidation.patch_adds_unknown_fields(body.value, td.name):
            check_fields(res, Body(patched, codec.JSON, b""), params.field_validation, opts.warnings)
        return patched

    return await store.patch(res, info.namespace, info.name, compute, opts), False


async def _server_side_apply(store: RestStore, res: Resource, info: RequestInfo, body: Body,
                             params: QueryParams, opts: WriteOptions) -> tuple[Obj, bool]:
    if not params.field_manager:
        raise errors.invalid("PatchOptions", "meta.k8s.io", "", [
            errors.required("fieldManager", "is required for apply patch")])
    check_fields(res, body, params.field_validation, opts.warnings)
    applied: Obj = body.value
    meta = applied.get("metadata") or {}
    if meta.get("name") and meta["name"] != info.name:
        raise errors.bad_request(f"the name of the object ({meta['name']}) does not match the name on the URL "
                                 f"({info.name})")
    td = type_def(res)
    manager = params.field_manager

    ignored = () if opts.subresource == "status" else (("status",),)

    async def compute(current: Obj) -> Obj:
        return patch.apply(current, applied, manager, params.force, td, subresource=opts.subresource,
                           ignored_fields=ignored)

    apply_opts = WriteOptions(dry_run=opts.dry_run, subresource=opts.subresource, warnings=opts.warnings)
    try:
        return await store.patch(res, info.namespace, info.name, compute, apply_opts), False
    except errors.StatusError as exc:
        if exc.code != 404:
            raise
    created = patch.apply(None, applied, manager, params.force, td, ignored_fields=ignored)
    created.setdefault("metadata", {})["name"] = info.name
    return await store.create(res, info.namespace, created, apply_opts), True
