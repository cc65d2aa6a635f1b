"""The garbage collector: deletes objects whose owners are gone, and carries out foreground and orphan deletion.

How it works (upstream's ``pkg/controller/garbagecollector``, reduced to its contract):

* **Graph.**  Informers watch every resource that supports list, watch and delete (found through discovery,
  re-read every ``REDISCOVER`` seconds so custom resources join): the process's shared informer when another
  controller already has one for that resource, else a metadata-only one (upstream's ``informerfactory``
  does the same, so a pod event is decoded once, not twice).  Each observed object becomes a
  :class:`Node` (uid, resource, namespace, name, ownerReferences, deletion state); :class:`Graph` also indexes
  dependents by owner uid.  Handlers only update the graph and enqueue work keys.
* **Work keys.**  ``dep:<uid>`` — "maybe delete this dependent": its owners are classified (:class:`OwnerState`:
  solid, dangling, waiting for its dependents' deletion) and :func:`plan_dependent` decides (nothing, drop
  references, or delete with a propagation policy).  ``own:<uid>`` — an owner being deleted with the ``orphan`` or
  ``foregroundDeletion`` finalizer: :func:`plan_owner` decides which references to strip (orphan), which dependents
  to visit, and whether the finalizer may go.
* **Owner lookup.**  An owner in the graph is classified from the graph; one not (yet) observed is read live
  (GET by name, compared by uid: absent or another uid means dangling), like upstream's ``isDangling``.
* Side effects go through :class:`GCActions` (real: the API server; tests: a fake).  Deletes carry a uid
  precondition, so a recreated object of the same name is never hit.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from kybernetes.api.registry import Resource
from kybernetes.client.errors import ApiError, ConflictError, NotFoundError
from kybernetes.client.informer import Informer, strip_managed_fields
from kybernetes.client.rest import Client
from kybernetes.controllers.base import Context, Controller
from kybernetes.controllers.gc_client import Discovery, MetadataClient, discover
from kybernetes.controllers.manager import register

log = logging.getLogger(__name__)

Obj = dict[str, Any]
ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
REDISCOVER = 30.0
SYNC_TIMEOUT = 30.0
# Upstream's ignoredResources: events are never owners or dependents worth a watch.
IGNORED = frozenset({("", "events"), ("events.k8s.io", "events")})


# -- the graph -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Node:
    uid: str
    res: Resource
    namespace: str
    name: str
    owners: tuple[Obj, ...] = ()
    deleting: bool = False
    finalizers: tuple[str, ...] = ()
    resource_version: str = ""

    @property
    def deleting_dependents(self) -> bool:
        return self.deleting and FOREGROUND in self.finalizers

    @property
    def orphaning(self) -> bool:
        return self.deleting and ORPHAN in self.finalizers

    def ref_to(self, owner_uid: str) -> Obj | None:
        for ref in self.owners:
            if ref.get("uid") == owner_uid:
                return ref
        return None


def node_of(res: Resource, obj: Obj) -> Node:
    meta = obj.get("metadata") or {}
    return Node(uid=str(meta.get("uid") or ""), res=res, namespace=str(meta.get("namespace") or ""),
                name=str(meta.get("name") or ""),
                owners=tuple(meta.get("ownerReferences") or ()),  # shared with the cached object: read only
                deleting=bool(meta.get("deletionTimestamp")),
                finalizers=tuple(str(f) for f in meta.get("finalizers") or ()),
                resource_version=str(meta.get("resourceVersion") or ""))


class Graph:
    """Observed objects by uid, and dependents by owner uid (owners need not be observed)."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self._dependents: dict[str, set[str]] = {}

    def upsert(self, node: Node) -> Node | None:
        old = self.nodes.get(node.uid)
        self.nodes[node.uid] = node
        if old is not None:
            if old.owners == node.owners:
                return old
            self._unlink(old)
        for ref in node.owners:
            self._dependents.setdefault(str(ref.get("uid") or ""), set()).add(node.uid)
        return old

    def remove(self, uid: str) -> Node | None:
        old = self.nodes.pop(uid, None)
        if old is not None:
            self._unlink(old)
        return old

    def _unlink(self, node: Node) -> None:
        for ref in node.owners:
            owner_uid = str(ref.get("uid") or "")
            deps = self._dependents.get(owner_uid)
            if deps is not None:
                deps.discard(node.uid)
                if not deps:
                    del self._dependents[owner_uid]

    def dependents(self, uid: str) -> list[Node]:
        return [self.nodes[d] for d in sorted(self._dependents.get(uid, ())) if d in self.nodes]


