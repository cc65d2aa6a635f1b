"""The namespace controller: empties a namespace being deleted, then releases its ``kubernetes`` finalizer.

Upstream's ``pkg/controller/namespace`` flow for a namespace with a deletionTimestamp whose ``spec.finalizers``
holds ``kubernetes``:

1. discover every namespaced resource that can be deleted;
2. delete each one's content (``deletecollection`` when served, else one delete per object), background propagation;
3. list what is left (metadata only) and count remaining objects per resource and per finalizer;
4. write the status conditions (:func:`namespace_conditions`: NamespaceDeletionDiscoveryFailure,
   NamespaceDeletionGroupVersionParsingFailure, NamespaceDeletionContentFailure, NamespaceContentRemaining,
   NamespaceFinalizersRemaining with upstream's reasons and messages) through ``namespaces/<name>/status``;
5. if nothing is left, PUT ``namespaces/<name>/finalize`` without ``kubernetes``; the API server then deletes the
   namespace.  Otherwise check again after ``RECHECK`` seconds (pods may still be terminating).

Side effects go through :class:`NamespaceActions` (real and fake implementations).
"""

from __future__ import annotations

import contextlib
import copy
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from kybernetes.api.registry import Resource
from kybernetes.client.errors import ApiError, ConflictError, NotFoundError
from kybernetes.client.informer import split_key
from kybernetes.client.rest import Client, path, resource
from kybernetes.controllers.base import Controller
from kybernetes.controllers.common import now_rfc3339
from kybernetes.controllers.gc_client import Discovery, MetadataClient, discover
from kybernetes.controllers.manager import register

log = logging.getLogger(__name__)

Obj = dict[str, Any]
NAMESPACES = resource("", "v1", "namespaces")
FINALIZER = "kubernetes"
RECHECK = 1.0

CONDITION_TYPES = ("NamespaceDeletionDiscoveryFailure", "NamespaceDeletionGroupVersionParsingFailure",
                   "NamespaceDeletionContentFailure", "NamespaceContentRemaining", "NamespaceFinalizersRemaining")
OK = {
    "NamespaceDeletionDiscoveryFailure": ("ResourcesDiscovered", "All resources successfully discovered"),
    "NamespaceDeletionGroupVersionParsingFailure": ("ParsedGroupVersions", "All legacy kube types successfully parsed"),
    "NamespaceDeletionContentFailure": ("ContentDeleted",
                                        "All content successfully deleted, may be waiting on finalization"),
    "NamespaceContentRemaining": ("ContentRemoved", "All content successfully removed"),
    "NamespaceFinalizersRemaining": ("ContentHasNoFinalizers", "All content-preserving finalizers finished"),
}


# -- pure decisions ------------------------------------------------------------------------------------------

@dataclass
class DeletionReport:
    """What one pass over the namespace's content found."""

    discovery_failed: dict[str, str] = field(default_factory=dict)   # "group/version" → message
    delete_errors: list[str] = field(default_factory=list)
    remaining: dict[tuple[str, str], int] = field(default_factory=dict)  # (resource, group) → count
    finalizers: dict[str, int] = field(default_factory=dict)          # finalizer → objects carrying it

    @property
    def done(self) -> bool:
        return not self.discovery_failed and not self.delete_errors and not any(self.remaining.values())


def count_remaining(res: Resource, items: list[Obj], report: DeletionReport) -> None:
    """Add what is left of one resource to ``report``."""
    if not items:
        return
    report.remaining[(res.plural, res.group)] = report.remaining.get((res.plural, res.group), 0) + len(items)
    for item in items:
        for fin in (item.get("metadata") or {}).get("finalizers") or []:
            report.finalizers[fin] = report.finalizers.get(fin, 0) + 1


def wanted_conditions(report: DeletionReport) -> dict[str, tuple[str, str, str]]:
    """type → (status, reason, message) for every namespace deletion condition."""
    out = {t: ("False", *OK[t]) for t in CONDITION_TYPES}
    if report.discovery_failed:
        groups = ", ".join(f"{gv}: {msg}" for gv, msg in sorted(report.discovery_failed.items()))
        out["NamespaceDeletionDiscoveryFailure"] = (
            "True", "DiscoveryFailed",
            f"Discovery failed for some groups, {len(report.discovery_failed)} failing: "
            f"unable to retrieve the complete list of server APIs: {groups}")
    if report.delete_errors:
        msgs = sorted(report.delete_errors)
        out["NamespaceDeletionContentFailure"] = (
            "True", "ContentDeletionFailed",
            f"Failed to delete all resource types, {len(msgs)} remaining: {', '.join(msgs)}")
    remaining = sorted(f"{r}.{g} has {n} resource instances" for (r, g), n in report.remaining.items() if n)
    if remaining:
        out["NamespaceContentRemaining"] = ("True", "SomeResourcesRemain",
                                            f"Some resources are remaining: {', '.join(remaining)}")
    fins = sorted(f"{f} in {n} resource instances" for f, n in report.finalizers.items() if n)
    if fins:
        out["NamespaceFinalizersRemaining"] = (
            "True", "SomeFinalizersRemain",
            f"Some content in the namespace has finalizers remaining: {', '.join(fins)}")
    return out


