"""The generic REST store: create, get, list, update, delete for any registry resource over a Storage.

Every verb handler ends here.  The store owns the parts every kind shares (metadata bookkeeping, optimistic
concurrency, version conversion, finalizers and graceful deletion, dry run) and asks the kind's
:class:`~kybernetes.api.strategy.Strategy` and the :class:`Hooks` (allocation, admission) for the rest.
Storage errors become Status errors here, per verb, like upstream's ``InterpretCreateError`` and friends.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

import orjson

from kybernetes.api import conversion, errors
from kybernetes.api.registry import Resource
from kybernetes.api.strategies import strategy_for
from kybernetes.api.strategy import Strategy
from kybernetes.apiserver import objects
from kybernetes.apiserver.objects import Obj
from kybernetes.apiserver.suggestions import Suggestions
from kybernetes.storage.interface import (
    CompactedError,
    ConflictError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    Storage,
)

# kinds whose metadata.generation upstream starts at 1 and bumps on spec changes
GENERATION_KINDS = frozenset({
    ("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "DaemonSet"), ("apps", "StatefulSet"),
    ("", "ReplicationController"), ("batch", "Job"), ("batch", "CronJob"), ("autoscaling", "HorizontalPodAutoscaler"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"), ("", "Pod"), ("policy", "PodDisruptionBudget"),
    ("networking.k8s.io", "NetworkPolicy"),
})
# kinds an update may create (upstream AllowCreateOnUpdate)
CREATE_ON_UPDATE = frozenset({("", "Event"), ("events.k8s.io", "Event"), ("coordination.k8s.io", "Lease"),
                              ("", "Endpoints"), ("discovery.k8s.io", "EndpointSlice")})
MAX_CONFLICT_RETRIES = 16
# subresources whose handler computes the new object itself, bypassing the kind's update rules
SERVER_SIDE_CHANGES = frozenset({"binding", "finalize"})  # finalize: only spec.finalizers changes


class Hooks(Protocol):
    """Kind-specific side effects the store calls around writes (allocation, admission, CRD registration)."""

    async def before_create(self, res: Resource, obj: Obj, dry_run: bool) -> None: ...
    async def before_update(self, res: Resource, new: Obj, old: Obj, dry_run: bool) -> None: ...
    async def after_write(self, res: Resource, obj: Obj | None, old: Obj | None) -> None: ...
    async def rollback_create(self, res: Resource, obj: Obj) -> None: ...


class NoHooks:
    async def before_create(self, res: Resource, obj: Obj, dry_run: bool) -> None:
        return None

    async def before_update(self, res: Resource, new: Obj, old: Obj, dry_run: bool) -> None:
        return None

    async def after_write(self, res: Resource, obj: Obj | None, old: Obj | None) -> None:
        return None

    async def rollback_create(self, res: Resource, obj: Obj) -> None:
        return None


@dataclass
class WriteOptions:
    dry_run: bool = False
    field_manager: str = ""
    subresource: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class ListOptions:
    label_selector: Callable[[dict[str, str]], bool] | None = None
    field_selector: Callable[[Obj], bool] | None = None
    limit: int = 0
    continue_token: str = ""
    resource_version: str = ""
    resource_version_match: str = ""


@dataclass
class ListPage:
    items: list[Obj]
    resource_version: int
    continue_token: str = ""
    remaining: int | None = None


# (resource, old, new, manager, subresource) -> new with managedFields updated for an Update operation
Tracker = Callable[[Resource, Obj | None, Obj, str, str], Obj]
Written = Callable[[Resource, str, int, Obj], None]


def _conflict_on_stale(res: Resource, name: str) -> errors.StatusError:
    return errors.conflict(res.plural, res.group, name, errors.STALE_OBJECT)


class RestStore:
    """Generic verbs over one Storage for every resource of a registry."""

    def __init__(self, storage: Storage, hooks: Hooks | None = None, track_fields: Tracker | None = None,
                 on_written: Written | None = None) -> None:
        self.storage = storage
        self.hooks: Hooks = hooks or NoHooks()
        self._track_fields = track_fields
        # told (resource, key, revision, object as served) after every committed create or update; the object is
        # shared from then on: nobody may change it
        self._on_written = on_written
        self._custom_strategies: dict[tuple[str, str], Strategy] = {}
        self.suggestions = Suggestions()

    # -- strategy and conversion -------------------------------------------------------------------------

    def set_custom_strategy(self, group: str, kind: str, strategy: Strategy) -> None:
        self._custom_strategies[(group, kind)] = strategy

    def strategy(self, res: Resource) -> Strategy:
        custom = self._custom_strategies.get((res.group, res.kind))
        return custom if custom is not None else strategy_for(res.group, res.kind)

    @staticmethod
    def to_storage(res: Resource, obj: Obj) -> Obj:
        if res.is_custom:
            return {**obj, "apiVersion": res.storage_api_version or res.api_version}
        if res.stored_in_other_version:
            return conversion.convert(obj, res.storage_api_version)
        return obj

    @staticmethod
    def from_storage(res: Resource, obj: Obj) -> Obj:
        if res.is_custom:
            out = {**obj, "apiVersion": res.api_version}
        elif res.stored_in_other_version:
            out = conversion.convert(obj, res.api_version)
        else:
            out = obj
        out.setdefault("apiVersion", res.api_version)
        out.setdefault("kind", res.kind)
        return out

    def decode(self, res: Resource, kv: KeyValue) -> Obj:
        return self.from_storage(res, objects.decode_from_store(kv))

    def _track(self, res: Resource, old: Obj | None, new: Obj, manager: str, subresource: str) -> Obj:
        """``new`` with its managedFields entry for ``manager`` (the store owns ``new``: it may change in place)."""
        if self._track_fields is None or not manager:
            return new
        return self._track_fields(res, old, new, manager, subresource)

    # -- get / list ----------------------------------------------------------------------------------------

    async def get(self, res: Resource, namespace: str, name: str) -> Obj:
        try:
            kv = await self.storage.get(res.key(namespace, name))
        except KeyNotFoundError:
            raise errors.not_found(res.plural, res.group, name) from None
        return self.decode(res, kv)

    async def list(self, res: Resource, namespace: str, opts: ListOptions) -> ListPage:
        """One page of a list with selectors applied; paging continues across filtered-out items."""
        prefix = res.prefix(namespace)
        revision = 0
        start_after = ""
        if opts.continue_token:
            revision, start_after = _decode_continue(opts.continue_token, prefix)
        elif opts.resource_version and opts.resource_version_match == "Exact":
            revision = _parse_rv(opts.resource_version)
        filtered = opts.label_selector is not None or opts.field_selector is not None
        items: list[Obj] = []
        want = opts.limit if opts.limit > 0 else 0
        while True:
            batch = max(want - len(items), 0) if want else 0
            if filtered and want:
                batch = max(batch, 100)
            try:
                result = await self.storage.list(prefix, revision=revision, limit=batch, start_after=start_after)
            except CompactedError as exc:
                if opts.continue_token:
                    raise errors.expired(
                        "The provided continue parameter is too old to display a consistent list result. You "
                        "can start a new list without the continue parameter.") from exc
                raise errors.expired(f"too old resource version: {revision} ({exc.compacted})") from exc
            revision = result.revision
            consumed = 0
            for kv in result.items:
                consumed += 1
                start_after = kv.key
                obj = self.decode(res, kv)
                if opts.label_selector is not None and not opts.label_selector(
                        (obj.get("metadata") or {}).get("labels") or {}):
                    continue
                if opts.field_selector is not None and not opts.field_selector(obj):
                    continue
                items.append(obj)
                if want and len(items) >= want:
                    break
            if want and len(items) >= want:
                more = result.more or consumed < len(result.items)
                token = _encode_continue(revision, start_after) if more else ""
                remaining = None
                if more and not filtered:
                    # the storage counted what follows its last row: no second query (and no await while
                    # this page's decoded items are held)
                    remaining = len(result.items) - consumed + result.remaining if result.more else \
                        len(result.items) - consumed
                return ListPage(items, revision, token, remaining)
            if not result.more:
                return ListPage(items, revision)

    # -- create --------------------------------------------------------------------------------------------

    async def create(self, res: Resource, namespace: str, obj: Obj, opts: WriteOptions) -> Obj:
        obj = objects.deepcopy(obj)
        meta = objects.meta(obj)
        self._check_type(res, obj)
        if res.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and body_ns != namespace:
                raise errors.bad_request("the namespace of the provided object does not match the namespace sent "
                                         "on the request")
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = meta["generateName"] + objects.random_suffix()
            else:
                raise errors.invalid(res.kind, res.group, "", [
                    errors.required("metadata.name", "name or generateName is required")])
        for key in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(key, None)
        meta["uid"] = objects.new_uid()
        meta["creationTimestamp"] = objects.rfc3339()
        stored = self.to_storage(res, obj)
        strategy = self.strategy(res)
        strategy.prepare_for_create(stored)
        if _tracks_generation(res):
            objects.meta(stored)["generation"] = 1
        else:
            objects.meta(stored).pop("generation", None)
        strategy.default(stored)
        # as upstream, the requester owns the fields of its (defaulted) object, not those admission adds
        stored = self._track(res, None, stored, opts.field_manager, "")
        await self.hooks.before_create(res, stored, opts.dry_run)
        try:
            field_errors = strategy.validate(stored)
            if field_errors:
                raise errors.invalid(res.kind, res.group, meta["name"], field_errors)
            opts.warnings.extend(strategy.warnings(stored))
            if opts.dry_run:
                return self.from_storage(res, objects.deepcopy(stored))
            key = res.key(namespace, meta["name"])
            try:
                kv = await self.storage.create(key, objects.encode_for_store(stored))
            except KeyExistsError:
                raise errors.already_exists(res.plural, res.group, meta["name"]) from None
        except BaseException:
            await self.hooks.rollback_create(res, stored)
            raise
        objects.meta(stored)["resourceVersion"] = str(kv.mod_revision)
        result = self.from_storage(res, stored)
        self.suggestions.remember(kv, stored if result is stored else None)
        if self._on_written is not None:
            self._on_written(res, key, kv.mod_revision, result)
        await self.hooks.after_write(res, stored, None)
        return result

    @staticmethod
    def _check_type(res: Resource, obj: Obj) -> None:
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if api_version and api_version != res.api_version:
            raise errors.bad_request(f"the API version in the data ({api_version}) does not match the expected API "
                                     f"version ({res.api_version})")
        if kind and kind != res.kind:
            raise errors.bad_request(f"the kind in the data ({kind}) does not match the expected kind ({res.kind})")
        obj["apiVersion"] = res.api_version
        obj["kind"] = res.kind

    # -- update / patch ------------------------------------------------------------------------------------

    async def update(self, res: Resource, namespace: str, name: str, obj: Obj, opts: WriteOptions) -> tuple[Obj, bool]:
        """PUT semantics.  Returns (object, created)."""
        obj = objects.deepcopy(obj)
        self._check_type(res, obj)
        meta = objects.meta(obj)
        if meta.get("name") and meta["name"] != name:
            raise errors.bad_request(f"the name of the object ({meta['name']}) does not match the name on the URL "
                                     f"({name})")
        meta["name"] = name
        if res.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise errors.bad_request("the namespace of the provided object does not match the namespace sent "
                                         "on the request")
            meta["namespace"] = namespace
        wanted_rv = meta.get("resourceVersion") or ""

        async def compute(old: Obj) -> Obj:
            if wanted_rv and wanted_rv != old["metadata"].get("resourceVersion"):
                raise _conflict_on_stale(res, name)
            return objects.deepcopy(obj)

        try:
            return await self._update_loop(res, namespace, name, compute, opts), False
        except errors.StatusError as exc:
            if exc.code != 404 or (res.group, res.kind) not in CREATE_ON_UPDATE or opts.subresource:
                raise
        return await self.create(res, namespace, obj, opts), True

    async def patch(self, res: Resource, namespace: str, name: str,
                    apply_patch: Callable[[Obj], Awaitable[Obj]], opts: WriteOptions) -> Obj:
        """Apply ``apply_patch`` to the current object and write it, retrying on conflicts."""

        async def compute(old: Obj) -> Obj:
            old_meta = dict(old["metadata"])  # ``apply_patch`` may change ``old`` in place: it is ours to change
            patched = await apply_patch(old)
            pm = objects.meta(patched)
            rv = pm.get("resourceVersion")
            if rv and rv != old_meta.get("resourceVersion"):
                raise _conflict_on_stale(res, name)
            for key in ("name", "namespace"):
                if key in old_meta and pm.get(key) != old_meta[key]:
                    if pm.get(key) is not None:
                        raise errors.bad_request(f"the {key} of the object ({pm.get(key)}) does not match the "
                                                 f"{key} on the URL ({old_meta[key]})")
                    pm[key] = old_meta[key]
            return patched

        return await self._update_loop(res, namespace, name, compute, opts)

    async def _update_loop(self, res: Resource, namespace: str, name: str,
                           compute: Callable[[Obj], Awaitable[Obj]], opts: WriteOptions) -> Obj:
        key = res.key(namespace, name)
        strategy = self.strategy(res)
        for attempt in range(MAX_CONFLICT_RETRIES):
            kv = self.suggestions.get(key) if attempt == 0 else None
            if kv is None:
                try:
                    kv = await self.storage.get(key)
                except KeyNotFoundError:
                    self.suggestions.forget(key)
                    raise errors.not_found(res.plural, res.group, name) from None
            old_stored = self.suggestions.decoded(kv) if attempt == 0 else None  # read only: shared
            if old_stored is None:
                old_stored = objects.decode_from_store(kv)
            # ``compute`` owns this copy (a second decode is cheaper than a deep copy)
            new_served = await compute(self.from_storage(res, objects.decode_from_store(kv)))
            self._check_type(res, new_served)
            new = self.to_storage(res, new_served)
            self._carry_metadata(new, old_stored)
            if opts.subresource in SERVER_SIDE_CHANGES:
                field_errors = []  # the subresource handler made a checked change (binding: spec.nodeName)
            elif opts.subresource == "status":
                strategy.prepare_for_status_update(new, old_stored)
                strategy.default(new)
                field_errors = strategy.validate_status_update(new, old_stored)
            else:
                strategy.prepare_for_update(new, old_stored)
                strategy.default(new)
                if _tracks_generation(res) and strategy.generation_changes(new, old_stored):
                    objects.meta(new)["generation"] = int(old_stored["metadata"].get("generation") or 0) + 1
                await self.hooks.before_update(res, new, old_stored, opts.dry_run)
                field_errors = strategy.validate_update(new, old_stored)
            if field_errors:
                raise errors.invalid(res.kind, res.group, name, field_errors)
            opts.warnings.extend(strategy.warnings(new))
            if opts.subresource != "binding":  # upstream's binding writes the pod without a managedFields entry
                new = self._track(res, old_stored, new, opts.field_manager, opts.subresource)
            objects.meta(new)["resourceVersion"] = old_stored["metadata"]["resourceVersion"]
            if objects.same_ignoring_bookkeeping(new, old_stored):
                return self.from_storage(res, old_stored)
            if opts.dry_run:
                return self.from_storage(res, new)
            meta = objects.meta(new)
            if meta.get("deletionTimestamp") and not _pending_finalizers(res, new) and \
                    not meta.get("deletionGracePeriodSeconds"):
                self.suggestions.forget(key)
                try:
                    deleted = await self.storage.delete(key, kv.mod_revision)
                except ConflictError:
                    continue
                except KeyNotFoundError:
                    raise errors.not_found(res.plural, res.group, name) from None
                result = self.from_storage(res, new)
                objects.meta(result)["resourceVersion"] = str(deleted.mod_revision)
                await self.hooks.after_write(res, None, old_stored)
                return result
            try:
                written = await self.storage.update(key, objects.encode_for_store(new), kv.mod_revision,
                                                    current=kv)
            except ConflictError:
                continue
            except KeyNotFoundError:
                if attempt == 0 and self.suggestions.get(key) is kv:
                    continue  # the suggestion outlived the object: ask the store
                raise errors.not_found(res.plural, res.group, name) from None
            objects.meta(new)["resourceVersion"] = str(written.mod_revision)
            result = self.from_storage(res, new)  # what was just encoded: no need to decode it again
            self.suggestions.remember(written, new if result is new else None)
            if self._on_written is not None:
                self._on_written(res, key, written.mod_revision, result)
            await self.hooks.after_write(res, result, old_stored)
            return result
        raise _conflict_on_stale(res, name)

    @staticmethod
    def _carry_metadata(new: Obj, old: Obj) -> None:
        """Fields an update may not change: the server owns them."""
        nm, om = objects.meta(new), old["metadata"]
        for key in ("uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds"):
            if key in om:
                nm[key] = om[key]
            else:
                nm.pop(key, None)
        nm.pop("selfLink", None)
        if "namespace" in om:
            nm["namespace"] = om["namespace"]

    # -- delete --------------------------------------------------------------------------------------------

    async def delete(self, res: Resource, namespace: str, name: str, options: Obj,
                     opts: WriteOptions) -> tuple[Obj, bool]:
        """Returns (object or Status, deleted_now).  Finalizers and graceful pods defer the deletion."""
        key = res.key(namespace, name)
        self.suggestions.forget(key)
        for _attempt in range(MAX_CONFLICT_RETRIES):
            try:
                kv = await self.storage.get(key)
            except KeyNotFoundError:
                raise errors.not_found(res.plural, res.group, name) from None
            old = objects.decode_from_store(kv)
            meta = old["metadata"]
            _check_preconditions(res, name, meta, options.get("preconditions") or {})
            new = objects.deepcopy(old)
            nm = new["metadata"]
            finalizers = list(nm.get("finalizers") or [])
            propagation = options.get("propagationPolicy") or _legacy_propagation(options)
            if propagation == "Foreground" and "foregroundDeletion" not in finalizers:
                finalizers.append("foregroundDeletion")
            elif propagation == "Orphan" and "orphan" not in finalizers:
                finalizers.append("orphan")
            grace = self._grace_period(res, old, options)
            if finalizers or grace or _pending_finalizers(res, old):
                deleting_since = nm.get("deletionTimestamp")
                current_grace = int(nm.get("deletionGracePeriodSeconds") or 0)
                if deleting_since and finalizers == list(nm.get("finalizers") or []) and grace >= current_grace:
                    return self.from_storage(res, old), False
                if finalizers:
                    nm["finalizers"] = finalizers
                if not deleting_since or grace < current_grace:
                    nm["deletionTimestamp"] = objects.rfc3339(objects.now() + timedelta(seconds=grace))
                nm["deletionGracePeriodSeconds"] = grace
                if res.kind == "Namespace" and res.group == "":
                    new.setdefault("status", {})["phase"] = "Terminating"
                if opts.dry_run:
                    return self.from_storage(res, new), False
                try:
                    written = await self.storage.update(key, objects.encode_for_store(new), kv.mod_revision,
                                                    current=kv)
                except ConflictError:
                    continue
                result = self.decode(res, written)
                await self.hooks.after_write(res, result, old)
                return result, False
            if opts.dry_run:
                return _success_status(res, name, meta.get("uid", "")), True
            try:
                deleted = await self.storage.delete(key, kv.mod_revision)
            except ConflictError:
                continue
            except KeyNotFoundError:
                raise errors.not_found(res.plural, res.group, name) from None
            await self.hooks.after_write(res, None, old)
            if res.kind == "Pod" and res.group == "":
                gone = self.from_storage(res, old)
                objects.meta(gone)["resourceVersion"] = str(deleted.mod_revision)
                return gone, True
            return _success_status(res, name, meta.get("uid", "")), True
        raise _conflict_on_stale(res, name)

    @staticmethod
    def _grace_period(res: Resource, obj: Obj, options: Obj) -> int:
        """Only pods bound to a node and not finished delete gracefully (the kubelet confirms with grace 0)."""
        if res.kind != "Pod" or res.group != "":
            return 0
        spec = obj.get("spec") or {}
        phase = (obj.get("status") or {}).get("phase")
        if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
            return 0
        grace = options.get("gracePeriodSeconds")
        if grace is None:
            grace = spec.get("terminationGracePeriodSeconds", 30)
        grace = int(grace)
        return max(grace, 0)


def _tracks_generation(res: Resource) -> bool:
    return res.is_custom or (res.group, res.kind) in GENERATION_KINDS


def _pending_finalizers(res: Resource, obj: Obj) -> list[str]:
    """Finalizers that hold a deletion: metadata.finalizers, and for namespaces also spec.finalizers."""
    pending = list((obj.get("metadata") or {}).get("finalizers") or [])
    if res.kind == "Namespace" and res.group == "":
        pending += list((obj.get("spec") or {}).get("finalizers") or [])
    return pending


def _legacy_propagation(options: Obj) -> str:
    orphan = options.get("orphanDependents")
    if orphan is True:
        return "Orphan"
    return "Background"


def _check_preconditions(res: Resource, name: str, meta: Obj, pre: Obj) -> None:
    uid = pre.get("uid")
    if uid and uid != meta.get("uid"):
        raise errors.conflict(res.plural, res.group, name,
                              f"Precondition failed: UID in precondition: {uid}, UID in object meta: "
                              f"{meta.get('uid')}")
    rv = pre.get("resourceVersion")
    if rv and rv != meta.get("resourceVersion"):
        raise errors.conflict(res.plural, res.group, name,
                              f"Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in "
                              f"object meta: {meta.get('resourceVersion')}")


def _success_status(res: Resource, name: str, uid: str) -> Obj:
    details: Obj = {"name": name, "kind": res.plural, "uid": uid}
    if res.group:
        details["group"] = res.group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


def _parse_rv(value: str) -> int:
    try:
        rv = int(value)
    except ValueError:
        raise errors.bad_request(f"invalid resource version: {value}") from None
    if rv < 0:
        raise errors.bad_request(f"invalid resource version: {value}")
    return rv


def _encode_continue(revision: int, start_after: str) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": start_after})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_continue(token: str, prefix: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data: Any = orjson.loads(raw)
        revision, start = int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise errors.bad_request("continue key is not valid: illegal base64 data or JSON") from None
    if not start.startswith(prefix):
        raise errors.bad_request("continue key is not valid: key is not in the requested range")
    return revision, start
