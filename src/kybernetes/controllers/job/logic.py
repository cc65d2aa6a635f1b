"""The Job controller's decisions as pure functions over (job, its pods, now).

:func:`reconcile` returns a :class:`JobPlan`: pods to create (a count, or completion indexes for Indexed jobs),
pods to delete, pods whose ``batch.kubernetes.io/job-tracking`` finalizer is to be removed, the status to write
*before* removing finalizers (newly finished pods recorded in ``status.uncountedTerminatedPods``), the terminal
condition to add once everything is counted, events and when to look again.  :func:`finalize_status` then moves
the released pods from ``uncountedTerminatedPods`` into the ``succeeded``/``failed`` counters and adds the terminal
condition (``Complete``/``Failed``) when nothing is left uncounted or terminating — the order upstream uses so a
pod is counted exactly once even if the controller crashes in between.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]

TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
JOB_NAME = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID = "controller-uid"
LEGACY_JOB_NAME = "job-name"

COMPLETE = "Complete"
FAILED = "Failed"
SUCCESS_CRITERIA_MET = "SuccessCriteriaMet"
FAILURE_TARGET = "FailureTarget"
SUSPENDED = "Suspended"

REASON_COMPLETIONS_REACHED = "CompletionsReached"
MSG_COMPLETIONS_REACHED = "Reached expected number of succeeded pods"
REASON_BACKOFF_LIMIT = "BackoffLimitExceeded"
MSG_BACKOFF_LIMIT = "Job has reached the specified backoff limit"
REASON_DEADLINE = "DeadlineExceeded"
MSG_DEADLINE = "Job was active longer than specified deadline"

MAX_BATCH = 500  # upstream's MaxPodCreateDeletePerSync
DEFAULT_BACKOFF = 10.0
MAX_BACKOFF = 360.0


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ts(value: object) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# -- small readers ---------------------------------------------------------------------------------------------

def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _spec(obj: Obj) -> Obj:
    return obj.get("spec") or {}


def phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def is_indexed(job: Obj) -> bool:
    return _spec(job).get("completionMode") == "Indexed"


def condition(job: Obj, kind: str) -> Obj | None:
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind and cond.get("status") == "True":
            return dict(cond)
    return None


def finished_condition(job: Obj) -> Obj | None:
    """The ``Complete`` or ``Failed`` condition with status True, if the job is finished."""
    return condition(job, COMPLETE) or condition(job, FAILED)


def is_finished(job: Obj) -> bool:
    return finished_condition(job) is not None


def has_tracking_finalizer(pod: Obj) -> bool:
    return TRACKING_FINALIZER in (_meta(pod).get("finalizers") or [])


def only_replace_failed(job: Obj) -> bool:
    return _spec(job).get("podReplacementPolicy") == "Failed"


def is_pod_failed(pod: Obj, job: Obj) -> bool:
    """Failed phase, or (unless podReplacementPolicy is Failed) being deleted without having succeeded."""
    if phase(pod) == "Failed":
        return True
    if only_replace_failed(job):
        return False
    return bool(_meta(pod).get("deletionTimestamp")) and phase(pod) != "Succeeded"


def is_active(pod: Obj) -> bool:
    return phase(pod) not in ("Succeeded", "Failed") and not _meta(pod).get("deletionTimestamp")


def is_terminating(pod: Obj) -> bool:
    return bool(_meta(pod).get("deletionTimestamp")) and phase(pod) not in ("Succeeded", "Failed")


def is_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def completion_index(pod: Obj) -> int | None:
    """The pod's completion index from its annotation (label as a fallback); None when absent or invalid."""
    raw = (_meta(pod).get("annotations") or {}).get(COMPLETION_INDEX)
    if raw is None:
        raw = (_meta(pod).get("labels") or {}).get(COMPLETION_INDEX)
    try:
        value = int(str(raw))
    except ValueError:
        return None
    return value if value >= 0 and str(value) == str(raw) else None


