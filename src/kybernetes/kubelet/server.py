"""The kubelet's HTTPS server (port 10250): logs, exec, attach, port-forward, stats, pods, healthz.

Only clients with a certificate signed by the cluster CA get in (:func:`kubelet_ssl_context` requires one); the
API server uses its ``kube-apiserver-kubelet-client`` certificate. Endpoints, as upstream:

===========================================================  ==============================================
``GET /healthz``                                              ``ok``
``GET /pods``                                                 the kubelet's pods as a ``PodList``
``GET /containerLogs/{ns}/{pod}/{container}``                 text; ``follow tailLines sinceSeconds sinceTime
                                                              timestamps previous limitBytes``
``GET|POST /exec/{ns}/{pod}/{container}?command=…``           upgrade (SPDY/3.1 or WebSocket), spliced to the
``GET|POST /attach/{ns}/{pod}/{container}``                   runtime's streaming server at the URL CRI
``GET|POST /portforward/{ns}/{pod}``                          Exec/Attach/PortForward returns
``GET /stats/summary``                                        ``statsapi.Summary``
``GET /metrics/resource``                                     Prometheus text: node/pod/container cpu, memory
``GET /metrics``                                              the kubelet process's own metrics
===========================================================  ==============================================

Errors are ``text/plain`` with upstream's words and status (the API server turns them into Status objects).
"""

from __future__ import annotations

import inspect
import logging
import ssl
import urllib.parse
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from aiohttp import web

from kybernetes.client.metrics import metrics_handler
from kybernetes.kubelet import logs, streaming
from kybernetes.kubelet.cri.types import ContainerState, CRIError, RuntimeService
from kybernetes.kubelet.stats import RESOURCE_METRICS_CONTENT_TYPE, SummaryProvider, resource_metrics_text

log = logging.getLogger(__name__)
T = TypeVar("T")
Obj = dict[str, Any]


class KubeletView(Protocol):
    """The lookups the server needs from the kubelet. Each method may be a plain or a coroutine function."""

    def pod_by_name(self, namespace: str, name: str) -> Obj | Awaitable[Obj | None] | None:
        """The pod object (as last seen from the API server) or ``None``."""
        ...

    def container_id(self, namespace: str, pod: str, container: str,
                     previous: bool = False) -> str | Awaitable[str | None] | None:
        """The runtime id of the current (or, with ``previous``, the last terminated) container instance."""
        ...

    def sandbox_id(self, namespace: str, pod: str) -> str | Awaitable[str | None] | None: ...

    def log_path(self, namespace: str, pod: str, container: str,
                 previous: bool = False) -> str | Path | Awaitable[str | Path | None] | None: ...

    def pods(self) -> list[Obj] | Awaitable[list[Obj]]:
        """The pods bound to this node."""
        ...


async def _resolve(value: T | Awaitable[T]) -> T:
    if inspect.isawaitable(value):
        return await value
    return value


