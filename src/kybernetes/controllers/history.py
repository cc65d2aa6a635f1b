"""ControllerRevision history shared by the DaemonSet and StatefulSet controllers (upstream ``pkg/controller/history``).

A revision snapshots the part of a parent that a rollout changes: ``data`` is ``{"spec": {"template": T}}`` with
``"$patch": "replace"`` in ``T`` (so ``kubectl rollout undo`` can apply it as a strategic merge patch).  Contracts:

* :func:`hash_revision` is a stable FNV-32a over the canonical JSON of ``data`` (plus the collision count, when the
  parent has one), encoded with upstream's ``SafeEncodeString`` alphabet; names are ``<parent>-<hash>``.
* Revisions carry the template's labels, ``controller.kubernetes.io/hash`` and a controller owner reference.
* :func:`sync_history` (pure) decides which revision is current, whether one must be created or renumbered, and
  :func:`revisions_to_prune` which old revisions fall outside ``revisionHistoryLimit`` (never one that a live pod
  or the status still uses).
* Side effects go through :class:`HistoryControl`; :class:`RealHistoryControl` resolves name collisions like
  upstream: an existing revision with other data bumps ``collisionCount`` and retries with a new hash.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from kybernetes.client.errors import AlreadyExistsError, NotFoundError
from kybernetes.client.rest import Client, resource
from kybernetes.controllers.common import is_controlled_by, owner_reference

Obj = dict[str, Any]
CONTROLLER_REVISIONS = resource("apps", "v1", "controllerrevisions")
HASH_LABEL = "controller.kubernetes.io/hash"
REVISION_HASH_LABEL = "controller-revision-hash"  # on pods
MAX_PREFIX = 223  # 253 - 1 - the longest hash
DEFAULT_HISTORY_LIMIT = 10
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def fnv32a(data: bytes) -> int:
    h = _FNV_OFFSET
    for byte in data:
        h ^= byte
        h = (h * _FNV_PRIME) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    """Upstream ``rand.SafeEncodeString``: every character mapped into an alphabet without vowels."""
    return "".join(_ALPHANUMS[ord(c) % len(_ALPHANUMS)] for c in text)


def hash_revision(data: Obj, collision_count: int | None = None) -> str:
    raw = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    if collision_count:
        raw += str(collision_count).encode()
    return safe_encode(str(fnv32a(raw)))


def revision_name(prefix: str, hash_: str) -> str:
    return f"{prefix[:MAX_PREFIX]}-{hash_}"


def template_patch(parent: Obj) -> Obj:
    """The revision data for ``parent``: its pod template, marked ``$patch: replace``."""
    template = copy.deepcopy((parent.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def template_of(revision: Obj) -> Obj:
    """The pod template a revision snapshots (without the ``$patch`` marker)."""
    template = copy.deepcopy(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def revision_number(revision: Obj) -> int:
    return int(revision.get("revision") or 0)


def new_revision(parent: Obj, revision: int, collision_count: int | None = None) -> Obj:
    """A ControllerRevision for ``parent``'s current template (named and labelled with its hash)."""
    data = template_patch(parent)
    hash_ = hash_revision(data, collision_count)
    meta = parent.get("metadata") or {}
    tlabels = (((parent.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
    return {
        "apiVersion": "apps/v1", "kind": "ControllerRevision",
        "metadata": {"name": revision_name(meta.get("name", ""), hash_), "namespace": meta.get("namespace", ""),
                     "labels": {**tlabels, HASH_LABEL: hash_}, "ownerReferences": [owner_reference(parent)]},
        "data": data, "revision": revision,
    }


def equal_revision(a: Obj, b: Obj) -> bool:
    return bool(orjson.dumps(a.get("data"), option=orjson.OPT_SORT_KEYS)
                == orjson.dumps(b.get("data"), option=orjson.OPT_SORT_KEYS))


def sort_revisions(revisions: Iterable[Obj]) -> list[Obj]:
    """Oldest first: by revision number, then creation time, then name."""
    return sorted(revisions, key=lambda r: (revision_number(r), (r.get("metadata") or {}).get(
        "creationTimestamp") or "", (r.get("metadata") or {}).get("name", "")))


def owned_revisions(parent: Obj, revisions: Iterable[Obj]) -> list[Obj]:
    return [r for r in revisions if is_controlled_by(r, parent)]


@dataclass
class HistoryDecision:
    """What :func:`sync_history` decided: ``create`` a new revision, or ``renumber`` an equal old one to
    ``revision``; ``update`` is the revision that will hold the parent's template (after the action)."""

    update: Obj
    create: bool = False
    renumber: bool = False
    duplicates: list[Obj] = field(default_factory=list)


def sync_history(parent: Obj, revisions: list[Obj], collision_count: int | None) -> HistoryDecision:
    """Pure: which revision represents ``parent``'s template now.  ``revisions`` are the parent's own."""
    history = sort_revisions(revisions)
    next_number = (revision_number(history[-1]) + 1) if history else 1
    candidate = new_revision(parent, next_number, collision_count)
    equal = [r for r in history if equal_revision(r, candidate)]
    if not equal:
        return HistoryDecision(update=candidate, create=True)
    keep = equal[-1]
    duplicates = equal[:-1]
    if keep is history[-1]:
        return HistoryDecision(update=keep, duplicates=duplicates)
    renumbered = copy.deepcopy(keep)
    renumbered["revision"] = next_number
    return HistoryDecision(update=renumbered, renumber=True, duplicates=duplicates)


def revisions_to_prune(revisions: list[Obj], in_use: set[str], limit: int) -> list[Obj]:
    """Pure: the oldest revisions beyond ``limit`` whose names are not in ``in_use`` (live pods, status)."""
    history = [r for r in sort_revisions(revisions) if (r.get("metadata") or {}).get("name") not in in_use]
    excess = len(history) - max(limit, 0)
    return history[:excess] if excess > 0 else []


# -- side effects ----------------------------------------------------------------------------------------------

class HistoryControl(Protocol):
    async def create(self, parent: Obj, revision: Obj, collision_count: int) -> tuple[Obj, int]:
        """Create ``revision``; returns the stored revision and the (possibly bumped) collision count."""
        ...

    async def renumber(self, revision: Obj) -> Obj:
        """Write ``revision``'s new ``revision`` number."""
        ...

    async def delete(self, revision: Obj) -> None:
        ...


class RealHistoryControl:
    def __init__(self, client: Client) -> None:
        self.client = client

    async def create(self, parent: Obj, revision: Obj, collision_count: int) -> tuple[Obj, int]:
        ns = (parent.get("metadata") or {}).get("namespace", "")
        while True:
            candidate = new_revision(parent, revision_number(revision), collision_count or None)
            try:
                return await self.client.create(CONTROLLER_REVISIONS, ns, candidate), collision_count
            except AlreadyExistsError:
                existing = await self.client.get(CONTROLLER_REVISIONS, ns, candidate["metadata"]["name"])
                if equal_revision(existing, candidate) and is_controlled_by(existing, parent):
                    return existing, collision_count
                collision_count += 1

    async def renumber(self, revision: Obj) -> Obj:
        meta = revision["metadata"]
        return await self.client.patch(CONTROLLER_REVISIONS, meta.get("namespace", ""), meta["name"],
                                       {"revision": revision_number(revision)})

    async def delete(self, revision: Obj) -> None:
        meta = revision["metadata"]
        with contextlib.suppress(NotFoundError):
            await self.client.delete(CONTROLLER_REVISIONS, meta.get("namespace", ""), meta["name"])


@dataclass
class FakeHistoryControl:
    created: list[Obj] = field(default_factory=list)
    renumbered: list[Obj] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    async def create(self, parent: Obj, revision: Obj, collision_count: int) -> tuple[Obj, int]:
        self.created.append(revision)
        return revision, collision_count

    async def renumber(self, revision: Obj) -> Obj:
        self.renumbered.append(revision)
        return revision

    async def delete(self, revision: Obj) -> None:
        self.deleted.append(revision["metadata"]["name"])


async def apply_history(control: HistoryControl, parent: Obj, revisions: list[Obj],
                        collision_count: int) -> tuple[Obj, int]:
    """Run :func:`sync_history` and its side effects; returns the update revision and the collision count."""
    decision = sync_history(parent, revisions, collision_count or None)
    for dup in decision.duplicates:
        await control.delete(dup)
    if decision.create:
        return await control.create(parent, decision.update, collision_count)
    if decision.renumber:
        return await control.renumber(decision.update), collision_count
    return decision.update, collision_count
