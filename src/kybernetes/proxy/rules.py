"""Pure rule generation: (Services, EndpointSlices, node) → the desired :class:`Ruleset` of ``table ip kybernetes``.

The shape follows kube-proxy's nftables mode (names included), in the table the agent's safety net shares:

* hooked chains ``nat-prerouting``/``nat-output`` jump to ``services``, which dispatches on
  ``ip daddr . meta l4proto . th dport`` through the verdict map ``service-ips`` (ClusterIPs, externalIPs,
  LoadBalancer ingress IPs) and, for any local destination (``fib daddr type local``, 127.0.0.1 included), on
  ``meta l4proto . th dport`` through ``service-nodeports``;
* ``service-<H>-<ns>/<name>/<proto>/<port>`` picks an endpoint at random (``numgen random``), after ClientIP
  affinity lookups (``affinity-…`` timeout sets); traffic to a ClusterIP from outside the cluster CIDR (the host)
  is marked for masquerade;
* ``local-…`` is the same over the endpoints on this node (internalTrafficPolicy / externalTrafficPolicy Local);
* ``external-…`` handles external destinations: masquerade and cluster-wide endpoints for policy Cluster; for
  Local, pods and the host itself still get every endpoint (upstream's short-circuit), others only local ones;
* ``endpoint-…`` marks hairpin traffic (a pod reaching itself) for masquerade and DNATs;
* ``nat-postrouting`` masquerades marked packets (mark bit 0x4000, as upstream);
* ``filter-input``/``filter-forward``/``filter-output`` (priority filter - 10, before the safety net) REJECT new
  connections to service ports with no endpoints (maps ``no-endpoint-services``/``no-endpoint-nodeports``) and drop
  non-loopback packets to 127.0.0.0/8 that were not DNATed (``route_localnet`` is on for localhost node ports).

Only ready endpoints are used; when none is ready, serving+terminating ones (upstream's fallback).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kybernetes.proxy.model import (
    Endpoint,
    Obj,
    ServicePort,
    endpoints_for,
    service_ports,
    slice_service_name,
    usable_endpoints,
)

TABLE = "kybernetes"
FAMILY = "ip"
MASQ_MARK = 0x4000

SERVICE_IPS = "service-ips"
SERVICE_NODEPORTS = "service-nodeports"
NO_EP_SERVICES = "no-endpoint-services"
NO_EP_NODEPORTS = "no-endpoint-nodeports"
MAP_TYPES = {
    SERVICE_IPS: "ipv4_addr . inet_proto . inet_service : verdict",
    SERVICE_NODEPORTS: "inet_proto . inet_service : verdict",
    NO_EP_SERVICES: "ipv4_addr . inet_proto . inet_service : verdict",
    NO_EP_NODEPORTS: "inet_proto . inet_service : verdict",
}
# hooked chains: name → declaration
BASE_CHAINS = {
    "nat-prerouting": "type nat hook prerouting priority dstnat; policy accept;",
    "nat-output": "type nat hook output priority -100; policy accept;",
    "nat-postrouting": "type nat hook postrouting priority srcnat; policy accept;",
    "filter-input": "type filter hook input priority -10; policy accept;",
    "filter-forward": "type filter hook forward priority -10; policy accept;",
    "filter-output": "type filter hook output priority -10; policy accept;",
}
STATIC_CHAINS = ("services", "masquerading", "mark-for-masquerade", "reject-check", "reject-chain")
OWNED_PREFIXES = ("service-", "local-", "external-", "endpoint-")
AFFINITY_PREFIX = "affinity-"


def owned_chain(name: str) -> bool:
    """Is ``name`` (a chain of ``table ip kybernetes``) one the proxy owns?"""
    return name in BASE_CHAINS or name in STATIC_CHAINS or name.startswith(OWNED_PREFIXES)


@dataclass(frozen=True)
class NodeInfo:
    """The node being programmed.  ``loopback_endpoints``: (ip, port) endpoints served by a process of this node
    that listens only on 127.0.0.1 (the API server behind ``default/kubernetes``): DNAT goes to 127.0.0.1:port."""

    name: str
    cluster_cidr: str = "10.42.0.0/16"
    loopback_endpoints: frozenset[tuple[str, int]] = frozenset()


@dataclass
class Ruleset:
    """Desired content of the proxy's part of the table: chains (name → rules), verdict maps (name → key → verdict)
    and ClientIP affinity sets (name → timeout seconds)."""

    chains: dict[str, tuple[str, ...]] = field(default_factory=dict)
    maps: dict[str, dict[str, str]] = field(default_factory=lambda: {m: {} for m in MAP_TYPES})
    affinity_sets: dict[str, int] = field(default_factory=dict)

    @property
    def service_chain_count(self) -> int:
        return sum(1 for c in self.chains if c.startswith("service-"))


def _hash(text: str) -> str:
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:8]


def _port_id(sp: ServicePort) -> str:
    return f"{sp.namespace}/{sp.name}/{sp.l4}/{sp.port_name or f'p{sp.port}'}"


def chain_name(prefix: str, sp: ServicePort) -> str:
    return f"{prefix}-{_hash(sp.key + '/' + sp.protocol)}-{_port_id(sp)}"


def endpoint_chain(sp: ServicePort, ep: Endpoint) -> str:
    digest = _hash(f"{sp.key}/{sp.protocol}/{ep.ip}:{ep.port}")
    return f"endpoint-{digest}-{_port_id(sp)}__{ep.ip}/{ep.port}"


def _static_chains(node: NodeInfo) -> dict[str, tuple[str, ...]]:
    return {
        "nat-prerouting": ("jump services",),
        "nat-output": ("jump services",),
        "nat-postrouting": ("jump masquerading",),
        "filter-input": ('iifname != "lo" ip daddr 127.0.0.0/8 ct status & dnat == 0 drop',
                         "ct state new jump reject-check"),
        "filter-forward": ("ct state new jump reject-check",),
        "filter-output": ("ct state new jump reject-check",),
        "services": (f"ip daddr . meta l4proto . th dport vmap @{SERVICE_IPS}",
                     f"fib daddr type local meta l4proto . th dport vmap @{SERVICE_NODEPORTS}"),
        "masquerading": (f"meta mark & {MASQ_MARK:#x} == 0 return",
                         f"meta mark set meta mark ^ {MASQ_MARK:#x}",
                         "masquerade fully-random"),
        "mark-for-masquerade": (f"meta mark set meta mark | {MASQ_MARK:#x}",),
        "reject-check": (f"ip daddr . meta l4proto . th dport vmap @{NO_EP_SERVICES}",
                         f"fib daddr type local meta l4proto . th dport vmap @{NO_EP_NODEPORTS}"),
        "reject-chain": ("reject",),
    }


def _pick_rules(sp: ServicePort, eps: list[Endpoint]) -> list[str]:
    """Affinity lookups then a random pick among ``eps`` (non-empty)."""
    rules = []
    if sp.affinity_timeout:
        for ep in eps:
            chain = endpoint_chain(sp, ep)
            rules.append(f"ip saddr @{AFFINITY_PREFIX}{chain.removeprefix('endpoint-')} goto {chain}")
    if len(eps) == 1:
        rules.append(f"goto {endpoint_chain(sp, eps[0])}")
    else:
        arms = ", ".join(f"{i} : goto {endpoint_chain(sp, ep)}" for i, ep in enumerate(eps))
        rules.append(f"numgen random mod {len(eps)} vmap {{ {arms} }}")
    return rules


def _add_port(rs: Ruleset, sp: ServicePort, eps_all: list[Endpoint], node: NodeInfo) -> None:
    cluster_eps = usable_endpoints(eps_all)
    local_eps = usable_endpoints(eps_all, local_only=True, node=node.name)
    any_eps = bool(cluster_eps)
    masq_host = (f"ip daddr {sp.cluster_ip} {sp.l4} dport {sp.port} ip saddr != {node.cluster_cidr} "
                 "jump mark-for-masquerade")
    svc_chain, local_chain, ext_chain = (chain_name(p, sp) for p in ("service", "local", "external"))
    used: list[Endpoint] = []
    if cluster_eps:
        rs.chains[svc_chain] = (masq_host, *_pick_rules(sp, cluster_eps))
        used += cluster_eps
    if local_eps and (sp.internal_local or sp.external_local):
        rs.chains[local_chain] = (masq_host, *_pick_rules(sp, local_eps))
        used += [e for e in local_eps if e not in used]
    for ep in used:
        chain = endpoint_chain(sp, ep)
        rules = [f"ip saddr {ep.ip} jump mark-for-masquerade"]
        if sp.affinity_timeout:
            aff = AFFINITY_PREFIX + chain.removeprefix("endpoint-")
            rs.affinity_sets[aff] = sp.affinity_timeout
            rules.append(f"update @{aff} {{ ip saddr }}")
        target = "127.0.0.1" if (ep.ip, ep.port) in node.loopback_endpoints else ep.ip
        rules.append(f"meta l4proto {sp.l4} dnat to {target}:{ep.port}")
        rs.chains[chain] = tuple(rules)

    cluster_key = f"{sp.cluster_ip} . {sp.l4} . {sp.port}"
    if not any_eps:
        rs.maps[NO_EP_SERVICES][cluster_key] = "goto reject-chain"
    elif sp.internal_local and not local_eps:
        rs.maps[NO_EP_SERVICES][cluster_key] = "drop"
    else:
        rs.maps[SERVICE_IPS][cluster_key] = f"goto {local_chain if sp.internal_local else svc_chain}"

    external_keys = [f"{ip} . {sp.l4} . {sp.port}" for ip in (*sp.external_ips, *sp.lb_ips)]
    nodeport_key = f"{sp.l4} . {sp.node_port}" if sp.node_port else ""
    if not external_keys and not nodeport_key:
        return
    if not any_eps:
        for key in external_keys:
            rs.maps[NO_EP_SERVICES][key] = "goto reject-chain"
        if nodeport_key:
            rs.maps[NO_EP_NODEPORTS][nodeport_key] = "goto reject-chain"
        return
    if sp.external_local:
        rs.chains[ext_chain] = (
            f"ip saddr {node.cluster_cidr} goto {svc_chain}",
            "fib saddr type local jump mark-for-masquerade",
            f"fib saddr type local goto {svc_chain}",
            f"goto {local_chain}" if local_eps else "drop",
        )
    else:
        rs.chains[ext_chain] = ("jump mark-for-masquerade", f"goto {svc_chain}")
    for key in external_keys:
        rs.maps[SERVICE_IPS][key] = f"goto {ext_chain}"
    if nodeport_key:
        rs.maps[SERVICE_NODEPORTS][nodeport_key] = f"goto {ext_chain}"


def build_ruleset(services: Iterable[Obj], slices: Iterable[Obj], node: NodeInfo) -> Ruleset:
    """The whole desired state for ``node``; deterministic for the same inputs."""
    by_service: dict[tuple[str, str], list[Obj]] = {}
    for sl in slices:
        name = slice_service_name(sl)
        if name:
            by_service.setdefault(((sl.get("metadata") or {}).get("namespace") or "", name), []).append(sl)
    rs = Ruleset(chains=_static_chains(node))
    ordered = sorted(services, key=lambda s: ((s.get("metadata") or {}).get("namespace") or "",
                                              (s.get("metadata") or {}).get("name") or ""))
    for svc in ordered:
        ports = service_ports(svc)
        if not ports:
            continue
        eps = endpoints_for(by_service.get((ports[0].namespace, ports[0].name), []))
        for sp in ports:
            _add_port(rs, sp, eps.get((sp.port_name, sp.protocol), []), node)
    return rs


# ------------------------------------------------------------------------------------------------------------------
# Scripts (pure): the desired Ruleset and what the kernel holds → one ``nft -f`` transaction
# ------------------------------------------------------------------------------------------------------------------

def _t() -> str:
    return f"{FAMILY} {TABLE}"


def _chain_lines(name: str, rules: Iterable[str]) -> list[str]:
    return [f"flush chain {_t()} {name}", *(f"add rule {_t()} {name} {r}" for r in rules)]


def _declarations() -> list[str]:
    lines = [f"add table {_t()}"]
    lines += [f"add chain {_t()} {name} {{ {decl} }}" for name, decl in BASE_CHAINS.items()]
    lines += [f"add map {_t()} {name} {{ type {typ}; }}" for name, typ in MAP_TYPES.items()]
    return lines


def _set_decl(name: str, timeout: int) -> str:
    return f"add set {_t()} {name} {{ type ipv4_addr; flags dynamic,timeout; timeout {timeout}s; }}"


def _elements(op: str, name: str, items: Iterable[str]) -> list[str]:
    items = list(items)
    out = []
    for i in range(0, len(items), 500):
        out.append(f"{op} element {_t()} {name} {{ {', '.join(items[i:i + 500])} }}")
    return out


def sync_script(old: Ruleset | None, new: Ruleset, *, kernel_chains: Iterable[str] = (),
                kernel_sets: Iterable[str] = ()) -> str:
    """The ``nft -f`` script that turns ``old`` (what we last applied; ``None`` = unknown: full sync, with the
    chains and sets the kernel holds in ``kernel_chains``/``kernel_sets``) into ``new``.  Empty when nothing
    changed.  Never touches chains the proxy does not own (:func:`owned_chain`)."""
    lines: list[str] = []
    if old is None:
        lines += _declarations()
        lines += [f"add chain {_t()} {c}" for c in new.chains if c not in BASE_CHAINS]
        lines += [_set_decl(s, t) for s, t in sorted(new.affinity_sets.items())]
        for name, rules in new.chains.items():
            lines += _chain_lines(name, rules)
        for name, elems in new.maps.items():
            lines.append(f"flush map {_t()} {name}")
            lines += _elements("add", name, (f"{k} : {v}" for k, v in elems.items()))
        stale = [c for c in kernel_chains if owned_chain(c) and c not in new.chains]
        stale_sets = [s for s in kernel_sets if s.startswith(AFFINITY_PREFIX) and s not in new.affinity_sets]
    else:
        added = [c for c in new.chains if c not in old.chains]
        lines += [f"add chain {_t()} {c}" for c in added]
        lines += [_set_decl(s, t) for s, t in sorted(new.affinity_sets.items()) if old.affinity_sets.get(s) != t]
        for name, rules in new.chains.items():
            if old.chains.get(name) != rules:
                lines += _chain_lines(name, rules)
        for name, elems in new.maps.items():
            before = old.maps.get(name, {})
            gone = [k for k, v in before.items() if elems.get(k) != v]
            lines += _elements("delete", name, gone)
            lines += _elements("add", name, (f"{k} : {v}" for k, v in elems.items() if before.get(k) != v))
        stale = [c for c in old.chains if c not in new.chains]
        stale_sets = [s for s in old.affinity_sets if s not in new.affinity_sets]
    lines += [f"flush chain {_t()} {c}" for c in stale]
    lines += [f"delete chain {_t()} {c}" for c in stale]
    lines += [f"delete set {_t()} {s}" for s in stale_sets]
    return "\n".join([*lines, ""]) if lines else ""


def remove_script(kernel_chains: Iterable[str], kernel_sets: Iterable[str], kernel_maps: Iterable[str],
                  *, other_chains_left: bool) -> str:
    """Delete everything the proxy owns; the table itself too when nothing else is left in it."""
    chains = [c for c in kernel_chains if owned_chain(c)]
    maps = [m for m in kernel_maps if m in MAP_TYPES]
    sets = [s for s in kernel_sets if s.startswith(AFFINITY_PREFIX)]
    lines = [f"flush chain {_t()} {c}" for c in chains]
    lines += [f"flush map {_t()} {m}" for m in maps]
    lines += [f"delete chain {_t()} {c}" for c in chains]
    lines += [f"delete map {_t()} {m}" for m in maps]
    lines += [f"delete set {_t()} {s}" for s in sets]
    if lines and not other_chains_left:
        lines.append(f"delete table {_t()}")
    return "\n".join([*lines, ""]) if lines else ""


# ------------------------------------------------------------------------------------------------------------------
# Conntrack (pure): which UDP flows must go when endpoints change
# ------------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UdpState:
    """Per UDP service IP+port: the endpoint IPs in use (for conntrack cleanup)."""

    targets: Mapping[tuple[str, int], frozenset[str]]


def udp_state(services: Iterable[Obj], slices: Iterable[Obj], node: NodeInfo) -> UdpState:
    by_service: dict[tuple[str, str], list[Obj]] = {}
    for sl in slices:
        name = slice_service_name(sl)
        if name:
            by_service.setdefault(((sl.get("metadata") or {}).get("namespace") or "", name), []).append(sl)
    out: dict[tuple[str, int], frozenset[str]] = {}
    for svc in services:
        ports = [p for p in service_ports(svc) if p.protocol == "UDP"]
        if not ports:
            continue
        eps = endpoints_for(by_service.get((ports[0].namespace, ports[0].name), []))
        for sp in ports:
            ips = frozenset(e.ip for e in usable_endpoints(eps.get((sp.port_name, "UDP"), [])))
            for vip in (sp.cluster_ip, *sp.external_ips, *sp.lb_ips):
                out[(vip, sp.port)] = ips
    return UdpState(out)


def conntrack_deletions(old: UdpState, new: UdpState) -> list[list[str]]:
    """``conntrack`` argv lists: flows to removed UDP endpoints, and flows of service IPs that just gained
    endpoints (stale entries from the time they rejected)."""
    cmds: list[list[str]] = []
    for (vip, port), before in sorted(old.targets.items()):
        after = new.targets.get((vip, port), frozenset())
        for ip in sorted(before - after):
            cmds.append(["conntrack", "-D", "-p", "udp", "--orig-dst", vip, "--orig-port-dst", str(port),
                         "--dst-nat", ip])
    for (vip, port), after in sorted(new.targets.items()):
        if after and not old.targets.get((vip, port)):
            cmds.append(["conntrack", "-D", "-p", "udp", "--orig-dst", vip, "--orig-port-dst", str(port)])
    return cmds
