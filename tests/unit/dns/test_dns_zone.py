"""Cluster DNS answers (pure zone + wire format), table-driven; and the UDP/TCP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

import pytest
from dnslib import QTYPE, RCODE, DNSRecord  # type: ignore[import-untyped]

from kybernetes.dns.server import DNSServer, handle
from kybernetes.dns.zone import TTL, build_zone, resolve

SERVICES: list[dict[str, Any]] = [
    {"metadata": {"namespace": "default", "name": "nginx"},
     "spec": {"clusterIP": "10.43.0.50", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}},
    {"metadata": {"namespace": "default", "name": "web"}, "spec": {"clusterIP": "None"}},
    {"metadata": {"namespace": "default", "name": "empty"}, "spec": {"clusterIP": "None"}},
    {"metadata": {"namespace": "default", "name": "ext"},
     "spec": {"type": "ExternalName", "externalName": "example.org"}},
    {"metadata": {"namespace": "default", "name": "alias"},
     "spec": {"type": "ExternalName", "externalName": "nginx.default.svc.cluster.local"}},
    {"metadata": {"namespace": "kube-system", "name": "kube-dns"},
     "spec": {"clusterIP": "10.43.0.10", "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]}},
]
SLICES: list[dict[str, Any]] = [
    {"metadata": {"namespace": "default", "name": "web-1", "labels": {"kubernetes.io/service-name": "web"}},
     "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
     "endpoints": [{"addresses": ["10.42.0.7"], "hostname": "web-0", "conditions": {"ready": True}},
                   {"addresses": ["10.42.0.8"], "conditions": {"ready": True}},
                   {"addresses": ["10.42.0.9"], "conditions": {"ready": False}}]},
    {"metadata": {"namespace": "default", "name": "empty-1", "labels": {"kubernetes.io/service-name": "empty"}},
     "addressType": "IPv4", "endpoints": [{"addresses": ["10.42.0.20"], "conditions": {"ready": False}}]},
]
ZONE = build_zone(SERVICES, SLICES, dns_ip="10.43.0.10")
D = "default.svc.cluster.local"


@pytest.mark.parametrize(("qname", "qtype", "rcode", "answers"), [
    (f"nginx.{D}", "A", "NOERROR", [("A", "10.43.0.50")]),
    (f"NGINX.{D}.", "A", "NOERROR", [("A", "10.43.0.50")]),
    (f"nginx.{D}", "AAAA", "NOERROR", []),  # NODATA
    (f"nginx.{D}", "TXT", "NOERROR", []),
    (f"_http._tcp.nginx.{D}", "SRV", "NOERROR", [("SRV", (0, 100, 80, f"nginx.{D}."))]),
    (f"_http._udp.nginx.{D}", "SRV", "NXDOMAIN", []),
    (f"web.{D}", "A", "NOERROR", [("A", "10.42.0.7"), ("A", "10.42.0.8")]),  # headless: ready pods only
    (f"web-0.web.{D}", "A", "NOERROR", [("A", "10.42.0.7")]),  # StatefulSet-style per-pod name
    (f"10-42-0-8.web.{D}", "A", "NOERROR", [("A", "10.42.0.8")]),
    (f"10-42-0-9.web.{D}", "A", "NXDOMAIN", []),  # not ready
    (f"_http._tcp.web.{D}", "SRV", "NOERROR", [("SRV", (0, 100, 8080, f"web-0.web.{D}.")),
                                                ("SRV", (0, 100, 8080, f"10-42-0-8.web.{D}."))]),
    (f"empty.{D}", "A", "NOERROR", []),  # headless, no ready endpoint: NODATA
    (f"ext.{D}", "A", "NOERROR", [("CNAME", "example.org.")]),
    (f"ext.{D}", "CNAME", "NOERROR", [("CNAME", "example.org.")]),
    (f"alias.{D}", "A", "NOERROR", [("CNAME", f"nginx.{D}."), ("A", "10.43.0.50")]),
    (f"missing.{D}", "A", "NXDOMAIN", []),
    (D, "A", "NOERROR", []),  # empty non-terminal
    ("svc.cluster.local", "A", "NOERROR", []),
    ("nosuchns.svc.cluster.local", "A", "NXDOMAIN", []),
    ("cluster.local", "SOA", "NOERROR", [("SOA", ("ns.dns.cluster.local.", "hostmaster.cluster.local.", 1, 7200,
                                                  1800, 86400, TTL))]),
    ("cluster.local", "NS", "NOERROR", [("NS", "ns.dns.cluster.local.")]),
    ("10-42-0-99.default.pod.cluster.local", "A", "NOERROR", [("A", "10.42.0.99")]),
    ("10-42-0-999.default.pod.cluster.local", "A", "NXDOMAIN", []),
    ("50.0.43.10.in-addr.arpa", "PTR", "NOERROR", [("PTR", f"nginx.{D}.")]),
    ("7.0.42.10.in-addr.arpa", "PTR", "NOERROR", [("PTR", f"web-0.web.{D}.")]),
    ("9.9.9.9.in-addr.arpa", "PTR", "NXDOMAIN", []),
    ("kube-dns.kube-system.svc.cluster.local", "A", "NOERROR", [("A", "10.43.0.10")]),
])
def test_resolve(qname: str, qtype: str, rcode: str, answers: list[tuple[str, Any]]) -> None:
    answer = resolve(ZONE, qname, qtype)
    assert answer is not None
    assert answer.rcode == rcode
    assert [(t, d) for _n, t, d in answer.answers] == answers
    assert answer.authority_soa is (not answers)


@pytest.mark.parametrize("qname", ["example.com", "nginx.default.svc.cluster.local.example.com", "localhost"])
def test_outside_our_zones(qname: str) -> None:
    assert resolve(ZONE, qname, "A") is None
    reply, forward = handle(DNSRecord.question(qname, "A").pack(), ZONE)
    assert (reply, forward) == (None, True)


def _ask(qname: str, qtype: str = "A") -> DNSRecord:
    reply, forward = handle(DNSRecord.question(qname, qtype).pack(), ZONE)
    assert not forward and reply is not None
    return DNSRecord.parse(reply)


def test_wire_positive() -> None:
    r = _ask(f"nginx.{D}")
    assert r.header.aa == 1 and r.header.rcode == RCODE.NOERROR
    assert [(str(rr.rname), str(rr.rdata), rr.ttl) for rr in r.rr] == [(f"nginx.{D}.", "10.43.0.50", TTL)]


def test_wire_negative_carries_soa_for_negative_caching() -> None:
    for name, rcode in ((f"missing.{D}", RCODE.NXDOMAIN), (f"nginx.{D}", RCODE.NOERROR)):
        r = _ask(name, "AAAA" if rcode == RCODE.NOERROR else "A")
        assert r.header.rcode == rcode and not r.rr
        assert [QTYPE.get(a.rtype) for a in r.auth] == ["SOA"]
        assert r.auth[0].rdata.times[-1] == TTL and r.auth[0].ttl == TTL


def test_wire_srv_has_additional_a() -> None:
    r = _ask(f"_http._tcp.web.{D}", "SRV")
    assert sorted(str(a.rdata) for a in r.ar) == ["10.42.0.7", "10.42.0.8"]


def test_truncation_over_udp() -> None:
    many = [{"metadata": {"namespace": "default", "name": "big-1", "labels": {"kubernetes.io/service-name": "big"}},
             "addressType": "IPv4",
             "endpoints": [{"addresses": [f"10.42.1.{i}"], "conditions": {"ready": True}} for i in range(1, 100)]}]
    zone = build_zone([{"metadata": {"namespace": "default", "name": "big"}, "spec": {"clusterIP": "None"}}], many)
    query = DNSRecord.question(f"big.{D}", "A").pack()
    udp, _ = handle(query, zone)
    tcp, _ = handle(query, zone, tcp=True)
    assert udp is not None and tcp is not None
    assert DNSRecord.parse(udp).header.tc == 1 and len(udp) <= 512
    assert len(DNSRecord.parse(tcp).rr) == 99


def test_garbage_gets_formerr_or_nothing() -> None:
    assert handle(b"\x00", ZONE) == (None, False)
    reply, _ = handle(b"\x12\x34" + b"\xff" * 20, ZONE)
    assert reply is not None and reply[:2] == b"\x12\x34" and reply[3] & 0x0F == RCODE.FORMERR


async def test_server_udp_and_tcp_refuses_outside_names() -> None:
    server = DNSServer(lambda: ZONE, host="127.0.0.1", port=0)
    await server.start()
    try:
        loop = asyncio.get_running_loop()

        def udp(q: bytes) -> bytes:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(2)
                s.sendto(q, ("127.0.0.1", server.port))
                return s.recv(4096)

        r = DNSRecord.parse(await loop.run_in_executor(None, udp, DNSRecord.question(f"nginx.{D}").pack()))
        assert str(r.rr[0].rdata) == "10.43.0.50"
        r = DNSRecord.parse(await loop.run_in_executor(None, udp, DNSRecord.question("example.com").pack()))
        assert r.header.rcode == RCODE.REFUSED and not r.rr

        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        for name in (f"web.{D}", f"missing.{D}"):
            q = DNSRecord.question(name).pack()
            writer.write(struct.pack("!H", len(q)) + q)
            await writer.drain()
            size = struct.unpack("!H", await reader.readexactly(2))[0]
            r = DNSRecord.parse(await reader.readexactly(size))
            assert r.header.rcode == (RCODE.NOERROR if name.startswith("web") else RCODE.NXDOMAIN)
        writer.close()
        await writer.wait_closed()
    finally:
        await server.stop()


async def test_server_forwards_only_when_upstream_given() -> None:
    upstream = DNSServer(lambda: build_zone([], [], domain="example.com"), host="127.0.0.1", port=0)
    await upstream.start()
    server = DNSServer(lambda: ZONE, host="127.0.0.1", port=0, upstream=f"127.0.0.1:{upstream.port}")
    await server.start()
    try:
        def udp(q: bytes) -> bytes:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(3)
                s.sendto(q, ("127.0.0.1", server.port))
                return s.recv(4096)

        q = DNSRecord.question("nothing.example.com").pack()
        r = DNSRecord.parse(await asyncio.get_running_loop().run_in_executor(None, udp, q))
        assert r.header.rcode == RCODE.NXDOMAIN  # the upstream's answer for its own zone
        assert upstream.queries == 1
    finally:
        await server.stop()
        await upstream.stop()
