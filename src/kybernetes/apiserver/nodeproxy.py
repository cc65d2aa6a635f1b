"""The node-proxied pod subresources: ``pods/log``, ``pods/exec``, ``pods/attach``, ``pods/portforward``.

The pod's kubelet is found at the node's ``status.addresses`` (InternalIP, else Hostname) and
``status.daemonEndpoints.kubeletEndpoint.Port`` (default 10250) and called over HTTPS with the API server's
kubelet client certificate (:func:`configure`, done once at start).

* ``log``: ``GET /containerLogs/...`` on the kubelet, streamed back as ``text/plain`` (chunked, so ``follow`` works).
* ``exec``/``attach`` over WebSocket (kubectl ≥ 1.30 offers only ``v5.channel.k8s.io``): containerd 1.6 knows only
  v4 WebSocket (no stdin half-close) or SPDY, so the API server speaks **SPDY to the kubelet** (which splices to
  containerd) and translates: client channel 0/4 → the stdin/resize streams, the v5 close signal (255, 0) → FIN on
  stdin, stdout/stderr streams → channels 1/2, the error stream's Status → channel 3, then a normal close.
* ``exec``/``attach``/``portforward`` over SPDY (kubectl 1.27-1.29, and every fallback): passed through; the
  upgrade request goes to the kubelet (credentials dropped) and the bytes are spliced.
* ``portforward`` over WebSocket ``SPDY/3.1+portforward.k8s.io``: SPDY tunnelled in binary messages; unwrapped
  and spliced to a SPDY upgrade towards the kubelet.

Errors are Status objects with upstream's words: ``pod X does not have a host assigned`` (400), ``container C is
not valid for pod X`` (400), the kubelet's own error text with its code, and 500 when the kubelet is unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import urllib.parse
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from kybernetes.api import errors
from kybernetes.api.registry import Resource
from kybernetes.apiserver.objects import Obj
from kybernetes.apiserver.requestinfo import RequestInfo
from kybernetes.kubelet import streaming

if TYPE_CHECKING:
    from kybernetes.apiserver.handlers import ResourceHandler

log = logging.getLogger(__name__)
DEFAULT_KUBELET_PORT = 10250
_state: dict[str, ssl.SSLContext] = {}


def configure(kubelet_client_context: ssl.SSLContext) -> None:
    """Set the TLS context used to call kubelets (see ``certs.kubelet_client_ssl_context``)."""
    _state["ssl"] = kubelet_client_context


def _ssl() -> ssl.SSLContext:
    ctx = _state.get("ssl")
    if ctx is None:
        raise errors.service_unavailable("the API server has no kubelet client certificate configured")
    return ctx


# ------------------------------------------------------------------------------------------------ lookups

def kubelet_address(node: Obj) -> tuple[str, int] | None:
    """``(host, port)`` of a node's kubelet: InternalIP, else ExternalIP, else Hostname; ``None`` if none."""
    status = node.get("status") or {}
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or [] if a.get("address")}
    host = addresses.get("InternalIP") or addresses.get("ExternalIP") or addresses.get("Hostname")
    if not host:
        return None
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port") or DEFAULT_KUBELET_PORT
    return str(host), int(port)


def pick_container(pod: Obj, requested: str, sub: str) -> str:
    """The container a log/exec/attach request is for, or a 400 with upstream's message."""
    spec = pod.get("spec") or {}
    name = (pod.get("metadata") or {}).get("name", "")
    main = [c.get("name", "") for c in spec.get("containers") or []]
    others = [c.get("name", "") for c in (spec.get("initContainers") or []) + (spec.get("ephemeralContainers") or [])]
    if not requested:
        if len(main) == 1:
            return str(main[0])
        choices = " ".join(main)
        raise errors.bad_request(f"a container name must be specified for pod {name}, choose one of: [{choices}]")
    if requested not in main and requested not in others:
        raise errors.bad_request(f"container {requested} is not valid for pod {name}")
    return requested


