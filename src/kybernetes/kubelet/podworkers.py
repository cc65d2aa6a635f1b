"""Pod workers: one task per pod UID, always acting on the latest spec it was given.

States follow upstream: **sync** (repeat ``sync_pod`` on every update / PLEG event / requeue / resync) →
**terminating** (the pod reached Succeeded/Failed, got a deletionTimestamp, or vanished from the API:
``terminate_pod``) → **terminated** (waiting for the API object to be deleted; then ``cleanup_pod`` and, for
a graceful deletion, ``DELETE`` with ``gracePeriodSeconds=0`` and a UID precondition).  Updates coalesce: a
worker busy syncing sees only the newest spec afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from kybernetes.kubelet.podsync import PodSyncer

log = logging.getLogger(__name__)
Obj = dict[str, Any]
RESYNC = 10.0
SYNCING, TERMINATING, TERMINATED = "sync", "terminating", "terminated"


@dataclass
class _Worker:
    pod: Obj
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    removed: bool = False
    state: str = SYNCING
    task: asyncio.Task[None] | None = None


def _deleting(pod: Obj) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


class PodWorkers:
    def __init__(self, syncer: PodSyncer, delete_pod: Callable[[Obj], Awaitable[None]],
                 resync: float = RESYNC) -> None:
        self.syncer = syncer
        self.delete_pod = delete_pod
        self.resync = resync
        self.workers: dict[str, _Worker] = {}
        self.finished: set[str] = set()
        self._tg: asyncio.TaskGroup | None = None
        self._started = asyncio.Event()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            self._tg = tg
            self._started.set()
            for uid, worker in self.workers.items():
                if worker.task is None:
                    worker.task = tg.create_task(self._loop(uid), name=f"pod worker {uid}")
            try:
                await asyncio.Event().wait()
            finally:
                self._tg = None

    def update(self, pod: Obj) -> None:
        uid = (pod.get("metadata") or {}).get("uid", "")
        if not uid or uid in self.finished:
            return
        worker = self.workers.get(uid)
        if worker is None:
            worker = self.workers[uid] = _Worker(pod)
            if self._tg is not None:
                worker.task = self._tg.create_task(self._loop(uid), name=f"pod worker {uid}")
        worker.pod = pod
        worker.wake.set()

    def removed(self, pod: Obj) -> None:
        """The pod is gone from the API (deleted with grace 0 or by someone else)."""
        uid = (pod.get("metadata") or {}).get("uid", "")
        worker = self.workers.get(uid)
        if worker is not None:
            worker.removed = True
            worker.wake.set()

    def wake(self, uid: str) -> None:
        worker = self.workers.get(uid)
        if worker is not None:
            worker.wake.set()

    async def _loop(self, uid: str) -> None:
        worker = self.workers[uid]
        timeout: float | None = 0.0
        try:
            while True:
                if timeout is None or timeout > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(worker.wake.wait(), timeout or self.resync)
                worker.wake.clear()
                timeout = await self._step(uid, worker)
                if worker.state == TERMINATED and uid in self.finished:
                    return
        finally:
            self.workers.pop(uid, None)

    async def _step(self, uid: str, worker: _Worker) -> float | None:
        """One state-machine step; returns how long to wait (None: the resync period, 0: at once)."""
        pod = worker.pod
        try:
            if worker.state == SYNCING:
                if worker.removed or _deleting(pod):
                    worker.state = TERMINATING
                    return 0.0
                result = await self.syncer.sync_pod(pod)
                if result.terminal:
                    worker.state = TERMINATING
                    return 0.0
                return result.requeue_after
            if worker.state == TERMINATING:
                await self.syncer.terminate_pod(pod, 2 if worker.removed else None)
                worker.state = TERMINATED
                return 0.0
            if worker.removed or _deleting(pod):
                await self.syncer.cleanup_pod(uid)
                self.finished.add(uid)
                if not worker.removed:
                    await self.delete_pod(pod)
            return None
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("pod worker %s: %s step failed", uid, worker.state)
            return 2.0
