"""PLEG: relist cadence (short while anything runs, long when the node is empty, woken by new pods) and events."""

from __future__ import annotations

import asyncio

import pytest

from kybernetes.kubelet.cri.fake import FakeRuntime
from kybernetes.kubelet.cri.types import PodSandboxConfig
from kybernetes.kubelet.pleg import PLEG

SB = PodSandboxConfig(name="web", namespace="default", uid="u1", labels={"pod": "web"})


@pytest.mark.parametrize(("snapshot", "busy", "wait"), [
    pytest.param({}, False, 10.0, id="empty-node-idles"),
    pytest.param({}, True, 1.0, id="pods-assigned"),
    pytest.param({"s1": ("u1", "SANDBOX_READY")}, False, 1.0, id="runtime-has-sandboxes"),
])
def test_next_wait(snapshot: dict[str, tuple[str, str]], busy: bool, wait: float) -> None:
    pleg = PLEG(FakeRuntime(), lambda *_: None, period=1.0, idle_period=10.0, busy=lambda: busy)
    pleg.snapshot = dict(snapshot)
    assert pleg.next_wait() == wait


async def test_poke_ends_an_idle_wait_and_changes_are_reported() -> None:
    rt = FakeRuntime()
    seen: list[tuple[str, str]] = []
    pleg = PLEG(rt, lambda uid, kind, _cid: seen.append((uid, kind)), period=0.05, idle_period=60.0,
                busy=lambda: False)
    task = asyncio.create_task(pleg.run())
    try:
        await asyncio.sleep(0.3)  # the first relist is done; an empty node waits up to 60 s
        relists = [c for c in rt.calls if c[0] == "list_pod_sandboxes"]
        assert len(relists) == 1
        await rt.run_pod_sandbox(SB)
        pleg.poke()
        for _ in range(50):
            if seen:
                break
            await asyncio.sleep(0.02)
        assert seen == [("u1", "SandboxChanged")]
        assert pleg.next_wait() == 0.05  # a sandbox exists: back to the short period
    finally:
        task.cancel()