# -- pure decisions ------------------------------------------------------------------------------------------

class OwnerState(enum.Enum):
    SOLID = "solid"          # exists, not being deleted in the foreground
    DANGLING = "dangling"    # gone, or the name now belongs to another uid
    WAITING = "waiting"      # being deleted with foregroundDeletion: waits for its dependents


@dataclass(frozen=True)
class DependentPlan:
    action: str = "none"  # "none" | "remove-refs" | "delete"
    remove_uids: tuple[str, ...] = ()
    propagation: str = ""


def plan_dependent(node: Node, owner_states: dict[str, OwnerState], has_dependents: bool) -> DependentPlan:
    """What to do with an object given the state of each owner (upstream's attemptToDeleteItem)."""
    if node.deleting or not node.owners:
        return DependentPlan()
    solid = [r for r in node.owners if owner_states.get(str(r.get("uid"))) is OwnerState.SOLID]
    dangling = [str(r.get("uid")) for r in node.owners if owner_states.get(str(r.get("uid"))) is OwnerState.DANGLING]
    waiting = [str(r.get("uid")) for r in node.owners if owner_states.get(str(r.get("uid"))) is OwnerState.WAITING]
    if solid or len(dangling) + len(waiting) < len(node.owners):
        # Unknown owners count as solid: never delete on partial knowledge.
        if not dangling and not waiting:
            return DependentPlan()
        return DependentPlan("remove-refs", tuple(dangling + waiting))
    if waiting and has_dependents:
        return DependentPlan("delete", propagation="Foreground")
    if ORPHAN in node.finalizers:
        return DependentPlan("delete", propagation="Orphan")
    if FOREGROUND in node.finalizers:
        return DependentPlan("delete", propagation="Foreground")
    return DependentPlan("delete", propagation="Background")


@dataclass(frozen=True)
class OwnerPlan:
    orphan: tuple[str, ...] = ()          # dependent uids whose reference to the owner goes
    visit: tuple[str, ...] = ()           # dependent uids to (re)consider for deletion
    remove_finalizer: str = ""            # the finalizer to drop once the above is done


def plan_owner(owner: Node, dependents: list[Node]) -> OwnerPlan:
    """An owner being deleted: orphan its dependents, or wait for the blocking ones (foreground)."""
    if not owner.deleting:
        return OwnerPlan()
    if ORPHAN in owner.finalizers:
        return OwnerPlan(orphan=tuple(d.uid for d in dependents), remove_finalizer=ORPHAN)
    if FOREGROUND in owner.finalizers:
        blocking = [d for d in dependents if (d.ref_to(owner.uid) or {}).get("blockOwnerDeletion")]
        return OwnerPlan(visit=tuple(d.uid for d in dependents), remove_finalizer="" if blocking else FOREGROUND)
    return OwnerPlan()


# -- side effects --------------------------------------------------------------------------------------------

class GCActions(Protocol):
    async def get(self, res: Resource, namespace: str, name: str) -> Obj | None:
        """The live object, None when absent."""
        ...

    async def delete(self, node: Node, propagation: str) -> None:
        ...

    async def remove_owner_refs(self, node: Node, uids: Iterable[str]) -> None:
        ...

    async def remove_finalizer(self, node: Node, finalizer: str) -> None:
        ...


