"""Deployment facts shared by the strategies (upstream ``pkg/controller/deployment/util``): the pod-template
hash, revision and replica annotations, surge/unavailable fenceposts, ReplicaSet lookups and orderings.

Everything here is pure: functions read dicts and return values; the ``set_*`` helpers mutate only the copy they
are given and report whether they changed it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import orjson

from kybernetes.api.patch.common import clone
from kybernetes.controllers.common import controller_ref, parse_time

Obj = dict[str, Any]

DEFAULT_UNIQUE_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MAX_REV_HISTORY_CHARS = 2000
MAX_INT32 = 2**31 - 1

# Deployment annotations never copied to its ReplicaSets (upstream ``skipCopyAnnotation``).
_SKIP_COPY = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, ROLLBACK_TO})

_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery's rand.SafeEncodeString alphabet


# -- hash ----------------------------------------------------------------------------------------------------

def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    """apimachinery's ``SafeEncodeString``: every byte mapped to a consonant or digit (no vowels, no 0/1/3)."""
    return "".join(_SAFE_ALPHABET[b % len(_SAFE_ALPHABET)] for b in text.encode())


def without_nulls(value: Any) -> Any:
    """``value`` with null map entries dropped recursively: Go structs cannot tell null from absent, so
    ``metadata.creationTimestamp: null`` (sent by ``kubectl rollout undo``) must not change a template."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def compute_hash(template: Obj, collision_count: int | None = None) -> str:
    """The ``pod-template-hash`` of a pod template: FNV-32a over a canonical dump of the template (upstream dumps
    the Go struct; we dump sorted-key JSON), then the collision count's four little-endian bytes if set, the
    32-bit sum in decimal, safe-encoded (``7c5ddbdf54``)."""
    data = orjson.dumps(without_nulls(template or {}), option=orjson.OPT_SORT_KEYS)
    if collision_count is not None:
        data += int(collision_count & 0xFFFFFFFF).to_bytes(4, "little")
    return safe_encode(str(fnv32a(data)))


def template_without_hash(template: Obj | None) -> Obj:
    t: Obj = without_nulls(clone(template or {}))
    labels = (t.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(DEFAULT_UNIQUE_LABEL, None)
    return t


def equal_ignore_hash(a: Obj | None, b: Obj | None) -> bool:
    """Templates equal except for the ``pod-template-hash`` label (upstream ``EqualIgnoreHash``)."""
    ta, tb = template_without_hash(a), template_without_hash(b)
    for t in (ta, tb):
        meta = t.get("metadata")
        if isinstance(meta, dict) and not meta.get("labels"):
            meta.pop("labels", None)
        if isinstance(meta, dict) and not meta:
            t.pop("metadata", None)
    return ta == tb


# -- small accessors -----------------------------------------------------------------------------------------

def replicas(obj: Obj | None) -> int:
    """``spec.replicas`` (default 1 for a missing value, 0 for no object)."""
    if obj is None:
        return 0
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def status_int(obj: Obj | None, field: str) -> int:
    if obj is None:
        return 0
    return int((obj.get("status") or {}).get(field) or 0)


def annotations_of(obj: Obj) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def name_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def uid_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("uid") or "")


def revision(rs: Obj) -> int:
    try:
        return int(annotations_of(rs).get(REVISION, "0") or 0)
    except ValueError:
        return 0


def max_revision(rss: Iterable[Obj]) -> int:
    return max((revision(rs) for rs in rss), default=0)


def is_rolling(d: Obj) -> bool:
    kind = ((d.get("spec") or {}).get("strategy") or {}).get("type")
    return str(kind or "RollingUpdate") == "RollingUpdate"


def creation_key(rs: Obj) -> tuple[float, str]:
    """Oldest first, ties by name (upstream ``ReplicaSetsByCreationTimestamp``)."""
    return (parse_time((rs.get("metadata") or {}).get("creationTimestamp")) or 0.0, name_of(rs))


def revision_key(rs: Obj) -> tuple[int, float, str]:
    """Lowest revision first, ties by creation (upstream ``ReplicaSetsByRevision``)."""
    return (revision(rs), *creation_key(rs))


def size_newer_key(rs: Obj) -> tuple[int, float, str]:
    """Larger first, newer first on ties (``ReplicaSetsBySizeNewer``)."""
    created, name = creation_key(rs)
    return (-replicas(rs), -created, name)


def size_older_key(rs: Obj) -> tuple[int, float, str]:
    """Larger first, older first on ties (``ReplicaSetsBySizeOlder``)."""
    created, name = creation_key(rs)
    return (-replicas(rs), created, name)


def active(rss: Iterable[Obj | None]) -> list[Obj]:
    return [rs for rs in rss if rs is not None and replicas(rs) > 0]


def total_replicas(rss: Iterable[Obj | None]) -> int:
    return sum(replicas(rs) for rs in rss if rs is not None)


def total_status(rss: Iterable[Obj | None], field: str) -> int:
    return sum(status_int(rs, field) for rs in rss if rs is not None)


# -- fenceposts ----------------------------------------------------------------------------------------------

def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """An int-or-percent against ``total`` (upstream ``GetScaledValueFromIntOrPercent``)."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        percent = int(text[:-1])
        exact = percent * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(text)


