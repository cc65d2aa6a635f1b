"""Streaming plumbing for exec, attach and port-forward: raw upgrade splicing, SPDY/3.1 framing, channel frames.

Three pieces, shared by the kubelet (which splices an upgraded connection to containerd's streaming server) and
the API server's node proxy (which bridges kubectl's WebSocket ``v5.channel.k8s.io`` to SPDY towards the kubelet):

* HTTP/1.1 upgrade helpers: :func:`open_upgrade` sends an upgrade request on a fresh connection and reads the
  answer's head; :func:`hijack` takes over an aiohttp server connection after an upgrade request, so raw bytes can
  be spliced (:func:`splice`). Nothing here interprets the upgraded protocol.
* SPDY/3.1 (the subset the Kubernetes streaming library uses): :class:`SpdyCodec` encodes and decodes frames with
  the shared zlib header context, :class:`SpdyClientSession` opens streams (``streamtype`` header), writes data,
  half-closes a stream (``FLAG_FIN``, which is how stdin reaches EOF) and yields what the server sends.
* WebSocket channel frames (``v4``/``v5.channel.k8s.io``): byte 0 is the channel; :func:`client_frame_action`
  says what a client frame means; :func:`channel_frame` builds server frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import struct
import zlib
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from aiohttp import web

# ------------------------------------------------------------------------------------------- channel frames

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
CHANNEL_NAMES = {STDIN: "stdin", STDOUT: "stdout", STDERR: "stderr", ERROR: "error", RESIZE: "resize"}
V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
PORTFORWARD_WS = "SPDY/3.1+portforward.k8s.io"


@dataclass(frozen=True)
class FrameAction:
    """What a client's channel frame asks for: ``kind`` is ``data`` (write ``payload`` to stream ``stream``),
    ``close`` (half-close ``stream``; v5 only) or ``ignore``."""

    kind: str
    stream: str = ""
    payload: bytes = b""


def client_frame_action(frame: bytes, protocol: str) -> FrameAction:
    """Interpret one binary WebSocket frame sent by an exec/attach client speaking ``protocol``."""
    if not frame:
        return FrameAction("ignore")
    channel, payload = frame[0], frame[1:]
    if channel in (STDIN, RESIZE):
        return FrameAction("data", CHANNEL_NAMES[channel], payload)
    if channel == CLOSE and protocol == V5 and payload:
        target = CHANNEL_NAMES.get(payload[0])
        if target == "stdin":
            return FrameAction("close", target)
    return FrameAction("ignore")


def channel_frame(stream: str, data: bytes) -> bytes:
    """The server frame carrying ``data`` of ``stream`` (stdout, stderr or error)."""
    channel = {"stdout": STDOUT, "stderr": STDERR, "error": ERROR}[stream]
    return bytes([channel]) + data


# ------------------------------------------------------------------------------------------- HTTP upgrade

@dataclass
class ResponseHead:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    raw: bytes

    def header(self, name: str) -> str:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return ""


class UpgradeError(Exception):
    """The peer answered an upgrade request without switching protocols (``head`` and ``body`` say why)."""

    def __init__(self, head: ResponseHead, body: bytes) -> None:
        super().__init__(f"upgrade failed: {head.status} {head.reason}: {body[:200]!r}")
        self.head = head
        self.body = body


async def read_response_head(reader: asyncio.StreamReader) -> ResponseHead:
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    headers = []
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers.append((k.strip(), v.strip()))
    return ResponseHead(int(parts[1]), parts[2] if len(parts) > 2 else "", headers, raw)


async def _read_body(reader: asyncio.StreamReader, head: ResponseHead) -> bytes:
    with contextlib.suppress(Exception):
        length = head.header("Content-Length")
        if length:
            return await asyncio.wait_for(reader.readexactly(int(length)), 5)
        if head.header("Transfer-Encoding").lower() == "chunked":
            out = b""
            while True:
                size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    return out
                out += await reader.readexactly(size)
                await reader.readline()
        return await asyncio.wait_for(reader.read(65536), 5)
    return b""


@dataclass
class Upgraded:
    """A connection after ``101 Switching Protocols``."""

    head: ResponseHead
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


async def open_upgrade(host: str, port: int, method: str, target: str, headers: Iterable[tuple[str, str]], *,
                       ssl_context: ssl.SSLContext | None = None, timeout: float = 10.0) -> Upgraded:  # noqa: ASYNC109
    """Connect, send ``method target`` with ``headers`` (a ``Host`` header is added) and return the upgraded
    connection; raises :class:`UpgradeError` for any answer but 101, ``OSError`` when unreachable."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port, ssl=ssl_context, limit=1 << 20), timeout)
    try:
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}:{port}"]
        lines += [f"{k}: {v}" for k, v in headers if k.lower() != "host"]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()
        head = await asyncio.wait_for(read_response_head(reader), timeout)
        if head.status != 101:
            body = await _read_body(reader, head)
            raise UpgradeError(head, body)
    except BaseException:
        writer.close()
        raise
    return Upgraded(head, reader, writer)


