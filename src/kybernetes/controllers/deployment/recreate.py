"""Recreate strategy decisions (upstream ``recreate.go``), pure: every old pod must be gone before the new
ReplicaSet scales up."""

from __future__ import annotations

from typing import Any

from kybernetes.controllers.deployment import util

Obj = dict[str, Any]


def old_pods_running(new_rs: Obj | None, old_rss: list[Obj], pods_by_rs_uid: dict[str, list[Obj]]) -> bool:
    """True while an old ReplicaSet reports replicas or still has a pod that is not Succeeded/Failed."""
    if util.total_status(old_rss, "replicas") > 0:
        return True
    new_uid = util.uid_of(new_rs) if new_rs is not None else None
    for uid, pods in pods_by_rs_uid.items():
        if uid == new_uid:
            continue
        for pod in pods:
            if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                return True
    return False