def resolve_fenceposts(max_surge: Any, max_unavailable: Any, desired: int) -> tuple[int, int]:
    """(surge, unavailable): surge rounds up, unavailable down; both zero becomes unavailable 1."""
    surge = scaled_value(max_surge, desired, True)
    unavailable = scaled_value(max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _rolling_params(d: Obj) -> tuple[Any, Any]:
    rolling = ((d.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}
    return rolling.get("maxSurge", "25%"), rolling.get("maxUnavailable", "25%")


def max_surge(d: Obj) -> int:
    if not is_rolling(d):
        return 0
    surge, _ = resolve_fenceposts(*_rolling_params(d), replicas(d))
    return surge


def max_unavailable(d: Obj) -> int:
    if not is_rolling(d) or replicas(d) == 0:
        return 0
    _, unavailable = resolve_fenceposts(*_rolling_params(d), replicas(d))
    return min(unavailable, replicas(d))


# -- annotations ---------------------------------------------------------------------------------------------

def _set_annotation(obj: Obj, key: str, value: str) -> bool:
    meta = obj.setdefault("metadata", {})
    ann = meta.get("annotations")
    if ann is None:
        ann = meta["annotations"] = {}
    if ann.get(key) == value:
        return False
    ann[key] = value
    return True


def set_replicas_annotations(rs: Obj, desired: int, max_replicas: int) -> bool:
    changed = _set_annotation(rs, DESIRED_REPLICAS, str(desired))
    return _set_annotation(rs, MAX_REPLICAS, str(max_replicas)) or changed


def replicas_annotations_match(d: Obj, rs: Obj) -> bool:
    ann = annotations_of(rs)
    return (ann.get(DESIRED_REPLICAS) == str(replicas(d))
            and ann.get(MAX_REPLICAS) == str(replicas(d) + max_surge(d)))


def copy_deployment_annotations(d: Obj, rs: Obj) -> bool:
    changed = False
    for key, value in annotations_of(d).items():
        if key in _SKIP_COPY:
            continue
        changed = _set_annotation(rs, key, str(value)) or changed
    return changed


def set_new_rs_annotations(d: Obj, rs: Obj, new_revision: str, exists: bool,
                           max_history: int = MAX_REV_HISTORY_CHARS) -> bool:
    """Copy the deployment's annotations, raise the revision (keeping the old one in revision-history) and, for
    a ReplicaSet being created, set desired/max replicas (upstream ``SetNewReplicaSetAnnotations``)."""
    changed = copy_deployment_annotations(d, rs)
    old_revision = annotations_of(rs).get(REVISION, "")
    try:
        old_int = int(old_revision) if old_revision else 0
    except ValueError:
        return changed
    new_int = int(new_revision)
    if old_int < new_int:
        changed = _set_annotation(rs, REVISION, new_revision) or changed
    if old_revision and old_int < new_int:
        history = annotations_of(rs).get(REVISION_HISTORY, "")
        entries = [h for h in history.split(",") if h] + [old_revision]
        while len(",".join(entries)) > max_history and len(entries) > 1:
            entries.pop(0)
        _set_annotation(rs, REVISION_HISTORY, ",".join(entries))
        changed = True
    if not exists:
        changed = set_replicas_annotations(rs, replicas(d), replicas(d) + max_surge(d)) or changed
    return changed


def set_deployment_revision(d: Obj, value: str) -> bool:
    if annotations_of(d).get(REVISION) == value:
        return False
    _set_annotation(d, REVISION, value)
    return True


# -- finding ReplicaSets -------------------------------------------------------------------------------------

def find_new_rs(d: Obj, rss: list[Obj]) -> Obj | None:
    """The oldest ReplicaSet whose template equals the deployment's, ignoring the hash label."""
    template = (d.get("spec") or {}).get("template")
    for rs in sorted(rss, key=creation_key):
        if equal_ignore_hash((rs.get("spec") or {}).get("template"), template):
            return rs
    return None


def find_old_rss(new_rs: Obj | None, rss: list[Obj]) -> list[Obj]:
    new_uid = uid_of(new_rs) if new_rs is not None else None
    return [rs for rs in rss if uid_of(rs) != new_uid]


def find_active_or_latest(new_rs: Obj | None, old_rss: list[Obj]) -> Obj | None:
    """The only active ReplicaSet, or the newest one when none is active; None with several active."""
    if new_rs is None and not old_rss:
        return None
    newest_first = sorted(old_rss, key=creation_key, reverse=True)
    live = active([*newest_first, new_rs])
    if not live:
        return new_rs if new_rs is not None else newest_first[0]
    if len(live) == 1:
        return live[0]
    return None


def is_saturated(d: Obj, rs: Obj | None) -> bool:
    if rs is None:
        return False
    desired = annotations_of(rs).get(DESIRED_REPLICAS)
    return (desired == str(replicas(d)) and replicas(rs) == replicas(d)
            and status_int(rs, "availableReplicas") == replicas(d))


def controlled_by(rs: Obj, d: Obj) -> bool:
    ref = controller_ref(rs)
    return ref is not None and ref.get("uid") == uid_of(d)
