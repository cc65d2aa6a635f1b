"""Pod lifecycle event generator: relists the runtime every second and reports which pods changed.

With nothing to watch (the runtime had no sandbox or container at the last relist and ``busy()`` says the kubelet
has no pod) it relists only every ``idle_period``; ``poke()`` (a pod arrived) ends that wait at once.

A change is any container or sandbox appearing, disappearing or changing state; ``on_event(uid, kind, id)``
is called with upstream's event kinds (ContainerStarted, ContainerDied, ContainerRemoved, ContainerChanged,
SandboxChanged).  The last relist is also kept as a cheap index (``containers_of(uid)``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from kybernetes.kubelet import labels as lb
from kybernetes.kubelet.cri.types import ContainerInfo, ContainerState, CRIError, RuntimeService

log = logging.getLogger(__name__)
RELIST_PERIOD = 1.0
IDLE_RELIST_PERIOD = 10.0
Snapshot = dict[str, tuple[str, str]]  # id → (pod uid, state)


def diff(old: Snapshot, new: Snapshot) -> list[tuple[str, str, str]]:
    """(uid, event kind, id) for every difference between two relists."""
    events: list[tuple[str, str, str]] = []
    for cid, (uid, state) in new.items():
        before = old.get(cid)
        if before is not None and before[1] == state:
            continue
        if state.startswith("SANDBOX"):
            events.append((uid, "SandboxChanged", cid))
        elif state == ContainerState.RUNNING.value:
            events.append((uid, "ContainerStarted", cid))
        elif state == ContainerState.EXITED.value:
            events.append((uid, "ContainerDied", cid))
        else:
            events.append((uid, "ContainerChanged", cid))
    for cid, (uid, state) in old.items():
        if cid not in new:
            events.append((uid, "SandboxChanged" if state.startswith("SANDBOX") else "ContainerRemoved", cid))
    return events


class PLEG:
    def __init__(self, runtime: RuntimeService, on_event: Callable[[str, str, str], None],
                 period: float = RELIST_PERIOD, *, idle_period: float = IDLE_RELIST_PERIOD,
                 busy: Callable[[], bool] = lambda: True) -> None:
        self.runtime = runtime
        self.on_event = on_event
        self.period = period
        self.idle_period = idle_period
        self.busy = busy
        self._poked = asyncio.Event()
        self.snapshot: Snapshot = {}
        self.containers: list[ContainerInfo] = []
        self.healthy = False

    async def relist(self) -> None:
        sandboxes = await self.runtime.list_pod_sandboxes()
        containers = await self.runtime.list_containers()
        new: Snapshot = {s.id: (s.labels.get(lb.POD_UID, s.uid), s.state.value) for s in sandboxes}
        new.update({c.id: (c.labels.get(lb.POD_UID, ""), c.state.value) for c in containers})
        events = diff(self.snapshot, new)
        self.snapshot = new
        self.containers = containers
        for uid, kind, cid in events:
            if uid:
                self.on_event(uid, kind, cid)

    def next_wait(self) -> float:
        """Seconds until the next relist: the short period while anything runs or the kubelet has pods."""
        return self.period if self.snapshot or self.busy() else self.idle_period

    def poke(self) -> None:
        """Relist soon: work arrived (an idle wait ends now; a busy one is short anyway)."""
        self._poked.set()

    async def run(self) -> None:
        while True:
            self._poked.clear()
            try:
                await self.relist()
                self.healthy = True
            except CRIError as exc:
                self.healthy = False
                log.warning("PLEG relist failed: %s", exc)
            wait = self.next_wait()
            if wait <= self.period:
                await asyncio.sleep(wait)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poked.wait(), wait)