class RealGCActions:
    def __init__(self, client: Client) -> None:
        self.client = client

    async def get(self, res: Resource, namespace: str, name: str) -> Obj | None:
        try:
            return await self.client.get(res, namespace if res.namespaced else "", name)
        except NotFoundError:
            return None

    async def delete(self, node: Node, propagation: str) -> None:
        # NotFound: already gone; Conflict: the name belongs to a new object now.
        with contextlib.suppress(NotFoundError, ConflictError):
            await self.client.delete(node.res, node.namespace, node.name, propagation=propagation,
                                     preconditions={"uid": node.uid})

    async def _patch_meta(self, node: Node, change: str, fn: Any) -> None:
        live = await self.get(node.res, node.namespace, node.name)
        if live is None or (live.get("metadata") or {}).get("uid") != node.uid:
            return
        meta = live["metadata"]
        value = fn(meta)
        await self.client.patch(node.res, node.namespace, node.name,
                                {"metadata": {"resourceVersion": meta.get("resourceVersion"), change: value}})

    async def remove_owner_refs(self, node: Node, uids: Iterable[str]) -> None:
        drop = set(uids)
        await self._patch_meta(node, "ownerReferences", lambda meta: [
            r for r in meta.get("ownerReferences") or [] if r.get("uid") not in drop] or None)

    async def remove_finalizer(self, node: Node, finalizer: str) -> None:
        await self._patch_meta(node, "finalizers", lambda meta: [
            f for f in meta.get("finalizers") or [] if f != finalizer] or None)


# -- the controller ------------------------------------------------------------------------------------------

@dataclass
class _Watched:
    informer: Informer
    task: asyncio.Task[None] | None  # None: a shared informer, run by the manager


@dataclass
class GCState:
    discovery: Discovery = field(default_factory=Discovery)
    kinds: dict[tuple[str, str], Resource] = field(default_factory=dict)
    watched: dict[tuple[str, str, str], _Watched] = field(default_factory=dict)


