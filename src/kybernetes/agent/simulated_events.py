"""Kubelet-style events for many simulated nodes from one process.

Unlike :class:`kybernetes.client.events.EventRecorder` (one source host per recorder) each event here names its
own host, so one sender serves every simulated node.  ``record`` never blocks: events go into a bounded queue
(dropped with a debug line when full) that a few sender tasks create on the API server.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from kybernetes.client.errors import ApiError
from kybernetes.client.rest import Client, resource

log = logging.getLogger(__name__)

Obj = dict[str, Any]
EVENTS = resource("", "v1", "events")
COMPONENT = "kubelet"


def pod_ref(pod: Obj, container: str = "") -> Obj:
    """The involvedObject for an event about ``pod`` (and one of its containers, like the kubelet's fieldPath)."""
    meta = pod.get("metadata") or {}
    ref: Obj = {"kind": "Pod", "namespace": meta.get("namespace", ""), "name": meta.get("name", ""),
                "uid": meta.get("uid", ""), "apiVersion": "v1",
                "resourceVersion": meta.get("resourceVersion", "")}
    if container:
        ref["fieldPath"] = f"spec.containers{{{container}}}"
    return ref


class KubeletEvents:
    def __init__(self, client: Client, *, enabled: bool = True, senders: int = 4, size: int = 20000) -> None:
        self.client = client
        self.enabled = enabled
        self.senders = senders
        self._queue: asyncio.Queue[Obj] = asyncio.Queue(size)

    def record(self, ref: Obj, host: str, event_type: str, reason: str, message: str) -> None:
        if not self.enabled:
            return
        now = datetime.now(UTC)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        event: Obj = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{ref.get('name', 'unknown')}.{time.time_ns():x}",
                         "namespace": ref.get("namespace") or "default"},
            "involvedObject": ref, "reason": reason, "message": message, "type": event_type,
            "source": {"component": COMPONENT, "host": host},
            "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
            "reportingComponent": COMPONENT, "reportingInstance": host,
        }
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            log.debug("kubelet event queue full; dropped %s", reason)

    async def _send(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self.client.create(EVENTS, event["metadata"]["namespace"], event)
            except ApiError as exc:
                log.debug("could not record event %s: %s", event.get("reason"), exc)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            for i in range(self.senders):
                tg.create_task(self._send(), name=f"kubelet events {i}")

    def pending(self) -> int:
        return self._queue.qsize()
