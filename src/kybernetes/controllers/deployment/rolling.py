"""RollingUpdate arithmetic (upstream ``rolling.go`` and ``NewRSNewReplicas``), pure.

The new ReplicaSet grows while the total stays within ``replicas + maxSurge``; old ReplicaSets shrink while the
available pods stay at or above ``replicas - maxUnavailable``: first their unhealthy replicas, then healthy ones,
oldest ReplicaSet first.
"""

from __future__ import annotations

from typing import Any

from kybernetes.api.patch.common import clone
from kybernetes.controllers.deployment import util

Obj = dict[str, Any]


def new_rs_replicas(d: Obj, all_rss: list[Obj], new_rs: Obj | None) -> int:
    """The size the new ReplicaSet may have now."""
    if not util.is_rolling(d):
        return util.replicas(d)
    current = util.replicas(new_rs)
    total = util.total_replicas(all_rss)
    max_total = util.replicas(d) + util.max_surge(d)
    if total >= max_total:
        return current
    scale_up = min(max_total - total, util.replicas(d) - current)
    return current + max(scale_up, 0)


def old_rs_scale_down(d: Obj, new_rs: Obj | None, old_rss: list[Obj]) -> list[tuple[str, int]]:
    """Ordered (ReplicaSet name, new size) steps that shrink old ReplicaSets (``reconcileOldReplicaSets``)."""
    old = [clone(rs) for rs in old_rss]
    if util.total_replicas(old) == 0:
        return []
    all_count = util.total_replicas([*old, new_rs])
    min_available = util.replicas(d) - util.max_unavailable(d)
    new_unavailable = util.replicas(new_rs) - util.status_int(new_rs, "availableReplicas")
    max_scaled_down = all_count - min_available - new_unavailable
    if max_scaled_down <= 0:
        return []
    steps: list[tuple[str, int]] = []
    done = 0
    for rs in sorted(old, key=util.creation_key):  # cleanupUnhealthyReplicas
        if done >= max_scaled_down:
            break
        size, healthy = util.replicas(rs), util.status_int(rs, "availableReplicas")
        if size == 0 or size == healthy:
            continue
        count = min(max_scaled_down - done, size - healthy)
        rs.setdefault("spec", {})["replicas"] = size - count
        steps.append((util.name_of(rs), size - count))
        done += count
    available = util.total_status([*old, new_rs], "availableReplicas")  # scaleDownOldReplicaSetsForRollingUpdate
    if available > min_available:
        budget = available - min_available
        scaled = 0
        for rs in sorted(old, key=util.creation_key):
            if scaled >= budget:
                break
            size = util.replicas(rs)
            if size == 0:
                continue
            count = min(size, budget - scaled)
            steps.append((util.name_of(rs), size - count))
            scaled += count
    return steps