def finish_time(pod: Obj) -> float | None:
    """When the pod finished: its latest container ``finishedAt``, else the deletion or Ready transition time."""
    latest: float | None = None
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        ts = parse_ts(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt"))
        if ts is not None and (latest is None or ts > latest):
            latest = ts
    if latest is not None:
        return latest
    deleted = parse_ts(_meta(pod).get("deletionTimestamp"))
    if deleted is not None:
        return deleted
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return parse_ts(cond.get("lastTransitionTime"))
    return parse_ts(_meta(pod).get("creationTimestamp"))


# -- completed indexes ("1,3-5,7") -----------------------------------------------------------------------------

def parse_indexes(text: str | None, completions: int) -> set[int]:
    """Indexes from ``status.completedIndexes``; out-of-range or malformed parts are ignored."""
    out: set[int] = set()
    for part in (text or "").split(","):
        lo, _, hi = part.strip().partition("-")
        try:
            first = int(lo)
            last = int(hi) if hi else first
        except ValueError:
            continue
        out.update(i for i in range(first, last + 1) if 0 <= i < completions)
    return out


def format_indexes(indexes: set[int]) -> str:
    parts: list[str] = []
    ordered = sorted(indexes)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


# -- backoff ---------------------------------------------------------------------------------------------------

def backoff_delay(failures: int, base: float = DEFAULT_BACKOFF, maximum: float = MAX_BACKOFF) -> float:
    """The delay before the next pod after ``failures`` consecutive failures: base doubling, capped."""
    if failures <= 0:
        return 0.0
    return float(min(base * 2 ** (failures - 1), maximum))


def backoff_remaining(pods: list[Obj], job: Obj, now: float, base: float = DEFAULT_BACKOFF,
                      maximum: float = MAX_BACKOFF) -> float:
    """Seconds until a new pod may be created: failures after the last success set the delay, measured from the
    last failure (upstream's backoffRecord, derived from the pods instead of kept in memory)."""
    last_success = max((finish_time(p) or 0.0 for p in pods if phase(p) == "Succeeded"), default=0.0)
    failures = [t for p in pods if is_pod_failed(p, job) and (t := finish_time(p) or now) > last_success]
    if not failures:
        return 0.0
    elapsed = now - max(failures)
    delay = backoff_delay(len(failures), base, maximum)
    return 0.0 if delay < elapsed else delay - elapsed


# -- choosing pods ---------------------------------------------------------------------------------------------

def _deletion_rank(pod: Obj) -> tuple[int, int, int, float]:
    """Lower ranks are deleted first: unscheduled < scheduled, pending < running, not ready < ready, newer first."""
    ph = phase(pod)
    created = parse_ts(_meta(pod).get("creationTimestamp")) or 0.0
    return (1 if _spec(pod).get("nodeName") else 0, {"Pending": 0, "Unknown": 1, "Running": 2}.get(ph, 0),
            1 if is_ready(pod) else 0, -created)


def pods_to_delete(active: list[Obj], count: int) -> list[Obj]:
    """The ``count`` active pods cheapest to lose (upstream's ActivePods ordering)."""
    if count <= 0:
        return []
    return sorted(active, key=_deletion_rank)[:count]


def want_active(job: Obj, succeeded: int) -> int:
    """How many pods should run (NonIndexed): ``min(parallelism, completions - succeeded)``; without
    completions, parallelism until the first success and none after."""
    spec = _spec(job)
    parallelism = int(spec.get("parallelism") or 0)
    completions = spec.get("completions")
    if completions is None:
        return 0 if succeeded > 0 else parallelism
    return max(0, min(parallelism, int(completions) - succeeded))


def new_condition(kind: str, reason: str, message: str, now: float, status: str = "True") -> Obj:
    ts = rfc3339(now)
    return {"type": kind, "status": status, "lastProbeTime": ts, "lastTransitionTime": ts, "reason": reason,
            "message": message}


def set_condition(conditions: list[Obj], cond: Obj) -> tuple[list[Obj], bool]:
    """``conditions`` with ``cond`` added or updated (lastTransitionTime kept when the status does not change);
    the bool says whether anything changed."""
    out = [dict(c) for c in conditions]
    for i, old in enumerate(out):
        if old.get("type") != cond.get("type"):
            continue
        if old.get("status") == cond.get("status") and old.get("reason") == cond.get("reason") and \
                old.get("message") == cond.get("message"):
            return out, False
        new = dict(cond)
        if old.get("status") == cond.get("status"):
            new["lastTransitionTime"] = old.get("lastTransitionTime", cond["lastTransitionTime"])
        out[i] = new
        return out, True
    out.append(dict(cond))
    return out, True


# -- the plan --------------------------------------------------------------------------------------------------

@dataclass
class JobPlan:
    create: int = 0
    create_indexes: list[int] = field(default_factory=list)
    delete: list[Obj] = field(default_factory=list)
    release: list[Obj] = field(default_factory=list)
    status: Obj = field(default_factory=dict)
    terminal: Obj | None = None
    events: list[tuple[str, str, str]] = field(default_factory=list)
    requeue_after: float | None = None


@dataclass
class _View:
    active: list[Obj] = field(default_factory=list)
    terminating: int = 0
    ready: int = 0
    release: list[Obj] = field(default_factory=list)
    uncounted_succeeded: list[str] = field(default_factory=list)
    uncounted_failed: list[str] = field(default_factory=list)
    succeeded_indexes: set[int] = field(default_factory=set)


def _classify(job: Obj, pods: list[Obj], released: set[str]) -> _View:
    status = job.get("status") or {}
    uncounted = status.get("uncountedTerminatedPods") or {}
    view = _View(uncounted_succeeded=list(uncounted.get("succeeded") or []),
                 uncounted_failed=list(uncounted.get("failed") or []))
    known = set(view.uncounted_succeeded) | set(view.uncounted_failed)
    completions = int(_spec(job).get("completions") or 0)
    view.succeeded_indexes = parse_indexes(status.get("completedIndexes"), completions) if is_indexed(job) else set()
    for pod in pods:
        uid = str(_meta(pod).get("uid") or "")
        tracked = has_tracking_finalizer(pod) and uid not in released
        succeeded, failed = phase(pod) == "Succeeded", is_pod_failed(pod, job)
        if is_active(pod):
            view.active.append(pod)
            view.ready += 1 if is_ready(pod) else 0
        elif is_terminating(pod):
            view.terminating += 1
        if tracked and (succeeded or failed):
            view.release.append(pod)
            if uid not in known:
                (view.uncounted_succeeded if succeeded else view.uncounted_failed).append(uid)
                known.add(uid)
        if succeeded and is_indexed(job) and (tracked or uid in known):
            index = completion_index(pod)
            if index is not None and index < completions:
                view.succeeded_indexes.add(index)
    return view


def reconcile(job: Obj, pods: list[Obj], now: float, *, released: set[str] | frozenset[str] = frozenset(),
              backoff_base: float = DEFAULT_BACKOFF, backoff_max: float = MAX_BACKOFF,
              may_create: bool = True) -> JobPlan:
    """Decide what to do for an unfinished ``job`` given all pods it controls.

    ``released`` are pod UIDs whose finalizer this controller already removed (the cache may lag);
    ``may_create`` is False while earlier creations have not been observed yet (expectations).
    """
    spec = _spec(job)
    old_status = job.get("status") or {}
    status: Obj = copy.deepcopy(old_status)
    view = _classify(job, pods, set(released))
    plan = JobPlan(release=view.release)
    counted_ok = int(old_status.get("succeeded") or 0)
    failed = int(old_status.get("failed") or 0) + len(view.uncounted_failed)
    if is_indexed(job):
        succeeded = len(view.succeeded_indexes)
    else:
        succeeded = counted_ok + len(view.uncounted_succeeded)
    conditions: list[Obj] = list(status.get("conditions") or [])
    suspended = bool(spec.get("suspend"))

    target = condition(job, FAILURE_TARGET) or condition(job, SUCCESS_CRITERIA_MET)
    start = parse_ts(status.get("startTime"))
    if target is None:
        deadline = spec.get("activeDeadlineSeconds")
        completions = spec.get("completions")
        if completions is None:
            complete = succeeded > 0 and not view.active
        else:
            complete = succeeded >= int(completions) and not view.active
        limit = spec.get("backoffLimit")
        if failed > (6 if limit is None else int(limit)):
            target = new_condition(FAILURE_TARGET, REASON_BACKOFF_LIMIT, MSG_BACKOFF_LIMIT, now)
        elif deadline is not None and start is not None and not suspended and now - start >= int(deadline):
            target = new_condition(FAILURE_TARGET, REASON_DEADLINE, MSG_DEADLINE, now)
        elif complete:
            target = new_condition(SUCCESS_CRITERIA_MET, REASON_COMPLETIONS_REACHED, MSG_COMPLETIONS_REACHED, now)
        elif deadline is not None and start is not None and not suspended:
            plan.requeue_after = start + int(deadline) - now

    active_after = len(view.active)
    if target is not None:
        conditions, _ = set_condition(conditions, target)
        plan.delete = list(view.active)
        active_after = 0
        if not view.active and view.terminating == 0:
            kind = FAILED if target["type"] == FAILURE_TARGET else COMPLETE
            plan.terminal = new_condition(kind, str(target.get("reason")), str(target.get("message")), now)
    elif suspended:
        conditions, changed = set_condition(conditions, new_condition(SUSPENDED, "JobSuspended", "Job suspended",
                                                                      now))
        if changed:
            plan.events.append(("Normal", "Suspended", "Job suspended"))
        plan.delete = list(view.active)
        active_after = 0
    else:
        if condition(job, SUSPENDED) is not None:
            conditions, _ = set_condition(conditions, new_condition(SUSPENDED, "JobResumed", "Job resumed", now,
                                                                    status="False"))
            plan.events.append(("Normal", "Resumed", "Job resumed"))
            status["startTime"] = rfc3339(now)
        elif not status.get("startTime"):
            status["startTime"] = rfc3339(now)
        active_after = _manage(job, pods, view, succeeded, now, plan, backoff_base, backoff_max, may_create)

    status["conditions"] = conditions
    if not conditions:
        del status["conditions"]
    status["active"] = active_after
    status["ready"] = view.ready
    status["terminating"] = view.terminating
    status["uncountedTerminatedPods"] = {k: v for k, v in (("succeeded", view.uncounted_succeeded),
                                                           ("failed", view.uncounted_failed)) if v}
    if is_indexed(job):
        status["completedIndexes"] = format_indexes(view.succeeded_indexes)
    for key in ("succeeded", "failed", "active"):
        if not status.get(key):
            status.pop(key, None)
    plan.status = status
    return plan


def _manage(job: Obj, pods: list[Obj], view: _View, succeeded: int, now: float, plan: JobPlan,
            backoff_base: float, backoff_max: float, may_create: bool) -> int:
    """Fill ``plan.create``/``create_indexes``/``delete`` for a running job; returns the expected active count."""
    spec = _spec(job)
    parallelism = int(spec.get("parallelism") or 0)
    if is_indexed(job):
        completions = int(spec.get("completions") or 0)
        by_index: dict[int, list[Obj]] = {}
        for pod in view.active:
            index = completion_index(pod)
            if index is None or index >= completions or index in view.succeeded_indexes:
                plan.delete.append(pod)
            else:
                by_index.setdefault(index, []).append(pod)
        for duplicates in by_index.values():
            plan.delete.extend(pods_to_delete(duplicates, len(duplicates) - 1))
        running = len(by_index)
        if running > parallelism:
            plan.delete.extend(pods_to_delete([ps[0] for ps in by_index.values()], running - parallelism))
        missing = [i for i in range(completions) if i not in view.succeeded_indexes and i not in by_index]
        room = max(0, min(parallelism - running, MAX_BATCH))
        wanted = missing[:room]
        if wanted and may_create:
            remaining = backoff_remaining(pods, job, now, backoff_base, backoff_max)
            if remaining > 0:
                plan.requeue_after = _earliest(plan.requeue_after, remaining)
            else:
                plan.create_indexes = wanted
        return len(view.active) - len(plan.delete) + len(plan.create_indexes)
    want = want_active(job, succeeded)
    active = len(view.active)
    if active > want:
        plan.delete = pods_to_delete(view.active, min(active - want, MAX_BATCH))
    elif active < want and may_create:
        remaining = backoff_remaining(pods, job, now, backoff_base, backoff_max)
        if remaining > 0:
            plan.requeue_after = _earliest(plan.requeue_after, remaining)
        else:
            plan.create = min(want - active, MAX_BATCH)
    return active - len(plan.delete) + plan.create


def _earliest(a: float | None, b: float) -> float:
    return b if a is None else min(a, b)


def finalize_status(status: Obj, released_uids: set[str], gone_uids: set[str], terminal: Obj | None,
                    now: float) -> tuple[Obj, bool]:
    """Move uncounted pods that no longer hold the finalizer (``released_uids`` just released, ``gone_uids`` without
    finalizer or deleted) into the counters; add ``terminal`` when nothing is left uncounted.  Returns the new status
    and whether the terminal condition was added."""
    out = copy.deepcopy(status)
    uncounted = out.get("uncountedTerminatedPods") or {}
    done = released_uids | gone_uids
    for key in ("succeeded", "failed"):
        uids = list(uncounted.get(key) or [])
        moved = [u for u in uids if u in done]
        if moved:
            out[key] = int(out.get(key) or 0) + len(moved)
        rest = [u for u in uids if u not in done]
        if rest:
            uncounted[key] = rest
        else:
            uncounted.pop(key, None)
    out["uncountedTerminatedPods"] = uncounted
    for key in ("succeeded", "failed", "active"):
        if not out.get(key):
            out.pop(key, None)
    if terminal is None or uncounted:
        return out, False
    out["conditions"], _ = set_condition(list(out.get("conditions") or []), terminal)
    if terminal["type"] == COMPLETE:
        out["completionTime"] = rfc3339(now)
    return out, True
