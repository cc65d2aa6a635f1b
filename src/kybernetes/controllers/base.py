"""The shape every controller has: informer handlers enqueue keys, workers call ``sync(key)``.

A controller subclass declares the informers it reads (``setup``), maps events to keys (usually the object's own
key, or its controller owner's), and implements ``sync(key)``: read the listers, call a pure decision function,
apply the result through a narrow interface.  ``sync`` raising requeues the key with back-off; returning normally
forgets it.  One key is never synced by two workers at once (the work queue guarantees it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from kybernetes.client.events import EventRecorder
from kybernetes.client.informer import InformerFactory, key_of
from kybernetes.client.rest import Client
from kybernetes.client.workqueue import WorkQueue

log = logging.getLogger(__name__)

Obj = dict[str, Any]
MAX_RETRIES = 15


@dataclass
class Context:
    """What the controller manager hands every controller."""

    client: Client
    informers: InformerFactory
    options: dict[str, Any]


class Controller:
    name = "controller"
    component = ""  # the events' source component, e.g. "deployment-controller"
    workers = 2

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.recorder = EventRecorder(ctx.client, self.component or f"{self.name}-controller")
        self.queue = WorkQueue(self.name)
        self.setup()

    def setup(self) -> None:
        """Create informers (``self.ctx.informers.informer(res)``) and register handlers."""

    def enqueue(self, obj: Obj) -> None:
        self.queue.add(key_of(obj))

    def enqueue_key(self, key: Hashable) -> None:
        self.queue.add(key)

    async def sync(self, key: str) -> None:
        raise NotImplementedError

    async def _worker(self) -> None:
        while True:
            key = await self.queue.get()
            if key is None:
                return
            try:
                await self.sync(str(key))
                self.queue.forget(key)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.queue.retries(key) < MAX_RETRIES:
                    log.debug("%s: sync %s failed: %s; requeued", self.name, key, exc)
                    self.queue.add_rate_limited(key)
                else:
                    log.warning("%s: dropping %s after %d retries: %s", self.name, key, MAX_RETRIES, exc)
                    self.queue.forget(key)
            finally:
                self.queue.done(key)

    async def run(self) -> None:
        """Run the workers until cancelled (informers are started and synced by the manager)."""
        try:
            async with asyncio.TaskGroup() as tg:
                for i in range(self.workers):
                    tg.create_task(self._worker(), name=f"{self.name} worker {i}")
                tg.create_task(self.background(), name=f"{self.name} background")
                tg.create_task(self.recorder.run(), name=f"{self.name} events")
        finally:
            self.queue.shutdown()

    async def background(self) -> None:
        """Periodic work beyond the queue (resyncs, timers); the default does nothing."""
        return None
