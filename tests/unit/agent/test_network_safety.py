"""CNI conflist, nft rules and the safety-net applier (with a recording command runner)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from kybernetes.agent.network import (
    NetworkConfig,
    NetworkError,
    NetworkSafetyNet,
    cni_conflist,
    link_delete_commands,
    nft_install_script,
    nft_remove_script,
    pod_gateway,
    service_route_commands,
    write_cni_config,
)


@pytest.mark.parametrize(("cidr", "gw"), [("10.42.0.0/24", "10.42.0.1"), ("10.42.7.0/24", "10.42.7.1"),
                                          ("10.42.0.0/16", "10.42.0.1")])
def test_pod_gateway(cidr: str, gw: str) -> None:
    assert pod_gateway(cidr) == gw


@pytest.mark.parametrize("cidr", ["10.42.0.1/24", "10.42.0.0/31", "fd00::/64"])
def test_pod_gateway_rejects(cidr: str) -> None:
    with pytest.raises(ValueError):
        pod_gateway(cidr)


def test_conflist() -> None:
    cfg = NetworkConfig(pod_cidr="10.42.3.0/24", data_dir=Path("/d"))
    c = cni_conflist(cfg)
    assert c["cniVersion"] == "1.0.0" and c["name"] == "kybernetes"
    bridge, portmap = c["plugins"]
    assert (bridge["type"], bridge["bridge"], bridge["isGateway"], bridge["ipMasq"], bridge["hairpinMode"]) == (
        "bridge", "cni0", True, False, True)
    ipam = bridge["ipam"]
    assert ipam["type"] == "host-local" and ipam["dataDir"] == "/d/cni/ipam"
    assert ipam["ranges"] == [[{"subnet": "10.42.3.0/24", "gateway": "10.42.3.1"}]]
    assert ipam["routes"] == [{"dst": "10.42.0.0/16"}, {"dst": "10.43.0.0/16"}]  # and NO default route
    assert all(r["dst"] not in ("0.0.0.0/0", "::/0") for r in ipam["routes"])
    assert portmap == {"type": "portmap", "capabilities": {"portMappings": True}}


def test_conflist_rejects_foreign_cidr() -> None:
    with pytest.raises(ValueError):
        cni_conflist(NetworkConfig(pod_cidr="192.168.0.0/24", data_dir=Path("/d")))


def test_write_cni_config(tmp_path: Path) -> None:
    cfg = NetworkConfig(pod_cidr="10.42.0.0/24", data_dir=tmp_path)
    path = write_cni_config(cfg)
    assert path == tmp_path / "cni" / "net.d" / "10-kybernetes.conflist"
    assert json.loads(path.read_text()) == cni_conflist(cfg)
    assert list(path.parent.iterdir()) == [path]


def test_nft_scripts() -> None:
    script = nft_install_script(NetworkConfig(pod_cidr="10.42.0.0/24", data_dir=Path("/d")))
    assert "add table ip kybernetes" in script
    assert "type filter hook forward priority filter; policy accept;" in script
    assert 'iifname "cni0" jump KYB-EGRESS' in script
    assert 'add rule ip kybernetes KYB-EGRESS oifname "cni0" return' in script
    assert script.index("oifname") < script.index("counter drop")
    assert "flush chain ip kybernetes KYB-EGRESS" in script  # idempotent re-install
    assert "delete table" not in script


@pytest.mark.parametrize(("chains", "deletes_table", "empty"), [
    ([], False, True),
    (["KYB-FORWARD", "KYB-EGRESS"], True, False),
    (["KYB-FORWARD", "KYB-EGRESS", "services"], False, False),  # the proxy's chain stays, so does the table
    (["services"], False, True),
])
def test_nft_remove_script(chains: list[str], deletes_table: bool, empty: bool) -> None:
    script = nft_remove_script(chains)
    assert ("delete table ip kybernetes" in script) == deletes_table
    assert (script == "") == empty
    assert "services" not in script


def test_route_and_link_commands() -> None:
    cfg = NetworkConfig(pod_cidr="10.42.0.0/24", data_dir=Path("/d"))
    assert ["ip", "route", "replace", "10.43.0.0/16", "dev", "kyb-svc"] in service_route_commands(cfg)
    assert not any("unreachable" in argv for argv in service_route_commands(cfg))
    assert [a[:3] for a in link_delete_commands(cfg)] == [["ip", "route", "del"], ["ip", "link", "del"],
                                                          ["ip", "link", "del"]]


class Host:
    """A fake host: records commands, answers nft list with the chains it holds."""

    def __init__(self, tmp: Path) -> None:
        self.commands: list[tuple[list[str], str | None]] = []
        self.chains: list[str] = []
        self.proc = tmp / "proc"
        for key, value in (("net/ipv4/ip_forward", "0"), ("net/bridge/bridge-nf-call-iptables", "0")):
            (self.proc / key).parent.mkdir(parents=True, exist_ok=True)
            (self.proc / key).write_text(value + "\n")

    async def run(self, argv: Sequence[str], stdin: str | None) -> tuple[int, str]:
        self.commands.append((list(argv), stdin))
        if list(argv[:3]) == ["nft", "-f", "-"] and stdin and "add chain" in stdin:
            self.chains = ["KYB-FORWARD", "KYB-EGRESS"]
        elif list(argv[:3]) == ["nft", "-f", "-"] and stdin and "delete chain" in stdin:
            self.chains = []
        if list(argv[:2]) == ["nft", "list"]:
            return (0, "") if self.chains else (1, "Error: No such file or directory")
        if argv[:2] == ["nft", "-j"]:
            if not self.chains:
                return 1, "Error: No such file or directory"
            return 0, json.dumps({"nftables": [{"chain": {"name": c}} for c in self.chains]})
        if argv[:3] == ["ip", "link", "add"] and any(a == ["ip", "link", "add", argv[3], "type", "bridge"]
                                                       for a, _ in self.commands[:-1]):
            return 2, "RTNETLINK answers: File exists"
        if argv[:3] == ["ip", "link", "del"]:
            return 1, 'Cannot find device "cni0"'
        return 0, ""

    def sysctl(self, key: str) -> str:
        return (self.proc / key).read_text().strip()


async def test_safety_net_install_remove(tmp_path: Path) -> None:
    host = Host(tmp_path)
    cni_state = tmp_path / "var-lib-cni"
    cfg = NetworkConfig(pod_cidr="10.42.0.0/24", data_dir=tmp_path / "data")
    net = NetworkSafetyNet(cfg, run=host.run, proc_sys=host.proc, cni_state_dir=cni_state)
    await net.install()
    await net.install()  # idempotent: "File exists" tolerated, original values kept
    assert host.commands[0][0] == ["nft", "-f", "-"]  # the drop rule first
    assert host.sysctl("net/ipv4/ip_forward") == "1"
    assert host.sysctl("net/bridge/bridge-nf-call-iptables") == "1"
    assert await net.installed()
    assert cfg.ipam_dir.is_dir()
    # what containerd/CNI would create meanwhile
    (cni_state / "results").mkdir(parents=True)
    (cni_state / "results" / "kybernetes-abc-eth0").write_text("{}")
    host.commands.clear()
    await net.remove()
    assert host.commands[0] == (["nft", "-j", "list", "table", "ip", "kybernetes"], None)
    assert "delete table ip kybernetes" in (host.commands[1][1] or "")
    assert host.sysctl("net/ipv4/ip_forward") == "0"
    assert host.sysctl("net/bridge/bridge-nf-call-iptables") == "0"
    assert not cni_state.exists() and not cfg.ipam_dir.exists() and not cfg.state_file.exists()
    assert not await net.installed()
    await net.remove()  # idempotent


async def test_safety_net_keeps_foreign_cni_results(tmp_path: Path) -> None:
    host = Host(tmp_path)
    cni_state = tmp_path / "var-lib-cni"
    (cni_state / "results").mkdir(parents=True)
    (cni_state / "results" / "other-net-abc-eth0").write_text("{}")
    net = NetworkSafetyNet(NetworkConfig(pod_cidr="10.42.0.0/24", data_dir=tmp_path / "d"), run=host.run,
                           proc_sys=host.proc, cni_state_dir=cni_state)
    await net.install()
    await net.remove()
    assert (cni_state / "results" / "other-net-abc-eth0").exists()


async def test_safety_net_command_failure(tmp_path: Path) -> None:
    host = Host(tmp_path)

    async def failing(argv: Sequence[str], stdin: str | None) -> tuple[int, str]:
        return (1, "Error: Could not process rule") if argv[0] == "nft" else await host.run(argv, stdin)

    net = NetworkSafetyNet(NetworkConfig(pod_cidr="10.42.0.0/24", data_dir=tmp_path / "d"), run=failing,
                           proc_sys=host.proc, cni_state_dir=tmp_path / "cni")
    with pytest.raises(NetworkError):
        await net.install()