def kubelet_ssl_context(cert_path: str | Path, key_path: str | Path, ca_path: str | Path) -> ssl.SSLContext:
    """A TLS server context serving ``cert``/``key`` that requires a client certificate signed by ``ca``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert_path), str(key_path))
    ctx.load_verify_locations(cafile=str(ca_path))
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def _text(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message + "\n", content_type="text/plain")


def _truthy(query: Any, *names: str) -> bool:
    return any(query.get(n, "").lower() in ("1", "true") for n in names)


def _waiting_reason(pod: Obj, container: str) -> str:
    status = pod.get("status") or {}
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        if cs.get("name") == container:
            waiting = (cs.get("state") or {}).get("waiting") or {}
            return str(waiting.get("reason") or "ContainerCreating")
    return "ContainerCreating"


class KubeletServer:
    """Serves the endpoints above on ``address:port`` with ``ssl_context`` (``None`` = plain HTTP, for tests).
    ``port=0`` picks a free port; :attr:`port` is the bound one after :meth:`start`."""

    def __init__(self, kubelet_view: KubeletView, runtime: RuntimeService, *, port: int = 10250,
                 ssl_context: ssl.SSLContext | None, address: str = "0.0.0.0", node_name: str = "",
                 stats: SummaryProvider | None = None) -> None:
        self.view = kubelet_view
        self.runtime = runtime
        self.port = port
        self.address = address
        self.ssl_context = ssl_context
        self.stats = stats or SummaryProvider(node_name, runtime)
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/pods", self._pods)
        app.router.add_get("/stats/summary", self._summary)
        app.router.add_get("/metrics/resource", self._resource_metrics)
        app.router.add_get("/metrics", metrics_handler)
        app.router.add_get("/containerLogs/{ns}/{pod}/{container}", self._logs)
        for kind in ("exec", "attach"):
            app.router.add_route("GET", f"/{kind}/{{ns}}/{{pod}}/{{container}}", self._stream)
            app.router.add_route("POST", f"/{kind}/{{ns}}/{{pod}}/{{container}}", self._stream)
            app.router.add_route("GET", f"/{kind}/{{ns}}/{{pod}}/{{uid}}/{{container}}", self._stream)
            app.router.add_route("POST", f"/{kind}/{{ns}}/{{pod}}/{{uid}}/{{container}}", self._stream)
        app.router.add_route("GET", "/portforward/{ns}/{pod}", self._stream)
        app.router.add_route("POST", "/portforward/{ns}/{pod}", self._stream)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.address, self.port, ssl_context=self.ssl_context,
                           reuse_address=True)
        await site.start()
        server = site._server
        if server is not None and self.port == 0:
            sockets = getattr(server, "sockets", None) or []
            if sockets:
                self.port = int(sockets[0].getsockname()[1])
        log.info("kubelet server on %s:%d", self.address, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---------------------------------------------------------------------------------------------- plain

    async def _healthz(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok", content_type="text/plain")

    async def _pods(self, request: web.Request) -> web.StreamResponse:
        items = await _resolve(self.view.pods())
        return web.json_response({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items})

    async def _summary(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(await self.stats.summary())

    async def _resource_metrics(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text=resource_metrics_text(await self.stats.summary()),
                            headers={"Content-Type": RESOURCE_METRICS_CONTENT_TYPE})

    async def _container(self, ns: str, pod_name: str, container: str,
                         previous: bool = False) -> tuple[Obj, str] | web.Response:
        pod = await _resolve(self.view.pod_by_name(ns, pod_name))
        if pod is None:
            return _text(404, f'pod "{pod_name}" not found')
        cid = await _resolve(self.view.container_id(ns, pod_name, container, previous))
        if not cid:
            if previous:
                return _text(400, f'previous terminated container "{container}" in pod "{pod_name}" not found')
            return _text(400, f'container "{container}" in pod "{pod_name}" is waiting to start: '
                              f"{_waiting_reason(pod, container)}")
        return pod, cid

    # ---------------------------------------------------------------------------------------------- logs

    async def _logs(self, request: web.Request) -> web.StreamResponse:
        ns, pod_name, container = (request.match_info[k] for k in ("ns", "pod", "container"))
        try:
            opts = logs.options_from_query(request.query)
        except logs.LogOptionsError as e:
            return _text(400, str(e))
        found = await self._container(ns, pod_name, container, opts.previous)
        if isinstance(found, web.Response):
            return found
        _, cid = found
        path = await _resolve(self.view.log_path(ns, pod_name, container, opts.previous))
        if path is None:
            return _text(404, f'no log file for container "{container}" in pod "{pod_name}"')

        async def running() -> bool:
            try:
                return (await self.runtime.container_status(cid)).state == ContainerState.RUNNING
            except CRIError:
                return False

        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        try:
            async for chunk in logs.follow_log(Path(path), opts, running=running):
                await resp.write(chunk)
        except (ConnectionError, OSError):
            return resp
        await resp.write_eof()
        return resp

    # ---------------------------------------------------------------------------------------------- streams

    async def _stream_url(self, request: web.Request) -> str | web.Response:
        kind = request.path.split("/")[1]
        ns, pod_name = request.match_info["ns"], request.match_info["pod"]
        q = request.query
        try:
            if kind == "portforward":
                if await _resolve(self.view.pod_by_name(ns, pod_name)) is None:
                    return _text(404, f'pod "{pod_name}" not found')
                sid = await _resolve(self.view.sandbox_id(ns, pod_name))
                if not sid:
                    return _text(400, f'pod "{pod_name}" has no sandbox')
                ports = [int(p) for p in q.getall("port", []) if p.isdigit()]
                return await self.runtime.port_forward(sid, ports)
            found = await self._container(ns, pod_name, request.match_info["container"])
            if isinstance(found, web.Response):
                return found
            _, cid = found
            tty = _truthy(q, "tty")
            flags = {"tty": tty, "stdin": _truthy(q, "input", "stdin"), "stdout": _truthy(q, "output", "stdout"),
                     "stderr": _truthy(q, "error", "stderr") and not tty}
            if kind == "exec":
                command = q.getall("command", [])
                if not command:
                    return _text(400, "you must specify at least 1 command")
                return await self.runtime.exec(cid, list(command), **flags)
            return await self.runtime.attach(cid, **flags)
        except CRIError as e:
            return _text(500 if e.code != "NOT_FOUND" else 404, e.message)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        url = await self._stream_url(request)
        if isinstance(url, web.Response):
            return url
        target = urllib.parse.urlsplit(url)
        path = target.path + (f"?{target.query}" if target.query else "")
        try:
            upstream = await streaming.open_upgrade(
                target.hostname or "127.0.0.1", target.port or 80, request.method, path,
                streaming.forwarded_headers(request.headers.items()))
        except streaming.UpgradeError as e:
            return web.Response(status=e.head.status, body=e.body,
                                content_type=(e.head.header("Content-Type") or "text/plain").split(";")[0])
        except OSError as e:
            return _text(500, f"error dialing the streaming server: {e}")
        client = await streaming.hijack(request, upstream.head)
        await streaming.splice(client, upstream)
        return client.response
