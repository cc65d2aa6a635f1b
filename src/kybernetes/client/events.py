"""An event recorder with upstream's reasons, messages and aggregation.

``record`` never blocks and never fails the caller: events go into a bounded queue that ``run()`` sends.  A
repeat of the same (object, type, reason, message, source) within the aggregation window bumps ``count`` and
``lastTimestamp`` of the existing Event instead of creating a new one, like client-go's EventCorrelator.  Its
spam filter applies too: per source and involved object a token bucket (burst 25, one more every 5 minutes)
decides whether an event is written at all; a skipped repeat still counts locally, so the next written one
carries the total.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from kybernetes.client.errors import ApiError, NotFoundError
from kybernetes.client.rest import Client, resource

log = logging.getLogger(__name__)

Obj = dict[str, Any]
EVENTS = resource("", "v1", "events")
WINDOW = 600.0  # seconds a repeat is folded into the existing event
QUEUE = 1000
SENDERS = 4  # requests in flight: one at a time cannot keep up with a scheduler binding hundreds of pods a second
SIMILAR_MAX = 10  # upstream's EventAggregator: after 10 similar events (same object/type/reason) they combine
COMBINED = "(combined from similar events): "
SPAM_BURST = 25  # upstream's defaultSpamBurst
SPAM_QPS = 1.0 / 300  # upstream's defaultSpamQPS
SPAM_KEYS_MAX = 4096  # upstream's maxLruCacheEntries


class SpamFilter:
    """client-go's EventSourceObjectSpamFilter: a token bucket per (source, involved object); pure but for the
    clock it is given."""

    def __init__(self, burst: int = SPAM_BURST, qps: float = SPAM_QPS, max_keys: int = SPAM_KEYS_MAX) -> None:
        self.burst = burst
        self.qps = qps
        self.max_keys = max_keys
        self._buckets: dict[tuple[str, ...], tuple[float, float]] = {}  # key → (tokens, at)

    def allow(self, key: tuple[str, ...], now: float) -> bool:
        tokens, at = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.qps)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[key] = (tokens, now)  # re-inserted: the dict's order is least recently used first
        if len(self._buckets) > self.max_keys:
            del self._buckets[next(iter(self._buckets))]
        return allowed


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def involved_object(obj: Obj) -> Obj:
    meta = obj.get("metadata") or {}
    ref: Obj = {"kind": obj.get("kind", ""), "name": meta.get("name", ""), "uid": meta.get("uid", ""),
                "apiVersion": obj.get("apiVersion", ""), "resourceVersion": meta.get("resourceVersion", "")}
    if meta.get("namespace"):
        ref["namespace"] = meta["namespace"]
    return ref


class EventRecorder:
    def __init__(self, client: Client, component: str, host: str = "") -> None:
        self.client = client
        self.component = component
        self.host = host
        # one queue per sender; an object's events always go through the same one, so they stay in order and
        # its aggregation state is never updated by two requests at once
        self._queues: list[asyncio.Queue[tuple[Obj, str, str, str]]] = [asyncio.Queue(QUEUE // SENDERS)
                                                                          for _ in range(SENDERS)]
        self._seen: dict[tuple[str, ...], tuple[str, str, int, float]] = {}  # key → (ns, name, count, first)
        self._similar: dict[tuple[str, ...], tuple[set[str], float]] = {}  # aggregate key → (messages, since)
        self.spam = SpamFilter()

    def record(self, obj: Obj, event_type: str, reason: str, message: str) -> None:
        """Queue an event about ``obj`` (Normal or Warning); dropped with a log line when the queue is full."""
        ref = involved_object(obj)
        queue = self._queues[hash((ref.get("uid", ""), ref.get("name", ""))) % len(self._queues)]
        try:
            queue.put_nowait((ref, event_type, reason, message))
        except asyncio.QueueFull:
            log.warning("event queue full; dropped %s %s", reason, message)

    async def run(self) -> None:
        """Send queued events until cancelled, one request in flight per sender queue."""
        async with asyncio.TaskGroup() as tg:
            for i, queue in enumerate(self._queues):
                tg.create_task(self._sender(queue), name=f"{self.component} event sender {i}")

    async def _sender(self, queue: asyncio.Queue[tuple[Obj, str, str, str]]) -> None:
        while True:
            ref, event_type, reason, message = await queue.get()
            try:
                await self._send(ref, event_type, reason, message)
            except ApiError as exc:
                log.debug("could not record event %s: %s", reason, exc)

    async def flush(self) -> None:
        """Send everything queued now (tests and shutdown)."""
        for queue in self._queues:
            while not queue.empty():
                ref, event_type, reason, message = queue.get_nowait()
                try:
                    await self._send(ref, event_type, reason, message)
                except ApiError as exc:
                    log.debug("could not record event %s: %s", reason, exc)

    def _aggregate(self, ref: Obj, event_type: str, reason: str, message: str) -> tuple[str, str]:
        """(message, dedup key part): after SIMILAR_MAX different messages for the same object, type and reason
        within the window, further ones fold into one ``(combined from similar events): …`` event."""
        key = (ref.get("uid", ""), ref.get("kind", ""), ref.get("name", ""), event_type, reason)
        messages, since = self._similar.get(key, (set(), time.monotonic()))
        if time.monotonic() - since > WINDOW:
            messages, since = set(), time.monotonic()
        messages.add(message)
        self._similar[key] = (messages, since)
        if len(messages) > SIMILAR_MAX:
            return COMBINED + message, COMBINED
        return message, message

    async def _send(self, ref: Obj, event_type: str, reason: str, message: str) -> None:
        namespace = ref.get("namespace") or "default"
        message, dedup = self._aggregate(ref, event_type, reason, message)
        key = (ref.get("uid", ""), ref.get("kind", ""), ref.get("name", ""), event_type, reason, dedup)
        now = _now()
        seen = self._seen.get(key)
        repeat = seen is not None and time.monotonic() - seen[3] < WINDOW
        spam_key = (self.component, self.host, ref.get("kind", ""), ref.get("namespace", ""), ref.get("name", ""),
                    ref.get("uid", ""), ref.get("apiVersion", ""))
        if not self.spam.allow(spam_key, time.monotonic()):
            if seen is not None and repeat:
                self._seen[key] = (seen[0], seen[1], seen[2] + 1, seen[3])
            return
        if seen is not None and repeat:
            ns, name, count, first = seen
            try:
                patch: Obj = {"count": count + 1, "lastTimestamp": now}
                if dedup == COMBINED:
                    patch["message"] = message
                await self.client.patch(EVENTS, ns, name, patch)
                self._seen[key] = (ns, name, count + 1, first)
                return
            except NotFoundError:
                pass
        name = f"{ref.get('name', 'unknown')}.{time.time_ns():x}"
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": ref, "reason": reason, "message": message, "type": event_type,
            "source": {"component": self.component, **({"host": self.host} if self.host else {})},
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
            "reportingComponent": self.component, "reportingInstance": self.host,
        }
        await self.client.create(EVENTS, namespace, event)
        if len(self._seen) > 4096:
            self._seen.clear()
            self._similar.clear()
        self._seen[key] = (namespace, name, 1, time.monotonic())
