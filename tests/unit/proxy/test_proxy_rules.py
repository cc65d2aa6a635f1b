"""Rule generation (pure): Services + EndpointSlices + node → Ruleset → nft scripts; conntrack decisions."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest

from kybernetes.proxy.model import endpoints_for, service_ports, usable_endpoints
from kybernetes.proxy.rules import (
    NO_EP_NODEPORTS,
    NO_EP_SERVICES,
    SERVICE_IPS,
    SERVICE_NODEPORTS,
    NodeInfo,
    Ruleset,
    UdpState,
    build_ruleset,
    chain_name,
    conntrack_deletions,
    owned_chain,
    remove_script,
    sync_script,
    udp_state,
)

NODE = NodeInfo("n1")


def svc(name: str = "web", *, ns: str = "default", ip: str = "10.43.0.50", type_: str = "ClusterIP",
        ports: list[dict[str, Any]] | None = None, status: dict[str, Any] | None = None,
        **spec: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "metadata": {"namespace": ns, "name": name},
        "spec": {"type": type_, "clusterIP": ip,
                 "ports": ports if ports is not None else [{"name": "http", "port": 80, "protocol": "TCP"}],
                 **spec}}
    if status:
        obj["status"] = status
    return obj


def ep(ip: str, *, node: str = "n1", ready: bool = True, serving: bool | None = None,
       terminating: bool = False) -> dict[str, Any]:
    return {"addresses": [ip], "nodeName": node,
            "conditions": {"ready": ready, "serving": ready if serving is None else serving,
                           "terminating": terminating}}


def eslice(service: str, endpoints: list[dict[str, Any]], *, ns: str = "default", name: str = "",
           ports: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"metadata": {"namespace": ns, "name": name or f"{service}-abc",
                         "labels": {"kubernetes.io/service-name": service}},
            "addressType": "IPv4", "endpoints": endpoints,
            "ports": ports if ports is not None else [{"name": "http", "port": 8080, "protocol": "TCP"}]}


def dnat_targets(rs: Ruleset) -> list[str]:
    return sorted(r.rsplit(" ", 1)[1] for rules in rs.chains.values() for r in rules if " dnat to " in r)


def service_chain(rs: Ruleset) -> tuple[str, ...]:
    return next(rules for name, rules in rs.chains.items() if name.startswith("service-"))


# -- model -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("service", "expected"), [
    (svc(), [("default/web:http", "tcp", 80, 0)]),
    (svc(ip="None"), []),
    (svc(type_="ExternalName", ip="", externalName="example.org"), []),
    (svc(ip=""), []),
    (svc(type_="NodePort", ports=[{"port": 53, "protocol": "UDP", "nodePort": 30053}]),
     [("default/web", "udp", 53, 30053)]),
    (svc(ports=[{"port": 80, "nodePort": 30080}]), [("default/web", "tcp", 80, 0)]),  # ClusterIP: no node port
])
def test_service_ports(service: dict[str, Any], expected: list[tuple[str, str, int, int]]) -> None:
    assert [(p.key, p.l4, p.port, p.node_port) for p in service_ports(service)] == expected


@pytest.mark.parametrize(("eps", "local", "expected"), [
    ([ep("10.42.0.5"), ep("10.42.0.6", ready=False)], False, ["10.42.0.5"]),
    ([ep("10.42.0.5", ready=False, serving=True, terminating=True)], False, ["10.42.0.5"]),  # fallback
    ([ep("10.42.0.5", ready=False, serving=False, terminating=True)], False, []),
    ([ep("10.42.0.5", ready=False), ep("10.42.0.6", ready=False, serving=True, terminating=True)], False,
     ["10.42.0.6"]),
    ([ep("10.42.0.5", node="n2"), ep("10.42.0.6")], True, ["10.42.0.6"]),
    ([ep("10.42.0.5", node="n2")], True, []),
])
def test_usable_endpoints(eps: list[dict[str, Any]], local: bool, expected: list[str]) -> None:
    merged = endpoints_for([eslice("web", eps)])[("http", "TCP")]
    assert [e.ip for e in usable_endpoints(merged, local_only=local, node="n1")] == expected


def test_endpoints_merge_slices_without_duplicates() -> None:
    a = eslice("web", [ep("10.42.0.6"), ep("10.42.0.5")], name="a")
    b = eslice("web", [ep("10.42.0.5"), ep("10.42.0.7")], name="b")
    merged = endpoints_for([a, b])[("http", "TCP")]
    assert [e.ip for e in merged] == ["10.42.0.5", "10.42.0.6", "10.42.0.7"]


# -- rules -------------------------------------------------------------------------------------------------------

def test_cluster_ip_two_endpoints() -> None:
    rs = build_ruleset([svc()], [eslice("web", [ep("10.42.0.5"), ep("10.42.0.6")])], NODE)
    chain = chain_name("service", service_ports(svc())[0])
    assert rs.maps[SERVICE_IPS] == {"10.43.0.50 . tcp . 80": f"goto {chain}"}
    rules = rs.chains[chain]
    assert rules[0] == ("ip daddr 10.43.0.50 tcp dport 80 ip saddr != 10.42.0.0/16 jump mark-for-masquerade")
    assert rules[1].startswith("numgen random mod 2 vmap {")
    assert dnat_targets(rs) == ["10.42.0.5:8080", "10.42.0.6:8080"]
    hairpin = [r for name, rules in rs.chains.items() if name.startswith("endpoint-") for r in rules
               if r.startswith("ip saddr 10.42.0.5 ")]
    assert hairpin == ["ip saddr 10.42.0.5 jump mark-for-masquerade"]


@pytest.mark.parametrize(("services", "slices", "maps"), [
    # no endpoints at all: REJECT, for the ClusterIP and every external address and node port
    ([svc(type_="LoadBalancer", ports=[{"name": "http", "port": 80, "nodePort": 30080}], externalIPs=["1.2.3.4"],
          status={"loadBalancer": {"ingress": [{"ip": "127.0.100.1"}]}})], [],
     {NO_EP_SERVICES: {"10.43.0.50 . tcp . 80", "1.2.3.4 . tcp . 80", "127.0.100.1 . tcp . 80"},
      NO_EP_NODEPORTS: {"tcp . 30080"}, SERVICE_IPS: set(), SERVICE_NODEPORTS: set()}),
    # only not-ready endpoints: same as none
    ([svc()], [eslice("web", [ep("10.42.0.5", ready=False, serving=False)])],
     {NO_EP_SERVICES: {"10.43.0.50 . tcp . 80"}, SERVICE_IPS: set()}),
    # NodePort with endpoints
    ([svc(type_="NodePort", ports=[{"name": "http", "port": 80, "nodePort": 30080}])],
     [eslice("web", [ep("10.42.0.5")])],
     {SERVICE_IPS: {"10.43.0.50 . tcp . 80"}, SERVICE_NODEPORTS: {"tcp . 30080"}, NO_EP_SERVICES: set()}),
    # internalTrafficPolicy Local without local endpoints: drop (not reject)
    ([svc(internalTrafficPolicy="Local")], [eslice("web", [ep("10.42.0.5", node="n2")])],
     {NO_EP_SERVICES: {"10.43.0.50 . tcp . 80"}, SERVICE_IPS: set()}),
    # headless and ExternalName: nothing
    ([svc(ip="None"), svc("x", type_="ExternalName", ip="", externalName="a.b")], [eslice("web", [ep("1.1.1.1")])],
     {SERVICE_IPS: set(), NO_EP_SERVICES: set()}),
])
def test_map_entries(services: list[dict[str, Any]], slices: list[dict[str, Any]],
                     maps: dict[str, set[str]]) -> None:
    rs = build_ruleset(services, slices, NODE)
    for name, keys in maps.items():
        assert set(rs.maps[name]) == keys, name


def test_internal_local_drop_vs_reject() -> None:
    rs = build_ruleset([svc(internalTrafficPolicy="Local")], [eslice("web", [ep("10.42.0.5", node="n2")])], NODE)
    assert rs.maps[NO_EP_SERVICES]["10.43.0.50 . tcp . 80"] == "drop"
    rs = build_ruleset([svc()], [], NODE)
    assert rs.maps[NO_EP_SERVICES]["10.43.0.50 . tcp . 80"] == "goto reject-chain"


def test_internal_local_uses_local_chain() -> None:
    rs = build_ruleset([svc(internalTrafficPolicy="Local")],
                       [eslice("web", [ep("10.42.0.5", node="n2"), ep("10.42.0.6")])], NODE)
    local = chain_name("local", service_ports(svc())[0])
    assert rs.maps[SERVICE_IPS]["10.43.0.50 . tcp . 80"] == f"goto {local}"
    assert rs.chains[local][-1].startswith("goto endpoint-") and "10.42.0.6" in rs.chains[local][-1]


def test_external_traffic_policy() -> None:
    lb = svc(type_="LoadBalancer", ports=[{"name": "http", "port": 80, "nodePort": 30080}],
             status={"loadBalancer": {"ingress": [{"ip": "127.0.100.1"}]}})
    slices = [eslice("web", [ep("10.42.0.5", node="n2"), ep("10.42.0.6")])]
    sp = service_ports(lb)[0]
    ext, svc_chain, local = (chain_name(p, sp) for p in ("external", "service", "local"))
    rs = build_ruleset([lb], slices, NODE)
    assert rs.chains[ext] == ("jump mark-for-masquerade", f"goto {svc_chain}")
    assert rs.maps[SERVICE_IPS]["127.0.100.1 . tcp . 80"] == f"goto {ext}"
    assert rs.maps[SERVICE_NODEPORTS]["tcp . 30080"] == f"goto {ext}"
    lb["spec"]["externalTrafficPolicy"] = "Local"
    rs = build_ruleset([lb], slices, NODE)
    assert rs.chains[ext] == (f"ip saddr 10.42.0.0/16 goto {svc_chain}",
                              "fib saddr type local jump mark-for-masquerade",
                              f"fib saddr type local goto {svc_chain}", f"goto {local}")
    rs = build_ruleset([lb], [eslice("web", [ep("10.42.0.5", node="n2")])], NODE)
    assert rs.chains[ext][-1] == "drop"


def test_session_affinity() -> None:
    s = svc(sessionAffinity="ClientIP", sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}})
    rs = build_ruleset([s], [eslice("web", [ep("10.42.0.5"), ep("10.42.0.6")])], NODE)
    assert sorted(rs.affinity_sets.values()) == [60, 60]
    rules = service_chain(rs)
    assert sum(r.startswith("ip saddr @affinity-") for r in rules) == 2
    assert any(r.startswith("update @affinity-") for name, rules in rs.chains.items() for r in rules)
    default = build_ruleset([svc(sessionAffinity="ClientIP")], [eslice("web", [ep("10.42.0.5")])], NODE)
    assert list(default.affinity_sets.values()) == [10800]


def test_single_endpoint_is_a_goto_and_udp_protocol() -> None:
    s = svc(ports=[{"name": "dns", "port": 53, "protocol": "UDP"}])
    rs = build_ruleset([s], [eslice("web", [ep("10.42.0.1")], ports=[{"name": "dns", "port": 53,
                                                                       "protocol": "UDP"}])], NODE)
    assert service_chain(rs)[-1].startswith("goto endpoint-")
    assert dnat_targets(rs) == ["10.42.0.1:53"]
    assert any("meta l4proto udp dnat" in r for rules in rs.chains.values() for r in rules)


def test_port_name_must_match() -> None:
    rs = build_ruleset([svc()], [eslice("web", [ep("10.42.0.5")], ports=[{"name": "other", "port": 1}])], NODE)
    assert "10.43.0.50 . tcp . 80" in rs.maps[NO_EP_SERVICES]


def test_loopback_endpoint_dnat() -> None:
    node = NodeInfo("n1", loopback_endpoints=frozenset({("192.0.2.2", 6443)}))
    s = svc("kubernetes", ip="10.43.0.1", ports=[{"name": "https", "port": 443}])
    rs = build_ruleset([s], [eslice("kubernetes", [ep("192.0.2.2")], ports=[{"name": "https", "port": 6443}])], node)
    assert dnat_targets(rs) == ["127.0.0.1:6443"]


def test_deterministic() -> None:
    services = [svc("a", ip="10.43.0.2"), svc("b", ip="10.43.0.3")]
    slices = [eslice("a", [ep("10.42.0.5")]), eslice("b", [ep("10.42.0.6")])]
    assert build_ruleset(services, slices, NODE) == build_ruleset(list(reversed(services)), slices, NODE)


# -- scripts -----------------------------------------------------------------------------------------------------

def test_sync_script_incremental() -> None:
    one = build_ruleset([svc()], [eslice("web", [ep("10.42.0.5")])], NODE)
    two = build_ruleset([svc()], [eslice("web", [ep("10.42.0.5"), ep("10.42.0.6")])], NODE)
    assert sync_script(one, one) == ""
    script = sync_script(one, two)
    assert "add chain ip kybernetes endpoint-" in script and "10.42.0.6" in script
    assert "delete" not in script and "KYB-" not in script
    back = sync_script(two, one)
    assert "delete chain ip kybernetes endpoint-" in back and "10.42.0.6/8080" in back
    # deleting chains comes after the chains referencing them were rewritten
    assert back.index("flush chain ip kybernetes service-") < back.index("delete chain")


def test_sync_script_full_removes_stale_owned_chains_only() -> None:
    rs = build_ruleset([svc()], [eslice("web", [ep("10.42.0.5")])], NODE)
    script = sync_script(None, rs, kernel_chains=["KYB-FORWARD", "KYB-EGRESS", "service-OLD-x/y/tcp/p1"],
                         kernel_sets=["affinity-OLD"])
    assert "delete chain ip kybernetes service-OLD-x/y/tcp/p1" in script
    assert "delete set ip kybernetes affinity-OLD" in script
    assert "KYB-" not in script and "delete table" not in script
    assert script.startswith("add table ip kybernetes\n")


def test_map_value_change_deletes_then_adds() -> None:
    a = build_ruleset([svc()], [], NODE)
    b = build_ruleset([svc()], [eslice("web", [ep("10.42.0.5")])], NODE)
    script = sync_script(a, b)
    assert "delete element ip kybernetes no-endpoint-services { 10.43.0.50 . tcp . 80 }" in script
    assert "add element ip kybernetes service-ips { 10.43.0.50 . tcp . 80 : goto service-" in script


@pytest.mark.parametrize(("others", "deletes_table"), [(True, False), (False, True)])
def test_remove_script(others: bool, deletes_table: bool) -> None:
    script = remove_script(["nat-output", "service-X-a/b/tcp/p1", "KYB-EGRESS"], ["affinity-Y"], ["service-ips"],
                           other_chains_left=others)
    assert "delete chain ip kybernetes nat-output" in script and "KYB-EGRESS" not in script
    assert ("delete table ip kybernetes" in script) is deletes_table


@pytest.mark.parametrize(("name", "ours"), [
    ("KYB-FORWARD", False), ("KYB-EGRESS", False), ("nat-prerouting", True), ("endpoint-A-x", True),
    ("services", True), ("something-else", False)])
def test_owned_chain(name: str, ours: bool) -> None:
    assert owned_chain(name) is ours


@pytest.mark.skipif(shutil.which("unshare") is None or shutil.which("nft") is None, reason="needs unshare and nft")
def test_scripts_load_into_a_private_netns() -> None:
    """nft accepts the generated scripts (in a throwaway network namespace: nothing touches the host)."""
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("cannot create a network namespace")
    lb = svc(type_="LoadBalancer", ports=[{"name": "http", "port": 80, "nodePort": 30080}], externalIPs=["1.2.3.4"],
             sessionAffinity="ClientIP", externalTrafficPolicy="Local",
             status={"loadBalancer": {"ingress": [{"ip": "127.0.100.1"}]}})
    one = build_ruleset([lb, svc("e", ip="10.43.0.9")], [eslice("web", [ep("10.42.0.5"), ep("10.42.0.6", node="n2")])],
                        NODE)
    two = build_ruleset([lb], [eslice("web", [ep("10.42.0.7")])], NODE)
    safety = ("add table ip kybernetes\nadd chain ip kybernetes KYB-FORWARD "
              "{ type filter hook forward priority filter; policy accept; }\n")
    program = "\n".join([safety, sync_script(None, one), sync_script(one, two), sync_script(two, one),
                         "list table ip kybernetes"])
    done = subprocess.run(["unshare", "-n", "sh", "-c", f"nft -f - <<'EOF'\n{program}\nEOF\n"
                           "nft list table ip kybernetes"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "10.42.0.6" in done.stdout and "10.42.0.7" not in done.stdout and "KYB-FORWARD" in done.stdout
    rm = remove_script(list(one.chains), list(one.affinity_sets), list(one.maps), other_chains_left=True)
    removed = subprocess.run(["unshare", "-n", "sh", "-c", f"nft -f - <<'EOF'\n{safety}{sync_script(None, one)}\n"
                              f"{rm}\nEOF\nnft list table ip kybernetes"], capture_output=True, text=True)
    assert removed.returncode == 0, removed.stderr
    assert "service-" not in removed.stdout and "KYB-FORWARD" in removed.stdout


# -- conntrack ---------------------------------------------------------------------------------------------------

def test_conntrack_deletions() -> None:
    udp = svc("dns", ip="10.43.0.10", ports=[{"name": "dns", "port": 53, "protocol": "UDP"}])
    ports = [{"name": "dns", "port": 53, "protocol": "UDP"}]
    before = udp_state([udp], [eslice("dns", [ep("10.42.0.5"), ep("10.42.0.6")], ports=ports)], NODE)
    after = udp_state([udp], [eslice("dns", [ep("10.42.0.6")], ports=ports)], NODE)
    assert conntrack_deletions(before, after) == [
        ["conntrack", "-D", "-p", "udp", "--orig-dst", "10.43.0.10", "--orig-port-dst", "53", "--dst-nat",
         "10.42.0.5"]]
    empty = udp_state([udp], [], NODE)
    assert conntrack_deletions(empty, after) == [
        ["conntrack", "-D", "-p", "udp", "--orig-dst", "10.43.0.10", "--orig-port-dst", "53"]]
    assert conntrack_deletions(after, after) == []
    assert conntrack_deletions(UdpState({}), udp_state([svc()], [], NODE)) == []  # TCP: never