def namespace_conditions(current: list[Obj], report: DeletionReport, now: str) -> tuple[list[Obj], bool]:
    """The namespace's new ``status.conditions`` and whether they changed (upstream's updateConditions: the
    transition time moves only when the status flips)."""
    conditions = [dict(c) for c in current]
    changed = False
    for ctype, (status, reason, message) in wanted_conditions(report).items():
        old = next((c for c in conditions if c.get("type") == ctype), None)
        if old is None:
            conditions.append({"type": ctype, "status": status, "lastTransitionTime": now, "reason": reason,
                               "message": message})
            changed = True
        elif (old.get("status"), old.get("reason"), old.get("message")) != (status, reason, message):
            if old.get("status") != status:
                old["lastTransitionTime"] = now
            old.update(status=status, reason=reason, message=message)
            changed = True
    return conditions, changed


def needs_cleanup(ns: Obj) -> bool:
    """Being deleted and still holding the ``kubernetes`` finalizer."""
    return bool((ns.get("metadata") or {}).get("deletionTimestamp")) and \
        FINALIZER in ((ns.get("spec") or {}).get("finalizers") or [])


def deletable_namespaced(found: Discovery) -> list[Resource]:
    return [r for r in found.resources if r.namespaced and "delete" in r.verbs and "list" in r.verbs]


# -- side effects --------------------------------------------------------------------------------------------

class NamespaceActions(Protocol):
    async def discover(self) -> Discovery: ...

    async def delete_all(self, res: Resource, namespace: str) -> None:
        """Delete every object of ``res`` in ``namespace`` (background propagation)."""
        ...

    async def list_metadata(self, res: Resource, namespace: str) -> list[Obj]: ...

    async def update_status(self, ns: Obj) -> None: ...

    async def finalize(self, ns: Obj) -> None: ...


class RealNamespaceActions:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.metadata = MetadataClient(client)

    async def discover(self) -> Discovery:
        return await discover(self.client)

    async def delete_all(self, res: Resource, namespace: str) -> None:
        if "deletecollection" in res.verbs:
            await self.client.request("DELETE", path(res, namespace),
                                      body={"kind": "DeleteOptions", "apiVersion": "v1",
                                            "propagationPolicy": "Background"})
            return
        for item in await self.list_metadata(res, namespace):
            with contextlib.suppress(NotFoundError):
                await self.client.delete(res, namespace, item["metadata"]["name"], propagation="Background")

    async def list_metadata(self, res: Resource, namespace: str) -> list[Obj]:
        items, _ = await self.metadata.list_all(res, namespace)
        return items

    async def update_status(self, ns: Obj) -> None:
        await self.client.update(NAMESPACES, "", ns["metadata"]["name"], ns, subresource="status")

    async def finalize(self, ns: Obj) -> None:
        await self.client.update(NAMESPACES, "", ns["metadata"]["name"], ns, subresource="finalize")


# -- the controller ------------------------------------------------------------------------------------------

@register
class NamespaceController(Controller):
    name = "namespace"
    component = "namespace-controller"
    workers = 4

    def setup(self) -> None:
        self.actions: NamespaceActions = RealNamespaceActions(self.client)
        self.informer = self.ctx.informers.informer(NAMESPACES)
        self.informer.add_handlers(on_add=self._maybe_enqueue, on_update=lambda _o, n: self._maybe_enqueue(n))

    def _maybe_enqueue(self, ns: Obj) -> None:
        if needs_cleanup(ns):
            self.enqueue(ns)

    async def sync(self, key: str) -> None:
        _, name = split_key(key)
        cached = self.informer.lister.get("", name)
        if cached is None or not needs_cleanup(cached):
            return
        ns = copy.deepcopy(cached)
        report = await self.delete_content(name)
        conditions, changed = namespace_conditions((ns.get("status") or {}).get("conditions") or [], report,
                                                   now_rfc3339())
        if changed:
            ns.setdefault("status", {})["conditions"] = conditions
            try:
                await self.actions.update_status(ns)
            except (ConflictError, NotFoundError):
                self.queue.add_after(key, RECHECK)
                return
            ns = copy.deepcopy(self.informer.lister.get("", name) or ns)
            ns.setdefault("status", {})["conditions"] = conditions
        if not report.done:
            self.queue.add_after(key, RECHECK)
            return
        ns.setdefault("spec", {})["finalizers"] = [f for f in ns["spec"].get("finalizers") or [] if f != FINALIZER]
        ns["metadata"].pop("resourceVersion", None)
        try:
            await self.actions.finalize(ns)
        except NotFoundError:
            return

    async def delete_content(self, namespace: str) -> DeletionReport:
        """One pass: delete everything, then count what is left."""
        report = DeletionReport()
        try:
            found = await self.actions.discover()
        except ApiError as exc:
            report.discovery_failed["discovery"] = exc.message
            return report
        report.discovery_failed.update(found.failed)
        resources = deletable_namespaced(found)
        for res in resources:
            try:
                await self.actions.delete_all(res, namespace)
            except NotFoundError:
                pass
            except ApiError as exc:
                report.delete_errors.append(f"{res.plural}.{res.group}: {exc.message}")
        for res in resources:
            try:
                count_remaining(res, await self.actions.list_metadata(res, namespace), report)
            except ApiError as exc:
                report.delete_errors.append(f"{res.plural}.{res.group}: {exc.message}")
        return report