HOP_HEADERS = frozenset({"host", "authorization", "content-length", "transfer-encoding", "keep-alive",
                         "proxy-authorization", "impersonate-user", "impersonate-group"})


def forwarded_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The request headers to forward upstream: all but Host and credentials."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(k, v) for k, v in items if k.lower() not in HOP_HEADERS]


class _RawFeed:
    """Stands in for aiohttp's WebSocket parser: hands the bytes after an upgrade to a StreamReader."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.reader.feed_data(data)
        return False, b""

    def feed_eof(self) -> None:
        self.reader.feed_eof()


@dataclass
class Hijacked:
    """The client side of an aiohttp request taken over after the upgrade answer was written."""

    response: web.StreamResponse
    reader: asyncio.StreamReader
    transport: asyncio.Transport
    _closed: bool = field(default=False)

    def write(self, data: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            with contextlib.suppress(Exception):
                self.transport.close()


async def hijack(request: web.Request, head: ResponseHead) -> Hijacked:
    """Answer the upgrade ``request`` with ``head`` (status, reason, headers of the upstream 101) and take over
    the connection: the returned object reads what the client sends next and writes raw bytes to it."""
    resp = web.StreamResponse(status=head.status, reason=head.reason)
    for k, v in head.headers:
        if k.lower() not in ("date", "server", "content-length", "content-type", "transfer-encoding"):
            resp.headers.add(k, v)
    resp.force_close()
    reader = asyncio.StreamReader(limit=1 << 20)
    await resp.prepare(request)
    protocol: Any = request.protocol
    protocol.set_parser(cast(Any, _RawFeed(reader)))
    transport = request.transport
    assert transport is not None
    return Hijacked(resp, reader, transport)


async def _pump_to_transport(reader: asyncio.StreamReader, out: Hijacked) -> None:
    while data := await reader.read(65536):
        out.write(data)
    out.close()


async def _pump_to_writer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        with contextlib.suppress(Exception):
            if writer.can_write_eof():
                writer.write_eof()


async def splice(client: Hijacked, upstream: Upgraded) -> None:
    """Copy bytes both ways until the upstream side ends; then close both."""
    up = asyncio.ensure_future(_pump_to_writer(client.reader, upstream.writer))
    try:
        with contextlib.suppress(ConnectionError, OSError):
            await _pump_to_transport(upstream.reader, client)
    finally:
        up.cancel()
        with contextlib.suppress(BaseException):
            await up
        upstream.close()
        client.close()


# ------------------------------------------------------------------------------------------- SPDY/3.1

SPDY_VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01

_DICT_HEADER_NAMES = (
    "options head post put delete trace accept accept-charset accept-encoding accept-language accept-ranges age "
    "allow authorization cache-control connection content-base content-encoding content-language content-length "
    "content-location content-md5 content-range content-type date etag expect expires from host if-match "
    "if-modified-since if-none-match if-range if-unmodified-since last-modified location max-forwards pragma "
    "proxy-authenticate proxy-authorization range referer retry-after server te trailer transfer-encoding upgrade "
    "user-agent vary via warning www-authenticate method get status"
)
_DICT_WORDS = [*_DICT_HEADER_NAMES.split(), "200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie",
               "keep-alive", "origin"]
_DICT_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)
#: The SPDY/3 header compression dictionary (draft-mbelshe-httpbis-spdy-00 §2.6.10.1), 1423 bytes.
SPDY_DICTIONARY = b"".join(struct.pack(">I", len(w)) + w.encode() for w in _DICT_WORDS) + _DICT_TAIL.encode()


@dataclass(frozen=True)
class SpdyFrame:
    """A decoded frame. Control frames have ``type`` > 0; data frames have ``type`` 0. ``headers`` is set for
    SYN_STREAM/SYN_REPLY/HEADERS (names lower-case), ``data`` for data frames and the raw body of others."""

    type: int
    flags: int
    stream_id: int
    data: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


class SpdyCodec:
    """Frames of one SPDY/3.1 connection (one zlib context per direction, as the protocol requires)."""

    def __init__(self) -> None:
        self._deflate = zlib.compressobj(zdict=SPDY_DICTIONARY)
        self._inflate = zlib.decompressobj(zdict=SPDY_DICTIONARY)
        self._buffer = b""

    # -- encoding
    def _header_block(self, headers: Iterable[tuple[str, str]]) -> bytes:
        items = list(headers)
        raw = struct.pack(">I", len(items))
        for k, v in items:
            kb, vb = k.lower().encode(), v.encode()
            raw += struct.pack(">I", len(kb)) + kb + struct.pack(">I", len(vb)) + vb
        return self._deflate.compress(raw) + self._deflate.flush(zlib.Z_SYNC_FLUSH)

    @staticmethod
    def control(ftype: int, flags: int, body: bytes) -> bytes:
        return struct.pack(">HHI", 0x8000 | SPDY_VERSION, ftype, (flags << 24) | len(body)) + body

    @staticmethod
    def data(stream_id: int, payload: bytes, *, fin: bool = False) -> bytes:
        flags = FLAG_FIN if fin else 0
        return struct.pack(">II", stream_id & 0x7FFFFFFF, (flags << 24) | len(payload)) + payload

    def syn_stream(self, stream_id: int, headers: Iterable[tuple[str, str]], *, fin: bool = False) -> bytes:
        body = struct.pack(">IIH", stream_id, 0, 0) + self._header_block(headers)
        return self.control(SYN_STREAM, FLAG_FIN if fin else 0, body)

    def syn_reply(self, stream_id: int, headers: Iterable[tuple[str, str]] = (), *, fin: bool = False) -> bytes:
        return self.control(SYN_REPLY, FLAG_FIN if fin else 0, struct.pack(">I", stream_id) +
                            self._header_block(headers))

    def rst_stream(self, stream_id: int, status: int = 5) -> bytes:
        return self.control(RST_STREAM, 0, struct.pack(">II", stream_id, status))

    def goaway(self, last_stream_id: int = 0) -> bytes:
        return self.control(GOAWAY, 0, struct.pack(">II", last_stream_id, 0))

    # -- decoding
    def _headers(self, block: bytes) -> tuple[tuple[str, str], ...]:
        raw = self._inflate.decompress(block)
        (count,) = struct.unpack_from(">I", raw, 0)
        pos, out = 4, list[tuple[str, str]]()
        for _ in range(count):
            (klen,) = struct.unpack_from(">I", raw, pos)
            key = raw[pos + 4:pos + 4 + klen].decode()
            pos += 4 + klen
            (vlen,) = struct.unpack_from(">I", raw, pos)
            value = raw[pos + 4:pos + 4 + vlen].decode()
            pos += 4 + vlen
            out.extend((key.lower(), v) for v in value.split("\x00"))
        return tuple(out)

    def feed(self, data: bytes) -> list[SpdyFrame]:
        """Decode every complete frame in the bytes received so far."""
        self._buffer += data
        frames = []
        while len(self._buffer) >= 8:
            word0, word1 = struct.unpack_from(">II", self._buffer, 0)
            length = word1 & 0xFFFFFF
            if len(self._buffer) < 8 + length:
                break
            flags = word1 >> 24
            body = self._buffer[8:8 + length]
            self._buffer = self._buffer[8 + length:]
            if not word0 & 0x80000000:
                frames.append(SpdyFrame(0, flags, word0 & 0x7FFFFFFF, body))
                continue
            ftype = word0 & 0xFFFF
            if ftype == SYN_STREAM:
                sid = struct.unpack_from(">I", body, 0)[0] & 0x7FFFFFFF
                frames.append(SpdyFrame(ftype, flags, sid, b"", self._headers(body[10:])))
            elif ftype in (SYN_REPLY, HEADERS):
                sid = struct.unpack_from(">I", body, 0)[0] & 0x7FFFFFFF
                frames.append(SpdyFrame(ftype, flags, sid, b"", self._headers(body[4:])))
            elif ftype in (RST_STREAM, WINDOW_UPDATE):
                sid = struct.unpack_from(">I", body, 0)[0] & 0x7FFFFFFF
                frames.append(SpdyFrame(ftype, flags, sid, body[4:]))
            else:
                frames.append(SpdyFrame(ftype, flags, 0, body))
        return frames


@dataclass(frozen=True)
class SpdyEvent:
    """Something the server did on a stream: ``kind`` is ``data`` or ``fin`` (its half is closed)."""

    kind: str
    stream: str
    data: bytes = b""


class SpdyClientSession:
    """The client end of an upgraded SPDY/3.1 connection as the Kubernetes remotecommand client uses it:
    streams are named by their ``streamtype`` header (``error``, ``stdin``, ``stdout``, ``stderr``, ``resize``,
    or for port-forward ``data``/``error`` plus a ``port`` header)."""

    def __init__(self, conn: Upgraded) -> None:
        self.conn = conn
        self.codec = SpdyCodec()
        self._next_id = 1
        self._ids: dict[str, int] = {}
        self._names: dict[int, str] = {}

    def open_stream(self, name: str, extra: Iterable[tuple[str, str]] = ()) -> None:
        sid = self._next_id
        self._next_id += 2
        self._ids[name] = sid
        self._names[sid] = name
        self.conn.writer.write(self.codec.syn_stream(sid, [("streamtype", name), *extra]))

    async def write(self, name: str, data: bytes) -> None:
        sid = self._ids.get(name)
        if sid is not None and data:
            self.conn.writer.write(self.codec.data(sid, data))
            await self.conn.writer.drain()

    async def close_stream(self, name: str) -> None:
        """Half-close ``name`` (FIN): for stdin, the process sees EOF."""
        sid = self._ids.get(name)
        if sid is not None:
            self.conn.writer.write(self.codec.data(sid, b"", fin=True))
            await self.conn.writer.drain()

    async def events(self) -> AsyncIterator[SpdyEvent]:
        """What the server sends, until it closes the connection or sends GOAWAY."""
        while True:
            data = await self.conn.reader.read(65536)
            if not data:
                return
            for frame in self.codec.feed(data):
                name = self._names.get(frame.stream_id, "")
                if frame.type == 0:
                    if frame.data:
                        yield SpdyEvent("data", name, frame.data)
                    if frame.fin:
                        yield SpdyEvent("fin", name)
                elif (frame.type == SYN_REPLY and frame.fin) or frame.type == RST_STREAM:
                    yield SpdyEvent("fin", name)
                elif frame.type == PING:
                    self.conn.writer.write(self.codec.control(PING, 0, frame.data))
                elif frame.type == GOAWAY:
                    return

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.writer.write(self.codec.goaway())
        self.conn.close()
