"""``kyb scheduler``: the scheduler as its own process, active only while it holds the ``kube-scheduler`` Lease in
kube-system.  Losing the Lease ends ``run`` (the supervisor restarts the process), like upstream.

``options``: ``percentage_of_nodes_to_score`` (int, 0 = adaptive), ``bind_concurrency`` (int),
``disabled_plugins`` (list of names), ``seed`` (int, for deterministic tie-breaking).
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import uuid
from pathlib import Path
from typing import Any

from kybernetes.client import gctuning, metrics
from kybernetes.client.config import load_kubeconfig
from kybernetes.client.events import EventRecorder
from kybernetes.client.informer import InformerFactory, strip_managed_fields
from kybernetes.client.leaderelection import LeaderElector
from kybernetes.client.rest import Client
from kybernetes.scheduler.binder import ApiBinder, ApiStatusWriter
from kybernetes.scheduler.cache import SchedulerCache
from kybernetes.scheduler.handlers import Handlers, wire
from kybernetes.scheduler.plugins.registry import default_profile
from kybernetes.scheduler.plugins.volumebinding import VolumePreBinder
from kybernetes.scheduler.queue import SchedulingQueue
from kybernetes.scheduler.scheduler import Scheduler

log = logging.getLogger(__name__)

COMPONENT = "default-scheduler"
LEASE = "kube-scheduler"


def build(client: Client, informers: InformerFactory, options: dict[str, Any] | None = None
          ) -> tuple[Scheduler, EventRecorder]:
    """Wire cache, queue, plugins and informer handlers into a :class:`Scheduler` (informers not started)."""
    opts = dict(options or {})
    cache = SchedulerCache()
    queue = SchedulingQueue()
    handlers = Handlers(cache, queue, COMPONENT)
    volumes = wire(informers, handlers)
    profile = default_profile(VolumePreBinder(ApiBinder(client), client, volumes), volumes=volumes,
                              disabled=frozenset(opts.get("disabled_plugins") or ()))
    queue.plugin_events = profile.events
    recorder = EventRecorder(client, COMPONENT)
    seed = opts.get("seed")
    scheduler = Scheduler(cache, queue, profile, events=recorder, status_writer=ApiStatusWriter(client),
                          rng=random.Random(seed) if seed is not None else None,
                          percentage_of_nodes_to_score=int(opts.get("percentage_of_nodes_to_score") or 0),
                          bind_concurrency=int(opts.get("bind_concurrency") or 64))
    return scheduler, recorder


async def run_scheduler(client: Client, *, ready: asyncio.Event | None = None,
                        options: dict[str, Any] | None = None) -> None:
    """Informers + scheduling loop + event sender, until cancelled (no leader election).

    The informers drop ``metadata.managedFields`` (no plugin reads them), as upstream's pod informer does."""
    informers = InformerFactory(client, transform=strip_managed_fields)
    scheduler, recorder = build(client, informers, options)
    async with asyncio.TaskGroup() as tg:
        informers.start(tg)
        await informers.wait_for_sync()
        gctuning.freeze()
        if ready is not None:
            ready.set()
        tg.create_task(recorder.run(), name="scheduler events")
        tg.create_task(scheduler.run(), name="scheduling loop")
        port = int((options or {}).get("metrics_port", metrics.SCHEDULER_PORT))
        if port:
            tg.create_task(metrics.serve(port), name="scheduler metrics")


async def run(kubeconfig: Path, *, ready: asyncio.Event | None = None,
              options: dict[str, Any] | None = None) -> None:
    gctuning.tune()
    client = Client(load_kubeconfig(kubeconfig), user_agent="kyb-scheduler")
    identity = f"{socket.gethostname()}_{uuid.uuid4()}"
    elector = LeaderElector(client, LEASE, identity)
    try:
        await elector.run(lambda: run_scheduler(client, ready=ready, options=options))
    finally:
        await client.close()
