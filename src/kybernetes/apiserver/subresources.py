"""Subresources: status, scale (autoscaling/v1 Scale), pods/binding, pods/eviction, namespaces/finalize, and the
node-proxied ones (log, exec, attach, portforward, proxy), which answer 503 until a kubelet serves them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from kybernetes.api import errors, patch, schema, selectors
from kybernetes.api.registry import Resource
from kybernetes.apiserver import codec, objects
from kybernetes.apiserver.objects import Obj
from kybernetes.apiserver.params import QueryParams
from kybernetes.apiserver.presenting import json_response
from kybernetes.apiserver.requestinfo import RequestInfo

if TYPE_CHECKING:
    from kybernetes.apiserver.handlers import ResourceHandler

NODE_PROXIED = frozenset({"log", "exec", "attach", "portforward", "proxy"})


async def handle(handler: ResourceHandler, request: web.Request, res: Resource, info: RequestInfo,
                 params: QueryParams) -> web.StreamResponse:
    sub = res.subresource(info.subresource)
    if sub is None or not info.name:
        raise errors.path_not_found()
    method = request.method
    if sub.name == "status":
        if method == "GET":
            return await handler.get(request, res, info, params)
        if method == "PUT":
            opts = handler.write_options(params, "status")
            obj = await handler.read_object(request, res, params, opts)
            updated, _ = await handler.store.update(res, info.namespace, info.name, obj, opts)
            return handler.presenter.object_response(request, res, updated, warnings=opts.warnings)
        if method == "PATCH":
            return await handler.patch(request, res, info, params, subresource="status")
    elif sub.name == "scale":
        return await _scale(handler, request, res, info, params)
    elif sub.name == "binding" and method == "POST":
        return await _bind(handler, request, res, info, params)
    elif sub.name == "eviction" and method == "POST":
        return await _evict(handler, request, res, info, params)
    elif sub.name == "finalize" and method == "PUT":
        opts = handler.write_options(params, "finalize")
        obj = await handler.read_object(request, res, params, opts)
        finalizers = (obj.get("spec") or {}).get("finalizers")

        async def set_finalizers(current: Obj) -> Obj:
            current.setdefault("spec", {})["finalizers"] = finalizers or []
            if not finalizers:
                current["spec"].pop("finalizers")
            return current

        updated = await handler.store.patch(res, info.namespace, info.name, set_finalizers, opts)
        return handler.presenter.object_response(request, res, updated)
    elif sub.name in NODE_PROXIED:
        return await _node_proxied(handler, request, res, info)
    raise errors.method_not_supported(f"{res.plural}/{sub.name}", res.group, method.lower())


# -- scale -------------------------------------------------------------------------------------------------

def _dig(obj: Obj, path: str) -> Any:
    cur: Any = obj
    for part in path.strip(".").split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _plant(obj: Obj, path: str, value: Any) -> None:
    parts = path.strip(".").split(".")
    cur = obj
    for part in parts[:-1]:
        cur = cur.setdefault(part, {})
    cur[parts[-1]] = value


def _scale_paths(res: Resource) -> tuple[str, ...]:
    sub = res.subresource("scale")
    return sub.scale_paths if sub is not None and sub.scale_paths else (".spec.replicas", ".status.replicas", "")


def scale_of(res: Resource, obj: Obj) -> Obj:
    meta = obj.get("metadata") or {}
    spec_path, status_path, selector_path = _scale_paths(res)
    if res.is_custom:
        text = str(_dig(obj, selector_path) or "") if selector_path else ""
    elif res.kind == "ReplicationController":
        text = selectors.format_labels((obj.get("spec") or {}).get("selector") or {})
    elif isinstance((obj.get("spec") or {}).get("selector"), dict):
        text = selectors.selector_string((obj.get("spec") or {}).get("selector"))
    else:
        text = str((obj.get("status") or {}).get("selector") or "")
    scale_meta = {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                  if k in meta}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": scale_meta,
            "spec": {"replicas": int(_dig(obj, spec_path) or 0)},
            "status": {"replicas": int(_dig(obj, status_path) or 0), "selector": text}}


async def _scale(handler: ResourceHandler, request: web.Request, res: Resource, info: RequestInfo,
                 params: QueryParams) -> web.StreamResponse:
    if request.method == "GET":
        obj = await handler.store.get(res, info.namespace, info.name)
        return json_response(scale_of(res, obj))
    if request.method not in ("PUT", "PATCH"):
        raise errors.method_not_supported(f"{res.plural}/scale", res.group, request.method.lower())
    raw = await codec.read_body(request)
    if request.method == "PUT":
        body = codec.decode_object(raw, request.headers.get("Content-Type"))

        def change(scale: Obj) -> Obj:
            new: Obj = body.value
            return new
    else:
        body = codec.decode_patch(raw, request.headers.get("Content-Type"))
        scale_type = schema.definition_for_gvk("autoscaling", "v1", "Scale")

        def change(scale: Obj) -> Obj:
            if body.media_type == codec.JSON_PATCH:
                return patch.apply_json_patch(scale, body.raw)
            if body.media_type == codec.MERGE_PATCH:
                return patch.apply_merge_patch(scale, body.value)
            if body.media_type == codec.STRATEGIC_PATCH and scale_type is not None:
                return patch.apply_strategic_merge_patch(scale, body.value, scale_type)
            return patch.apply_merge_patch(scale, body.value)

    async def compute(current: Obj) -> Obj:
        new_scale = change(scale_of(res, current))
        wanted_rv = (new_scale.get("metadata") or {}).get("resourceVersion")
        if wanted_rv and wanted_rv != current["metadata"].get("resourceVersion"):
            raise errors.conflict(f"{res.plural}", res.group, info.name, errors.STALE_OBJECT)
        replicas = (new_scale.get("spec") or {}).get("replicas", 0)
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise errors.invalid("Scale", "autoscaling", info.name, [
                errors.invalid_value("spec.replicas", replicas, "must be greater than or equal to 0")])
        _plant(current, _scale_paths(res)[0], replicas)
        current["metadata"].pop("resourceVersion", None)
        return current

    opts = handler.write_options(params)
    updated = await handler.store.patch(res, info.namespace, info.name, compute, opts)
    return json_response(scale_of(res, updated))


# -- pods ----------------------------------------------------------------------------------------------------

async def _bind(handler: ResourceHandler, request: web.Request, res: Resource, info: RequestInfo,
                params: QueryParams) -> web.StreamResponse:
    raw = await codec.read_body(request)
    binding = codec.decode_object(raw, request.headers.get("Content-Type")).value
    target = binding.get("target") or {}
    node = target.get("name")
    if not node:
        raise errors.invalid("Binding", "", info.name, [errors.required("target.name")])
    if (binding.get("metadata") or {}).get("name") not in (None, "", info.name):
        raise errors.bad_request("the name of the object does not match the name on the URL")

    async def assign(pod: Obj) -> Obj:
        meta = pod["metadata"]
        if meta.get("deletionTimestamp"):
            raise errors.conflict("pods", "", info.name, f"pod {info.name} is being deleted, cannot be assigned "
                                                         f"to a host")
        current = (pod.get("spec") or {}).get("nodeName")
        if current:
            raise errors.conflict("pods", "", info.name, f"pod {info.name} is already assigned to node "
                                                         f'"{current}"')
        pod.setdefault("spec", {})["nodeName"] = node
        _set_condition(pod.setdefault("status", {}), {"type": "PodScheduled", "status": "True",
                                                     "lastProbeTime": None,
                                                     "lastTransitionTime": objects.rfc3339()})
        return pod

    await handler.store.patch(res, info.namespace, info.name, assign, handler.write_options(params, "binding"))
    return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201},
                         201)


def _set_condition(status: Obj, condition: Obj) -> None:
    conditions: list[Obj] = status.setdefault("conditions", [])
    for i, existing in enumerate(conditions):
        if existing.get("type") == condition["type"]:
            if existing.get("status") == condition["status"]:
                return
            conditions[i] = condition
            return
    conditions.append(condition)


async def _evict(handler: ResourceHandler, request: web.Request, res: Resource, info: RequestInfo,
                 params: QueryParams) -> web.StreamResponse:
    raw = await codec.read_body(request)
    eviction = codec.decode_object(raw, request.headers.get("Content-Type")).value if raw.strip() else {}
    options: Obj = dict(eviction.get("deleteOptions") or {})
    await handler.store.delete(res, info.namespace, info.name, options, handler.write_options(params))
    return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201},
                         201)


async def _node_proxied(handler: ResourceHandler, request: web.Request, res: Resource,
                        info: RequestInfo) -> web.StreamResponse:
    from kybernetes.apiserver import nodeproxy

    return await nodeproxy.handle(handler, request, res, info)
