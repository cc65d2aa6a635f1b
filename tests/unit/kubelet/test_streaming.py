"""Channel-frame translation (v5/v4 WebSocket → SPDY streams) and SPDY/3.1 framing (kybernetes.kubelet.streaming)."""

from __future__ import annotations

import zlib

import pytest

from kybernetes.kubelet import streaming
from kybernetes.kubelet.streaming import V4, V5, FrameAction, SpdyCodec


@pytest.mark.parametrize(("frame", "protocol", "expected"), [
    (b"\x00hello", V5, FrameAction("data", "stdin", b"hello")),
    (b"\x00", V5, FrameAction("data", "stdin", b"")),
    (b"\x04{\"Width\":80,\"Height\":24}", V5, FrameAction("data", "resize", b'{"Width":80,"Height":24}')),
    (b"\xff\x00", V5, FrameAction("close", "stdin")),
    (b"\xff\x00", V4, FrameAction("ignore")),  # v4 has no close signal
    (b"\xff\x01", V5, FrameAction("ignore")),  # only stdin can be closed by the client
    (b"\xff", V5, FrameAction("ignore")),
    (b"\x01out", V5, FrameAction("ignore")),  # server channels are not the client's to send
    (b"\x03{}", V5, FrameAction("ignore")),
    (b"", V5, FrameAction("ignore")),
    (b"\x00data", V4, FrameAction("data", "stdin", b"data")),
])
def test_client_frame_action(frame: bytes, protocol: str, expected: FrameAction) -> None:
    assert streaming.client_frame_action(frame, protocol) == expected


@pytest.mark.parametrize(("stream", "data", "expected"), [
    ("stdout", b"x", b"\x01x"),
    ("stderr", b"y", b"\x02y"),
    ("error", b'{"status":"Success"}', b'\x03{"status":"Success"}'),
])
def test_channel_frame(stream: str, data: bytes, expected: bytes) -> None:
    assert streaming.channel_frame(stream, data) == expected


def test_dictionary_is_spdy3() -> None:
    d = streaming.SPDY_DICTIONARY
    assert len(d) == 1423
    assert d.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert d.endswith(b",utf-,*,enq=0.")
    assert zlib.adler32(d) == 0xE3C6A7C2


def test_syn_stream_round_trip_shares_header_context() -> None:
    client, server = SpdyCodec(), SpdyCodec()
    wire = client.syn_stream(1, [("streamType", "error")]) + client.syn_stream(3, [("streamtype", "stdin")])
    wire += client.data(3, b"abc") + client.data(3, b"", fin=True)
    frames = server.feed(wire[:7]) + server.feed(wire[7:])
    assert [(f.type, f.stream_id, f.headers, f.data, f.fin) for f in frames] == [
        (streaming.SYN_STREAM, 1, (("streamtype", "error"),), b"", False),
        (streaming.SYN_STREAM, 3, (("streamtype", "stdin"),), b"", False),
        (0, 3, (), b"abc", False),
        (0, 3, (), b"", True),
    ]


def test_control_frames_decode() -> None:
    a, b = SpdyCodec(), SpdyCodec()
    wire = a.syn_reply(5, fin=True) + a.rst_stream(7) + a.goaway(9) + a.control(streaming.PING, 0, b"\x00\x00\x00\x01")
    frames = b.feed(wire)
    assert [(f.type, f.stream_id, f.fin) for f in frames] == [
        (streaming.SYN_REPLY, 5, True), (streaming.RST_STREAM, 7, False), (streaming.GOAWAY, 0, False),
        (streaming.PING, 0, False)]
    assert frames[3].data == b"\x00\x00\x00\x01"


def test_header_values_split_on_nul() -> None:
    a, b = SpdyCodec(), SpdyCodec()
    (frame,) = b.feed(a.syn_stream(1, [("x-stream-protocol-version", "v4.channel.k8s.io\x00v3.channel.k8s.io")]))
    assert frame.headers == (("x-stream-protocol-version", "v4.channel.k8s.io"),
                             ("x-stream-protocol-version", "v3.channel.k8s.io"))


def test_forwarded_headers_drop_credentials_and_host() -> None:
    got = streaming.forwarded_headers([("Host", "a"), ("Authorization", "Bearer x"), ("Upgrade", "SPDY/3.1"),
                                       ("X-Stream-Protocol-Version", "v4.channel.k8s.io"),
                                       ("X-Stream-Protocol-Version", "v3.channel.k8s.io")])
    assert got == [("Upgrade", "SPDY/3.1"), ("X-Stream-Protocol-Version", "v4.channel.k8s.io"),
                   ("X-Stream-Protocol-Version", "v3.channel.k8s.io")]
