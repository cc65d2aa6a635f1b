"""List+watch informers with a local cache, indexes and event handlers (client-go's SharedInformer, in asyncio).

Guarantees, as upstream documents them for SharedInformer:

* The cache converges to the server's state; handlers see every change the cache makes, in order, per informer.
* After a watch ends the informer re-watches from the last resourceVersion; after 410 Gone (or any list/watch
  failure) it re-lists and emits the difference (adds, updates, deletes) — so a handler may miss intermediate
  states, never the final one.
* Objects in the cache and given to handlers are shared: never mutate them (copy first).
* ``synced`` is set once the first list has been applied.
* An optional ``transform`` (client-go's ``SetTransform``) rewrites every listed or watched object before it is
  cached or handed to a handler; :func:`strip_managed_fields` is the one upstream's controller manager uses.

Keys are ``namespace/name`` (just ``name`` for cluster-scoped objects), like ``MetaNamespaceKeyFunc``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kybernetes.api.registry import Resource
from kybernetes.api.selectors import LabelSelector
from kybernetes.client.errors import ApiError, GoneError
from kybernetes.client.rest import Client

log = logging.getLogger(__name__)

Obj = dict[str, Any]
ObjList = list[Obj]  # "list" is also a method name in the classes below
IndexFunc = Callable[[Obj], list[str]]
Transform = Callable[[Obj], Obj]


def key_of(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{ns}/{meta.get('name', '')}" if ns else str(meta.get("name", ""))


def strip_managed_fields(obj: Obj) -> Obj:
    """Drop ``metadata.managedFields`` in place (upstream's ``TrimManagedFields`` informer transform): controllers
    never read them, they are most of a small object, and an update sent without them keeps the stored ones."""
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    return obj


def split_key(key: str) -> tuple[str, str]:
    ns, _, name = key.rpartition("/")
    return ns, name


def namespace_index(obj: Obj) -> list[str]:
    return [str((obj.get("metadata") or {}).get("namespace") or "")]


@dataclass
class Handlers:
    on_add: Callable[[Obj], None] | None = None
    on_update: Callable[[Obj, Obj], None] | None = None
    on_delete: Callable[[Obj], None] | None = None


class Store:
    """The informer's cache: objects by key plus named indexes."""

    def __init__(self, indexers: dict[str, IndexFunc] | None = None) -> None:
        self._items: dict[str, Obj] = {}
        self._indexers: dict[str, IndexFunc] = {"namespace": namespace_index, **(indexers or {})}
        self._indexes: dict[str, dict[str, set[str]]] = {name: {} for name in self._indexers}

    def add_indexer(self, name: str, fn: IndexFunc) -> None:
        self._indexers[name] = fn
        index: dict[str, set[str]] = {}
        for key, obj in self._items.items():
            for value in fn(obj):
                index.setdefault(value, set()).add(key)
        self._indexes[name] = index

    def _unindex(self, key: str, obj: Obj) -> None:
        for name, fn in self._indexers.items():
            for value in fn(obj):
                keys = self._indexes[name].get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del self._indexes[name][value]

    def _index(self, key: str, obj: Obj) -> None:
        for name, fn in self._indexers.items():
            for value in fn(obj):
                self._indexes[name].setdefault(value, set()).add(key)

    def put(self, obj: Obj) -> Obj | None:
        key = key_of(obj)
        old = self._items.get(key)
        self._items[key] = obj
        if old is None:
            self._index(key, obj)
            return None
        for name, fn in self._indexers.items():
            before, after = fn(old), fn(obj)
            if before == after:  # the usual update: nothing to move
                continue
            index = self._indexes[name]
            for value in before:
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]
            for value in after:
                index.setdefault(value, set()).add(key)
        return old

    def remove(self, key: str) -> Obj | None:
        old = self._items.pop(key, None)
        if old is not None:
            self._unindex(key, old)
        return old

    def get(self, key: str) -> Obj | None:
        return self._items.get(key)

    def all_keys(self) -> list[str]:
        return list(self._items)

    def values(self) -> ObjList:
        return list(self._items.values())

    def by_index(self, name: str, value: str) -> ObjList:
        return [self._items[k] for k in self._indexes.get(name, {}).get(value, ())]

    def __len__(self) -> int:
        return len(self._items)


