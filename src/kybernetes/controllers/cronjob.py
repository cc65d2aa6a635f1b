"""The CronJob controller (upstream's pkg/controller/cronjob, "v2"): creates Jobs on a schedule.

``sync`` reads the CronJob and the Jobs it controls, confirms with the API server that active Jobs missing from the
cache are really gone, then :func:`plan_cronjob` (pure) decides: which Jobs leave ``status.active`` (finished →
``SawCompletedJob``, gone → ``MissingJob``), ``lastSuccessfulTime``, whether a Job is due now (time zone,
``suspend``, ``startingDeadlineSeconds``, ``concurrencyPolicy`` Allow/Forbid/Replace, >100 missed runs →
``TooManyMissedTimes``) and when to look again.  :func:`jobs_to_clean_up` applies the history limits.

Options: ``clock`` (zero-argument callable → epoch seconds, for tests) and ``cronjob_resync_seconds`` (how often
every CronJob is re-examined besides its own timer; default 10 s — a moved test clock is noticed that fast).
"""

from __future__ import annotations

import asyncio
import copy
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from kybernetes.client.errors import AlreadyExistsError, ApiError, NotFoundError
from kybernetes.client.informer import split_key
from kybernetes.client.rest import resource
from kybernetes.controllers import cronschedule
from kybernetes.controllers.base import Controller
from kybernetes.controllers.common import controller_ref, is_controlled_by, owner_reference
from kybernetes.controllers.job.controller import wall_clock
from kybernetes.controllers.job.logic import finished_condition, parse_ts
from kybernetes.controllers.manager import register

log = logging.getLogger(__name__)

