"""The API server's connection front: which requests it answers itself, the bytes it writes, and the hand-off of a
connection to aiohttp (a recording transport stands in for the TLS socket)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from multidict import CIMultiDict

import kybernetes.apiserver as apiserver_pkg
from kybernetes.apiserver import front

CMS = "/api/v1/namespaces/default/configmaps"


@pytest.mark.parametrize(("method", "path", "query", "headers", "served"), [
    ("POST", CMS, "", {}, True),
    ("GET", f"{CMS}/a", "", {}, True),
    ("PATCH", "/api/v1/namespaces/default/pods/p/status", "", {}, True),
    ("POST", "/api/v1/namespaces/default/pods/p/binding", "", {}, True),
    ("PUT", "/apis/apps/v1/namespaces/default/deployments/d/scale", "", {}, True),
    ("GET", "/api/v1/nodes", "labelSelector=a%3Db", {}, True),
    ("DELETE", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n", "", {}, True),
    ("GET", "/api/v1/namespaces/default/pods", "watch=true", {}, False),
    ("GET", "/api/v1/namespaces/default/pods", "watch=1&resourceVersion=5", {}, False),
    ("GET", "/api/v1/namespaces/default/pods", "watch=false", {}, True),
    ("GET", "/api/v1/namespaces/default/pods/p/log", "", {}, False),
    ("GET", "/api/v1/namespaces/default/pods/p/log", "follow=true", {}, False),
    ("POST", "/api/v1/namespaces/default/pods/p/exec", "command=ls", {}, False),
    ("GET", "/api/v1/nodes/n/proxy/stats/summary", "", {}, False),
    ("GET", "/api/v1/namespaces/default/services/s/proxy/", "", {}, False),
    ("GET", "/apis/metrics.k8s.io/v1beta1/nodes", "", {}, False),
    ("GET", "/api/v1", "", {}, False),
    ("GET", "/api/v1/", "", {}, False),
    ("GET", "/apis/apps/v1", "", {}, False),
    ("GET", "/version", "", {}, False),
    ("GET", "/openapi/v2", "", {}, False),
    ("HEAD", CMS, "", {}, False),
    ("GET", CMS, "", {"Upgrade": "websocket"}, False),
    ("POST", CMS, "", {"Expect": "100-continue"}, False),
    ("POST", CMS, "", {"Content-Length": str(3 * 1024 * 1024 + 1)}, False),
    ("POST", CMS, "", {"Content-Length": "12"}, True),
])
def test_which_requests_the_front_answers(method: str, path: str, query: str, headers: dict[str, str],
                                          served: bool) -> None:
    assert front.is_served(method, path, query, CIMultiDict(headers)) is served


def test_front_request_offers_what_the_resource_path_uses() -> None:
    """Every ``request.<attribute>`` the middlewares and resource handlers read exists on FrontRequest."""
    package = Path(apiserver_pkg.__file__).parent
    modules = ["app.py", "prometheus.py", "handlers.py", "subresources.py", "presenting.py", "codec.py",
               "patching.py", "params.py", "flowcontrol.py"]
    used = set()
    for name in modules:
        used |= set(re.findall(r"\brequest\.([a-z_]+)\b", (package / name).read_text()))
    assert used, "no request attribute found: the module list is stale"
    # ``request.content`` is read only for bodies without a length; a FrontRequest always has one
    missing = {a for a in used - {"content", "match_info"} if not hasattr(front.FrontRequest, a)}
    assert not missing


def test_response_bytes_keeps_headers_and_sets_length() -> None:
    response = web.Response(body=b'{"a":1}', status=201, content_type="application/json",
                            headers={"Warning": '299 - "x"'})
    raw = front.response_bytes(response, keep_alive=True)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 201 Created"
    assert b"Content-Type: application/json" in lines
    assert b'Warning: 299 - "x"' in lines
    assert b"Content-Length: 7" in lines
    assert any(line.startswith(b"Date: ") for line in lines)
    assert b"Connection: close" not in lines
    assert body == b'{"a":1}'
    assert b"Connection: close" in front.response_bytes(response, keep_alive=False)


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False
        self.protocol: Any = None

    def write(self, data: Any) -> None:
        self.written.extend(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


class RecordingProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.received = bytearray()
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.received.extend(data)


def make(handler: Any) -> tuple[front.FrontProtocol, RecordingTransport, list[RecordingProtocol]]:
    handed: list[RecordingProtocol] = []

    def fallback() -> RecordingProtocol:
        handed.append(RecordingProtocol())
        return handed[-1]

    async def outer(request: web.Request, inner: Any) -> web.StreamResponse:
        response = await inner(request)
        response.headers["X-Outer"] = "1"
        return response

    connections = front.Front(web.Application(), [outer], handler, fallback)
    protocol = connections()
    transport = RecordingTransport()
    protocol.connection_made(transport)
    return protocol, transport, handed


async def echo(request: web.Request) -> web.StreamResponse:
    body = await request.read()
    return web.Response(body=f"{request.method} {request.path} {dict(request.query)} {body!r}".encode(),
                        content_type="text/plain")


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_requests_split_across_reads_and_pipelined_are_answered_in_order() -> None:
    protocol, transport, handed = make(echo)
    first = f"POST {CMS}?dryRun=All HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello".encode()
    second = f"GET {CMS}/a%2Db HTTP/1.1\r\n\r\n".encode()
    protocol.data_received(first[:7])
    protocol.data_received(first[7:30])
    protocol.data_received(first[30:] + second)
    await settle()
    answers = bytes(transport.written).split(b"HTTP/1.1 200 OK\r\n")[1:]
    assert len(answers) == 2
    assert answers[0].endswith(b"POST /api/v1/namespaces/default/configmaps {'dryRun': 'All'} b'hello'")
    assert answers[1].endswith(b"GET /api/v1/namespaces/default/configmaps/a-b {} b''")
    assert b"X-Outer: 1" in answers[0]
    assert not handed
    assert not transport.closed


async def test_a_watch_hands_the_connection_over_with_its_bytes() -> None:
    protocol, transport, handed = make(echo)
    protocol.data_received(f"GET {CMS}/a HTTP/1.1\r\n\r\n".encode())
    await settle()
    watch = f"GET {CMS}?watch=true HTTP/1.1\r\nHost: x\r\n".encode()
    protocol.data_received(watch[:20])
    protocol.data_received(watch[20:] + b"\r\n")
    assert len(handed) == 1
    assert transport.protocol is handed[0]
    assert handed[0].transport is transport
    assert bytes(handed[0].received) == watch + b"\r\n"


async def test_malformed_request_is_refused_and_closed() -> None:
    protocol, transport, handed = make(echo)
    protocol.data_received(b"GET /api/v1/x HTTP/1.1\r\nNo colon here\r\n\r\n")
    assert transport.written.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b'"kind":"Status"' in transport.written
    assert transport.closed
    assert not handed


async def test_body_over_the_limit_is_413() -> None:
    protocol, transport, _ = make(echo)
    protocol.data_received(f"POST {CMS} HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
    chunk = b"x" * 65536
    for _ in range(3 * 1024 * 1024 // len(chunk) + 1):
        if transport.closed:
            break
        protocol.data_received(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    assert transport.written.startswith(b"HTTP/1.1 413 Request Entity Too Large\r\n")
    assert b'"reason":"RequestEntityTooLarge"' in transport.written
    assert transport.closed


@pytest.mark.parametrize(("raw", "answer", "in_answer"), [
    pytest.param(f"GET {CMS}/a HTTP/1.1\r\n\r\nGET {CMS}?watch=1 HTTP/1.1\r\n\r\n", b"HTTP/1.1 400 Bad Request\r\n",
                 b'"kind":"Status"', id="pipelined request that needs aiohttp: refused"),
    pytest.param(f"GET {CMS} HTTP/1.0\r\n\r\n", b"HTTP/1.1 200 OK\r\n", b"Connection: close\r\n",
                 id="HTTP/1.0 without keep-alive: answered"),
])
async def test_connection_closed_after_the_answer(raw: str, answer: bytes, in_answer: bytes) -> None:
    protocol, transport, handed = make(echo)
    protocol.data_received(raw.encode())
    await settle()
    assert not handed
    assert transport.written.startswith(answer)
    assert in_answer in transport.written
    assert transport.closed


async def test_idle_connections_are_closed_busy_ones_kept() -> None:
    protocol, transport, _ = make(echo)
    busy, busy_transport, _ = make(echo)
    protocol.last_active -= 100
    busy.last_active -= 100
    busy.data_received(f"POST {CMS} HTTP/1.1\r\nContent-Length: 5\r\n\r\nhe".encode())  # body still coming
    busy.last_active -= 100
    connections = protocol.front
    connections.connections.add(busy)
    sweeper = asyncio.create_task(connections.close_idle(idle=0.05))
    await asyncio.sleep(0.03)
    sweeper.cancel()
    assert transport.closed
    assert not busy_transport.closed


def test_header_values_cannot_break_the_header_block() -> None:
    response = web.Response(body=b"{}", content_type="application/json",
                            headers={"Warning": '299 - "unknown field \\"a\\r\\nX-Evil: 1\\" é"'})
    head = front.response_bytes(response, keep_alive=True).partition(b"\r\n\r\n")[0].split(b"\r\n")
    assert not any(line.startswith(b"X-Evil") for line in head)
    assert any(line.startswith(b"Warning: ") and "é".encode() in line for line in head)
