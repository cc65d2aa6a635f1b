"""Pod network for one node: the CNI config and the network safety net.

Hard rule on these machines: no packet may leave the host except to 127.0.0.0/8.  Layers, outermost first:

1. The CNI conflist gives pods NO default route (only the cluster CIDR and the service CIDR) and no masquerade.
2. A forward-hook chain ``KYB-EGRESS`` drops every packet coming from the pod bridge that would be forwarded
   anywhere but back onto the pod bridge (pod -> pod, also after a Service DNAT, is allowed).
3. The service CIDR is routed to a port-less bridge ``kyb-svc``: unknown ClusterIPs die there instead of following
   the default route.  (An ``unreachable`` route would break host -> ClusterIP: the route lookup in ``connect()``
   runs before the nat OUTPUT hook, so DNAT never happens; ``dummy`` links are not in this kernel.)
4. ``net.bridge.bridge-nf-call-iptables`` must be 1 so bridged pod -> VIP -> pod traffic passes conntrack/NAT.

Why nftables and not iptables-restore: the rules live in ONE table of our own, ``table ip kybernetes``, so removing
them cannot touch anybody else's rules, every change is one atomic ``nft -f`` transaction, and the proxy issue can add
its service chains to the same table.  Contract for other writers of ``table ip kybernetes``: own your chains, update
them with ``flush chain`` (never ``delete table``); :meth:`NetworkSafetyNet.remove` deletes only this module's chains
and drops the table only when nothing else is left in it.

Everything that builds text or command lines is a pure function (unit-tested); :class:`NetworkSafetyNet` is the
only part with side effects (``nft``, ``ip``, ``/proc/sys``, files).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import shutil
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CLUSTER_CIDR = "10.42.0.0/16"
SERVICE_CIDR = "10.43.0.0/16"
POD_BRIDGE = "cni0"
SERVICE_BRIDGE = "kyb-svc"
CNI_NETWORK_NAME = "kybernetes"
CNI_CONFLIST_NAME = "10-kybernetes.conflist"
NFT_TABLE = "kybernetes"
NFT_FORWARD_CHAIN = "KYB-FORWARD"
NFT_EGRESS_CHAIN = "KYB-EGRESS"
SYSCTL_IP_FORWARD = "net/ipv4/ip_forward"
SYSCTL_BRIDGE_NF = "net/bridge/bridge-nf-call-iptables"
CNI_STATE_DIR = Path("/var/lib/cni")


@dataclass(frozen=True)
class NetworkConfig:
    """What the node's pod network looks like.  ``data_dir`` is the agent's data dir (host-local IPAM lives there)."""

    pod_cidr: str  # this node's slice of the cluster CIDR, e.g. 10.42.0.0/24
    data_dir: Path
    cluster_cidr: str = CLUSTER_CIDR
    service_cidr: str = SERVICE_CIDR
    pod_bridge: str = POD_BRIDGE
    service_bridge: str = SERVICE_BRIDGE

    @property
    def ipam_dir(self) -> Path:
        return self.data_dir / "cni" / "ipam"

    @property
    def cni_conf_dir(self) -> Path:
        return self.data_dir / "cni" / "net.d"

    @property
    def state_file(self) -> Path:
        return self.data_dir / "network" / "safety-net.json"


def pod_gateway(pod_cidr: str) -> str:
    """The bridge address of a pod CIDR: its first host address (10.42.0.0/24 -> 10.42.0.1)."""
    net = ipaddress.ip_network(pod_cidr, strict=True)
    if net.version != 4 or net.num_addresses < 4:
        raise ValueError(f"pod CIDR {pod_cidr} must be an IPv4 network with room for a gateway and pods")
    return str(net.network_address + 1)


def cni_conflist(cfg: NetworkConfig) -> dict[str, Any]:
    """The CNI network configuration list (spec 1.0.0) for the node's pod CIDR.

    bridge ``cni0`` as the pods' gateway, no masquerade, hairpin on (a pod reaching itself through a Service),
    host-local IPAM in the data dir, routes only to the cluster and service CIDRs (no default route), portmap for
    hostPort.  containerd adds the loopback plugin itself.
    """
    cluster = ipaddress.ip_network(cfg.cluster_cidr)
    if not ipaddress.ip_network(cfg.pod_cidr).subnet_of(cluster):  # type: ignore[arg-type]
        raise ValueError(f"pod CIDR {cfg.pod_cidr} is not inside the cluster CIDR {cfg.cluster_cidr}")
    return {
        "cniVersion": "1.0.0",
        "name": CNI_NETWORK_NAME,
        "plugins": [
            {
                "type": "bridge",
                "bridge": cfg.pod_bridge,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "promiscMode": False,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(cfg.ipam_dir),
                    "ranges": [[{"subnet": cfg.pod_cidr, "gateway": pod_gateway(cfg.pod_cidr)}]],
                    "routes": [{"dst": cfg.cluster_cidr}, {"dst": cfg.service_cidr}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def write_cni_config(cfg: NetworkConfig, conf_dir: Path | None = None) -> Path:
    """Write the conflist (atomically) into ``conf_dir`` (default ``cfg.cni_conf_dir``); returns its path."""
    conf_dir = conf_dir or cfg.cni_conf_dir
    conf_dir.mkdir(parents=True, exist_ok=True)
    path = conf_dir / CNI_CONFLIST_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(cni_conflist(cfg), indent=2) + "\n")
    tmp.replace(path)
    return path


def nft_install_script(cfg: NetworkConfig) -> str:
    """An idempotent ``nft -f`` script installing the egress chains (re-running it replaces their rules)."""
    t = f"ip {NFT_TABLE}"
    return "\n".join([
        f"add table {t}",
        f"add chain {t} {NFT_FORWARD_CHAIN} {{ type filter hook forward priority filter; policy accept; }}",
        f"add chain {t} {NFT_EGRESS_CHAIN}",
        f"flush chain {t} {NFT_FORWARD_CHAIN}",
        f"flush chain {t} {NFT_EGRESS_CHAIN}",
        f'add rule {t} {NFT_FORWARD_CHAIN} iifname "{cfg.pod_bridge}" jump {NFT_EGRESS_CHAIN}'
        ' comment "kybernetes: traffic from pods"',
        f'add rule {t} {NFT_EGRESS_CHAIN} oifname "{cfg.pod_bridge}" return comment "pod to pod"',
        f'add rule {t} {NFT_EGRESS_CHAIN} counter drop comment "pods never reach beyond the pod bridge"',
        "",
    ])


def nft_remove_script(existing_chains: Sequence[str]) -> str:
    """The ``nft -f`` script deleting our chains among ``existing_chains`` (names in ``table ip kybernetes``).

    The table itself is deleted only when no other chain is left in it.
    """
    ours = [c for c in (NFT_FORWARD_CHAIN, NFT_EGRESS_CHAIN) if c in existing_chains]
    lines = [f"flush chain ip {NFT_TABLE} {c}" for c in ours]
    lines += [f"delete chain ip {NFT_TABLE} {c}" for c in ours]  # the jump is gone once both are flushed
    if existing_chains and not set(existing_chains) - set(ours):
        lines.append(f"delete table ip {NFT_TABLE}")
    return "\n".join([*lines, ""]) if lines else ""


def service_route_commands(cfg: NetworkConfig) -> list[list[str]]:
    """``ip`` commands routing the service CIDR to a port-less bridge (idempotent with ``replace``)."""
    return [
        ["ip", "link", "add", cfg.service_bridge, "type", "bridge"],  # tolerated: "File exists"
        ["ip", "link", "set", cfg.service_bridge, "up"],
        ["ip", "route", "replace", cfg.service_cidr, "dev", cfg.service_bridge],
    ]


def link_delete_commands(cfg: NetworkConfig) -> list[list[str]]:
    """``ip`` commands removing the service route and both bridges (each tolerated when already gone)."""
    return [
        ["ip", "route", "del", cfg.service_cidr, "dev", cfg.service_bridge],
        ["ip", "link", "del", cfg.service_bridge],
        ["ip", "link", "del", cfg.pod_bridge],
    ]


# ------------------------------------------------------------------------------------------------------------------
# The applier (side effects)
# ------------------------------------------------------------------------------------------------------------------

Runner = Callable[[Sequence[str], str | None], Awaitable[tuple[int, str]]]
"""Runs argv with optional stdin text; returns (exit code, combined stderr+stdout)."""


async def run_command(argv: Sequence[str], stdin: str | None = None) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate(stdin.encode() if stdin is not None else None)
    return proc.returncode or 0, out.decode(errors="replace")


class NetworkError(RuntimeError):
    pass


class NetworkSafetyNet:
    """Installs and removes the node's network safety net; put it in place before any pod exists.

    :meth:`install` is idempotent.  The first install records the host's original ``ip_forward``,
    ``bridge-nf-call-iptables`` and whether ``/var/lib/cni`` existed in ``cfg.state_file``; :meth:`remove` restores
    them (also from a later process), deletes our nft chains, the service route, ``kyb-svc`` and ``cni0``, the CNI
    result cache entries of our network and the host-local IPAM dir.  ``remove`` must run after all pods are gone.
    """

    def __init__(self, cfg: NetworkConfig, *, run: Runner = run_command, proc_sys: Path = Path("/proc/sys"),
                 cni_state_dir: Path = CNI_STATE_DIR) -> None:
        self.cfg = cfg
        self._run = run
        self._proc_sys = proc_sys
        self._cni_state_dir = cni_state_dir

    def _sysctl_get(self, key: str) -> str:
        return (self._proc_sys / key).read_text().strip()

    def _sysctl_set(self, key: str, value: str) -> None:
        (self._proc_sys / key).write_text(value + "\n")

    async def _must(self, argv: Sequence[str], stdin: str | None = None, *, tolerate: tuple[str, ...] = ()) -> None:
        rc, out = await self._run(argv, stdin)
        if rc != 0 and not any(t in out for t in tolerate):
            raise NetworkError(f"{' '.join(argv)} failed ({rc}): {out.strip()}")

    def _load_state(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self.cfg.state_file.read_text())
            return data
        except FileNotFoundError:
            return None

    async def install(self) -> None:
        if self._load_state() is None:
            state = {
                "ip_forward": self._sysctl_get(SYSCTL_IP_FORWARD),
                "bridge_nf_call_iptables": self._sysctl_get(SYSCTL_BRIDGE_NF),
                "cni_state_dir_existed": self._cni_state_dir.exists(),
                "cni_results_existed": (self._cni_state_dir / "results").exists(),
            }
            self.cfg.state_file.parent.mkdir(parents=True, exist_ok=True)
            self.cfg.state_file.write_text(json.dumps(state) + "\n")
        # the drop rule goes in first: nothing may be forwarded from pods before it exists
        await self._must(["nft", "-f", "-"], nft_install_script(self.cfg))
        for argv in service_route_commands(self.cfg):
            await self._must(argv, tolerate=("File exists",))
        if self._sysctl_get(SYSCTL_BRIDGE_NF) != "1":
            self._sysctl_set(SYSCTL_BRIDGE_NF, "1")
        if self._sysctl_get(SYSCTL_BRIDGE_NF) != "1":
            raise NetworkError("net.bridge.bridge-nf-call-iptables cannot be set to 1")
        self._sysctl_set(SYSCTL_IP_FORWARD, "1")  # the bridge plugin would do it anyway; remove() restores it
        self.cfg.ipam_dir.mkdir(parents=True, exist_ok=True)

    async def installed(self) -> bool:
        """True when our egress chain is present in the kernel."""
        rc, _ = await self._run(["nft", "list", "chain", "ip", NFT_TABLE, NFT_EGRESS_CHAIN], None)
        return rc == 0

    async def _table_chains(self) -> list[str]:
        rc, out = await self._run(["nft", "-j", "list", "table", "ip", NFT_TABLE], None)
        if rc != 0:
            return []
        items = json.loads(out).get("nftables", [])
        return [i["chain"]["name"] for i in items if "chain" in i]

    async def remove(self) -> None:
        script = nft_remove_script(await self._table_chains())
        if script:
            await self._must(["nft", "-f", "-"], script)
        for argv in link_delete_commands(self.cfg):
            await self._must(argv, tolerate=("Cannot find device", "No such process"))
        self._remove_cni_state()
        shutil.rmtree(self.cfg.ipam_dir, ignore_errors=True)
        state = self._load_state()
        if state is not None:
            self._sysctl_set(SYSCTL_IP_FORWARD, str(state["ip_forward"]))
            if self._sysctl_get(SYSCTL_BRIDGE_NF) != str(state["bridge_nf_call_iptables"]):
                self._sysctl_set(SYSCTL_BRIDGE_NF, str(state["bridge_nf_call_iptables"]))
            self.cfg.state_file.unlink()

    def _remove_cni_state(self) -> None:
        """Delete libcni's cached results of our network, and the dirs if they did not exist before us."""
        state = self._load_state() or {}
        results = self._cni_state_dir / "results"
        if results.is_dir():
            for f in results.glob(f"{CNI_NETWORK_NAME}-*"):
                f.unlink(missing_ok=True)
        for path, existed in ((results, state.get("cni_results_existed", True)),
                              (self._cni_state_dir, state.get("cni_state_dir_existed", True))):
            if not existed:
                with contextlib.suppress(OSError):  # not empty (someone else's results) or already gone
                    path.rmdir()
