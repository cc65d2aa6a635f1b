"""The nft applier with a fake runner: full sync first, then only changes; nothing when unchanged; sysctl
recorded and restored; removal keeps the safety net's chains."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from kybernetes.proxy.applier import NftApplier, ProxyApplyError
from kybernetes.proxy.rules import NodeInfo, build_ruleset


class FakeRun:
    def __init__(self, kernel: dict[str, Any] | None = None) -> None:
        self.calls: list[tuple[list[str], str | None]] = []
        self.kernel = kernel
        self.fail = False

    async def __call__(self, argv: Sequence[str], stdin: str | None) -> tuple[int, str]:
        self.calls.append((list(argv), stdin))
        if list(argv[:2]) == ["nft", "-t"]:
            return (0, json.dumps(self.kernel)) if self.kernel is not None else (1, "No such file or directory")
        if self.fail:
            return 1, "Error: syntax"
        return 0, ""


def svc() -> dict[str, Any]:
    return {"metadata": {"namespace": "default", "name": "web"},
            "spec": {"clusterIP": "10.43.0.50", "ports": [{"port": 80}]}}


def sl(*ips: str) -> dict[str, Any]:
    return {"metadata": {"namespace": "default", "name": "web-1", "labels": {"kubernetes.io/service-name": "web"}},
            "endpoints": [{"addresses": [ip]} for ip in ips], "ports": [{"port": 80, "protocol": "TCP"}]}


@pytest.fixture
def proc_sys(tmp_path: Path) -> Path:
    path = tmp_path / "sys" / "net/ipv4/conf/all/route_localnet"
    path.parent.mkdir(parents=True)
    path.write_text("0\n")
    return tmp_path / "sys"


async def test_apply_only_changes_and_restore(tmp_path: Path, proc_sys: Path) -> None:
    run = FakeRun()
    applier = NftApplier(tmp_path / "state.json", run=run, proc_sys=proc_sys)
    node = NodeInfo("n1")
    assert await applier.apply(build_ruleset([svc()], [sl("10.42.0.5")], node))
    assert (proc_sys / "net/ipv4/conf/all/route_localnet").read_text() == "1\n"
    full = run.calls[-1][1] or ""
    assert full.startswith("add table ip kybernetes") and "10.42.0.5" in full
    assert not await applier.apply(build_ruleset([svc()], [sl("10.42.0.5")], node))
    assert await applier.apply(build_ruleset([svc()], [sl("10.42.0.5", "10.42.0.6")], node))
    delta = run.calls[-1][1] or ""
    assert "add table" not in delta and "10.42.0.6" in delta
    assert applier.syncs == 2

    run.kernel = {"nftables": [{"table": {}}, {"chain": {"name": "KYB-FORWARD"}}, {"chain": {"name": "services"}},
                               {"map": {"name": "service-ips"}}, {"set": {"name": "affinity-X"}}]}
    await applier.remove()
    script = run.calls[-1][1] or ""
    assert "delete chain ip kybernetes services" in script and "KYB-FORWARD" not in script
    assert "delete table" not in script
    assert (proc_sys / "net/ipv4/conf/all/route_localnet").read_text() == "0\n"
    assert not (tmp_path / "state.json").exists()


async def test_failure_forces_full_sync(tmp_path: Path, proc_sys: Path) -> None:
    run = FakeRun()
    applier = NftApplier(tmp_path / "state.json", run=run, proc_sys=proc_sys)
    node = NodeInfo("n1")
    await applier.apply(build_ruleset([svc()], [sl("10.42.0.5")], node))
    run.fail = True
    with pytest.raises(ProxyApplyError):
        await applier.apply(build_ruleset([svc()], [], node))
    run.fail = False
    assert await applier.apply(build_ruleset([svc()], [], node))
    assert (run.calls[-1][1] or "").startswith("add table ip kybernetes")
