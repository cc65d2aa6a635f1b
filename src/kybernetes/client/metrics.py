"""Prometheus metrics shared by every component (prometheus-client, the process-wide default registry), and the
``GET /metrics`` response in the text exposition format.

Names are upstream's: ``workqueue_depth``/``workqueue_adds_total`` (client-go workqueue, label ``name``),
``scheduler_schedule_attempts_total`` (labels ``result``, ``profile``), ``kubelet_pod_start_duration_seconds``.
The API server's own request metrics live in :mod:`kybernetes.apiserver.prometheus`.  Components without an
HTTP server of their own serve ``/metrics`` with :func:`serve` on a loopback port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import prometheus_client
from aiohttp import web
from prometheus_client import Counter, Gauge, Histogram

log = logging.getLogger(__name__)
CONTROLLER_MANAGER_PORT = 10257  # upstream's secure ports; served here as plain HTTP on loopback
SCHEDULER_PORT = 10259

WORKQUEUE_DEPTH = Gauge("workqueue_depth", "Current depth of workqueue", ["name"])
WORKQUEUE_ADDS = Counter("workqueue_adds", "Total number of adds handled by workqueue", ["name"])
SCHEDULE_ATTEMPTS = Counter("scheduler_schedule_attempts", "Number of attempts to schedule pods, by the result. "
                            "'unschedulable' means a pod could not be scheduled, while 'error' means an internal "
                            "scheduler problem.", ["result", "profile"])
POD_START_DURATION = Histogram(
    "kubelet_pod_start_duration_seconds",
    "Duration in seconds from kubelet seeing a pod for the first time to the pod starting to run",
    buckets=(0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800,
             2700, 3600))


async def metrics_handler(request: web.Request) -> web.StreamResponse:
    """``GET /metrics``: every metric of this process in the Prometheus text format 0.0.4."""
    body = prometheus_client.generate_latest()
    return web.Response(body=body, headers={"Content-Type": prometheus_client.CONTENT_TYPE_LATEST})


async def serve(port: int, address: str = "127.0.0.1") -> None:
    """Serve ``/metrics`` (and ``/healthz``) on ``address:port`` until cancelled; a busy port is logged, not
    fatal (several components may share a machine)."""
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler)
    app.router.add_get("/healthz", _healthz)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, address, port, reuse_address=True).start()
        except OSError as exc:
            log.warning("metrics: cannot listen on %s:%d: %s", address, port, exc)
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await runner.cleanup()


async def _healthz(request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok")
