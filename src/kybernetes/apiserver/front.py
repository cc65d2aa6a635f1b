"""The API server's connections: plain resource requests are answered here, everything else by aiohttp.

Almost every request the control plane sends is a small create, get, update, patch or delete of one resource on a
keep-alive connection.  aiohttp's request and response machinery costs about twice the CPU of parsing such a request
with llhttp (``httptools``) and writing the answer's bytes, and the API server is the control plane's busiest
process, so :class:`FrontProtocol` does that itself for requests that:

* use GET, POST, PUT, PATCH or DELETE on a path below ``/api/{version}/`` or ``/apis/{group}/{version}/``
  (not ``metrics.k8s.io``, which is served from kubelet scrapes);
* are not watches and not the streaming subresources (``log``, ``exec``, ``attach``, ``portforward``, ``proxy``);
* carry no ``Upgrade`` or ``Expect`` header and at most :data:`codec.MAX_BODY` bytes of declared body.

Those go through the same middlewares and the same :class:`ResourceHandler` as through aiohttp, given a
:class:`FrontRequest` that offers the part of ``web.Request`` they use.  For any other request the connection is
handed to aiohttp, with the bytes of the request read so far, and stays with it (watches and streams last anyway).
Pipelined requests are answered in order; a pipelined request that would need aiohttp is answered 400 and the
connection closed (no client we know pipelines).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from email.utils import formatdate
from typing import Any, cast
from urllib.parse import parse_qsl, unquote

import httptools
import orjson
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy

from kybernetes.api import errors
from kybernetes.apiserver import codec

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]

SERVED_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
STREAMING_SUBRESOURCES = frozenset({"log", "exec", "attach", "portforward", "proxy"})
MAX_HEAD = 64 * 1024  # request line and headers
MAX_QUEUED = 8  # pipelined requests waiting for their turn before reading pauses
IDLE_TIMEOUT = 75.0  # seconds a connection may wait for its next request (aiohttp's keep-alive timeout)


class FrontRequest:
    """One request parsed by :class:`FrontProtocol`: the part of ``web.Request`` the middlewares and the resource
    handlers use (``method``, ``path``, ``query``, ``headers``, ``content_length``, ``read()``, ``transport``,
    ``app``).  ``tests/unit/apiserver/test_front.py`` checks that they use nothing else."""

    __slots__ = ("_query", "app", "body", "headers", "method", "path", "query_string", "transport")

    def __init__(self, method: str, path: str, query_string: str, headers: CIMultiDictProxy[str], body: bytes,
                 transport: asyncio.BaseTransport, app: web.Application) -> None:
        self.method = method
        self.path = path
        self.query_string = query_string
        self.headers = headers
        self.body = body
        self.transport: asyncio.BaseTransport | None = transport
        self.app = app
        self._query: MultiDictProxy[str] | None = None

    @property
    def query(self) -> MultiDictProxy[str]:
        if self._query is None:
            self._query = MultiDictProxy(MultiDict(parse_qsl(self.query_string, keep_blank_values=True)))
        return self._query

    @property
    def content_length(self) -> int:
        return len(self.body)

    async def read(self) -> bytes:
        return self.body


def is_served(method: str, path: str, query_string: str, headers: CIMultiDict[str]) -> bool:
    """Whether the front answers this request itself (see the module docstring); False hands it to aiohttp."""
    if method not in SERVED_METHODS or "Upgrade" in headers or "Expect" in headers:
        return False
    length = headers.get("Content-Length")
    if length is not None and (not length.isdigit() or int(length) > codec.MAX_BODY):
        return False
    parts = path.split("/")
    # "", "api", version, rest...  or  "", "apis", group, version, rest...
    if len(parts) >= 4 and parts[1] == "api":
        rest = parts[3:]
    elif len(parts) >= 5 and parts[1] == "apis" and parts[2] != "metrics.k8s.io":
        rest = parts[4:]
    else:
        return False
    if not rest[0]:
        return False
    if query_string and ("watch=" in query_string or "follow=" in query_string):
        query = parse_qsl(query_string, keep_blank_values=True)
        if any(k in ("watch", "follow") and v in ("1", "true") for k, v in query):
            return False
    # .../namespaces/{ns}/{resource}/{name}/{subresource} or .../{resource}/{name}/{subresource}
    subresource = rest[4] if rest[0] == "namespaces" and len(rest) >= 5 else rest[2] if len(rest) >= 3 else ""
    return subresource not in STREAMING_SUBRESOURCES


_date: list[Any] = [-1, b""]


def _date_header() -> bytes:
    second = int(time.time())
    if second != _date[0]:
        _date[1] = b"Date: " + formatdate(second, usegmt=True).encode() + b"\r\n"
        _date[0] = second
    value: bytes = _date[1]
    return value


def response_bytes(response: web.StreamResponse, keep_alive: bool) -> bytes:
    """The whole HTTP/1.1 answer for a buffered ``web.Response``; anything else is a 500 Status."""
    body = response.body if isinstance(response, web.Response) else None
    if not isinstance(body, bytes | bytearray):
        log.error("a resource handler answered with a %s the front cannot write", type(response).__name__)
        failure = errors.internal_error("the response could not be written")
        response = web.Response(body=orjson.dumps(failure.to_status()), status=500, content_type="application/json")
        body = cast(bytes, response.body)
    head = [f"HTTP/1.1 {response.status} {response.reason}\r\n".encode("latin-1")]
    for name, value in response.headers.items():
        if name in ("Content-Length", "Transfer-Encoding", "Connection", "Date"):
            continue
        if "\r" in value or "\n" in value:  # a line break would end the header (Warning text echoes user input)
            value = value.replace("\r", " ").replace("\n", " ")
        head.append(f"{name}: {value}\r\n".encode("utf-8", "surrogateescape"))
    head.append(_date_header())
    head.append(b"Content-Length: %d\r\n" % len(body))
    if not keep_alive:
        head.append(b"Connection: close\r\n")
    head.append(b"\r\n")
    head.append(bytes(body))
    return b"".join(head)


class Front:
    """Makes a :class:`FrontProtocol` per connection (the protocol factory for ``loop.create_server``).

    ``middlewares`` wrap ``handler`` in the same order as the aiohttp application's; ``fallback`` makes aiohttp's
    protocol for a connection handed over (``AppRunner.server``).  ``close()`` closes every connection still here."""

    def __init__(self, app: web.Application, middlewares: Sequence[Middleware], handler: Handler,
                 fallback: Callable[[], asyncio.Protocol]) -> None:
        self.app = app
        self.fallback = fallback
        self.connections: set[FrontProtocol] = set()
        chain = handler
        for middleware in reversed(middlewares):
            chain = _wrap(middleware, chain)
        self.dispatch = chain

    def __call__(self) -> FrontProtocol:
        return FrontProtocol(self)

    def close(self) -> None:
        for connection in list(self.connections):
            connection.close()

    async def close_idle(self, idle: float = IDLE_TIMEOUT) -> None:
        """Run forever: close connections that waited ``idle`` seconds for a request (one timer for all of them,
        checked every ``idle / 5`` seconds)."""
        while True:
            await asyncio.sleep(idle / 5)
            cutoff = time.monotonic() - idle
            for connection in list(self.connections):
                if connection.idle_since() < cutoff:
                    connection.close()


def _wrap(middleware: Middleware, inner: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        return await middleware(request, inner)
    return wrapped


class FrontProtocol(asyncio.Protocol):
    """One client connection (see the module docstring).  Requests are answered one at a time, in order."""

    def __init__(self, front: Front) -> None:
        self.front = front
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.queue: deque[tuple[FrontRequest, bool]] = deque()
        self.worker: asyncio.Task[None] | None = None
        self.closing = False
        self.paused = False
        # the message being parsed
        self.raw = bytearray()  # its bytes so far, while it may still go to aiohttp
        self.keep_raw = False
        self.in_message = False
        self.completed_in_feed = False
        self.start_unknown = False  # it began after another message in the same read (pipelined)
        self.url = bytearray()
        self.head_size = 0
        self.header_list: list[tuple[str, str]] = []
        self.headers: CIMultiDict[str] = CIMultiDict()
        self.body: list[bytes] = []
        self.body_size = 0
        self.served = False
        self.handoff = False
        self.path = ""
        self.query_string = ""
        self.last_active = time.monotonic()

    def idle_since(self) -> float:
        """When this connection last received or answered something; infinity while a request is open."""
        if self.in_message or self.queue or (self.worker is not None and not self.worker.done()):
            return float("inf")
        return self.last_active

    # -- asyncio.Protocol ----------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.front.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        # a request being answered runs to its end, as aiohttp's handlers do: a write cancelled half-way could
        # leave its side effects (allocations, hooks) half done
        self.front.connections.discard(self)
        self.closing = True

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        self.last_active = time.monotonic()
        if not self.in_message:
            self.raw = bytearray(data)
            self.keep_raw = True
        elif self.keep_raw:
            self.raw.extend(data)
        self.completed_in_feed = False
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # an Upgrade request: on_headers_complete handed it to aiohttp
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            if isinstance(cause, _TooLarge):
                self._refuse(str(cause), 413 if self.served else 400)
                return
            if isinstance(cause, _Pipelined):
                self._refuse("a pipelined request that this connection cannot serve")
                return
            if not isinstance(cause, _HandOff):
                self._refuse(f"malformed HTTP request: {exc}")
                return
        if self.handoff:
            self._hand_off()
        elif not self.in_message:
            self.raw = bytearray()

    def eof_received(self) -> bool | None:
        self.closing = True
        if self.worker is None or self.worker.done():
            return None  # close now
        return True  # keep the transport open until the queued answers are written

    # -- llhttp callbacks ----------------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.in_message = True
        self.start_unknown = self.completed_in_feed
        self.url = bytearray()
        self.head_size = 0
        self.header_list = []
        self.body = []
        self.body_size = 0
        self.served = False

    def on_url(self, url: bytes) -> None:
        self.url.extend(url)
        self.head_size += len(url)
        if self.head_size > MAX_HEAD:
            raise _TooLarge("request URL too large")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_size += len(name) + len(value)
        if self.head_size > MAX_HEAD:
            raise _TooLarge("request headers too large")
        self.header_list.append((name.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape")))

    def on_headers_complete(self) -> None:
        self.headers = CIMultiDict(self.header_list)
        method = self.parser.get_method().decode("latin-1")
        parsed = httptools.parse_url(bytes(self.url))
        self.path = unquote(parsed.path.decode("utf-8", "surrogateescape"))
        self.query_string = (parsed.query or b"").decode("utf-8", "surrogateescape")
        if is_served(method, self.path, self.query_string, self.headers):
            self.served = True
            self.keep_raw = False
            self.raw = bytearray()
            return
        if self.start_unknown or self.queue or (self.worker is not None and not self.worker.done()):
            raise _Pipelined()
        self.handoff = True
        raise _HandOff()  # stop parsing: aiohttp parses this request again from its first byte

    def on_body(self, body: bytes) -> None:
        self.body_size += len(body)
        if self.body_size > codec.MAX_BODY:
            raise _TooLarge("Request entity too large: limit is 3145728")
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.in_message = False
        self.completed_in_feed = True
        assert self.transport is not None
        request = FrontRequest(self.parser.get_method().decode("latin-1"), self.path, self.query_string,
                               CIMultiDictProxy(self.headers), b"".join(self.body), self.transport, self.front.app)
        self.queue.append((request, self.parser.should_keep_alive()))
        if len(self.queue) > MAX_QUEUED and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        if self.worker is None or self.worker.done():
            self.worker = asyncio.get_running_loop().create_task(self._answer_queued())

    # -- answering -----------------------------------------------------------------------------------------

    async def _answer_queued(self) -> None:
        transport = self.transport
        assert transport is not None
        while self.queue and not transport.is_closing():
            request, keep_alive = self.queue.popleft()
            if self.paused and len(self.queue) <= MAX_QUEUED // 2:
                self.paused = False
                transport.resume_reading()
            try:
                response = await self.front.dispatch(cast(web.Request, request))
            except Exception as exc:  # the middlewares turn every error into a Status; this is the client leaving
                log.debug("connection dropped while answering %s %s: %s", request.method, request.path, exc)
                transport.close()
                return
            if transport.is_closing():
                return
            transport.write(response_bytes(response, keep_alive))
            self.last_active = time.monotonic()
            if not keep_alive:
                transport.close()
                return
        if self.closing and not self.handoff:
            transport.close()

    def _hand_off(self) -> None:
        """Give the connection to aiohttp, replaying the current request's bytes."""
        assert self.transport is not None
        self.front.connections.discard(self)
        protocol = self.front.fallback()
        self.transport.set_protocol(protocol)
        protocol.connection_made(self.transport)
        protocol.data_received(bytes(self.raw))
        self.raw = bytearray()
        self.closing = True  # nothing more comes here

    def _refuse(self, message: str, code: int = 400) -> None:
        """Answer a request that cannot be parsed or served with a Status and close the connection."""
        if self.transport is None or self.transport.is_closing():
            return
        reason = {400: "BadRequest", 413: "RequestEntityTooLarge"}.get(code, "BadRequest")
        status = errors.StatusError(code, reason, message).to_status()
        self.transport.write(response_bytes(web.Response(body=orjson.dumps(status), status=code,
                                                         content_type="application/json"), keep_alive=False))
        self.transport.close()
        self.closing = True

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class _HandOff(Exception):
    """Raised from a parser callback to stop parsing a request aiohttp will parse again."""


class _Pipelined(Exception):
    """A pipelined request needs aiohttp: where its bytes start is not known."""


class _TooLarge(Exception):
    """Headers or body over their limits."""
