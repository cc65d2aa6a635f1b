"""Whole-answer requests without aiohttp: response parsing, keep-alive reuse, retry after an idle close, errors."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
import pytest

from kybernetes.client.config import ClientConfig
from kybernetes.client.errors import NotFoundError, ServerUnavailable
from kybernetes.client.http1 import ProtocolError, Response
from kybernetes.client.rest import MERGE_PATCH, Client

OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"a": "bc"}'
CHUNKED = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"4\r\n{\"a\"\r\n7;ext=1\r\n: \"bc\"}\r\n0\r\n\r\n")


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize(("raw", "size", "status", "body", "keep_alive"), [
    pytest.param(OK, 1000, 200, b'{"a": "bc"}', True, id="content-length-at-once"),
    pytest.param(OK, 3, 200, b'{"a": "bc"}', True, id="content-length-byte-by-byte"),
    pytest.param(CHUNKED, 1000, 200, b'{"a": "bc"}', True, id="chunked-at-once"),
    pytest.param(CHUNKED, 1, 200, b'{"a": "bc"}', True, id="chunked-byte-by-byte"),
    pytest.param(CHUNKED.replace(b"0\r\n\r\n", b"0\r\nX-T: 1\r\n\r\n"), 5, 200, b'{"a": "bc"}', True,
                 id="chunked-with-trailer"),
    pytest.param(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", 1000, 204, b"", False,
                 id="no-content-and-close"),
])
def test_response_parsing(raw: bytes, size: int, status: int, body: bytes, keep_alive: bool) -> None:
    response = Response()
    for piece in pieces(raw, size):
        assert not response.complete
        response.feed(piece)
    assert response.complete
    assert (response.status, response.body, response.keep_alive) == (status, body, keep_alive)


@pytest.mark.parametrize("raw", [
    pytest.param(b"SPDY/3 200 OK\r\n\r\n", id="not-http"),
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", id="no-length"),
    pytest.param(OK + b"X", id="bytes-after-the-answer"),
])
def test_response_protocol_errors(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        Response().feed(raw)


class FakeServer:
    """Plain-HTTP server answering each request with the next canned answer (``close`` ends the connection)."""

    def __init__(self, answers: list[tuple[bytes, bool]]) -> None:
        self.answers = answers
        self.requests: list[bytes] = []
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.answers:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next((line.split(b":")[1] for line in head.split(b"\r\n")
                                   if line.lower().startswith(b"content-length")), b"0"))
                self.requests.append(head + await reader.readexactly(length))
                answer, close = self.answers.pop(0)
                writer.write(answer)
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def serving(fake: FakeServer) -> AsyncIterator[Sender]:
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = Client(ClientConfig(server=f"http://127.0.0.1:{port}", token="t0k"), user_agent="test", qps_timeout=5)
    try:
        yield Sender(client)
    finally:
        await client.close()
        server.close()
        await server.wait_closed()


class Sender:
    """Merge patches through the client, as the simulated agent sends its status and Lease writes."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def patch(self, url_path: str, patch: object, *, decode: bool = True, method: str = "PATCH") -> object:
        result = await self.client.request(method, url_path, body=patch, content_type=MERGE_PATCH, decode=decode)
        return {} if result is None else result


async def test_patch_sends_one_request_and_reuses_the_connection() -> None:
    fake = FakeServer([(OK, False), (CHUNKED, False)])
    async with serving(fake) as sender:
        assert await sender.patch("/api/v1/namespaces/d/pods/p/status", {"status": {"phase": "Running"}}) == \
            {"a": "bc"}
        assert await sender.patch("/api/v1/nodes/n", b"{}", decode=False) == {}
    assert fake.connections == 1
    head, _, body = fake.requests[0].partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "PATCH /api/v1/namespaces/d/pods/p/status HTTP/1.1"
    assert {"Authorization: Bearer t0k", "Content-Type: application/merge-patch+json",
            "User-Agent: test"} <= set(lines)
    assert orjson.loads(body) == {"status": {"phase": "Running"}}


@pytest.mark.parametrize("pause", [pytest.param(0.0, id="close-unnoticed"), pytest.param(0.05, id="close-seen")])
async def test_idle_connection_closed_by_the_server_is_retried_once_on_a_new_one(pause: float) -> None:
    fake = FakeServer([(OK, True), (OK, False)])
    async with serving(fake) as sender:
        await sender.patch("/a", b"{}")
        await asyncio.sleep(pause)  # the server's close arrives before the next request, or after it was sent
        assert await sender.patch("/b", b"{}") == {"a": "bc"}
    assert fake.connections == 2


async def test_post_is_not_repeated_after_the_connection_closed_unanswered() -> None:
    fake = FakeServer([(OK, True), (OK, False)])
    async with serving(fake) as sender:
        await sender.patch("/a", b"{}")
        with pytest.raises(ServerUnavailable):
            await sender.patch("/b", b"{}", method="POST")  # sent on the closed connection: not known to be unread
        assert await sender.patch("/c", b"{}", method="POST") == {"a": "bc"}
    assert len(fake.requests) == 2


async def test_query_parameters_and_headers() -> None:
    fake = FakeServer([(OK, False)])
    async with serving(fake) as sender:
        await sender.client.request("GET", "/api/v1/pods", params={"labelSelector": "app in (a,b)", "limit": "5"},
                                    accept="application/json;as=Table;v=v1;g=meta.k8s.io")
    head = fake.requests[0].decode().split("\r\n")
    assert head[0] == "GET /api/v1/pods?labelSelector=app+in+%28a%2Cb%29&limit=5 HTTP/1.1"
    assert "Accept: application/json;as=Table;v=v1;g=meta.k8s.io" in head
    assert "Content-Type: application/json" not in head


async def test_error_status_raises_the_typed_error() -> None:
    status = orjson.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
                           "code": 404, "message": 'pods "p" not found'})
    answer = b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        len(status), status)
    fake = FakeServer([(answer, False)])
    async with serving(fake) as sender:
        with pytest.raises(NotFoundError, match='pods "p" not found'):
            await sender.patch("/api/v1/namespaces/d/pods/p/status", b"{}", decode=False)


async def test_unreachable_server_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = Client(ClientConfig(server=f"http://127.0.0.1:{port}"), user_agent="test", qps_timeout=2)
    with pytest.raises(ServerUnavailable):
        await Sender(client).patch("/a", b"{}")
    await client.close()


async def test_patch_retries_429_with_retry_after() -> None:
    too_many = (b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Type: application/json\r\n"
                b"Content-Length: 2\r\n\r\n{}")
    fake = FakeServer([(too_many, False), (OK, False)])
    async with serving(fake) as sender:
        assert await sender.patch("/api/v1/nodes/n/status", {"status": {}}) == {"a": "bc"}
    assert len(fake.requests) == 2 and fake.connections == 1
