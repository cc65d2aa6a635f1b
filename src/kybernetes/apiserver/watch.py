"""Watch streams: ``?watch=true``, one JSON WatchEvent per line, chunked; a watcher's events go out together, in
one write at most :data:`FLUSH_DELAY` after the first of them (one TLS record and one read instead of one each).

Semantics as upstream: ``resourceVersion`` unset or "0" starts with synthetic ADDED events for the current state;
a number replays every change after it (410 ERROR event when it is gone).  Selectors see both sides of a change,
so an object leaving the selection is DELETED and one entering it ADDED.  BOOKMARKs go out periodically when
``allowWatchBookmarks`` is set; ``timeoutSeconds`` ends the stream cleanly.  Table watches send one-row Tables,
with column definitions only in the first.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from kybernetes.api import errors
from kybernetes.api.registry import Resource
from kybernetes.apiserver import codec
from kybernetes.apiserver.objects import Obj
from kybernetes.apiserver.params import QueryParams
from kybernetes.apiserver.presenting import partial_metadata
from kybernetes.apiserver.requestinfo import RequestInfo
from kybernetes.apiserver.watchcache import WatcherOverflow
from kybernetes.storage.interface import CompactedError, Event, EventType, KeyValue

if TYPE_CHECKING:
    from kybernetes.apiserver.handlers import ResourceHandler

WRITE_BATCH = 256  # at most this many queued events per write
FLUSH_DELAY = 0.005  # seconds an event may wait for others to share its write
DEFAULT_TIMEOUT = (1800, 3600)


class _Encoder:
    """Encodes event objects per the Accept header (object, Table row, PartialObjectMetadata)."""

    def __init__(self, handler: ResourceHandler, request: web.Request, res: Resource, params: QueryParams) -> None:
        accept = codec.parse_accept(request.headers.get("Accept"))
        self.handler = handler
        self.res = res
        self.table = accept.table
        self.partial = accept.partial_metadata
        self.include = params.include_object
        self.first = True

    def encode_shared(self, event_type: str, obj: Obj, event: Event) -> bytes:
        """Like ``encode``; plain JSON lines are shared between all watchers of the same resource version."""
        if self.table or self.partial:
            return self.encode(event_type, obj)
        key = ("line", event.kv.key, event.kv.mod_revision, self.res.api_version, event_type)
        line: bytes = _shared(key, lambda: self.encode(event_type, obj))
        return line

    def encode(self, event_type: str, obj: Obj) -> bytes:
        body: Any = obj
        if event_type in ("ADDED", "MODIFIED", "DELETED"):
            if self.table:
                body = self.handler.presenter.table(self.res, [obj], include_object=self.include,
                                                    with_columns=self.first)
                self.first = False
            elif self.partial:
                body = partial_metadata(obj)
        return orjson.dumps({"type": event_type, "object": body}, option=orjson.OPT_APPEND_NEWLINE)


async def serve(handler: ResourceHandler, request: web.Request, res: Resource, info: RequestInfo,
                params: QueryParams) -> web.StreamResponse:
    if "watch" not in res.verbs:
        raise errors.method_not_supported(res.plural, res.group, "watch")
    selection = handler.list_options(res, params)
    label, field = selection.label_selector, selection.field_selector
    key_prefix = res.prefix(info.namespace)
    if info.name:  # a watch on a single object's URL (old style)
        key_prefix = res.key(info.namespace, info.name)

    selective = bool(info.name) or label is not None or field is not None

    def matches(obj: Obj | None) -> bool:
        if obj is None:
            return False
        if not selective:
            return True
        if info.name and (obj.get("metadata") or {}).get("name") != info.name:
            return False
        if label is not None and not label((obj.get("metadata") or {}).get("labels") or {}):
            return False
        return field is None or field(obj)

    initial: list[Obj] = []
    rv = params.resource_version
    if rv in ("", "0"):
        page = await handler.store.list(res, info.namespace, handler.list_options(res, QueryParams()))
        initial = [o for o in page.items if matches(o)]
        after = page.resource_version
    else:
        try:
            after = int(rv)
        except ValueError:
            raise errors.bad_request(f"invalid resource version: {rv}") from None

    cache = handler.caches.get(res.prefix(""))
    try:
        subscription = await cache.subscribe(after)
    except CompactedError as exc:
        subscription = None
        gone: errors.StatusError | None = errors.expired(f"too old resource version: {after} ({exc.compacted})")
    else:
        gone = None

    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    encoder = _Encoder(handler, request, res, params)
    try:
        for start in range(0, len(initial), WRITE_BATCH):
            await response.write(b"".join(encoder.encode("ADDED", obj) for obj in initial[start:start + WRITE_BATCH]))
        if params.send_initial_events and params.allow_watch_bookmarks:
            await response.write(_bookmark(res, after, initial_events_end=True))
        if gone is not None or subscription is None:
            await _write_error(response, gone or errors.expired("too old resource version"))
            return response
        timeout = params.timeout_seconds if params.timeout_seconds else random.randint(*DEFAULT_TIMEOUT)
        deadline = time.monotonic() + timeout
        last_rv = after
        next_bookmark = time.monotonic() + handler.bookmark_interval
        # events go out together (one chunk, one TLS record, one read for the client): a write happens once the
        # queue is empty and the first pending event has waited FLUSH_DELAY, or WRITE_BATCH events are pending
        pending: list[bytes] = []
        flush_at = 0.0
        while True:
            now = time.monotonic()
            if pending and (len(pending) >= WRITE_BATCH or (now >= flush_at and not subscription.ready())):
                await response.write(b"".join(pending))
                pending.clear()
            if now >= deadline:
                break
            wait = min(deadline, next_bookmark, flush_at if pending else deadline) - now
            try:
                event = await subscription.get(wait)
            except CompactedError as exc:
                pending.append(_error_line(errors.expired(f"too old resource version: {after} ({exc.compacted})")))
                break
            except WatcherOverflow:
                break
            if event is None:
                break
            if not isinstance(event, Event):
                if time.monotonic() >= next_bookmark:
                    # the next tick moves on even when this watch takes no bookmarks (else: a busy loop)
                    if params.allow_watch_bookmarks:
                        pending.append(_bookmark(res, max(last_rv, cache.revision)))
                    next_bookmark = time.monotonic() + handler.bookmark_interval
                continue
            last_rv = event.kv.mod_revision
            if not event.kv.key.startswith(key_prefix):
                continue
            new = _decoded(handler, res, event.kv)
            # without a selector only whether there was a previous version matters, not what it held
            old = (_decoded(handler, res, event.prev) if selective else _PREVIOUS) if event.prev is not None else None
            line = _classify(event.type, new, old, matches)
            if line is not None:
                if not pending:
                    flush_at = time.monotonic() + FLUSH_DELAY
                pending.append(encoder.encode_shared(line[0], line[1], event))
        if pending:
            await response.write(b"".join(pending))
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    finally:
        if subscription is not None:
            await subscription.close()
    return response


# an OrderedDict: popitem(last=False) is O(1), where a dict finds its first key by scanning the deleted slots
_SHARED: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_SHARED_MAX = 1024


def _shared(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    """A small cache of work every watcher of a resource would otherwise repeat per event (decoding, encoding);
    the oldest entry goes first (watchers use an entry within moments of its making).  Values are shared between
    watchers: never mutate them."""
    value = _SHARED.get(key)
    if value is None:
        value = build()
        _remember(key, value)
    return value


def _remember(key: tuple[Any, ...], value: Any) -> None:
    _SHARED[key] = value
    if len(_SHARED) > _SHARED_MAX:
        _SHARED.popitem(last=False)


def remember_written(res: Resource, key: str, revision: int, obj: Obj) -> None:
    """The object this server just wrote, as served: its watch event needs no decoding (the store's
    ``on_written``; the write's continuation runs before the event reaches the watchers)."""
    _remember(("obj", key, revision, res.api_version), obj)


_PREVIOUS: Obj = {}  # stands for a previous version nobody needs to look at


def _decoded(handler: ResourceHandler, res: Resource, kv: KeyValue) -> Obj:
    def build() -> Obj:
        return handler.store.decode(res, kv)

    result: Obj = _shared(("obj", kv.key, kv.mod_revision, res.api_version), build)
    return result


def _classify(kind: EventType, new: Obj, old: Obj | None, matches: Any) -> tuple[str, Obj] | None:
    if kind is EventType.DELETE:
        return ("DELETED", new) if matches(new) else None
    now_in = matches(new)
    was_in = matches(old) if old is not None else False
    if kind is EventType.CREATE or old is None:
        return ("ADDED", new) if now_in else None
    if now_in and was_in:
        return "MODIFIED", new
    if now_in:
        return "ADDED", new
    if was_in:
        return "DELETED", new
    return None


def _bookmark(res: Resource, revision: int, initial_events_end: bool = False) -> bytes:
    meta: Obj = {"resourceVersion": str(revision)}
    if initial_events_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return orjson.dumps({"type": "BOOKMARK", "object": {"kind": res.kind, "apiVersion": res.api_version,
                                                        "metadata": meta}}) + b"\n"


def _error_line(error: errors.StatusError) -> bytes:
    return orjson.dumps({"type": "ERROR", "object": error.to_status()}) + b"\n"


async def _write_error(response: web.StreamResponse, error: errors.StatusError) -> None:
    await response.write(_error_line(error))
