"""The aiohttp application: middlewares (Status errors, client-certificate authentication) and routes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from kybernetes.api import errors, openapi
from kybernetes.api.registry import Registry
from kybernetes.apiserver import certs, discovery, flowcontrol, prometheus
from kybernetes.apiserver.handlers import ResourceHandler
from kybernetes.apiserver.presenting import json_response
from kybernetes.apiserver.requestinfo import RequestInfo, parse_resource_path
from kybernetes.storage.interface import UnavailableError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PUBLIC_PATHS = frozenset({"/healthz", "/livez", "/readyz"})
USER_KEY = web.AppKey("user", certs.User)
FLOW_CONTROL_KEY = web.AppKey("flow_control", flowcontrol.FlowControl)
LONG_RUNNING_SUBRESOURCES = frozenset({"exec", "attach", "portforward", "proxy"})


@web.middleware
async def status_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure leaves as a Kubernetes Status; nothing else (no HTML, no traceback) reaches a client."""
    try:
        return await handler(request)
    except errors.StatusError as exc:
        return _status_response(exc)
    except UnavailableError as exc:
        unavailable = errors.service_unavailable(str(exc) or "the datastore is unavailable, please retry")
        unavailable.headers["Retry-After"] = "1"
        return _status_response(unavailable)
    except web.HTTPRequestEntityTooLarge:
        return _status_response(errors.request_entity_too_large("Request entity too large: limit is 3145728"))
    except web.HTTPNotFound:
        return _status_response(errors.path_not_found())
    except web.HTTPMethodNotAllowed as exc:
        return _status_response(errors.StatusError(405, "MethodNotAllowed",
                                                   f"the server does not allow this method on the requested "
                                                   f"resource ({exc.method})"))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _status_response(errors.StatusError(exc.status, exc.reason.replace(" ", ""), exc.text or exc.reason))
    except (ConnectionResetError, OSError) as exc:
        log.debug("client went away: %s", exc)
        raise
    except Exception as exc:
        log.exception("internal error serving %s %s", request.method, request.path)
        return _status_response(errors.internal_error(f"{type(exc).__name__}: {exc}"))


