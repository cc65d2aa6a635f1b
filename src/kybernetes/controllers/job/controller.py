"""The Job controller: runs pods to completion (upstream's pkg/controller/job).

Handlers enqueue the job key (a pod event enqueues its controlling Job).  ``sync`` reads the listers, asks
:func:`logic.reconcile` what to do, then applies it through :class:`JobControl` in upstream's order: delete and
create pods, record newly finished pods in ``status.uncountedTerminatedPods``, remove their
``batch.kubernetes.io/job-tracking`` finalizers, then move them into the counters (adding ``Complete``/``Failed``
when nothing is left).  Options (``ctx.options``): ``clock`` (a zero-argument callable returning epoch seconds),
``job_backoff_base`` (seconds, default 10) and ``job_backoff_max`` (default 360).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from kybernetes.client.informer import split_key
from kybernetes.client.rest import resource
from kybernetes.controllers.base import Controller
from kybernetes.controllers.common import Expectations, controller_ref, is_controlled_by, pod_from_template
from kybernetes.controllers.job import logic
from kybernetes.controllers.job.control import JobControl, RealJobControl
from kybernetes.controllers.manager import register

log = logging.getLogger(__name__)

Obj = dict[str, Any]
JOBS = resource("batch", "v1", "jobs")
PODS = resource("", "v1", "pods")
JOB_INDEX = "job"


def wall_clock(options: dict[str, Any]) -> Callable[[], float]:
    clock = options.get("clock")
    return clock if callable(clock) else time.time


def _owner_job_key(pod: Obj) -> str | None:
    ref = controller_ref(pod)
    if ref is None or ref.get("kind") != "Job" or not str(ref.get("apiVersion", "")).startswith("batch/"):
        return None
    ns = (pod.get("metadata") or {}).get("namespace", "")
    return f"{ns}/{ref.get('name', '')}"


def _job_index(pod: Obj) -> list[str]:
    key = _owner_job_key(pod)
    return [key] if key else []


def _rv(obj: Obj | None) -> int:
    try:
        return int(((obj or {}).get("metadata") or {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


def pod_for_job(job: Obj, index: int | None = None) -> Obj:
    """A pod for ``job`` (generateName ``<job>-``, tracking finalizer; index annotation/label/hostname/env for
    Indexed jobs)."""
    name = (job.get("metadata") or {}).get("name", "")
    template = (job.get("spec") or {}).get("template") or {}
    if index is None:
        pod = pod_from_template(template, job, generate_name=f"{name}-")
    else:
        pod = pod_from_template(template, job, generate_name=f"{name}-{index}-",
                                extra_labels={logic.COMPLETION_INDEX: str(index)})
        pod["metadata"].setdefault("annotations", {})[logic.COMPLETION_INDEX] = str(index)
        pod["spec"].setdefault("hostname", f"{name}-{index}")
        env_var = {"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
            "fieldPath": f"metadata.annotations['{logic.COMPLETION_INDEX}']"}}}
        for kind in ("initContainers", "containers"):
            for container in pod["spec"].get(kind) or []:
                env = container.setdefault("env", [])
                if not any(e.get("name") == "JOB_COMPLETION_INDEX" for e in env):
                    env.append(env_var)
    finalizers = pod["metadata"].setdefault("finalizers", [])
    if logic.TRACKING_FINALIZER not in finalizers:
        finalizers.append(logic.TRACKING_FINALIZER)
    return pod


@register
class JobController(Controller):
    name = "job"
    component = "job-controller"
    workers = 5

    def setup(self) -> None:
        self.clock = wall_clock(self.ctx.options)
        self.backoff_base = float(self.ctx.options.get("job_backoff_base", logic.DEFAULT_BACKOFF))
        self.backoff_max = float(self.ctx.options.get("job_backoff_max", logic.MAX_BACKOFF))
        self.control: JobControl = RealJobControl(self.client, self.recorder)
        self.expectations = Expectations()
        self._released: dict[str, set[str]] = {}  # job key → pod uids whose finalizer we removed
        self._written: dict[str, Obj] = {}  # job key → the job as our last status update returned it
        jobs = self.ctx.informers.informer(JOBS)
        pods = self.ctx.informers.informer(PODS)
        pods.store.add_indexer(JOB_INDEX, _job_index)
        self.jobs = jobs.lister
        self.pods = pods.lister
        jobs.add_handlers(self.enqueue, lambda old, new: self.enqueue(new), self._job_deleted)
        pods.add_handlers(self._pod_added, self._pod_updated, self._pod_deleted)

    # -- handlers ----------------------------------------------------------------------------------------------

    def _job_deleted(self, job: Obj) -> None:
        self.enqueue(job)

    def _pod_added(self, pod: Obj) -> None:
        key = _owner_job_key(pod)
        if key:
            self.expectations.creation_observed(key)
            self.enqueue_key(key)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        key = _owner_job_key(new) or _owner_job_key(old)
        if key:
            if not logic.has_tracking_finalizer(new):
                self._released.get(key, set()).discard(str(new["metadata"].get("uid")))
            self.enqueue_key(key)

    def _pod_deleted(self, pod: Obj) -> None:
        key = _owner_job_key(pod)
        if key:
            self.expectations.deletion_observed(key)
            self._released.get(key, set()).discard(str((pod.get("metadata") or {}).get("uid")))
            self.enqueue_key(key)

    # -- sync --------------------------------------------------------------------------------------------------

    def _current(self, key: str, cached: Obj) -> Obj:
        """The newer of the cached job and what our last status update returned (the cache may lag)."""
        written = self._written.get(key)
        if written is not None and (written.get("metadata") or {}).get("uid") == cached["metadata"].get("uid") \
                and _rv(written) > _rv(cached):
            return written
        self._written.pop(key, None)
        return cached

    async def sync(self, key: str) -> None:
        ns, name = split_key(key)
        cached = self.jobs.get(ns, name)
        owned = self.pods.by_index(JOB_INDEX, key)
        if cached is None or (cached.get("metadata") or {}).get("deletionTimestamp"):
            await self._release_all(key, [p for p in owned if cached is None or is_controlled_by(p, cached)])
            if cached is None:
                self.expectations.forget(key)
                self._released.pop(key, None)
                self._written.pop(key, None)
            return
        job = self._current(key, cached)
        pods = [p for p in owned if is_controlled_by(p, job)]
        if logic.is_finished(job):
            await self._release_all(key, pods)
            return
        released = self._released.setdefault(key, set())
        now = self.clock()
        plan = logic.reconcile(job, pods, now, released=released, backoff_base=self.backoff_base,
                               backoff_max=self.backoff_max, may_create=self.expectations.satisfied(key))
        for event_type, reason, message in plan.events:
            self.recorder.record(job, event_type, reason, message)
        failed_creates = await self._apply_pods(key, job, plan)
        status = plan.status
        if failed_creates:
            status["active"] = max(0, int(status.get("active") or 0) - failed_creates)
            if not status["active"]:
                del status["active"]
        job = await self._write(key, job, status)
        newly = await self._release(key, plan.release, released)
        gone = self._gone_uids(job, pods, released)
        final, terminal = logic.finalize_status(job.get("status") or {}, newly, gone, plan.terminal, now)
        job = await self._write(key, job, final)
        if terminal and plan.terminal is not None:
            if plan.terminal["type"] == logic.COMPLETE:
                self.recorder.record(job, "Normal", "Completed", "Job completed")
            else:
                self.recorder.record(job, "Warning", str(plan.terminal["reason"]), str(plan.terminal["message"]))
        if plan.requeue_after is not None:
            self.queue.add_after(key, max(plan.requeue_after, 0.05))

    async def _apply_pods(self, key: str, job: Obj, plan: logic.JobPlan) -> int:
        """Delete and create pods; returns how many creations did not produce a pod."""
        ns = job["metadata"].get("namespace", "")
        for pod in plan.delete:
            await self.control.delete_pod(ns, pod["metadata"]["name"], job)
        to_create: list[int | None] = list(plan.create_indexes) if plan.create_indexes else [None] * plan.create
        if not to_create:
            return 0
        self.expectations.expect(key, adds=len(to_create))
        failed = 0
        batch = 1
        i = 0
        while i < len(to_create):  # slow start, like upstream: 1, 2, 4, … creations per round
            for index in to_create[i:i + batch]:
                try:
                    made = await self.control.create_pod(ns, pod_for_job(job, index), job)
                except Exception:
                    failed += len(to_create) - i
                    self.expectations.lower(key, adds=len(to_create) - i)
                    raise
                if made is None:
                    failed += 1
                    self.expectations.lower(key, adds=1)
                i += 1
            batch *= 2
        return failed

    async def _write(self, key: str, job: Obj, status: Obj) -> Obj:
        if status == (job.get("status") or {}):
            return job
        updated = await self.control.update_status(job, status)
        updated.setdefault("apiVersion", "batch/v1")
        updated.setdefault("kind", "Job")
        self._written[key] = updated
        return updated

    async def _release(self, key: str, pods: list[Obj], released: set[str]) -> set[str]:
        done: set[str] = set()
        for pod in pods:
            uid = str(pod["metadata"].get("uid"))
            await self.control.remove_finalizer(pod)
            released.add(uid)
            done.add(uid)
        return done

    @staticmethod
    def _gone_uids(job: Obj, pods: list[Obj], released: set[str]) -> set[str]:
        uncounted = (job.get("status") or {}).get("uncountedTerminatedPods") or {}
        by_uid = {str(p["metadata"].get("uid")): p for p in pods}
        out: set[str] = set()
        for uid in list(uncounted.get("succeeded") or []) + list(uncounted.get("failed") or []):
            pod = by_uid.get(uid)
            if pod is None or uid in released or not logic.has_tracking_finalizer(pod):
                out.add(uid)
        return out

    async def _release_all(self, key: str, pods: list[Obj]) -> None:
        """Remove the tracking finalizer from every pod still holding it (finished or deleted job)."""
        released = self._released.setdefault(key, set())
        for pod in pods:
            uid = str(pod["metadata"].get("uid"))
            if logic.has_tracking_finalizer(pod) and uid not in released:
                await self.control.remove_finalizer(pod)
                released.add(uid)


__all__ = ["JobController", "pod_for_job", "wall_clock"]
