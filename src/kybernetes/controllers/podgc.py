"""The pod garbage collector (upstream's pkg/controller/podgc), a periodic sweep rather than a queue:

* terminated pods (Succeeded/Failed) beyond ``terminated_pod_gc_threshold`` are deleted, oldest first
  (:func:`terminated_to_delete`; a threshold ≤ 0 disables this);
* pods bound to a node that no longer exists — missing from the cache for longer than the quarantine and
  confirmed missing by the API server — are marked Failed with a ``DisruptionTarget`` condition
  (``DeletionByPodGC``) and force-deleted;
* pods being deleted that were never scheduled are force-deleted.

Options: ``terminated_pod_gc_threshold`` (default 12500), ``podgc_period_seconds`` (20), ``podgc_quarantine_seconds``
(40), ``clock`` (zero-argument callable → epoch seconds).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kybernetes.client.errors import ApiError, NotFoundError
from kybernetes.client.rest import resource
from kybernetes.controllers.base import Controller
from kybernetes.controllers.job.controller import wall_clock
from kybernetes.controllers.job.logic import parse_ts, rfc3339
from kybernetes.controllers.manager import register

log = logging.getLogger(__name__)

Obj = dict[str, Any]
PODS = resource("", "v1", "pods")
NODES = resource("", "v1", "nodes")


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def is_terminated(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def terminated_to_delete(pods: list[Obj], threshold: int) -> list[Obj]:
    """The oldest terminated pods beyond ``threshold`` (ordered by creation time, then name)."""
    if threshold <= 0:
        return []
    done = [p for p in pods if is_terminated(p) and not _meta(p).get("deletionTimestamp")]
    excess = len(done) - threshold
    if excess <= 0:
        return []
    done.sort(key=lambda p: (parse_ts(_meta(p).get("creationTimestamp")) or 0.0, _meta(p).get("name", "")))
    return done[:excess]


def orphaned(pods: list[Obj], nodes: set[str]) -> list[Obj]:
    """Pods bound to a node not in ``nodes``."""
    return [p for p in pods if (node := (p.get("spec") or {}).get("nodeName")) and node not in nodes]


def unscheduled_terminating(pods: list[Obj]) -> list[Obj]:
    return [p for p in pods if _meta(p).get("deletionTimestamp") and not (p.get("spec") or {}).get("nodeName")]


@register
class PodGCController(Controller):
    name = "podgc"
    component = "pod-garbage-collector"
    workers = 0

    def setup(self) -> None:
        opts = self.ctx.options
        self.clock = wall_clock(opts)
        self.threshold = int(opts.get("terminated_pod_gc_threshold", 12500))
        self.period = float(opts.get("podgc_period_seconds", 20.0))
        self.quarantine = float(opts.get("podgc_quarantine_seconds", 40.0))
        self.pods = self.ctx.informers.informer(PODS).lister
        self.nodes = self.ctx.informers.informer(NODES).lister
        self._missing_since: dict[str, float] = {}  # node name → when it was first seen missing

    async def background(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            try:
                await self.gc()
            except ApiError as exc:
                log.debug("podgc: %s", exc)

    async def gc(self) -> None:
        """One sweep."""
        pods = self.pods.list()
        for pod in terminated_to_delete(pods, self.threshold):
            await self._delete(pod, None)
        await self._gc_orphaned(pods)
        for pod in unscheduled_terminating(pods):
            await self._delete(pod, 0)

    async def _gc_orphaned(self, pods: list[Obj]) -> None:
        now = self.clock()
        known = {_meta(n).get("name", "") for n in self.nodes.list()}
        candidates = orphaned(pods, known)
        missing = {(p.get("spec") or {}).get("nodeName", "") for p in candidates}
        for node in list(self._missing_since):
            if node not in missing:
                del self._missing_since[node]
        for node in missing:
            self._missing_since.setdefault(node, now)
        confirmed: dict[str, bool] = {}
        for pod in candidates:
            node = (pod.get("spec") or {}).get("nodeName", "")
            if now - self._missing_since[node] < self.quarantine:
                continue
            if node not in confirmed:
                try:
                    await self.client.get(NODES, "", node)
                    confirmed[node] = False
                except NotFoundError:
                    confirmed[node] = True
            if confirmed[node]:
                await self._fail(pod, now)
                await self._delete(pod, 0)

    async def _fail(self, pod: Obj, now: float) -> None:
        if is_terminated(pod):
            return
        meta = _meta(pod)
        ts = rfc3339(now)
        conditions = [c for c in (pod.get("status") or {}).get("conditions") or []
                      if c.get("type") != "DisruptionTarget"]
        conditions.append({"type": "DisruptionTarget", "status": "True", "reason": "DeletionByPodGC",
                           "message": "PodGC: node no longer exists", "lastTransitionTime": ts})
        try:
            await self.client.patch(PODS, meta.get("namespace", ""), meta.get("name", ""),
                                    {"status": {"phase": "Failed", "conditions": conditions}}, subresource="status")
        except NotFoundError:
            return

    async def _delete(self, pod: Obj, grace: int | None) -> None:
        meta = _meta(pod)
        try:
            await self.client.delete(PODS, meta.get("namespace", ""), meta.get("name", ""), grace_period=grace)
        except NotFoundError:
            return
