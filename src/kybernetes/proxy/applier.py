"""The nftables applier: the only part of the proxy with side effects (``nft``, ``conntrack``, ``/proc/sys``).

Why one ``nft -f`` transaction and not ``iptables-restore``: the safety net already lives in ``table ip kybernetes``
(see ``agent/network.py``); a transaction is atomic (packets see the old or the new rule set, never half of it), and
after the first sync only the chains and map elements that changed are sent, so a sync at 1,000 services x 10
endpoints is proportional to the change, not to the table (``bench/netprog.py`` measures both).

Contracts:

* :meth:`NftApplier.apply` writes a :class:`~kybernetes.proxy.rules.Ruleset`; it runs ``nft`` only when something
  changed and returns whether it did.  The first call (and the first after a failure) is a full sync that also
  deletes stale chains the proxy owns from an earlier run.  Chains it does not own (``KYB-FORWARD``,
  ``KYB-EGRESS``) are never touched, and the table is never deleted while they exist.
* The first apply records ``net.ipv4.conf.all.route_localnet`` in ``state_file`` and sets it to 1 (node ports on
  127.0.0.1); :meth:`remove` restores it and deletes every chain, map and set the proxy owns.
* :meth:`conntrack` deletes the given flows (``conntrack -D``; "0 flow entries" is not an error).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from kybernetes.proxy.rules import FAMILY, TABLE, Ruleset, owned_chain, remove_script, sync_script

log = logging.getLogger(__name__)

SYSCTL_ROUTE_LOCALNET = "net/ipv4/conf/all/route_localnet"

Runner = Callable[[Sequence[str], str | None], Awaitable[tuple[int, str]]]


async def run_command(argv: Sequence[str], stdin: str | None = None) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate(stdin.encode() if stdin is not None else None)
    return proc.returncode or 0, out.decode(errors="replace")


class ProxyApplyError(RuntimeError):
    pass


class NftApplier:
    def __init__(self, state_file: Path, *, run: Runner = run_command, proc_sys: Path = Path("/proc/sys")) -> None:
        self.state_file = state_file
        self._run = run
        self._proc_sys = proc_sys
        self._applied: Ruleset | None = None
        self.syncs = 0  # nft transactions run (for tests and benchmarks)

    def _record_sysctl(self) -> None:
        path = self._proc_sys / SYSCTL_ROUTE_LOCALNET
        if not self.state_file.exists():
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            self.state_file.write_text(json.dumps({"route_localnet": path.read_text().strip()}) + "\n")
        if path.read_text().strip() != "1":
            path.write_text("1\n")

    async def _kernel_objects(self) -> tuple[list[str], list[str], list[str]]:
        """(chains, sets, maps) of our table as the kernel holds them (empty when the table does not exist)."""
        rc, out = await self._run(["nft", "-t", "-j", "list", "table", FAMILY, TABLE], None)
        if rc != 0:
            return [], [], []
        items = json.loads(out).get("nftables", [])
        chains = [i["chain"]["name"] for i in items if "chain" in i]
        sets = [i["set"]["name"] for i in items if "set" in i]
        maps = [i["map"]["name"] for i in items if "map" in i]
        return chains, sets, maps

    async def apply(self, rs: Ruleset) -> bool:
        if self._applied is None:
            self._record_sysctl()
            chains, sets, _ = await self._kernel_objects()
            script = sync_script(None, rs, kernel_chains=chains, kernel_sets=sets)
        else:
            script = sync_script(self._applied, rs)
        if not script:
            return False
        rc, out = await self._run(["nft", "-f", "-"], script)
        if rc != 0:
            self._applied = None  # unknown state: the next sync is a full one
            raise ProxyApplyError(f"nft -f failed ({rc}): {out.strip()[:2000]}")
        self._applied = rs
        self.syncs += 1
        return True

    async def conntrack(self, commands: Sequence[Sequence[str]]) -> None:
        for argv in commands:
            rc, out = await self._run(argv, None)
            if rc != 0 and "0 flow entries" not in out:
                log.debug("%s: %s", " ".join(argv), out.strip())

    async def remove(self) -> None:
        chains, sets, maps = await self._kernel_objects()
        others = [c for c in chains if not owned_chain(c)]
        script = remove_script(chains, sets, maps, other_chains_left=bool(others))
        if script:
            rc, out = await self._run(["nft", "-f", "-"], script)
            if rc != 0:
                raise ProxyApplyError(f"nft -f (remove) failed ({rc}): {out.strip()[:2000]}")
        self._applied = None
        try:
            state = json.loads(self.state_file.read_text())
        except FileNotFoundError:
            return
        (self._proc_sys / SYSCTL_ROUTE_LOCALNET).write_text(f"{state['route_localnet']}\n")
        self.state_file.unlink()
