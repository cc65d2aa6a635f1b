"""Plain requests to the API server over keep-alive HTTP/1.1 connections, without aiohttp.

Every component sends many small requests (creates, binds, status patches, Lease renewals) and reads whole answers;
through aiohttp each costs about three times the client CPU of writing the request bytes on a kept-alive TLS
connection and parsing the answer with llhttp (``httptools``) — request and header objects, URL parsing, timers,
payload writers.  :class:`Http1Pool` does only that; :class:`kybernetes.client.rest.Client` sends every request
through it except streams (watches), which stay on aiohttp.

Connections are kept alive and reused (at most ``connections`` at once; more callers wait) while idle for less than
:data:`IDLE_REUSE` seconds (the API server closes a connection idle for 75 s).  A request that fails on a reused
connection before any answer arrived — the server closed it while idle — is sent once more on a new connection when
its method is idempotent (GET, HEAD, PUT, DELETE, and PATCH: the same patch applies to the same result); a POST is
not repeated: its caller sees :class:`ServerUnavailable`, as with Go's transport.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from typing import cast
from urllib.parse import urlsplit

import httptools

from kybernetes.client.config import ClientConfig

IDLE_REUSE = 60.0
RETRIED_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "PATCH"})


class ProtocolError(Exception):
    """The server's answer is not HTTP/1.1 (or something follows it on the connection)."""


class Response:
    """One answer, parsed by llhttp (``httptools``) from bytes fed in as they arrive."""

    def __init__(self) -> None:
        self.status = 0
        self.body = b""
        self.complete = False
        self.keep_alive = True
        self.started = False
        self._chunks: list[bytes] = []
        self.retry_after = ""
        self.content_type = ""
        self._has_length = False
        self._no_length = False  # an answer whose body would end only when the connection does
        self._parser = httptools.HttpResponseParser(self)

    def feed(self, data: bytes) -> None:
        """Consume ``data``; sets ``complete`` once the whole answer arrived.  Raises ProtocolError for anything
        that is not one HTTP/1.1 answer with a known length (Content-Length or chunked)."""
        if self.complete:
            raise ProtocolError("bytes after the response")
        self.started = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            raise ProtocolError(str(exc)) from exc
        if not self.complete and self._no_length:
            raise ProtocolError("response without a length")

    # llhttp callbacks

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        self._no_length = not self._has_length and self.status not in (204, 304) and self.status >= 200

    def on_header(self, name: bytes, value: bytes) -> None:
        lowered = name.lower()
        if lowered in (b"content-length", b"transfer-encoding"):
            self._has_length = True
        elif lowered == b"retry-after":
            self.retry_after = value.decode("latin-1").strip()
        elif lowered == b"content-type":
            self.content_type = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        self.keep_alive = self._parser.should_keep_alive()
        self.body = b"".join(self._chunks)
        self.complete = True


class _Connection(asyncio.Protocol):
    """One keep-alive connection carrying one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._response: Response | None = None
        self._done: asyncio.Future[Response] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's TLS transport does not subclass it

    def data_received(self, data: bytes) -> None:
        if self._response is None or self._done is None or self._done.done():
            self.close()  # nothing was asked: the connection is out of step
            return
        try:
            self._response.feed(data)
        except (ProtocolError, ValueError) as exc:
            self._done.set_exception(ProtocolError(str(exc)))
            self.close()
            return
        if self._response.complete:
            self._done.set_result(self._response)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._done is not None and not self._done.done():
            self._done.set_exception(ConnectionError(f"connection lost: {exc}"))

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def send(self, request: bytes) -> tuple[Response, asyncio.Future[Response]]:
        assert self.transport is not None
        self._response = Response()
        self._done = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self._response, self._done


class Http1Pool:
    """Keep-alive connections to one server (the kubeconfig's URL and credentials).  ``request`` raises
    ``ConnectionError``/``OSError``/``TimeoutError``/:class:`ProtocolError` when no answer could be had."""

    def __init__(self, config: ClientConfig, *, user_agent: str, connections: int = 256) -> None:
        url = urlsplit(config.server)
        if url.scheme not in ("https", "http") or not url.hostname:
            raise ValueError(f"unsupported server URL {config.server!r}")
        self.host = url.hostname
        self.port = url.port or (443 if url.scheme == "https" else 80)
        self._tls: ssl.SSLContext | None = config.ssl_context() if url.scheme == "https" else None
        self._prefix = url.path.rstrip("/")
        head = [f"Host: {url.netloc}", f"User-Agent: {user_agent}"]
        if config.token:
            head.append(f"Authorization: Bearer {config.token}")
        self._head = "\r\n".join(head)
        self._idle: deque[tuple[float, _Connection]] = deque()
        self._slots = asyncio.Semaphore(connections)
        self._closed = False

    async def request(self, method: str, target: str, body: bytes | None, *, accept: str, content_type: str = "",
                      time_limit: float) -> Response:
        """Send ``method target`` (``target``: path and query, ``/api/v1/...``) and return the whole answer."""
        lines = [f"{method} {self._prefix}{target} HTTP/1.1", self._head, f"Accept: {accept}"]
        if body is not None:
            lines.append(f"Content-Type: {content_type}")
            lines.append(f"Content-Length: {len(body)}")
        elif method in ("POST", "PUT", "PATCH"):
            lines.append("Content-Length: 0")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
        async with self._slots:
            return await self._exchange(method, raw, time_limit)

    async def _exchange(self, method: str, request: bytes, time_limit: float) -> Response:
        for attempt in range(2):
            conn, reused = await self._connection(time_limit)
            response, done = conn.send(request)
            try:
                async with asyncio.timeout(time_limit):
                    result = await done
            except (ConnectionError, ProtocolError, OSError) as exc:
                conn.close()
                if reused and attempt == 0 and not response.started and method in RETRIED_METHODS:
                    continue  # the server closed the idle connection: once more on a new one
                raise exc
            except BaseException:
                conn.close()  # timed out or cancelled mid-request: the answer would arrive out of step
                raise
            if result.keep_alive and not conn.closed and not self._closed:
                self._idle.append((time.monotonic(), conn))
            else:
                conn.close()
            return result
        raise AssertionError("unreachable")

    async def _connection(self, time_limit: float) -> tuple[_Connection, bool]:
        fresh = time.monotonic() - IDLE_REUSE
        while self._idle:
            since, conn = self._idle.pop()
            if since < fresh:
                conn.close()
                continue
            if not conn.closed and conn.transport is not None and not conn.transport.is_closing():
                return conn, True
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(time_limit):
            _, conn = await loop.create_connection(_Connection, self.host, self.port, ssl=self._tls)
        return conn, False

    def close(self) -> int:
        """Close the idle connections and the others as their requests end; returns how many were idle."""
        self._closed = True
        count = len(self._idle)
        while self._idle:
            self._idle.pop()[1].close()
        return count