@register
class GarbageCollector(Controller):
    name = "garbagecollector"
    component = "garbage-collector-controller"
    workers = 8

    def __init__(self, ctx: Context, actions: GCActions | None = None) -> None:
        super().__init__(ctx)
        self.graph = Graph()
        self.state = GCState()
        self.actions: GCActions = actions or RealGCActions(ctx.client)
        self.metadata_client = MetadataClient(ctx.client)
        self.synced = asyncio.Event()
        self.rediscover = float(ctx.options.get("gc_rediscover_seconds", REDISCOVER))

    # -- graph maintenance (handlers: update the graph, enqueue keys) --------------------------------------

    def observe(self, res: Resource, obj: Obj) -> None:
        node = node_of(res, obj)
        if not node.uid:
            return
        old = self.graph.upsert(node)
        changed = old is None or old.owners != node.owners or old.deleting != node.deleting \
            or old.finalizers != node.finalizers
        if node.owners and changed:
            self.queue.add(f"dep:{node.uid}")
        if node.orphaning or node.deleting_dependents:
            self.queue.add(f"own:{node.uid}")
        if old is not None and changed:
            for ref in old.owners:
                self._poke_owner(str(ref.get("uid") or ""))

    def forget(self, obj: Obj) -> None:
        uid = str((obj.get("metadata") or {}).get("uid") or "")
        node = self.graph.remove(uid)
        for dep in self.graph.dependents(uid):
            self.queue.add(f"dep:{dep.uid}")
        if node is not None:
            for ref in node.owners:
                self._poke_owner(str(ref.get("uid") or ""))

    def _poke_owner(self, uid: str) -> None:
        owner = self.graph.nodes.get(uid)
        if owner is not None and (owner.orphaning or owner.deleting_dependents):
            self.queue.add(f"own:{uid}")

    # -- sync ------------------------------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        await self.synced.wait()
        kind, _, uid = key.partition(":")
        node = self.graph.nodes.get(uid)
        if node is None:
            return
        if kind == "own":
            await self._sync_owner(node)
        else:
            await self._sync_dependent(node)

    async def _sync_dependent(self, node: Node) -> None:
        if node.deleting_dependents:
            await self._sync_owner(node)
            return
        states = {str(ref.get("uid")): await self.owner_state(node, ref) for ref in node.owners}
        plan = plan_dependent(node, states, bool(self.graph.dependents(node.uid)))
        if plan.action == "remove-refs":
            await self.actions.remove_owner_refs(node, plan.remove_uids)
        elif plan.action == "delete":
            log.debug("gc: deleting %s %s/%s (%s)", node.res.kind, node.namespace, node.name, plan.propagation)
            await self.actions.delete(node, plan.propagation)

    async def _sync_owner(self, owner: Node) -> None:
        dependents = self.graph.dependents(owner.uid)
        plan = plan_owner(owner, dependents)
        for uid in plan.orphan:
            dep = self.graph.nodes.get(uid)
            if dep is not None:
                await self.actions.remove_owner_refs(dep, [owner.uid])
        for uid in plan.visit:
            self.queue.add(f"dep:{uid}")
        if plan.remove_finalizer:
            await self.actions.remove_finalizer(owner, plan.remove_finalizer)

    async def owner_state(self, node: Node, ref: Obj) -> OwnerState:
        uid = str(ref.get("uid") or "")
        owner = self.graph.nodes.get(uid)
        if owner is not None:
            return OwnerState.WAITING if owner.deleting_dependents else OwnerState.SOLID
        res = self.state.kinds.get((str(ref.get("apiVersion") or ""), str(ref.get("kind") or "")))
        if res is None:
            log.debug("gc: cannot resolve owner %s %s; treating it as present", ref.get("apiVersion"), ref.get("kind"))
            return OwnerState.SOLID
        if res.namespaced and not node.namespace:
            return OwnerState.DANGLING  # a cluster-scoped object cannot have a namespaced owner
        live = await self.actions.get(res, node.namespace, str(ref.get("name") or ""))
        if live is None or (live.get("metadata") or {}).get("uid") != uid:
            return OwnerState.DANGLING
        meta = live.get("metadata") or {}
        if meta.get("deletionTimestamp") and FOREGROUND in (meta.get("finalizers") or []):
            return OwnerState.WAITING
        return OwnerState.SOLID

    # -- informers over every resource -------------------------------------------------------------------

    def _watch(self, tg: asyncio.TaskGroup, res: Resource) -> Informer:
        shared = self.ctx.informers.existing(res)
        inf = shared if shared is not None and shared.started else Informer(
            self.metadata_client, res, transform=strip_managed_fields)
        inf.add_handlers(on_add=lambda obj: self.observe(res, obj),
                         on_update=lambda _old, obj: self.observe(res, obj),
                         on_delete=self.forget)
        task = None if inf is shared else tg.create_task(inf.run(), name=f"gc informer {res.plural}.{res.group}")
        self.state.watched[(res.group, res.version, res.plural)] = _Watched(inf, task)
        return inf

    async def _refresh(self, tg: asyncio.TaskGroup) -> list[Informer]:
        try:
            found = await discover(self.client)
        except ApiError as exc:
            log.debug("gc: discovery failed: %s", exc)
            return []
        self.state.discovery = found
        self.state.kinds = found.by_kind()
        wanted = {(r.group, r.version, r.plural): r for r in found.resources
                  if {"list", "watch", "delete"} <= set(r.verbs) and (r.group, r.plural) not in IGNORED}
        started = [self._watch(tg, res) for key, res in wanted.items() if key not in self.state.watched]
        # a shared informer keeps running (the manager owns it): its entry stays so its handlers stay single
        for key in [k for k, w in self.state.watched.items()
                    if w.task is not None and k not in wanted and not _failed_group(found, k)]:
            task = self.state.watched.pop(key).task
            if task is not None:
                task.cancel()
        return started

    async def background(self) -> None:
        async with asyncio.TaskGroup() as tg:
            while True:
                started = await self._refresh(tg)
                if started:
                    # A resource that cannot be listed must not hold the collector back forever.
                    waits = [asyncio.ensure_future(inf.synced.wait()) for inf in started]
                    _, pending = await asyncio.wait(waits, timeout=SYNC_TIMEOUT)
                    for fut in pending:
                        fut.cancel()
                if self.state.watched:
                    self.synced.set()
                await asyncio.sleep(self.rediscover if self.synced.is_set() else 1.0)


def _failed_group(found: Discovery, key: tuple[str, str, str]) -> bool:
    return f"{key[0]}/{key[1]}" in found.failed
