"""Resource handlers: one entry point that routes every ``/api`` and ``/apis`` resource request by verb.

The handler parses the URL and the query, decodes the body, asks the :class:`RestStore` to act, and encodes the
answer (JSON, a Table, or PartialObjectMetadata).  Subresources (status, scale, binding, eviction, and the
kubelet-proxied log/exec/attach/portforward) are in :mod:`kybernetes.apiserver.subresources`; watches stream
from :mod:`kybernetes.apiserver.watch`.
"""

from __future__ import annotations

from aiohttp import web

from kybernetes.api import errors
from kybernetes.api.registry import Registry, Resource
from kybernetes.apiserver import codec, componentstatus, patching, presenting, subresources, watch
from kybernetes.apiserver.objects import Obj
from kybernetes.apiserver.params import QueryParams, parse_query
from kybernetes.apiserver.presenting import json_response
from kybernetes.apiserver.requestinfo import RequestInfo, parse_resource_path
from kybernetes.apiserver.store import ListOptions, ListPage, RestStore, WriteOptions
from kybernetes.apiserver.watchcache import WatchCaches


class ResourceHandler:
    def __init__(self, registry: Registry, store: RestStore, caches: WatchCaches,
                 presenter: presenting.Presenter, *, bookmark_interval: float = 30.0) -> None:
        self.registry = registry
        self.bookmark_interval = bookmark_interval  # seconds between BOOKMARK events on watches that take them
        self.store = store
        self.caches = caches
        self.presenter = presenter

    async def handle(self, request: web.Request) -> web.StreamResponse:
        info = parse_resource_path(request.path)
        if info is None:
            raise errors.path_not_found()
        res = self.registry.get(info.group, info.version, info.resource)
        if res is None:
            raise errors.path_not_found()
        self._check_scope(res, info)
        params = parse_query(request.query, user_agent=request.headers.get("User-Agent", ""))
        if info.subresource:
            return await subresources.handle(self, request, res, info, params)
        if res.group == "" and res.plural == "componentstatuses":
            return await self.component_statuses(request, res, info, params)
        method = request.method
        if method == "GET":
            if params.watch:
                return await watch.serve(self, request, res, info, params)
            if info.name:
                return await self.get(request, res, info, params)
            return await self.list(request, res, info, params)
        if method == "POST" and not info.name:
            return await self.create(request, res, info, params)
        if method == "PUT" and info.name:
            return await self.update(request, res, info, params)
        if method == "PATCH" and info.name:
            return await self.patch(request, res, info, params)
        if method == "DELETE":
            if info.name:
                return await self.delete(request, res, info, params)
            return await self.delete_collection(request, res, info, params)
        raise errors.method_not_supported(res.plural, res.group, _verb_name(method, info))

    @staticmethod
    def _check_scope(res: Resource, info: RequestInfo) -> None:
        if res.namespaced and info.name and not info.namespaced_path:
            raise errors.path_not_found()
        if not res.namespaced and info.namespaced_path:
            raise errors.path_not_found()
        if info.name and not info.subresource and "get" not in res.verbs:
            raise errors.method_not_supported(res.plural, res.group, "get")

    async def component_statuses(self, request: web.Request, res: Resource, info: RequestInfo,
                                 params: QueryParams) -> web.StreamResponse:
        if request.method != "GET" or params.watch:
            raise errors.method_not_supported(res.plural, res.group, "watch" if params.watch else "create")
        items = await componentstatus.component_statuses(self.store, self.registry)
        warnings = [componentstatus.DEPRECATION]
        if info.name:
            for item in items:
                if item["metadata"]["name"] == info.name:
                    response = self.presenter.object_response(request, res, item, warnings=warnings)
                    return response
            raise errors.not_found(res.plural, res.group, info.name)
        page = ListPage(items, await self.store.storage.current_revision())
        response = self.presenter.list_response(request, res, page, params)
        response.headers["Warning"] = f'299 - "{componentstatus.DEPRECATION}"'
        return response

    # -- reads ---------------------------------------------------------------------------------------------

    async def get(self, request: web.Request, res: Resource, info: RequestInfo,
                  params: QueryParams) -> web.StreamResponse:
        obj = await self.store.get(res, info.namespace, info.name)
        return self.presenter.object_response(request, res, obj)

    def list_options(self, res: Resource, params: QueryParams) -> ListOptions:
        return ListOptions(
            label_selector=presenting.label_matcher(params.label_selector),
            field_selector=presenting.field_matcher(res, params.field_selector),
            limit=params.limit,
            continue_token=params.continue_token,
            resource_version=params.resource_version,
            resource_version_match=params.resource_version_match,
        )

    async def list(self, request: web.Request, res: Resource, info: RequestInfo,
                   params: QueryParams) -> web.StreamResponse:
        if "list" not in res.verbs:
            raise errors.method_not_supported(res.plural, res.group, "list")
        page = await self.store.list(res, info.namespace, self.list_options(res, params))
        return self.presenter.list_response(request, res, page, params)

    # -- writes --------------------------------------------------------------------------------------------

    def write_options(self, params: QueryParams, subresource: str = "") -> WriteOptions:
        return WriteOptions(dry_run=params.dry_run, field_manager=params.default_manager, subresource=subresource)

    async def read_object(self, request: web.Request, res: Resource, params: QueryParams,
                          opts: WriteOptions) -> Obj:
        raw = await codec.read_body(request)
        body = codec.decode_object(raw, request.headers.get("Content-Type"))
        patching.check_fields(res, body, params.field_validation, opts.warnings)
        obj: Obj = body.value
        return obj

    async def create(self, request: web.Request, res: Resource, info: RequestInfo,
                     params: QueryParams) -> web.StreamResponse:
        if "create" not in res.verbs:
            raise errors.method_not_supported(res.plural, res.group, "create")
        opts = self.write_options(params)
        obj = await self.read_object(request, res, params, opts)
        created = await self.store.create(res, info.namespace, obj, opts)
        return self.presenter.object_response(request, res, created, status=201, warnings=opts.warnings)

    async def update(self, request: web.Request, res: Resource, info: RequestInfo,
                     params: QueryParams) -> web.StreamResponse:
        if "update" not in res.verbs:
            raise errors.method_not_supported(res.plural, res.group, "update")
        opts = self.write_options(params)
        obj = await self.read_object(request, res, params, opts)
        updated, created = await self.store.update(res, info.namespace, info.name, obj, opts)
        return self.presenter.object_response(request, res, updated, status=201 if created else 200,
                                              warnings=opts.warnings)

    async def patch(self, request: web.Request, res: Resource, info: RequestInfo,
                    params: QueryParams, subresource: str = "") -> web.StreamResponse:
        if "patch" not in res.verbs:
            raise errors.method_not_supported(res.plural, res.group, "patch")
        raw = await codec.read_body(request)
        body = codec.decode_patch(raw, request.headers.get("Content-Type"))
        opts = self.write_options(params, subresource)
        result, created = await patching.patch_object(self.store, res, info, body, params, opts)
        return self.presenter.object_response(request, res, result, status=201 if created else 200,
                                              warnings=opts.warnings)

    async def delete(self, request: web.Request, res: Resource, info: RequestInfo,
                     params: QueryParams) -> web.StreamResponse:
        if "delete" not in res.verbs:
            raise errors.method_not_supported(res.plural, res.group, "delete")
        options = await self.delete_options(request, params)
        opts = self.write_options(params)
        result, _ = await self.store.delete(res, info.namespace, info.name, options, opts)
        if result.get("kind") == "Status":
            return json_response(result)
        return self.presenter.object_response(request, res, result)

    async def delete_options(self, request: web.Request, params: QueryParams) -> Obj:
        raw = await codec.read_body(request)
        options = codec.decode_options(raw, request.headers.get("Content-Type"))
        if params.grace_period_seconds is not None:
            options.setdefault("gracePeriodSeconds", params.grace_period_seconds)
        if params.propagation_policy:
            options.setdefault("propagationPolicy", params.propagation_policy)
        if params.orphan_dependents is not None:
            options.setdefault("orphanDependents", params.orphan_dependents)
        policy = options.get("propagationPolicy")
        if policy and policy not in ("Orphan", "Background", "Foreground"):
            raise errors.invalid("DeleteOptions", "meta.k8s.io", "", [errors.not_supported(
                "propagationPolicy", policy, ["Foreground", "Background", "Orphan", "nil"])])
        return options

    async def delete_collection(self, request: web.Request, res: Resource, info: RequestInfo,
                                params: QueryParams) -> web.StreamResponse:
        if "deletecollection" not in res.verbs:
            raise errors.method_not_supported(res.plural, res.group, "deletecollection")
        options = await self.delete_options(request, params)
        opts = self.write_options(params)
        list_opts = self.list_options(res, params)
        list_opts.limit = 0
        page = await self.store.list(res, info.namespace, list_opts)
        deleted: list[Obj] = []
        for item in page.items:
            meta = item["metadata"]
            try:
                result, _ = await self.store.delete(res, meta.get("namespace", ""), meta["name"], options, opts)
            except errors.StatusError as exc:
                if exc.code == 404:
                    continue
                raise
            deleted.append(item if result.get("kind") == "Status" else result)
        return json_response({"kind": res.list_kind, "apiVersion": res.api_version,
                              "metadata": {"resourceVersion": str(page.resource_version)}, "items": deleted})


def _verb_name(method: str, info: RequestInfo) -> str:
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete", "GET": "get"}.get(
        method, method.lower())