async def _kubelet_for(handler: ResourceHandler, pod: Obj) -> tuple[str, int]:
    node_name = (pod.get("spec") or {}).get("nodeName") or ""
    nodes = handler.registry.get("", "v1", "nodes")
    assert nodes is not None
    node = await handler.store.get(nodes, "", node_name)
    address = kubelet_address(node)
    if address is None:
        raise errors.service_unavailable(f'node "{node_name}" has no address to reach its kubelet')
    return address


def _kubelet_status(code: int, body: bytes, what: str) -> errors.StatusError:
    message = body.decode("utf-8", "replace").strip() or f"the kubelet answered {code} for {what}"
    reasons = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 500: "InternalError",
               503: "ServiceUnavailable"}
    return errors.StatusError(code if code >= 400 else 500, reasons.get(code, "InternalError"), message)


def _unreachable(url: str, exc: BaseException) -> errors.StatusError:
    return errors.StatusError(500, "InternalError", f'Get "{url}": {exc or type(exc).__name__}')


# ------------------------------------------------------------------------------------------------ entry point

async def handle(handler: ResourceHandler, request: web.Request, res: Resource,
                 info: RequestInfo) -> web.StreamResponse:
    """Serve a node-proxied subresource request (see the module doc)."""
    if res.kind != "Pod" or info.subresource not in ("log", "exec", "attach", "portforward"):
        raise errors.service_unavailable(f"{info.subresource} for {res.plural} is not available")
    pod = await handler.store.get(res, info.namespace, info.name)
    if not (pod.get("spec") or {}).get("nodeName"):
        raise errors.bad_request(f"pod {info.name} does not have a host assigned")
    sub = info.subresource
    query = request.query
    if sub == "log":
        if request.method != "GET":
            raise errors.method_not_supported("pods/log", "", request.method.lower())
        container = pick_container(pod, query.get("container", ""), sub)
        return await _log(handler, request, pod, container)
    if sub in ("exec", "attach"):
        container = pick_container(pod, query.get("container", ""), sub)
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            raise errors.bad_request(f"cannot {sub} into a container in a completed pod; current phase is {phase}")
        path = f"/{sub}/{info.namespace}/{info.name}/{container}"
        params = [(k, v) for k, v in query.items() if k != "container"]
    else:
        path = f"/portforward/{info.namespace}/{info.name}"
        params = list(query.items())
    if request.headers.get("Upgrade", "").lower() not in ("websocket", "spdy/3.1"):
        raise errors.bad_request("Upgrade request required")
    host, port = await _kubelet_for(handler, pod)
    target = path + ("?" + urllib.parse.urlencode(params) if params else "")
    if request.headers.get("Upgrade", "").lower() == "spdy/3.1":
        return await _passthrough(request, host, port, target)
    protocols = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
    if sub == "portforward":
        if streaming.PORTFORWARD_WS not in protocols:
            raise errors.bad_request(f"unsupported WebSocket subprotocols {protocols}; "
                                     f"expected {streaming.PORTFORWARD_WS}")
        return await _portforward_ws(request, host, port, target)
    wanted = [p for p in (streaming.V5, streaming.V4) if p in protocols]
    if not wanted:
        raise errors.bad_request(f"unsupported WebSocket subprotocols {protocols}; expected {streaming.V5}")
    return await _exec_ws(request, host, port, target, wanted[0])


# ------------------------------------------------------------------------------------------------ logs

async def _log(handler: ResourceHandler, request: web.Request, pod: Obj, container: str) -> web.StreamResponse:
    host, port = await _kubelet_for(handler, pod)
    meta = pod["metadata"]
    params = [(k, v) for k, v in request.query.items()
              if k in ("follow", "tailLines", "sinceSeconds", "sinceTime", "timestamps", "previous", "limitBytes")]
    url = f"https://{host}:{port}/containerLogs/{meta['namespace']}/{meta['name']}/{container}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    timeout = aiohttp.ClientTimeout(total=None, connect=10, sock_connect=10)
    session = aiohttp.ClientSession(timeout=timeout)
    try:
        try:
            upstream = await session.get(url, ssl=_ssl())
        except (aiohttp.ClientError, OSError) as e:
            raise _unreachable(url, e) from e
        if upstream.status != 200:
            raise _kubelet_status(upstream.status, await upstream.read(), "pods/log")
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        with contextlib.suppress(aiohttp.ClientError, ConnectionError, OSError, asyncio.TimeoutError):
            async for chunk in upstream.content.iter_any():
                await resp.write(chunk)
        with contextlib.suppress(ConnectionError, OSError):
            await resp.write_eof()
        return resp
    finally:
        await session.close()


