"""What the proxy programs, extracted from API objects: pure functions from Service/EndpointSlice dicts to
:class:`ServicePort` and :class:`Endpoint` values (kube-proxy's ``ServicePortInfo`` / ``Endpoint``).

Contracts:

* :func:`service_ports` returns one entry per port of a Service that gets rules: not ExternalName, not headless
  (``clusterIP: None``), with a valid IPv4 ClusterIP.  Node ports, external IPs and ``status.loadBalancer.ingress``
  IPs are carried along; policies default like upstream (Cluster, ``sessionAffinity`` None, 10800 s timeout).
* :func:`endpoints_for` merges every IPv4 EndpointSlice of a Service and returns, per service port name, the
  endpoints that carry that port (ready, serving and terminating flags, nodeName) without duplicates.
* :func:`usable_endpoints` applies upstream's selection: ready endpoints; when there are none, serving+terminating
  ones (graceful termination fallback).  With ``local_only`` only endpoints on ``node`` count.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
DEFAULT_AFFINITY_TIMEOUT = 10800
PROTOCOLS = {"TCP": "tcp", "UDP": "udp", "SCTP": "sctp"}


@dataclass(frozen=True)
class ServicePort:
    """One port of one Service, with everything the rules need."""

    namespace: str
    name: str  # the Service's name
    port_name: str  # "" for an unnamed port
    protocol: str  # TCP | UDP | SCTP
    port: int
    cluster_ip: str
    node_port: int = 0
    external_ips: tuple[str, ...] = ()
    lb_ips: tuple[str, ...] = ()
    external_local: bool = False  # externalTrafficPolicy: Local (only for NodePort/LoadBalancer/externalIPs)
    internal_local: bool = False  # internalTrafficPolicy: Local
    affinity_timeout: int = 0  # > 0 when sessionAffinity is ClientIP

    @property
    def key(self) -> str:
        """Upstream's ``ns/name:port`` service port name (``ns/name`` + ``:port_name`` when named)."""
        return f"{self.namespace}/{self.name}" + (f":{self.port_name}" if self.port_name else "")

    @property
    def l4(self) -> str:
        return PROTOCOLS[self.protocol]


@dataclass(frozen=True)
class Endpoint:
    ip: str
    port: int
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    node_name: str = ""
    hostname: str = ""
    target: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)


def _ipv4(value: object) -> str:
    try:
        ip = ipaddress.ip_address(str(value))
    except ValueError:
        return ""
    return str(ip) if ip.version == 4 else ""


def service_ports(service: Obj) -> list[ServicePort]:
    meta = service.get("metadata") or {}
    spec = service.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return []
    cluster_ip = _ipv4(spec.get("clusterIP"))
    if not cluster_ip:
        return []
    svc_type = spec.get("type") or "ClusterIP"
    external_ips = tuple(ip for ip in (_ipv4(x) for x in spec.get("externalIPs") or []) if ip)
    lb_ips: tuple[str, ...] = ()
    if svc_type == "LoadBalancer":
        ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        lb_ips = tuple(ip for ip in (_ipv4(i.get("ip")) for i in ingress) if ip)
    externally_reachable = svc_type in ("NodePort", "LoadBalancer") or bool(external_ips)
    affinity = 0
    if spec.get("sessionAffinity") == "ClientIP":
        cfg = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {})
        affinity = int(cfg.get("timeoutSeconds") or DEFAULT_AFFINITY_TIMEOUT)
    out = []
    for p in spec.get("ports") or []:
        protocol = p.get("protocol") or "TCP"
        if protocol not in PROTOCOLS or not p.get("port"):
            continue
        out.append(ServicePort(
            namespace=meta.get("namespace") or "default", name=meta.get("name") or "", port_name=p.get("name") or "",
            protocol=protocol, port=int(p["port"]), cluster_ip=cluster_ip,
            node_port=int(p.get("nodePort") or 0) if svc_type in ("NodePort", "LoadBalancer") else 0,
            external_ips=external_ips, lb_ips=lb_ips,
            external_local=externally_reachable and spec.get("externalTrafficPolicy") == "Local",
            internal_local=spec.get("internalTrafficPolicy") == "Local", affinity_timeout=affinity))
    return out


def endpoints_for(slices: Iterable[Obj]) -> dict[tuple[str, str], list[Endpoint]]:
    """(port name, protocol) → endpoints carrying that port, merged over the Service's IPv4 slices."""
    out: dict[tuple[str, str], list[Endpoint]] = {}
    seen: set[tuple[str, str, str, int]] = set()
    for sl in sorted(slices, key=lambda s: str((s.get("metadata") or {}).get("name"))):
        if (sl.get("addressType") or "IPv4") != "IPv4":
            continue
        for port in sl.get("ports") or []:
            if port.get("port") is None:
                continue
            pname, proto, number = port.get("name") or "", port.get("protocol") or "TCP", int(port["port"])
            for ep in sl.get("endpoints") or []:
                cond = ep.get("conditions") or {}
                ready = cond.get("ready") is not False  # nil means ready
                serving = cond.get("serving") if cond.get("serving") is not None else ready
                terminating = bool(cond.get("terminating"))
                for address in ep.get("addresses") or []:
                    ip = _ipv4(address)
                    if not ip or (pname, proto, ip, number) in seen:
                        continue
                    seen.add((pname, proto, ip, number))
                    ref = ep.get("targetRef") or {}
                    out.setdefault((pname, proto), []).append(Endpoint(
                        ip=ip, port=number, ready=ready, serving=bool(serving), terminating=terminating,
                        node_name=ep.get("nodeName") or "", hostname=ep.get("hostname") or "",
                        target={k: str(v) for k, v in ref.items() if k in ("kind", "name", "namespace")}))
    for eps in out.values():
        eps.sort(key=lambda e: (ipaddress.ip_address(e.ip), e.port))
    return out


def usable_endpoints(eps: Iterable[Endpoint], *, local_only: bool = False, node: str = "") -> list[Endpoint]:
    """Ready endpoints, else serving+terminating ones; only those on ``node`` when ``local_only``."""
    pool = [e for e in eps if not local_only or e.node_name == node]
    ready = [e for e in pool if e.ready]
    return ready or [e for e in pool if e.serving and e.terminating]


def slice_service_name(sl: Obj) -> str:
    return str(((sl.get("metadata") or {}).get("labels") or {}).get(SERVICE_NAME_LABEL) or "")
