"""The cluster DNS server: dnslib wire format, UDP and TCP on one address, answers from :mod:`kybernetes.dns.zone`.

Contracts:

* :func:`handle` (pure, bytes → bytes or None): parses a query and builds the reply; authoritative answers carry AA,
  negative ones the zone's SOA (negative caching TTL = SOA minimum).  Names outside the cluster zones are REFUSED,
  unless a forwarder is given, which :class:`DNSServer` then calls with the raw query.  Malformed packets get no
  reply (FORMERR when the header parsed).  UDP replies larger than the client's limit (512, or its EDNS size) are
  truncated with TC set, so the client retries over TCP.
* :class:`DNSServer` serves a zone provider (a callable returning the current :class:`Zone`) on ``host:port``
  over UDP and TCP.  Sockets use ``IP_FREEBIND`` so the node agent can bind the pod bridge's gateway address before
  the bridge exists.  ``upstream`` ("ip[:port]") enables forwarding; without it nothing ever leaves the node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Any

from dnslib import AAAA, CNAME, EDNS0, NS, PTR, QTYPE, RCODE, RR, SOA, SRV, A, DNSError, DNSRecord  # type: ignore[import-untyped]

from kybernetes.dns.zone import TTL, Answer, Zone, resolve

log = logging.getLogger(__name__)

IP_FREEBIND = 15
Forwarder = Callable[[bytes], Awaitable[bytes | None]]


def _rdata(rtype: str, data: Any) -> Any:
    if rtype == "A":
        return A(data)
    if rtype == "AAAA":
        return AAAA(data)
    if rtype == "CNAME":
        return CNAME(data)
    if rtype == "PTR":
        return PTR(data)
    if rtype == "NS":
        return NS(data)
    if rtype == "SRV":
        prio, weight, port, target = data
        return SRV(priority=prio, weight=weight, port=port, target=target)
    if rtype == "SOA":
        mname, rname, serial, refresh, retry, expire, minimum = data
        return SOA(mname, rname, (serial, refresh, retry, expire, minimum))
    raise ValueError(rtype)


def _owner(name: str, qname: str) -> str:
    """Echo the client's spelling for the question's own name (0x20 case randomisation)."""
    return qname if name.lower() == qname.lower().rstrip(".") + "." or name.lower() == qname.lower() else name


def build_reply(query: DNSRecord, answer: Answer | None, zone: Zone) -> DNSRecord:
    reply = query.reply(ra=0, aa=1)
    qname = str(query.q.qname)
    if answer is None:
        reply.header.aa = 0
        reply.header.rcode = RCODE.REFUSED
        return reply
    reply.header.rcode = getattr(RCODE, answer.rcode)
    for name, rtype, data in answer.answers:
        reply.add_answer(RR(_owner(name, qname), getattr(QTYPE, rtype), rdata=_rdata(rtype, data), ttl=TTL))
    for name, rtype, data in answer.additional:
        reply.add_ar(RR(name, getattr(QTYPE, rtype), rdata=_rdata(rtype, data), ttl=TTL))
    if answer.authority_soa:
        soa = zone.soa if answer.soa_zone == zone.domain else (
            f"ns.dns.{zone.domain}", f"hostmaster.{zone.domain}", 1, 7200, 1800, 86400, TTL)
        reply.add_auth(RR(answer.soa_zone, QTYPE.SOA, rdata=_rdata("SOA", soa), ttl=TTL))
    if any(rr.rtype == QTYPE.OPT for rr in query.ar):
        reply.add_ar(EDNS0(udp_len=1232))
    return reply


def udp_limit(query: DNSRecord) -> int:
    for rr in query.ar:
        if rr.rtype == QTYPE.OPT:
            return max(512, min(int(rr.rclass), 4096))
    return 512


def handle(data: bytes, zone: Zone, *, tcp: bool = False) -> tuple[bytes | None, bool]:
    """(reply bytes or None, whether the query must be forwarded instead)."""
    try:
        query = DNSRecord.parse(data)
    except (DNSError, struct.error, IndexError, ValueError):
        if len(data) >= 12:
            ident = data[:2]
            return ident + b"\x81\x01" + b"\x00" * 8, False  # FORMERR, QR set, no sections
        return None, False
    if query.header.qr or not query.questions or query.header.opcode != 0:
        reply = query.reply()
        reply.header.rcode = RCODE.NOTIMP if query.header.opcode != 0 else RCODE.FORMERR
        return reply.pack(), False
    qtype = QTYPE.get(query.q.qtype)
    answer = resolve(zone, str(query.q.qname), str(qtype))
    if answer is None:
        return None, True
    packed = build_reply(query, answer, zone).pack()
    if not tcp and len(packed) > udp_limit(query):
        truncated = build_reply(query, Answer(answer.rcode, soa_zone=answer.soa_zone), zone)
        truncated.header.tc = 1
        packed = truncated.pack()
    return packed, False


def refused(data: bytes, zone: Zone) -> bytes | None:
    try:
        packed: bytes = build_reply(DNSRecord.parse(data), None, zone).pack()
        return packed
    except (DNSError, struct.error, IndexError, ValueError):
        return None


def udp_forwarder(upstream: str, timeout: float = 2.0) -> Forwarder:
    """Forward a raw query to ``upstream`` ("ip" or "ip:port") over UDP; None on timeout."""
    host, _, port = upstream.partition(":")

    async def forward(data: bytes) -> bytes | None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bytes] = loop.create_future()

        class _P(asyncio.DatagramProtocol):
            def datagram_received(self, reply: bytes, addr: Any) -> None:
                if not fut.done():
                    fut.set_result(reply)

        transport, _ = await loop.create_datagram_endpoint(_P, remote_addr=(host, int(port or 53)))
        try:
            transport.sendto(data)
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            return None
        finally:
            transport.close()

    return forward


def _socket(kind: socket.SocketKind, host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
    sock.bind((host, port))
    sock.setblocking(False)
    return sock


class DNSServer:
    def __init__(self, zone: Callable[[], Zone], host: str = "127.0.0.1", port: int = 53,
                 upstream: str = "") -> None:
        self._zone = zone
        self.host = host
        self.port = port
        self._forward: Forwarder | None = udp_forwarder(upstream) if upstream else None
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.queries = 0

    async def _answer(self, data: bytes, tcp: bool) -> bytes | None:
        self.queries += 1
        zone = self._zone()
        reply, forward = handle(data, zone, tcp=tcp)
        if forward:
            if self._forward is None:
                return refused(data, zone)
            return await self._forward(data) or None
        return reply

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        server = self

        class _Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                server._udp = transport  # type: ignore[assignment]

            def datagram_received(self, data: bytes, addr: Any) -> None:
                zone = server._zone()
                server.queries += 1
                reply, forward = handle(data, zone)
                if not forward:
                    if reply is not None and server._udp is not None:
                        server._udp.sendto(reply, addr)
                    return
                task = asyncio.ensure_future(server._forward_udp(data, addr, zone))
                server._tasks.add(task)
                task.add_done_callback(server._tasks.discard)

        udp_sock = _socket(socket.SOCK_DGRAM, self.host, self.port)
        if self.port == 0:
            self.port = udp_sock.getsockname()[1]
        await loop.create_datagram_endpoint(_Udp, sock=udp_sock)
        tcp_sock = _socket(socket.SOCK_STREAM, self.host, self.port)
        tcp_sock.listen(128)
        self._tcp = await asyncio.start_server(self._serve_tcp, sock=tcp_sock)
        log.info("cluster DNS on %s:%d (udp+tcp)", self.host, self.port)

    async def _forward_udp(self, data: bytes, addr: Any, zone: Zone) -> None:
        reply = refused(data, zone) if self._forward is None else await self._forward(data)
        if reply is not None and self._udp is not None:
            self._udp.sendto(reply, addr)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                header = await asyncio.wait_for(reader.readexactly(2), 10.0)
                data = await reader.readexactly(struct.unpack("!H", header)[0])
                reply = await self._answer(data, True)
                if reply is None:
                    break
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()
            self._tcp = None
        for task in list(self._tasks):
            task.cancel()