Obj = dict[str, Any]
CRONJOBS = resource("batch", "v1", "cronjobs")
JOBS = resource("batch", "v1", "jobs")
SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
CRONJOB_INDEX = "cronjob"


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _ts(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dt(value: object) -> datetime | None:
    ts = parse_ts(value)
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def job_ref(job: Obj) -> Obj:
    meta = _meta(job)
    return {"kind": "Job", "namespace": meta.get("namespace", ""), "name": meta.get("name", ""),
            "uid": meta.get("uid", ""), "apiVersion": "batch/v1", "resourceVersion": meta.get("resourceVersion", "")}


def job_from_template(cj: Obj, scheduled: datetime) -> Obj:
    """The Job for the run at ``scheduled`` (upstream's getJobFromTemplate2)."""
    template = copy.deepcopy((cj.get("spec") or {}).get("jobTemplate") or {})
    tmeta = template.get("metadata") or {}
    meta: Obj = {"name": cronschedule.job_name(_meta(cj).get("name", ""), scheduled),
                 "namespace": _meta(cj).get("namespace", ""),
                 "labels": dict(tmeta.get("labels") or {}),
                 "annotations": {**(tmeta.get("annotations") or {}),
                                 SCHEDULED_TIMESTAMP: cronschedule.scheduled_timestamp(scheduled)},
                 "ownerReferences": [owner_reference(cj)]}
    if not meta["labels"]:
        del meta["labels"]
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": template.get("spec") or {}}


def _go_time(when: datetime) -> str:
    """Go's time.RFC1123Z layout (``Mon, 02 Jan 2006 15:04:05 -0700``)."""
    return when.strftime("%a, %d %b %Y %H:%M:%S %z")


@dataclass
class CronPlan:
    active: list[Obj] = field(default_factory=list)
    last_successful: str | None = None
    events: list[tuple[str, str, str]] = field(default_factory=list)
    replace: list[Obj] = field(default_factory=list)  # active job refs to delete (Replace)
    create: Obj | None = None
    scheduled: datetime | None = None
    requeue_after: float | None = None


def plan_cronjob(cj: Obj, jobs: list[Obj], now: datetime, *, gone: set[str] | frozenset[str] = frozenset()) -> CronPlan:
    """Decide one sync of ``cj``; ``jobs`` are the Jobs it controls, ``gone`` the UIDs of active Jobs the API server
    confirmed deleted."""
    spec = cj.get("spec") or {}
    status = cj.get("status") or {}
    plan = CronPlan(active=[dict(r) for r in status.get("active") or []],
                    last_successful=status.get("lastSuccessfulTime"))
    active_uids = {r.get("uid") for r in plan.active}
    for job in jobs:
        uid = _meta(job).get("uid")
        cond = finished_condition(job)
        if uid in active_uids and cond is not None:
            plan.active = [r for r in plan.active if r.get("uid") != uid]
            plan.events.append(("Normal", "SawCompletedJob",
                                f"Saw completed job: {_meta(job).get('name')}, condition: {cond.get('type')}"))
        elif uid not in active_uids and cond is None:
            plan.events.append(("Warning", "UnexpectedJob",
                                f"Saw a job that the controller did not create or forgot: {_meta(job).get('name')}"))
        if cond is not None and cond.get("type") == "Complete":
            done = _dt((job.get("status") or {}).get("completionTime"))
            last = _dt(plan.last_successful)
            if done is not None and (last is None or done > last):
                plan.last_successful = _ts(done)
    for ref in list(plan.active):
        if ref.get("uid") in gone:
            plan.active.remove(ref)
            plan.events.append(("Normal", "MissingJob", f"Active job went missing: {ref.get('name')}"))

    if _meta(cj).get("deletionTimestamp"):
        return plan
    try:
        tz = cronschedule.zone(spec.get("timeZone"))
    except ValueError as exc:
        plan.events.append(("Warning", "UnknownTimeZone", f"invalid timeZone: {spec.get('timeZone')!r}: {exc}"))
        return plan
    if spec.get("suspend"):
        return plan
    try:
        schedule = cronschedule.parse_schedule(str(spec.get("schedule") or ""), tz)
    except ValueError as exc:
        plan.events.append(("Warning", "UnparseableSchedule",
                            f"unparseable schedule: {spec.get('schedule')!r} : {exc}"))
        return plan

    earliest = _dt(status.get("lastScheduleTime")) or _dt(_meta(cj).get("creationTimestamp")) or now
    deadline = spec.get("startingDeadlineSeconds")
    if deadline is not None:
        earliest = max(earliest, now - timedelta(seconds=int(deadline)))
    scheduled, missed = cronschedule.most_recent(schedule, earliest, now)
    if missed > cronschedule.MANY_MISSED:
        plan.events.append(("Warning", "TooManyMissedTimes", "too many missed start times. Set or decrease "
                                                             ".spec.startingDeadlineSeconds or check clock skew"))
    following = schedule.next(max(now, scheduled or now))
    plan.requeue_after = (following - now).total_seconds() + 0.1
    if scheduled is None:
        return plan
    scheduled = scheduled.astimezone(tz)
    if deadline is not None and scheduled + timedelta(seconds=int(deadline)) < now:
        plan.events.append(("Warning", "MissSchedule",
                            f"Missed scheduled time to start a job: {_go_time(scheduled.astimezone(UTC))}"))
        return plan
    name = cronschedule.job_name(_meta(cj).get("name", ""), scheduled)
    last = _dt(status.get("lastScheduleTime"))
    if any(r.get("name") == name for r in plan.active) or (last is not None and last == scheduled):
        return plan
    policy = spec.get("concurrencyPolicy") or "Allow"
    if policy == "Forbid" and plan.active:
        plan.events.append(("Normal", "JobAlreadyActive",
                            "Not starting job because prior execution is running and concurrency policy is Forbid"))
        return plan
    if policy == "Replace":
        plan.replace = list(plan.active)
    plan.create = job_from_template(cj, scheduled)
    plan.scheduled = scheduled
    return plan


def _start_key(job: Obj) -> float:
    status = job.get("status") or {}
    return parse_ts(status.get("startTime")) or parse_ts(_meta(job).get("creationTimestamp")) or 0.0


def jobs_to_clean_up(cj: Obj, jobs: list[Obj]) -> list[Obj]:
    """Finished Jobs beyond ``successfulJobsHistoryLimit`` (default 3) / ``failedJobsHistoryLimit`` (default 1),
    oldest first."""
    spec = cj.get("spec") or {}
    out: list[Obj] = []
    for kind, key, default in (("Complete", "successfulJobsHistoryLimit", 3), ("Failed", "failedJobsHistoryLimit", 1)):
        limit = spec.get(key)
        limit = default if limit is None else int(limit)
        done = sorted((j for j in jobs if (finished_condition(j) or {}).get("type") == kind), key=_start_key)
        if len(done) > limit:
            out.extend(done[:len(done) - limit])
    return out


def _cronjob_index(job: Obj) -> list[str]:
    ref = controller_ref(job)
    if ref is None or ref.get("kind") != "CronJob":
        return []
    return [f"{_meta(job).get('namespace', '')}/{ref.get('name', '')}"]


@register
class CronJobController(Controller):
    name = "cronjob"
    component = "cronjob-controller"
    workers = 2

    def setup(self) -> None:
        self.clock = wall_clock(self.ctx.options)
        self.resync = float(self.ctx.options.get("cronjob_resync_seconds", 10.0))
        cronjobs = self.ctx.informers.informer(CRONJOBS)
        jobs = self.ctx.informers.informer(JOBS)
        jobs.store.add_indexer(CRONJOB_INDEX, _cronjob_index)
        self.cronjobs = cronjobs.lister
        self.jobs = jobs.lister
        cronjobs.add_handlers(self.enqueue, lambda old, new: self.enqueue(new), self.enqueue)
        jobs.add_handlers(self._job_changed, lambda old, new: self._job_changed(new), self._job_changed)

    def _job_changed(self, job: Obj) -> None:
        for key in _cronjob_index(job):
            self.enqueue_key(key)

    async def background(self) -> None:
        while True:
            await asyncio.sleep(self.resync)
            for cj in self.cronjobs.list():
                self.enqueue(cj)

    async def sync(self, key: str) -> None:
        ns, name = split_key(key)
        cj = self.cronjobs.get(ns, name)
        if cj is None:
            return
        jobs = [j for j in self.jobs.by_index(CRONJOB_INDEX, key) if is_controlled_by(j, cj)]
        known = {_meta(j).get("uid") for j in jobs}
        gone: set[str] = set()
        for ref in (cj.get("status") or {}).get("active") or []:
            if ref.get("uid") in known:
                continue
            try:
                found = await self.client.get(JOBS, ref.get("namespace") or ns, ref.get("name", ""))
                if _meta(found).get("uid") != ref.get("uid"):
                    gone.add(str(ref.get("uid")))
            except NotFoundError:
                gone.add(str(ref.get("uid")))
        now = datetime.fromtimestamp(self.clock(), UTC)
        plan = plan_cronjob(cj, jobs, now, gone=gone)
        if any(reason == "UnexpectedJob" for _, reason, _ in plan.events):
            cj = await self.client.get(CRONJOBS, ns, name)  # our cache may predate our own status update
            plan = plan_cronjob(cj, jobs, now, gone=gone)
        for event_type, reason, message in plan.events:
            self.recorder.record(cj, event_type, reason, message)
        status = copy.deepcopy(cj.get("status") or {})
        active = plan.active
        for ref in plan.replace:
            await self._delete_job(cj, ref.get("namespace") or ns, ref.get("name", ""))
            active = [r for r in active if r.get("uid") != ref.get("uid")]
        if plan.create is not None and plan.scheduled is not None:
            created = await self._create_job(cj, plan.create)
            if created is not None:
                if finished_condition(created) is None and \
                        all(r.get("uid") != _meta(created).get("uid") for r in active):
                    active = [*active, job_ref(created)]
                status["lastScheduleTime"] = _ts(plan.scheduled)
        if active:
            status["active"] = active
        else:
            status.pop("active", None)
        if plan.last_successful:
            status["lastSuccessfulTime"] = plan.last_successful
        if status != (cj.get("status") or {}):
            body = copy.deepcopy(cj)
            body["status"] = status
            await self.client.update(CRONJOBS, ns, name, body, subresource="status")
        for job in jobs_to_clean_up(cj, jobs):
            await self._delete_job(cj, ns, _meta(job).get("name", ""))
        if plan.requeue_after is not None:
            self.queue.add_after(key, plan.requeue_after)

    async def _create_job(self, cj: Obj, job: Obj) -> Obj | None:
        ns = _meta(cj).get("namespace", "")
        try:
            created = await self.client.create(JOBS, ns, job)
        except AlreadyExistsError:
            existing = await self.client.get(JOBS, ns, job["metadata"]["name"])
            if not is_controlled_by(existing, cj):
                return None
            return existing
        except ApiError as exc:
            self.recorder.record(cj, "Warning", "FailedCreate", f"Error creating job: {exc.message}")
            raise
        self.recorder.record(cj, "Normal", "SuccessfulCreate", f"Created job {created['metadata']['name']}")
        return created

    async def _delete_job(self, cj: Obj, ns: str, name: str) -> None:
        try:
            await self.client.delete(JOBS, ns, name, propagation="Background")
        except NotFoundError:
            return
        except ApiError as exc:
            self.recorder.record(cj, "Warning", "FailedDelete", f"Deleted job: {exc.message}")
            raise
        self.recorder.record(cj, "Normal", "SuccessfulDelete", f"Deleted job {name}")
