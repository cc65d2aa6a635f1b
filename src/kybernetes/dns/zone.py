"""Cluster DNS data and answers, as pure functions (CoreDNS ``kubernetes`` plugin semantics, ``pods insecure``).

:func:`build_zone` turns Services and EndpointSlices into a :class:`Zone`; :func:`resolve` answers one question.

Names (domain ``cluster.local``, TTL 5 s, negative TTL 5 s from the SOA minimum):

* ``<svc>.<ns>.svc.<domain>``: A → the ClusterIP; headless (``clusterIP: None``) → the ready endpoint IPs
  (EndpointSlices already mark every endpoint ready with ``publishNotReadyAddresses``); ExternalName → CNAME.
* ``<host>.<svc>.<ns>.svc.<domain>`` for endpoints of headless Services: ``host`` is the endpoint's hostname
  (StatefulSet pods, ``spec.hostname`` + ``subdomain``) or its dashed IP (``10-42-0-5``).
* ``_<port>._<proto>.<svc>.<ns>.svc.<domain>`` SRV for named ports: ``0 100 <port> <svc>…`` for a ClusterIP, one
  record per endpoint (with its A record as additional data) for headless Services.
* ``<a-b-c-d>.<ns>.pod.<domain>`` → A a.b.c.d (any well-formed address, like CoreDNS's ``pods insecure``).
* PTR ``d.c.b.a.in-addr.arpa`` for ClusterIPs and headless endpoints.
* A name that exists with no record of the asked type, or that only has names below it (an empty non-terminal such
  as ``<ns>.svc.<domain>``), is NODATA (NOERROR, SOA in authority); anything else in our zones is NXDOMAIN with the
  SOA.  AAAA is always NODATA for existing names (IPv4-only cluster).  Names outside the zones: ``None`` from
  :func:`resolve` (the server refuses them or forwards them when an upstream is configured).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

TTL = 5
REVERSE_ZONE = "in-addr.arpa."
SERVICE_NAME_LABEL = "kubernetes.io/service-name"

# record: (type, data); data is an IP (A), a name (CNAME/PTR) or (priority, weight, port, target) for SRV
Record = tuple[str, Any]


@dataclass
class Zone:
    domain: str = "cluster.local."
    records: dict[str, list[Record]] = field(default_factory=dict)
    non_terminals: set[str] = field(default_factory=set)
    dns_ip: str = ""

    def add(self, name: str, rtype: str, data: Any) -> None:
        name = name.lower()
        recs = self.records.setdefault(name, [])
        if (rtype, data) not in recs:
            recs.append((rtype, data))

    @property
    def soa(self) -> tuple[str, str, int, int, int, int, int]:
        """(mname, rname, serial, refresh, retry, expire, minimum) like CoreDNS."""
        return (f"ns.dns.{self.domain}", f"hostmaster.{self.domain}", 1, 7200, 1800, 86400, TTL)


@dataclass
class Answer:
    rcode: str  # NOERROR | NXDOMAIN
    answers: list[tuple[str, str, Any]] = field(default_factory=list)  # (owner, type, data)
    additional: list[tuple[str, str, Any]] = field(default_factory=list)
    authority_soa: bool = False  # add the SOA (negative answers)
    soa_zone: str = ""


def _fqdn(name: str) -> str:
    return name if name.endswith(".") else name + "."


def _dashed(ip: str) -> str:
    return ip.replace(".", "-")


def reverse_name(ip: str) -> str:
    return ipaddress.ip_address(ip).reverse_pointer + "."


def _slice_eps(slices: Iterable[Obj]) -> list[tuple[str, str, bool]]:
    """(ip, hostname, ready) of IPv4 endpoints, without duplicates."""
    out: dict[str, tuple[str, str, bool]] = {}
    for sl in slices:
        if (sl.get("addressType") or "IPv4") != "IPv4":
            continue
        for ep in sl.get("endpoints") or []:
            ready = (ep.get("conditions") or {}).get("ready") is not False
            for ip in ep.get("addresses") or []:
                prev = out.get(ip)
                out[ip] = (ip, ep.get("hostname") or (prev[1] if prev else ""), ready or bool(prev and prev[2]))
    return sorted(out.values(), key=lambda e: ipaddress.ip_address(e[0]))


def _slice_ports(slices: Iterable[Obj]) -> list[tuple[str, str, int]]:
    seen: dict[tuple[str, str], int] = {}
    for sl in slices:
        for p in sl.get("ports") or []:
            if p.get("name") and p.get("port") is not None:
                seen.setdefault((p["name"], p.get("protocol") or "TCP"), int(p["port"]))
    return [(n, proto, port) for (n, proto), port in sorted(seen.items())]


def build_zone(services: Iterable[Obj], slices: Iterable[Obj], domain: str = "cluster.local",
               dns_ip: str = "") -> Zone:
    zone = Zone(domain=_fqdn(domain.lower()), dns_ip=dns_ip)
    by_service: dict[tuple[str, str], list[Obj]] = {}
    for sl in slices:
        name = ((sl.get("metadata") or {}).get("labels") or {}).get(SERVICE_NAME_LABEL)
        if name:
            by_service.setdefault(((sl.get("metadata") or {}).get("namespace") or "", name), []).append(sl)
    for svc in services:
        meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
        ns, name = meta.get("namespace") or "default", meta.get("name") or ""
        base = f"{name}.{ns}.svc.{zone.domain}"
        if spec.get("type") == "ExternalName":
            if spec.get("externalName"):
                zone.add(base, "CNAME", _fqdn(str(spec["externalName"]).lower()))
            continue
        cluster_ip = spec.get("clusterIP") or ""
        if cluster_ip and cluster_ip != "None":
            try:
                if ipaddress.ip_address(cluster_ip).version != 4:
                    continue
            except ValueError:
                continue
            zone.add(base, "A", cluster_ip)
            zone.add(reverse_name(cluster_ip), "PTR", base)
            for p in spec.get("ports") or []:
                if p.get("name"):
                    proto = (p.get("protocol") or "TCP").lower()
                    zone.add(f"_{p['name']}._{proto}.{base}", "SRV", (0, 100, int(p["port"]), base))
            continue
        if cluster_ip != "None":
            continue
        svc_slices = by_service.get((ns, name), [])
        ports = _slice_ports(svc_slices)
        any_ready = False
        for ip, hostname, ready in _slice_eps(svc_slices):
            if not ready:
                continue
            any_ready = True
            target = f"{hostname or _dashed(ip)}.{base}"
            zone.add(base, "A", ip)
            zone.add(target, "A", ip)
            zone.add(reverse_name(ip), "PTR", target)
            for pname, proto, port in ports:
                zone.add(f"_{pname}._{proto.lower()}.{base}", "SRV", (0, 100, port, target))
        if not any_ready:
            zone.non_terminals.add(base)  # the Service exists: NODATA, not NXDOMAIN
    if dns_ip:
        zone.add(f"ns.dns.{zone.domain}", "A", dns_ip)
    for name in list(zone.records) + list(zone.non_terminals):
        labels = name.split(".")
        for i in range(1, len(labels) - 1):
            parent = ".".join(labels[i:])
            if _in_zone(parent, zone.domain) or parent.endswith(REVERSE_ZONE):
                zone.non_terminals.add(parent)
    zone.non_terminals.add(zone.domain)
    return zone


def _in_zone(name: str, domain: str) -> bool:
    return name == domain or name.endswith("." + domain)


def _pod_record(name: str, zone: Zone) -> str | None:
    """``a-b-c-d.<ns>.pod.<domain>`` → "a.b.c.d"."""
    rest = name[: -len(zone.domain) - 1] if name.endswith("." + zone.domain) else ""
    parts = rest.split(".")
    if len(parts) != 3 or parts[2] != "pod":
        return None
    try:
        ip = ipaddress.ip_address(parts[0].replace("-", "."))
    except ValueError:
        return None
    return str(ip) if ip.version == 4 else None


def zone_of(name: str, zone: Zone) -> str:
    """The authoritative zone a name belongs to ("" when it is outside ours)."""
    name = _fqdn(name.lower())
    if _in_zone(name, zone.domain):
        return zone.domain
    if name.endswith(REVERSE_ZONE) or name == REVERSE_ZONE:
        return REVERSE_ZONE
    return ""


def resolve(zone: Zone, qname: str, qtype: str) -> Answer | None:
    """Answer ``qname``/``qtype`` (type names as in dnslib: A, AAAA, SRV, PTR, CNAME, SOA, NS, ANY…)."""
    name = _fqdn(qname.lower())
    apex = zone_of(name, zone)
    if not apex:
        return None
    answer = Answer("NOERROR", soa_zone=apex)
    records = list(zone.records.get(name, []))
    pod_ip = _pod_record(name, zone) if apex == zone.domain else None
    if pod_ip:
        records.append(("A", pod_ip))
    if name == apex:
        if qtype in ("SOA", "ANY"):
            answer.answers.append((name, "SOA", zone.soa))
        if qtype in ("NS", "ANY") and apex == zone.domain:
            answer.answers.append((name, "NS", f"ns.dns.{zone.domain}"))
            if zone.dns_ip:
                answer.additional.append((f"ns.dns.{zone.domain}", "A", zone.dns_ip))
        if not answer.answers:
            answer.authority_soa = True
        return answer
    if not records:
        if name in zone.non_terminals:
            answer.authority_soa = True
            return answer
        return Answer("NXDOMAIN", authority_soa=True, soa_zone=apex)
    cname = next((d for t, d in records if t == "CNAME"), None)
    if cname is not None and qtype != "CNAME":
        answer.answers.append((name, "CNAME", cname))
        if zone_of(cname, zone) == zone.domain:
            chased = resolve(zone, cname, qtype)
            if chased is not None:
                answer.answers += chased.answers
                answer.additional += chased.additional
        return answer
    for rtype, data in records:
        if rtype == qtype or qtype == "ANY":
            answer.answers.append((name, rtype, data))
            if rtype == "SRV":
                target = data[3]
                answer.additional += [(target, t, d) for t, d in zone.records.get(target, []) if t == "A"]
    if not answer.answers:
        answer.authority_soa = True
    return answer