class Lister:
    """Read-only view of an informer's cache."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, namespace: str, name: str) -> Obj | None:
        return self._store.get(f"{namespace}/{name}" if namespace else name)

    def list(self, namespace: str | None = None, selector: LabelSelector | None = None) -> ObjList:
        items = self._store.values() if namespace is None else self._store.by_index("namespace", namespace)
        if selector is None:
            return items
        return [o for o in items if selector.matches((o.get("metadata") or {}).get("labels") or {})]

    def by_index(self, name: str, value: str) -> ObjList:
        return self._store.by_index(name, value)


class Informer:
    def __init__(self, client: Client, res: Resource, *, namespace: str = "", label_selector: str = "",
                 field_selector: str = "", indexers: dict[str, IndexFunc] | None = None,
                 resync: float = 0.0, transform: Transform | None = None) -> None:
        self.client = client
        self.res = res
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.store = Store(indexers)
        self.lister = Lister(self.store)
        self.synced = asyncio.Event()
        self.resync = resync
        self.transform = transform
        self._handlers: list[Handlers] = []
        self.resource_version = ""
        self.started = False

    def add_handlers(self, on_add: Callable[[Obj], None] | None = None,
                     on_update: Callable[[Obj, Obj], None] | None = None,
                     on_delete: Callable[[Obj], None] | None = None) -> None:
        """Register handlers; objects already cached are replayed to ``on_add``."""
        handlers = Handlers(on_add, on_update, on_delete)
        self._handlers.append(handlers)
        if on_add is not None:
            for obj in self.store.values():
                on_add(obj)

    # A failing handler is logged and never stops the others (or the informer).

    def _emit_add(self, obj: Obj) -> None:
        for h in self._handlers:
            if h.on_add is not None:
                try:
                    h.on_add(obj)
                except Exception:
                    log.exception("informer handler failed")

    def _emit_update(self, old: Obj, new: Obj) -> None:
        for h in self._handlers:
            if h.on_update is not None:
                try:
                    h.on_update(old, new)
                except Exception:
                    log.exception("informer handler failed")

    def _emit_delete(self, obj: Obj) -> None:
        for h in self._handlers:
            if h.on_delete is not None:
                try:
                    h.on_delete(obj)
                except Exception:
                    log.exception("informer handler failed")

    def _replace(self, items: Iterable[Obj]) -> None:
        seen: set[str] = set()
        transform = self.transform
        for obj in items:
            if transform is not None:
                obj = transform(obj)
            obj.setdefault("apiVersion", self.res.api_version)
            obj.setdefault("kind", self.res.kind)
            key = key_of(obj)
            seen.add(key)
            old = self.store.put(obj)
            if old is None:
                self._emit_add(obj)
            elif (old.get("metadata") or {}).get("resourceVersion") != (obj.get("metadata") or {}).get(
                    "resourceVersion"):
                self._emit_update(old, obj)
        for key in self.store.all_keys():
            if key not in seen:
                gone = self.store.remove(key)
                if gone is not None:
                    self._emit_delete(gone)

    def _apply(self, kind: str, obj: Obj) -> None:
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if rv:
            self.resource_version = str(rv)
        if kind == "BOOKMARK":
            return
        if self.transform is not None:
            obj = self.transform(obj)
        if kind == "DELETED":
            gone = self.store.remove(key_of(obj))
            self._emit_delete(gone if gone is not None else obj)
            return
        old = self.store.put(obj)
        if old is None:
            self._emit_add(obj)
        else:
            self._emit_update(old, obj)

    async def _list(self) -> None:
        items, rv = await self.client.list_all(self.res, self.namespace, label_selector=self.label_selector,
                                               field_selector=self.field_selector)
        self._replace(items)
        self.resource_version = rv
        self.synced.set()

    async def run(self) -> None:
        """List, then watch forever; re-list on 410 and on errors (with back-off).  Cancel to stop."""
        backoff = 0.2
        need_list = True
        while True:
            try:
                if need_list:
                    await self._list()
                    need_list = False
                async for kind, obj in self.client.watch(
                        self.res, self.namespace, resource_version=self.resource_version,
                        label_selector=self.label_selector, field_selector=self.field_selector,
                        timeout_seconds=random.randint(300, 600)):
                    self._apply(kind, obj)
                backoff = 0.2
            except GoneError:
                need_list = True
            except ApiError as exc:
                log.debug("informer %s: %s; retrying in %.1fs", self.res.plural, exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                need_list = True


class InformerFactory:
    """One informer per (resource, namespace, selectors), shared by every controller of a process."""

    def __init__(self, client: Client, *, transform: Transform | None = None) -> None:
        self.client = client
        self.transform = transform
        self._informers: dict[tuple[str, str, str, str, str, str], Informer] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def informer(self, res: Resource, *, namespace: str = "", label_selector: str = "",
                 field_selector: str = "") -> Informer:
        key = (res.group, res.version, res.plural, namespace, label_selector, field_selector)
        inf = self._informers.get(key)
        if inf is None:
            inf = Informer(self.client, res, namespace=namespace, label_selector=label_selector,
                           field_selector=field_selector, transform=self.transform)
            self._informers[key] = inf
        return inf

    def existing(self, res: Resource) -> Informer | None:
        """The informer over every object of ``res`` (no namespace, no selectors) if one was created."""
        return self._informers.get((res.group, res.version, res.plural, "", "", ""))

    def start(self, tg: asyncio.TaskGroup) -> None:
        """Start every informer not yet running in ``tg``."""
        for inf in self._informers.values():
            if not inf.started:
                inf.started = True
                self._tasks.append(tg.create_task(inf.run(), name=f"informer {inf.res.plural}"))

    async def wait_for_sync(self) -> None:
        await asyncio.gather(*(inf.synced.wait() for inf in self._informers.values()))
