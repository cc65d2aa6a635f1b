"""``kyb controller-manager``: every controller in one process, active only while it holds the leader Lease.

Controllers register themselves with :func:`register`; the modules listed in :data:`CONTROLLER_MODULES` are
imported at start.  While leading, the manager starts the shared informers, waits for their first sync, then runs
each controller's workers.  Losing the Lease ends the process (its supervisor restarts it), like upstream.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import socket
import uuid
from pathlib import Path
from typing import Any

from kybernetes.client import gctuning, metrics
from kybernetes.client.config import load_kubeconfig
from kybernetes.client.informer import InformerFactory, strip_managed_fields
from kybernetes.client.leaderelection import LeaderElector
from kybernetes.client.rest import Client
from kybernetes.controllers.base import Context, Controller

log = logging.getLogger(__name__)

CONTROLLERS: dict[str, type[Controller]] = {}
# Modules that define controllers (each calls ``register``).  A module not written yet is skipped.
CONTROLLER_MODULES: tuple[str, ...] = (
    "kybernetes.controllers.deployment",
    "kybernetes.controllers.replicaset",
    "kybernetes.controllers.replicationcontroller",
    "kybernetes.controllers.job",
    "kybernetes.controllers.cronjob",
    "kybernetes.controllers.ttlafterfinished",
    "kybernetes.controllers.daemonset",
    "kybernetes.controllers.statefulset",
    "kybernetes.controllers.garbagecollector",
    "kybernetes.controllers.namespace",
    "kybernetes.controllers.serviceaccount",
    "kybernetes.controllers.rootcacert",
    "kybernetes.controllers.endpoints",
    "kybernetes.controllers.endpointslice",
    "kybernetes.controllers.nodelifecycle",
    "kybernetes.controllers.nodeipam",
    "kybernetes.controllers.podgc",
    "kybernetes.controllers.servicelb",
    "kybernetes.controllers.persistentvolume",
    "kybernetes.controllers.pvprotection",
    "kybernetes.controllers.hpa",
)


def register(cls: type[Controller]) -> type[Controller]:
    CONTROLLERS[cls.name] = cls
    return cls


def load_controllers() -> dict[str, type[Controller]]:
    for module in CONTROLLER_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return dict(CONTROLLERS)


async def run(kubeconfig: Path, *, enabled: list[str] | None = None, options: dict[str, Any] | None = None,
              ready: asyncio.Event | None = None) -> None:
    gctuning.tune()
    client = Client(load_kubeconfig(kubeconfig), user_agent="kyb-controller-manager")
    identity = f"{socket.gethostname()}_{uuid.uuid4()}"
    elector = LeaderElector(client, "kube-controller-manager", identity)
    available = load_controllers()
    names = [n for n in available if enabled is None or n in enabled or "*" in enabled]

    async def leading() -> None:
        informers = InformerFactory(client, transform=strip_managed_fields)
        ctx = Context(client, informers, dict(options or {}))
        controllers = [available[name](ctx) for name in names]
        async with asyncio.TaskGroup() as tg:
            informers.start(tg)
            port = int((options or {}).get("metrics_port", metrics.CONTROLLER_MANAGER_PORT))
            if port:
                tg.create_task(metrics.serve(port), name="controller-manager metrics")
            await informers.wait_for_sync()
            gctuning.freeze()
            log.info("controller manager leading with %s", ", ".join(names) or "no controllers")
            if ready is not None:
                ready.set()
            for controller in controllers:
                tg.create_task(controller.run(), name=controller.name)
            await asyncio.Event().wait()  # lead until cancelled, even with no controllers enabled

    try:
        await elector.run(leading)
    finally:
        await client.close()
