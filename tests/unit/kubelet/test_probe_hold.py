"""A liveness probe that triggered a kill holds (no probes, no ``Unhealthy`` events) until the next container
instance, like upstream's probe worker ``onHold``; readiness keeps probing."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, cast

import pytest

from kybernetes.kubelet.cri.types import ExecResult, RuntimeService
from kybernetes.kubelet.probes import ProbeManager, Target

pytestmark = pytest.mark.asyncio


class Runtime:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.exit_code = 1

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: int = 0) -> ExecResult:  # noqa: ASYNC109
        self.calls.append(container_id)
        return ExecResult(b"", b"", self.exit_code)


def _target(container_id: str, kind: str) -> Target:
    probe = {"exec": {"command": ["true"]}, "periodSeconds": 0.02, "failureThreshold": 1}
    pod: dict[str, Any] = {"metadata": {"uid": "u1", "name": "p", "namespace": "default"}}
    return Target(pod, {"name": "c", f"{kind}Probe": probe}, container_id)


Run = tuple[Runtime, ProbeManager, list[str], list[str], asyncio.Task[None]]


async def _run(kind: str, seconds: float = 0.3) -> Run:
    runtime = Runtime()
    events: list[str] = []
    changes: list[str] = []
    mgr = ProbeManager(cast(RuntimeService, runtime), lambda pod, t, reason, msg: events.append(msg),
                       changes.append)
    task = asyncio.create_task(mgr.run())
    await asyncio.sleep(0.01)
    mgr.update("u1", {"c": _target("c1", kind)})
    await asyncio.sleep(seconds)
    return runtime, mgr, events, changes, task


async def test_liveness_failure_holds_until_a_new_instance() -> None:
    runtime, mgr, events, changes, task = await _run("liveness")
    try:
        assert runtime.calls == ["c1"]  # one failure, then on hold
        assert events == ["Liveness probe failed: "]
        assert mgr.unhealthy("u1") == {"c": "Container c failed liveness probe, will be restarted"}
        assert "u1" in changes
        mgr.container_restarted("u1", "c")
        runtime.exit_code = 0
        mgr.update("u1", {"c": _target("c2", "liveness")})
        await asyncio.sleep(0.2)
        assert runtime.calls[0] == "c1" and set(runtime.calls[1:]) == {"c2"} and len(runtime.calls) > 2
        assert mgr.unhealthy("u1") == {}
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_readiness_failures_keep_probing() -> None:
    runtime, mgr, events, _changes, task = await _run("readiness")
    try:
        assert len(runtime.calls) > 3
        assert len(events) == len(runtime.calls)
        assert mgr.ready("u1", "c", _target("c1", "readiness").container) is False
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
