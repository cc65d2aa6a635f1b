"""Deployment status and conditions (upstream ``sync.go`` ``calculateStatus`` and ``progress.go``), pure.

``Available`` follows the minimum-availability rule (available >= replicas - maxUnavailable); ``Progressing``
moves through NewReplicaSetCreated / FoundNewReplicaSet / ReplicaSetUpdated to NewReplicaSetAvailable, or
ProgressDeadlineExceeded when nothing progressed for ``progressDeadlineSeconds``.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from kybernetes.controllers.common import parse_time
from kybernetes.controllers.deployment import util

Obj = dict[str, Any]

AVAILABLE = "Available"
PROGRESSING = "Progressing"
REPLICA_FAILURE = "ReplicaFailure"

MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
FAILED_RS_CREATE = "ReplicaSetCreateError"


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_condition(kind: str, status: str, reason: str, message: str, now: float) -> Obj:
    stamp = rfc3339(now)
    return {"type": kind, "status": status, "lastUpdateTime": stamp, "lastTransitionTime": stamp,
            "reason": reason, "message": message}


def get_condition(status: Obj, kind: str) -> Obj | None:
    for cond in status.get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return None


def set_condition(status: Obj, cond: Obj) -> None:
    """Upstream ``SetDeploymentCondition``: no change when status and reason are the same; the transition time
    survives when only the reason changes."""
    current = get_condition(status, cond["type"])
    if current is not None and current.get("status") == cond["status"] and current.get("reason") == cond["reason"]:
        return
    cond = dict(cond)
    if current is not None and current.get("status") == cond["status"]:
        cond["lastTransitionTime"] = current.get("lastTransitionTime")
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != cond["type"]] + [cond]


def remove_condition(status: Obj, kind: str) -> None:
    conds = [c for c in status.get("conditions") or [] if c.get("type") != kind]
    if conds:
        status["conditions"] = conds
    else:
        status.pop("conditions", None)


def has_progress_deadline(d: Obj) -> bool:
    pds = (d.get("spec") or {}).get("progressDeadlineSeconds")
    return pds is not None and int(pds) != util.MAX_INT32


def calculate_status(all_rss: list[Obj], new_rs: Obj | None, d: Obj, now: float) -> Obj:
    """Replica counts summed over the ReplicaSets plus the ``Available`` condition."""
    available = util.total_status(all_rss, "availableReplicas")
    total = util.total_replicas(all_rss)
    old = d.get("status") or {}
    status: Obj = {
        "observedGeneration": (d.get("metadata") or {}).get("generation"),
        "replicas": util.total_status(all_rss, "replicas"),
        "updatedReplicas": util.status_int(new_rs, "replicas"),
        "readyReplicas": util.total_status(all_rss, "readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": max(total - available, 0),
    }
    if old.get("collisionCount") is not None:
        status["collisionCount"] = old["collisionCount"]
    if old.get("conditions"):
        status["conditions"] = copy.deepcopy(old["conditions"])
    if available >= util.replicas(d) - util.max_unavailable(d):
        set_condition(status, new_condition(AVAILABLE, "True", MIN_AVAILABLE,
                                            "Deployment has minimum availability.", now))
    else:
        set_condition(status, new_condition(AVAILABLE, "False", MIN_UNAVAILABLE,
                                            "Deployment does not have minimum availability.", now))
    return status


def deployment_complete(d: Obj, status: Obj) -> bool:
    want = util.replicas(d)
    return (int(status.get("updatedReplicas") or 0) == want and int(status.get("replicas") or 0) == want
            and int(status.get("availableReplicas") or 0) == want
            and int(status.get("observedGeneration") or 0) >= int((d.get("metadata") or {}).get("generation") or 0))


def deployment_progressing(d: Obj, new: Obj) -> bool:
    old = d.get("status") or {}

    def n(s: Obj, k: str) -> int:
        return int(s.get(k) or 0)

    old_old = n(old, "replicas") - n(old, "updatedReplicas")
    new_old = n(new, "replicas") - n(new, "updatedReplicas")
    return (n(new, "updatedReplicas") > n(old, "updatedReplicas") or new_old < old_old
            or n(new, "readyReplicas") > n(old, "readyReplicas")
            or n(new, "availableReplicas") > n(old, "availableReplicas"))


def deployment_timed_out(d: Obj, status: Obj, now: float) -> bool:
    if not has_progress_deadline(d):
        return False
    cond = get_condition(status, PROGRESSING)
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    since = parse_time(cond.get("lastUpdateTime"))
    deadline = int((d.get("spec") or {}).get("progressDeadlineSeconds") or 0)
    return since is not None and since + deadline < now


def rollout_status(d: Obj, all_rss: list[Obj], new_rs: Obj | None, now: float) -> Obj:
    """The status ``syncRolloutStatus`` writes: counts, Available, Progressing, ReplicaFailure."""
    status = calculate_status(all_rss, new_rs, d, now)
    if not has_progress_deadline(d):
        remove_condition(status, PROGRESSING)
    current = get_condition(status, PROGRESSING)
    complete = (status["replicas"] == status["updatedReplicas"] and current is not None
                and current.get("reason") == NEW_RS_AVAILABLE)
    if has_progress_deadline(d) and not complete:
        what = (f'ReplicaSet "{util.name_of(new_rs)}"' if new_rs is not None
                else f'Deployment "{util.name_of(d)}"')
        if deployment_complete(d, status):
            set_condition(status, new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE,
                                                f"{what} has successfully progressed.", now))
        elif deployment_progressing(d, status):
            cond = new_condition(PROGRESSING, "True", RS_UPDATED, f"{what} is progressing.", now)
            if current is not None and current.get("status") == "True":
                cond["lastTransitionTime"] = current.get("lastTransitionTime")
            remove_condition(status, PROGRESSING)
            set_condition(status, cond)
        elif deployment_timed_out(d, status, now):
            set_condition(status, new_condition(PROGRESSING, "False", TIMED_OUT,
                                                f"{what} has timed out progressing.", now))
    failures = [c for rs in all_rss for c in (rs.get("status") or {}).get("conditions") or []
                if c.get("type") == "ReplicaFailure"]
    if failures:
        f = failures[0]
        set_condition(status, new_condition(REPLICA_FAILURE, str(f.get("status", "True")),
                                            str(f.get("reason", "")), str(f.get("message", "")), now))
    else:
        remove_condition(status, REPLICA_FAILURE)
    return status


def requeue_after(d: Obj, status: Obj, now: float) -> float | None:
    """Seconds until the progress deadline of a stuck rollout expires (upstream ``requeueStuckDeployment``)."""
    cond = get_condition(status, PROGRESSING)
    if not has_progress_deadline(d) or cond is None:
        return None
    if deployment_complete(d, status) or cond.get("reason") == TIMED_OUT:
        return None
    since = parse_time(cond.get("lastUpdateTime"))
    if since is None:
        return None
    deadline = int((d.get("spec") or {}).get("progressDeadlineSeconds") or 0)
    remaining = since + deadline - now
    return max(remaining, 0.0) + 1.0


def paused_condition(d: Obj, now: float) -> Obj | None:
    """The Progressing condition to set for a pause/resume transition, or None when nothing changes."""
    if not has_progress_deadline(d):
        return None
    cond = get_condition(d.get("status") or {}, PROGRESSING)
    paused = bool((d.get("spec") or {}).get("paused"))
    paused_reason = cond is not None and cond.get("reason") == PAUSED
    if paused and not paused_reason:
        return new_condition(PROGRESSING, "Unknown", PAUSED, "Deployment is paused", now)
    if not paused and paused_reason:
        return new_condition(PROGRESSING, "Unknown", RESUMED, "Deployment is resumed", now)
    return None
