"""The OpenAPI documents kubectl reads: ``/openapi/v3`` (index and one document per group-version) and
``/openapi/v2`` (Swagger 2.0 as gnostic protobuf). Pure functions: no I/O.

Schemas come from the type table (:mod:`kybernetes.api.schema`): field types, ``$ref``s, ``required``, the
patch extensions and ``x-kubernetes-group-version-kind``, never descriptions. Paths cover every served
resource: the collection (list, create, deletecollection), the object (get, replace, patch, delete), the
all-namespaces list and the subresources with a JSON kind (status, scale, binding, eviction, token,
finalize). Every operation carries its ``x-kubernetes-group-version-kind`` and the write operations a
``fieldValidation`` query parameter, so kubectl leaves validation to the server.

Custom resources: pass ``custom``, a mapping from ``(group, version, kind)`` to the version's structural
schema (the CRD's ``openAPIV3Schema``). Resources with neither a built-in type nor a custom schema get a
free-form object schema. The same ``custom`` must be passed to the index and the documents so the hashes
match.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from kybernetes.api.registry import Registry, Resource
from kybernetes.api.schema import FieldDef, TypeDef, all_types, definition, definition_for_gvk
from kybernetes.api.schema.gnostic import encode_document

Custom = Mapping[tuple[str, str, str], dict[str, Any]]
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
OBJECT_META = META + "ObjectMeta"
LIST_META = META + "ListMeta"

# Schemas of the types that are scalars (or free-form JSON) on the wire.
SPECIAL_SCHEMAS: dict[str, dict[str, Any]] = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": "string"},
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": "string", "format": "int-or-string"},
    META + "Time": {"type": "string", "format": "date-time"},
    META + "MicroTime": {"type": "string", "format": "date-time"},
    "io.k8s.apimachinery.pkg.runtime.RawExtension": {"type": "object"},
    META + "FieldsV1": {"type": "object"},
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON": {},
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray": {},
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool": {},
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray": {},
}
_SPECIAL_BY_TYPE = {"quantity": "io.k8s.apimachinery.pkg.api.resource.Quantity",
                    "int-or-string": "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
                    "time": META + "Time", "micro-time": META + "MicroTime"}
_SCALAR_SCHEMAS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"}, "bytes": {"type": "string", "format": "byte"},
    "boolean": {"type": "boolean"},
    "int32": {"type": "integer", "format": "int32"}, "int64": {"type": "integer", "format": "int64"},
    "double": {"type": "number", "format": "double"}, "duration": {"type": "string"},
}
PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml")
SMP = "application/strategic-merge-patch+json"
# Subresources served with a JSON body of a known kind (the others stream or proxy).
_JSON_SUBRESOURCES = frozenset({"status", "scale", "binding", "eviction", "token", "finalize"})
_METHOD = {"list": "get", "create": "post", "deletecollection": "delete", "get": "get", "update": "put",
           "patch": "patch", "delete": "delete"}
_WRITE_QUERY = ("dryRun", "fieldManager", "fieldValidation")


def v3_index(registry: Registry, custom: Custom | None = None) -> dict[str, Any]:
    """``{"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=H"}, "apis/apps/v1": ...}}``.

    The hash is the SHA-512 (upper-case hex) of the group-version document, as upstream computes it.
    """
    paths: dict[str, Any] = {}
    for group, version in _group_versions(registry):
        key = _gv_path(group, version)
        digest = _document_hash(_resources_key(registry, group, version), group, version, _custom_key(custom))
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}


def v3_document(registry: Registry, group: str, version: str,
                custom: Custom | None = None) -> dict[str, Any] | None:
    """The OpenAPI 3.0 document of one group-version, or None when the registry serves no such group-version.

    The returned dict is shared (cached): serialize it, do not mutate it.
    """
    resources = _resources_key(registry, group, version)
    if not resources:
        return None
    return _document(resources, group, version, _custom_key(custom))


def v3_document_bytes(registry: Registry, group: str, version: str,
                      custom: Custom | None = None) -> bytes | None:
    """The JSON bytes of :func:`v3_document` (the bytes the index hash is computed from)."""
    resources = _resources_key(registry, group, version)
    if not resources:
        return None
    return _document_json(resources, group, version, _custom_key(custom))


def v2_document(registry: Registry, custom: Custom | None = None) -> dict[str, Any]:
    """The Swagger 2.0 document of every served resource (the JSON form of :func:`v2_protobuf`)."""
    custom_map = dict(custom or {})
    paths: dict[str, Any] = {}
    names: list[str] = []
    for group, version in _group_versions(registry):
        resources = list(registry.in_group_version(group, version))
        for r in resources:
            names += _root_names(r, custom_map)
            paths.update(_paths(r, custom_map, v2=True))
    definitions = _collect(names, custom_map, "#/definitions/")
    return {"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.33.0"}, "paths": paths,
            "definitions": definitions}


def v2_protobuf(registry: Registry, custom: Custom | None = None) -> bytes:
    """:func:`v2_document` encoded as a gnostic ``openapi_v2.Document`` (what kubectl 1.27/1.28 ask for with
    ``Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf``)."""
    return encode_document(v2_document(registry, custom))


# --- caching keys ---


def _group_versions(registry: Registry) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for r in registry.resources:
        if (r.group, r.version) not in out:
            out.append((r.group, r.version))
    return out


def _resources_key(registry: Registry, group: str, version: str) -> tuple[Resource, ...]:
    return tuple(registry.in_group_version(group, version))


def _custom_key(custom: Custom | None) -> bytes:
    if not custom:
        return b""
    return orjson.dumps({"/".join(k): v for k, v in custom.items()}, option=orjson.OPT_SORT_KEYS)


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


@functools.lru_cache(maxsize=128)
def _document(resources: tuple[Resource, ...], group: str, version: str, custom_key: bytes) -> dict[str, Any]:
    custom: dict[tuple[str, str, str], dict[str, Any]] = {}
    if custom_key:
        for k, v in orjson.loads(custom_key).items():
            group, version, kind = k.split("/")
            custom[(group, version, kind)] = v
    paths: dict[str, Any] = {}
    names: list[str] = []
    for r in resources:
        names += _root_names(r, custom)
        paths.update(_paths(r, custom, v2=False))
    schemas = _collect(names, custom, "#/components/schemas/")
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.33.0"}, "paths": paths,
            "components": {"schemas": schemas}}


@functools.lru_cache(maxsize=128)
def _document_json(resources: tuple[Resource, ...], group: str, version: str, custom_key: bytes) -> bytes:
    return orjson.dumps(_document(resources, group, version, custom_key), option=orjson.OPT_SORT_KEYS)


@functools.lru_cache(maxsize=128)
def _document_hash(resources: tuple[Resource, ...], group: str, version: str, custom_key: bytes) -> str:
    return hashlib.sha512(_document_json(resources, group, version, custom_key)).hexdigest().upper()


# --- schemas ---


def custom_schema_name(group: str, version: str, kind: str) -> str:
    """Upstream's definition name of a custom kind: the group reversed, then version and kind
    (``widgets.example.com`` v1 Widget → ``com.example.v1.Widget``)."""
    return ".".join([*reversed(group.split(".")), version, kind])


def _type_name(group: str, version: str, kind: str, custom: Mapping[tuple[str, str, str], Any]) -> str:
    td = definition_for_gvk(group, version, kind)
    if td is not None and (group, version, kind) not in custom:
        return td.name
    return custom_schema_name(group, version, kind)


def _root_names(r: Resource, custom: Mapping[tuple[str, str, str], Any]) -> list[str]:
    names = [_type_name(r.group, r.version, r.kind, custom),
             _type_name(r.group, r.version, r.list_kind, custom)]
    for sub in r.subresources:
        if sub.name in _JSON_SUBRESOURCES and sub.kind:
            names.append(_type_name(sub.group, sub.version, sub.kind, custom))
    return names


def _collect(names: Iterable[str], custom: Mapping[tuple[str, str, str], dict[str, Any]],
             prefix: str) -> dict[str, Any]:
    """Schemas of ``names`` and of everything they reference, keyed by definition name."""
    by_name = {custom_schema_name(*gvk): gvk for gvk in custom}
    out: dict[str, Any] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in out:
            continue
        if name in SPECIAL_SCHEMAS:
            out[name] = dict(SPECIAL_SCHEMAS[name])
            continue
        td = definition(name)
        if td is not None:
            schema, refs = _type_schema(td, prefix)
            out[name] = schema
            todo += refs
            continue
        group, version, kind = _parse_custom_name(name, by_name)
        if kind.endswith("List") and (group, version, kind) not in custom:
            out[name] = _custom_list_schema(group, version, kind, prefix, custom)
            todo += [OBJECT_META, LIST_META, custom_schema_name(group, version, kind[:-4])]
        else:
            out[name] = _custom_schema(group, version, kind, custom.get((group, version, kind)), prefix)
            todo.append(OBJECT_META)
    return dict(sorted(out.items()))


def _parse_custom_name(name: str, by_name: Mapping[str, tuple[str, str, str]]) -> tuple[str, str, str]:
    if name in by_name:
        return by_name[name]
    if name.endswith("List") and name[:-4] in by_name:
        group, version, kind = by_name[name[:-4]]
        return group, version, kind + "List"
    parts = name.split(".")
    return ".".join(reversed(parts[:-2])), parts[-2], parts[-1]


def _gvk_ext(gvks: Iterable[tuple[str, str, str]]) -> list[dict[str, str]]:
    return [{"group": g, "kind": k, "version": v} for g, v, k in gvks]


def _type_schema(td: TypeDef, prefix: str) -> tuple[dict[str, Any], list[str]]:
    props: dict[str, Any] = {}
    refs: list[str] = []
    for f in td.fields.values():
        props[f.name] = _field_schema(f, prefix, refs)
    schema: dict[str, Any] = {"type": "object", "properties": props}
    required = sorted(f.name for f in td.fields.values() if f.required)
    if required:
        schema["required"] = required
    if td.gvks:
        schema["x-kubernetes-group-version-kind"] = _gvk_ext(td.gvks)
    if td.map_type:
        schema["x-kubernetes-map-type"] = td.map_type
    return schema, refs


def _value_schema(f: FieldDef, prefix: str, refs: list[str]) -> dict[str, Any]:
    if f.type == "object":
        refs.append(f.ref)
        return {"$ref": prefix + f.ref}
    special = _SPECIAL_BY_TYPE.get(f.type) or (f.ref if f.type == "raw" and f.ref else "")
    if special:
        refs.append(special)
        return {"$ref": prefix + special}
    if f.type == "raw":
        return {"type": "object"}
    return dict(_SCALAR_SCHEMAS[f.type])


def _field_schema(f: FieldDef, prefix: str, refs: list[str]) -> dict[str, Any]:
    value = _value_schema(f, prefix, refs)
    if f.repeated:
        schema: dict[str, Any] = {"type": "array", "items": value}
    elif f.map:
        schema = {"type": "object", "additionalProperties": value}
    else:
        schema = value
    for key, fact in (("x-kubernetes-patch-strategy", f.patch_strategy),
                      ("x-kubernetes-patch-merge-key", f.merge_key),
                      ("x-kubernetes-list-type", f.list_type),
                      ("x-kubernetes-list-map-keys", list(f.list_map_keys)),
                      ("x-kubernetes-map-type", f.map_type)):
        if fact:
            if "$ref" in schema and prefix != "#/definitions/":  # OpenAPI 3 readers ignore $ref siblings
                schema = {"allOf": [schema]}
            schema[key] = fact
    return schema


def _custom_schema(group: str, version: str, kind: str, given: dict[str, Any] | None,
                   prefix: str) -> dict[str, Any]:
    schema: dict[str, Any] = dict(given) if given else {"type": "object",
                                                         "x-kubernetes-preserve-unknown-fields": True}
    props = dict(schema.get("properties", {}))
    props.update({"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                  "metadata": {"$ref": prefix + OBJECT_META}})
    schema["type"] = "object"
    schema["properties"] = props
    schema["x-kubernetes-group-version-kind"] = _gvk_ext([(group, version, kind)])
    return schema


def _custom_list_schema(group: str, version: str, kind: str, prefix: str,
                        custom: Mapping[tuple[str, str, str], Any]) -> dict[str, Any]:
    item = custom_schema_name(group, version, kind[:-4])
    return {"type": "object", "required": ["items"],
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                           "metadata": {"$ref": prefix + LIST_META},
                           "items": {"type": "array", "items": {"$ref": prefix + item}}},
            "x-kubernetes-group-version-kind": _gvk_ext([(group, version, kind)])}


# --- paths ---


def _paths(r: Resource, custom: Mapping[tuple[str, str, str], Any], v2: bool) -> dict[str, Any]:
    prefix = "#/definitions/" if v2 else "#/components/schemas/"
    base = f"/apis/{r.group}/{r.version}" if r.group else f"/api/{r.version}"
    coll = f"{base}/namespaces/{{namespace}}/{r.plural}" if r.namespaced else f"{base}/{r.plural}"
    item = coll + "/{name}"
    ns_param = [_path_param("namespace", v2)] if r.namespaced else []
    gvk = (r.group, r.version, r.kind)
    builtin = definition_for_gvk(*gvk) is not None and gvk not in custom
    obj_ref = prefix + _type_name(*gvk, custom)
    list_ref = prefix + _type_name(r.group, r.version, r.list_kind, custom)
    ops = _Ops(r, v2, builtin)
    paths: dict[str, Any] = {}
    coll_ops = {m: ops.op(verb, gvk, ref) for verb, m, ref in (("list", "get", list_ref),
                                                               ("create", "post", obj_ref),
                                                               ("deletecollection", "delete", ""))
                if verb in r.verbs}
    if coll_ops:
        paths[coll] = {**coll_ops, "parameters": ns_param}
    item_ops = {_METHOD[verb]: ops.op(verb, gvk, "" if verb == "delete" else obj_ref)
                for verb in ("get", "update", "patch", "delete") if verb in r.verbs}
    if item_ops:
        paths[item] = {**item_ops, "parameters": [_path_param("name", v2), *ns_param]}
    if r.namespaced and "list" in r.verbs:
        paths[f"{base}/{r.plural}"] = {"get": ops.op("list", gvk, list_ref, all_namespaces=True),
                                       "parameters": []}
    for sub in r.subresources:
        if sub.name not in _JSON_SUBRESOURCES:
            continue
        sub_gvk = (sub.group, sub.version, sub.kind) if sub.kind else gvk
        ref = prefix + _type_name(*sub_gvk, custom)
        sub_ops = {_METHOD[verb]: ops.op(verb, sub_gvk, ref, sub.name)
                   for verb in sub.verbs if verb in _METHOD}
        paths[f"{item}/{sub.name}"] = {**sub_ops, "parameters": [_path_param("name", v2), *ns_param]}
    return paths


def _path_param(name: str, v2: bool) -> dict[str, Any]:
    if v2:
        return {"name": name, "in": "path", "required": True, "type": "string", "uniqueItems": True}
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "uniqueItems": True}}


def _query_param(name: str, v2: bool) -> dict[str, Any]:
    if v2:
        return {"name": name, "in": "query", "type": "string", "uniqueItems": True}
    return {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}


class _Ops:
    """Builds operations of one resource in the v2 or v3 shape."""

    def __init__(self, r: Resource, v2: bool, builtin: bool) -> None:
        self.r, self.v2, self.builtin = r, v2, builtin

    def op(self, verb: str, gvk: tuple[str, str, str], ref: str, sub: str = "",
           all_namespaces: bool = False) -> dict[str, Any]:
        r = self.r
        action = {"update": "put", "create": "post"}.get(verb, verb)
        scope = "" if all_namespaces or not r.namespaced else "Namespaced"
        gv = "".join(p.capitalize() for p in (r.group.split(".")[0] if r.group else "core", r.version))
        suffix = "ForAllNamespaces" if all_namespaces else ""
        op_id = f"{action}{gv}{scope}{r.kind}{sub.capitalize()}{suffix}"
        op: dict[str, Any] = {"operationId": op_id, "x-kubernetes-action": action,
                              "x-kubernetes-group-version-kind": {"group": gvk[0], "kind": gvk[2],
                                                                  "version": gvk[1]}}
        query = list(_WRITE_QUERY) if verb in ("create", "update", "patch") else []
        if verb == "patch":
            query.append("force")
        if verb in ("list",):
            query = ["labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "watch"]
        params = [_query_param(q, self.v2) for q in query]
        body_types = ["application/json"]
        if verb == "patch":
            body_types = [*PATCH_TYPES, *([SMP] if self.builtin else [])]
        has_body = verb in ("create", "update", "patch")
        response = {"description": "OK"}
        if self.v2:
            if has_body:
                params.insert(0, {"name": "body", "in": "body", "required": True,
                                  "schema": {"$ref": ref} if verb != "patch" else {"type": "object"}})
            op["consumes"] = body_types if has_body else ["*/*"]
            op["produces"] = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]
            if ref:
                response["schema"] = {"$ref": ref}  # type: ignore[assignment]
        else:
            if has_body:
                schema = {"$ref": ref} if verb != "patch" else {"type": "object"}
                op["requestBody"] = {"content": {t: {"schema": schema} for t in body_types}, "required": True}
            if ref:
                response["content"] = {"application/json": {"schema": {"$ref": ref}}}  # type: ignore[assignment]
        op["parameters"] = params
        op["responses"] = {"200": response, **({"201": response} if verb in ("create", "update") else {})}
        return op


def all_schema_names() -> list[str]:
    """Every built-in definition name the documents can contain (for tests and tools)."""
    return sorted([*all_types(), *SPECIAL_SCHEMAS])
