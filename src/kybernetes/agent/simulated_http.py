"""A lean HTTP/1.1 path for the simulated agent's two hot writes: ``pods/status`` and Lease merge patches.

Thousands of simulated nodes make the agent send a patch per pod and a Lease renewal per node every 10 s; through
aiohttp each request costs about three times the CPU of writing the request bytes on a keep-alive TLS connection
and parsing the answer (request and header objects, URL parsing, timers, payload writers).  :class:`PatchSender`
does only that, with the same credentials (the kubeconfig's TLS client certificate or bearer token), and gives the
same results as :meth:`kybernetes.client.rest.Client.patch`: the decoded object, or the typed
:mod:`kybernetes.client.errors` exception from the Status (:class:`ServerUnavailable` for transport failures and
timeouts).  Everything else the agent does (informers, creates, deletes, events) stays on the shared client.

Connections are kept alive and reused (at most ``connections`` at once; more callers wait).  A request that fails
on a reused connection before any answer arrived (the server closed it while idle) is sent once more on a new one:
a merge patch of the same fields is idempotent.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import Any, cast
from urllib.parse import urlsplit

import httptools
import orjson

from kybernetes.client.config import ClientConfig
from kybernetes.client.errors import ApiError, ServerUnavailable, error_from_status

Obj = dict[str, Any]
MERGE_PATCH = "application/merge-patch+json"
MAX_RETRIES = 10  # answers 429 with Retry-After, as the shared client


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


class PatchSender:
    def __init__(self, config: ClientConfig, *, user_agent: str, connections: int = 32,
                 timeout: float = 30.0) -> None:
        url = urlsplit(config.server)
        if url.scheme not in ("https", "http") or not url.hostname:
            raise ValueError(f"unsupported server URL {config.server!r}")
        self.host = url.hostname
        self.port = url.port or (443 if url.scheme == "https" else 80)
        self.timeout = timeout
        self._tls: ssl.SSLContext | None = config.ssl_context() if url.scheme == "https" else None
        self._prefix = url.path.rstrip("/")
        head = [f"Host: {url.netloc}", f"User-Agent: {user_agent}", "Accept: application/json"]
        if config.token:
            head.append(f"Authorization: Bearer {config.token}")
        self._head = "\r\n".join(head)
        self._idle: deque[_Connection] = deque()
        self._slots = asyncio.Semaphore(connections)

    async def patch(self, url_path: str, patch: Obj | bytes, *, content_type: str = MERGE_PATCH,
                    decode: bool = True) -> Obj:
        """PATCH ``url_path`` (``/api/v1/...``) with ``patch``; the object the server answered (an empty dict
        without ``decode``: the caller does not read it, so a successful answer is not parsed)."""
        body = patch if isinstance(patch, bytes) else orjson.dumps(patch)
        request = (f"PATCH {self._prefix}{url_path} HTTP/1.1\r\n{self._head}\r\nContent-Type: {content_type}\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        for attempt in range(MAX_RETRIES + 1):
            async with self._slots:
                response = await self._exchange(request, url_path)
            if response.status != 429 or not response.retry_after.isdigit() or attempt == MAX_RETRIES:
                break
            await asyncio.sleep(min(int(response.retry_after), 10))  # turned away unprocessed, like client-go
        if not decode and response.status < 400:
            return {}
        decoded: Any = None
        if response.body:
            try:
                decoded = orjson.loads(response.body)
            except orjson.JSONDecodeError:
                decoded = {"message": response.body[:200].decode(errors="replace")}
        if response.status >= 400:
            raise error_from_status(response.status, decoded if isinstance(decoded, dict) else None)
        return decoded if isinstance(decoded, dict) else {}

    async def _exchange(self, request: bytes, url_path: str) -> Response:
        for attempt in range(2):
            conn, reused = await self._connection(url_path)
            response, done = conn.send(request)
            try:
                async with asyncio.timeout(self.timeout):
                    result = await done
            except (ConnectionError, ProtocolError, TimeoutError, OSError) as exc:
                conn.close()
                if reused and attempt == 0 and not response.started and not isinstance(exc, TimeoutError):
                    continue  # the server closed the idle connection: once more on a new one
                raise _unavailable(url_path, exc) from exc
            except BaseException:
                conn.close()  # cancelled mid-request: the answer would arrive out of step
                raise
            if result.keep_alive and not conn.closed:
                self._idle.append(conn)
            else:
                conn.close()
            return result
        raise AssertionError("unreachable")

    async def _connection(self, url_path: str) -> tuple[_Connection, bool]:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed and conn.transport is not None and not conn.transport.is_closing():
                return conn, True
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout):
                _, conn = await loop.create_connection(_Connection, self.host, self.port, ssl=self._tls)
        except (OSError, TimeoutError) as exc:
            raise _unavailable(url_path, exc) from exc
        return conn, False

    def close(self) -> None:
        """Close the idle connections (requests in flight close theirs when they end)."""
        while self._idle:
            self._idle.pop().close()


def _unavailable(url_path: str, exc: BaseException) -> ApiError:
    return ServerUnavailable({"code": 503, "reason": "ServiceUnavailable",
                              "message": f"PATCH {url_path}: {type(exc).__name__}: {exc}"})
