"""The TTL-after-finished controller: deletes finished Jobs ``spec.ttlSecondsAfterFinished`` after they finished
(upstream's pkg/controller/ttlafterfinished).

A Job is finished when its ``Complete`` or ``Failed`` condition is True; it finished at that condition's
``lastTransitionTime``.  :func:`time_left` (pure) says how long until it expires; ``sync`` re-reads the Job from the
API server before deleting it (the TTL may have been changed) and deletes with Background propagation and a
resourceVersion precondition.  Option ``clock``: zero-argument callable → epoch seconds.
"""

from __future__ import annotations

from typing import Any

from kybernetes.client.errors import ConflictError, NotFoundError
from kybernetes.client.informer import split_key
from kybernetes.client.rest import resource
from kybernetes.controllers.base import Controller
from kybernetes.controllers.job.controller import wall_clock
from kybernetes.controllers.job.logic import finished_condition, parse_ts
from kybernetes.controllers.manager import register

Obj = dict[str, Any]
JOBS = resource("batch", "v1", "jobs")


def time_left(job: Obj, now: float) -> float | None:
    """Seconds until ``job`` expires (≤ 0: expired); None when it has no TTL, is not finished or is being deleted."""
    meta = job.get("metadata") or {}
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    if ttl is None or meta.get("deletionTimestamp"):
        return None
    cond = finished_condition(job)
    if cond is None:
        return None
    finished = parse_ts(cond.get("lastTransitionTime"))
    if finished is None:
        return None
    return finished + int(ttl) - now


@register
class TTLAfterFinishedController(Controller):
    name = "ttl-after-finished"
    component = "ttl-after-finished-controller"
    workers = 2

    def setup(self) -> None:
        self.clock = wall_clock(self.ctx.options)
        jobs = self.ctx.informers.informer(JOBS)
        self.jobs = jobs.lister
        jobs.add_handlers(self._maybe_enqueue, lambda old, new: self._maybe_enqueue(new))

    def _maybe_enqueue(self, job: Obj) -> None:
        if time_left(job, self.clock()) is not None:
            self.enqueue(job)

    async def sync(self, key: str) -> None:
        ns, name = split_key(key)
        cached = self.jobs.get(ns, name)
        if cached is None:
            return
        left = time_left(cached, self.clock())
        if left is None:
            return
        if left > 0:
            self.queue.add_after(key, left)
            return
        try:
            fresh = await self.client.get(JOBS, ns, name)
        except NotFoundError:
            return
        left = time_left(fresh, self.clock())
        if left is None:
            return
        if left > 0:
            self.queue.add_after(key, left)
            return
        meta = fresh.get("metadata") or {}
        try:
            await self.client.delete(JOBS, ns, name, propagation="Background",
                                     preconditions={"uid": meta.get("uid"),
                                                    "resourceVersion": meta.get("resourceVersion")})
        except NotFoundError:
            return
        except ConflictError:
            self.queue.add(key)