# ------------------------------------------------------------------------------------------------ SPDY

async def _open(host: str, port: int, method: str, target: str,
                headers: list[tuple[str, str]]) -> streaming.Upgraded:
    url = f"https://{host}:{port}{target}"
    try:
        return await streaming.open_upgrade(host, port, method, target, headers, ssl_context=_ssl())
    except streaming.UpgradeError as e:
        raise _kubelet_status(e.head.status, e.body, target.split("?")[0]) from e
    except (TimeoutError, OSError, ssl.SSLError) as e:
        raise _unreachable(url, e) from e


async def _passthrough(request: web.Request, host: str, port: int, target: str) -> web.StreamResponse:
    upstream = await _open(host, port, request.method, target, streaming.forwarded_headers(request.headers.items()))
    client = await streaming.hijack(request, upstream.head)
    await streaming.splice(client, upstream)
    return client.response


def _spdy_headers(version: str) -> list[tuple[str, str]]:
    return [("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1"), ("X-Stream-Protocol-Version", version)]


async def _exec_ws(request: web.Request, host: str, port: int, target: str, protocol: str) -> web.StreamResponse:
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query)

    def flag(*names: str) -> bool:
        return any(query.get(n, [""])[0].lower() in ("1", "true") for n in names)

    tty = flag("tty")
    upstream = await _open(host, port, "POST", target, _spdy_headers(streaming.V4))
    session = streaming.SpdyClientSession(upstream)
    session.open_stream("error")
    if flag("stdin", "input"):
        session.open_stream("stdin")
    if flag("stdout", "output"):
        session.open_stream("stdout")
    if flag("stderr", "error") and not tty:
        session.open_stream("stderr")
    if tty:
        session.open_stream("resize")
    ws = web.WebSocketResponse(protocols=[protocol], heartbeat=None, autoping=True, max_msg_size=0)
    await ws.prepare(request)

    async def from_client() -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.BINARY:
                continue
            action = streaming.client_frame_action(msg.data, protocol)
            if action.kind == "data":
                await session.write(action.stream, action.payload)
            elif action.kind == "close":
                await session.close_stream(action.stream)

    status = b""
    reader = asyncio.ensure_future(from_client())
    try:
        async for event in session.events():
            if event.kind == "data" and event.stream in ("stdout", "stderr"):
                await ws.send_bytes(streaming.channel_frame(event.stream, event.data))
            elif event.kind == "data" and event.stream == "error":
                status += event.data
            elif event.kind == "fin" and event.stream == "error":
                break
        if status:
            await ws.send_bytes(streaming.channel_frame("error", status))
    except (ConnectionError, OSError) as e:
        log.debug("exec stream ended: %s", e)
    finally:
        reader.cancel()
        with contextlib.suppress(BaseException):
            await reader
        session.close()
        with contextlib.suppress(Exception):
            await ws.close()
    return ws


async def _portforward_ws(request: web.Request, host: str, port: int, target: str) -> web.StreamResponse:
    upstream = await _open(host, port, "POST", target, _spdy_headers("portforward.k8s.io"))
    ws = web.WebSocketResponse(protocols=[streaming.PORTFORWARD_WS], heartbeat=None, max_msg_size=0)
    await ws.prepare(request)

    async def from_client() -> None:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                upstream.writer.write(msg.data)
                await upstream.writer.drain()

    reader = asyncio.ensure_future(from_client())
    try:
        while data := await upstream.reader.read(65536):
            await ws.send_bytes(data)
    except (ConnectionError, OSError) as e:
        log.debug("port-forward stream ended: %s", e)
    finally:
        reader.cancel()
        with contextlib.suppress(BaseException):
            await reader
        upstream.close()
        with contextlib.suppress(Exception):
            await ws.close()
    return ws
