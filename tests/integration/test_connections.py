"""HTTP/1.1 on the API server's connections, byte for byte: keep-alive, pipelining, chunked bodies, a watch after
plain requests on one connection (handed from the server's own front to aiohttp), malformed requests, limits."""

from __future__ import annotations

import json
import socket
import ssl
import time
from typing import Any

import httptools
import pytest
from harness import Cluster

CMS = "/api/v1/namespaces/default/configmaps"


class Answer:
    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = bytearray()
        self.done = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode().lower()] = value.decode()

    def on_body(self, body: bytes) -> None:
        self.body.extend(body)

    def on_message_complete(self) -> None:
        self.done = True

    def json(self) -> Any:
        return json.loads(bytes(self.body))


class Connection:
    """A raw TLS connection with the cluster's admin certificate; answers are parsed with llhttp."""

    def __init__(self, cluster: Cluster) -> None:
        port = int(cluster.url.rsplit(":", 1)[1])
        ctx: ssl.SSLContext = cluster.server.ssl_context()
        self.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                                    server_hostname="127.0.0.1")
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def answer(self, stop_after_headers: bool = False) -> Answer:
        answer = Answer()
        parser = httptools.HttpResponseParser(answer)
        while not answer.done:
            if self.buffer:
                data, self.buffer = self.buffer, b""
            else:
                data = self.sock.recv(65536)
                if not data:
                    break
            try:
                parser.feed_data(data)
            except httptools.HttpParserError:
                raise
            if stop_after_headers and answer.headers and answer.body:
                break
        answer.status = parser.get_status_code()
        return answer

    def closed_by_server(self) -> bool:
        self.sock.settimeout(5)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, ssl.SSLError):
            return True

    def close(self) -> None:
        self.sock.close()


def request_bytes(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if body and "Transfer-Encoding" not in all_headers:
        all_headers["Content-Length"] = str(len(body))
    lines += [f"{k}: {v}" for k, v in all_headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def configmap(name: str) -> bytes:
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                       "data": {"k": "v"}}).encode()


@pytest.fixture
def conn(apiserver: Cluster) -> Any:
    c = Connection(apiserver)
    yield c
    c.close()


def test_keep_alive_serves_several_requests_on_one_connection(conn: Connection) -> None:
    conn.send(request_bytes("POST", CMS, configmap("keep-1")))
    created = conn.answer()
    assert created.status == 201, created.body
    assert created.headers["content-type"] == "application/json"
    assert int(created.headers["content-length"]) == len(created.body)
    assert "date" in created.headers
    conn.send(request_bytes("GET", f"{CMS}/keep-1"))
    got = conn.answer()
    assert got.status == 200
    assert got.json()["metadata"]["uid"] == created.json()["metadata"]["uid"]
    conn.send(request_bytes("DELETE", f"{CMS}/keep-1"))
    assert conn.answer().status == 200


def test_pipelined_requests_are_answered_in_order(conn: Connection) -> None:
    conn.send(request_bytes("POST", CMS, configmap("pipe-1")) + request_bytes("GET", f"{CMS}/pipe-1")
              + request_bytes("GET", f"{CMS}/pipe-missing"))
    first, second, third = conn.answer(), conn.answer(), conn.answer()
    assert (first.status, second.status, third.status) == (201, 200, 404)
    assert second.json()["metadata"]["name"] == "pipe-1"
    assert third.json()["reason"] == "NotFound"


def test_chunked_request_body_creates_the_object(conn: Connection) -> None:
    body = configmap("chunked-1")
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:])) + b"0\r\n\r\n"
    conn.send(request_bytes("POST", CMS, chunked, {"Transfer-Encoding": "chunked"}))
    answer = conn.answer()
    assert answer.status == 201, answer.body
    assert answer.json()["data"] == {"k": "v"}