def _status_response(exc: errors.StatusError) -> web.Response:
    response = json_response(exc.to_status(), exc.code)
    for key, value in exc.headers.items():
        response.headers[key] = value
    return response


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Client certificates signed by the cluster CA identify users; anonymous requests get 401 except health."""
    if request.path in PUBLIC_PATHS:
        return await handler(request)
    transport = request.transport
    peercert = transport.get_extra_info("peercert") if transport is not None else None
    user = certs.client_identity(peercert)
    if user is None:
        raise errors.unauthorized()
    flow = request.app.get(FLOW_CONTROL_KEY)
    if flow is None:
        return await handler(request)
    try:
        info = parse_resource_path(request.path)
    except errors.StatusError:
        info = None  # the handler answers 404
    if _long_running(request, info):
        return await handler(request)
    facts = flowcontrol.RequestFacts(info.namespace, info.resource) if info else flowcontrol.RequestFacts()
    async with flow.admit(flowcontrol.classify(user, facts)):
        return await handler(request)


def _long_running(request: web.Request, info: RequestInfo | None) -> bool:
    """Watches, streams and proxies hold no seat (upstream's long-running request check)."""
    query = request.query
    if request.method == "GET" and query.get("watch") in ("1", "true"):
        return True
    if info is None:
        return False
    if info.subresource in LONG_RUNNING_SUBRESOURCES:
        return True
    return info.subresource == "log" and query.get("follow") in ("1", "true")


class Routes:
    """Non-resource endpoints.  ``ready`` decides /readyz."""

    def __init__(self, registry: Registry, resources: ResourceHandler, server_address: str,
                 ready: Callable[[], bool], custom_schemas: dict[tuple[str, str, str], dict[str, Any]],
                 metrics: Handler | None = None, prometheus: Handler | None = None) -> None:
        self.registry = registry
        self.metrics = metrics  # metrics.k8s.io requests (served from kubelet scrapes, not the store)
        self.prometheus = prometheus  # GET /metrics
        self.resources = resources
        self.server_address = server_address
        self.ready = ready
        self.custom_schemas = custom_schemas  # (group, version, kind) → a CRD's openAPIV3Schema

    def install(self, app: web.Application) -> None:
        app.router.add_get("/version", self.version)
        app.router.add_get("/version/", self.version)
        for path in ("/healthz", "/livez"):
            app.router.add_get(path, self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/api", self.api)
        app.router.add_get("/api/", self.api)
        app.router.add_get("/apis", self.apis)
        app.router.add_get("/apis/", self.apis)
        app.router.add_get("/api/{version}", self.api_version)
        app.router.add_get("/apis/{group}", self.api_group)
        app.router.add_get("/apis/{group}/{version}", self.group_version)
        app.router.add_get("/openapi/v2", self.openapi_v2)
        app.router.add_get("/openapi/v3", self.openapi_v3_index)
        app.router.add_get("/openapi/v3/{path:.+}", self.openapi_v3)
        if self.prometheus is not None:
            app.router.add_get("/metrics", self.prometheus)
        if self.metrics is not None:
            app.router.add_route("*", "/apis/metrics.k8s.io/{version}/{tail:.+}", self.metrics)
        app.router.add_route("*", "/api/{version}/{tail:.+}", self.resources.handle)
        app.router.add_route("*", "/apis/{group}/{version}/{tail:.+}", self.resources.handle)

    async def version(self, request: web.Request) -> web.StreamResponse:
        return json_response(discovery.version_info())

    async def healthz(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok", content_type="text/plain")

    async def readyz(self, request: web.Request) -> web.StreamResponse:
        if not self.ready():
            return web.Response(text="[-]startup not finished\nreadyz check failed", status=500,
                                content_type="text/plain")
        return web.Response(text="ok", content_type="text/plain")

    def _discovery(self, request: web.Request, core: bool, legacy: object) -> web.StreamResponse:
        version = discovery.aggregated_version(request.headers.get("Accept"))
        if version is not None:
            body = orjson.dumps(discovery.aggregated(self.registry, core, version))
            return web.Response(body=body, headers={"Content-Type": discovery.aggregated_content_type(version)})
        return json_response(legacy)

    async def api(self, request: web.Request) -> web.StreamResponse:
        return self._discovery(request, True, discovery.api_versions(self.server_address))

    async def apis(self, request: web.Request) -> web.StreamResponse:
        return self._discovery(request, False, discovery.api_group_list(self.registry))

    async def api_version(self, request: web.Request) -> web.StreamResponse:
        doc = discovery.api_resource_list(self.registry, "", request.match_info["version"])
        if doc is None:
            raise errors.path_not_found()
        return json_response(doc)

    async def api_group(self, request: web.Request) -> web.StreamResponse:
        group = request.match_info["group"]
        if not self.registry.versions(group):
            raise errors.path_not_found()
        return json_response(discovery.api_group(self.registry, group))

    async def group_version(self, request: web.Request) -> web.StreamResponse:
        doc = discovery.api_resource_list(self.registry, request.match_info["group"], request.match_info["version"])
        if doc is None:
            raise errors.path_not_found()
        return json_response(doc)

    async def openapi_v2(self, request: web.Request) -> web.StreamResponse:
        # kubectl 1.27 rejects its own Accept type echoed back; upstream answers octet-stream
        body = openapi.v2_protobuf(self.registry, self.custom_schemas)
        return web.Response(body=body, content_type="application/octet-stream")

    async def openapi_v3_index(self, request: web.Request) -> web.StreamResponse:
        return json_response(openapi.v3_index(self.registry, self.custom_schemas))

    async def openapi_v3(self, request: web.Request) -> web.StreamResponse:
        parts = request.match_info["path"].split("/")
        if parts[0] == "api" and len(parts) == 2:
            group, version = "", parts[1]
        elif parts[0] == "apis" and len(parts) == 3:
            group, version = parts[1], parts[2]
        else:
            raise errors.path_not_found()
        doc = openapi.v3_document_bytes(self.registry, group, version, self.custom_schemas)
        if doc is None:
            raise errors.path_not_found()
        response = web.Response(body=doc, content_type="application/json")
        if request.query.get("hash"):
            response.headers["Cache-Control"] = "public, immutable"
            response.headers["Etag"] = f'"{request.query["hash"]}"'
            response.headers["Expires"] = "Thu, 01 Jan 2099 00:00:00 GMT"
        return response


def build_app(routes: Routes, flow_control: flowcontrol.FlowControl | None = None) -> web.Application:
    middlewares: list[Any] = [status_errors, authenticate]
    if routes.prometheus is not None:
        middlewares.insert(0, prometheus.observe)
    app = web.Application(middlewares=middlewares, client_max_size=4 * 1024 * 1024)
    if flow_control is not None:
        app[FLOW_CONTROL_KEY] = flow_control
    routes.install(app)
    return app