def test_watch_after_plain_requests_on_the_same_connection(conn: Connection, apiserver: Cluster) -> None:
    conn.send(request_bytes("POST", CMS, configmap("watched-1")))
    created = conn.answer()
    assert created.status == 201
    rv = created.json()["metadata"]["resourceVersion"]
    conn.send(request_bytes("GET", f"{CMS}?watch=true&resourceVersion=0&timeoutSeconds=5"))
    events = conn.answer()  # ends with the watch's timeout
    assert events.status == 200
    assert events.headers.get("transfer-encoding") == "chunked"
    lines = [json.loads(line) for line in bytes(events.body).splitlines() if line]
    added = [e for e in lines if e["type"] == "ADDED" and e["object"]["metadata"]["name"] == "watched-1"]
    assert added and added[0]["object"]["metadata"]["resourceVersion"] == rv
    conn.send(request_bytes("GET", f"{CMS}/watched-1"))  # the connection goes on after the watch
    assert conn.answer().status == 200


def test_discovery_and_health_on_a_connection_that_served_resources(conn: Connection) -> None:
    conn.send(request_bytes("GET", CMS))
    assert conn.answer().status == 200
    conn.send(request_bytes("GET", "/api/v1"))
    resources = conn.answer()
    assert resources.status == 200
    assert any(r["name"] == "configmaps" for r in resources.json()["resources"])


def test_malformed_request_gets_400_and_the_connection_closes(conn: Connection) -> None:
    conn.send(b"GET /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n")
    answer = conn.answer()
    assert answer.status == 400
    assert answer.json()["kind"] == "Status"
    assert conn.closed_by_server()


def test_oversized_chunked_body_gets_413(conn: Connection) -> None:
    chunk = b"x" * 65536
    conn.send(request_bytes("POST", CMS, b"", {"Transfer-Encoding": "chunked"}))
    for _ in range(3 * 1024 * 1024 // len(chunk)):  # exactly the limit...
        conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    conn.send(b"1\r\nx\r\n")  # ...and one byte more
    answer = conn.answer()
    assert answer.status == 413
    assert answer.json()["reason"] == "RequestEntityTooLarge"
    assert conn.closed_by_server()


def test_connection_close_is_honoured(conn: Connection) -> None:
    conn.send(request_bytes("GET", CMS, headers={"Connection": "close"}))
    answer = conn.answer()
    assert answer.status == 200
    assert answer.headers.get("connection") == "close"
    assert conn.closed_by_server()


def test_anonymous_connection_gets_401(apiserver: Cluster) -> None:
    port = int(apiserver.url.rsplit(":", 1)[1])
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10))
    try:
        sock.sendall(request_bytes("GET", CMS))
        deadline = time.monotonic() + 10
        data = b""
        while b"\r\n\r\n" not in data and time.monotonic() < deadline:
            data += sock.recv(65536)
        assert data.startswith(b"HTTP/1.1 401 ")
    finally:
        sock.close()


def test_watch_events_carry_exactly_the_written_objects(apiserver: Cluster) -> None:
    """What a write answers and what its watch event carries are the same object (the server shares the written
    object with its watchers instead of decoding it again)."""
    writer, watcher = Connection(apiserver), Connection(apiserver)
    try:
        writer.send(request_bytes("GET", CMS))
        rv = writer.answer().json()["metadata"]["resourceVersion"]
        watcher.send(request_bytes("GET", f"{CMS}?watch=true&resourceVersion={rv}&timeoutSeconds=3"))
        answers = []
        writer.send(request_bytes("POST", CMS, configmap("shared-1")))
        answers.append(writer.answer())
        writer.send(request_bytes("PATCH", f"{CMS}/shared-1", b'{"data":{"k":"v2"}}',
                                  {"Content-Type": "application/merge-patch+json"}))
        answers.append(writer.answer())
        writer.send(request_bytes("PATCH", f"{CMS}/shared-1", b'{"metadata":{"labels":{"a":"b"}}}',
                                  {"Content-Type": "application/strategic-merge-patch+json"}))
        answers.append(writer.answer())
        assert [a.status for a in answers] == [201, 200, 200]
        stream = watcher.answer()
        events = [json.loads(line) for line in bytes(stream.body).splitlines() if line]
        mine = [e for e in events if e["object"]["metadata"].get("name") == "shared-1"]
        assert [e["type"] for e in mine] == ["ADDED", "MODIFIED", "MODIFIED"]
        assert [e["object"] for e in mine] == [a.json() for a in answers]
    finally:
        writer.close()
        watcher.close()
