"""The API server's request metrics (upstream names) and ``GET /metrics``.

* ``apiserver_request_total{verb,group,version,resource,subresource,scope,component,code}``
* ``apiserver_request_duration_seconds{verb,group,version,resource,subresource,scope,component}`` (not for WATCH
  or CONNECT, whose durations are the streams' lifetimes; upstream excludes them too)
* ``apiserver_longrunning_requests{verb,group,version,resource,subresource,scope,component}``: open watches and
  connections now; ``apiserver_registered_watchers{group,version,kind}`` is not kept separately.

:func:`request_labels` (pure) maps a request to upstream's verb and labels.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from prometheus_client import Counter, Gauge, Histogram

from kybernetes.apiserver.requestinfo import parse_resource_path
from kybernetes.client.metrics import metrics_handler

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LABELS = ("verb", "group", "version", "resource", "subresource", "scope", "component")
REQUESTS = Counter("apiserver_request", "Counter of apiserver requests broken out for each verb, dry run value, "
                   "group, version, resource, scope, component, and HTTP response code.", [*LABELS, "code"])
DURATION = Histogram("apiserver_request_duration_seconds", "Response latency distribution in seconds for each verb, "
                     "dry run value, group, version, resource, subresource, scope and component.", list(LABELS),
                     buckets=(0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10,
                              15, 20, 30, 45, 60))
LONGRUNNING = Gauge("apiserver_longrunning_requests", "Gauge of all active long-running apiserver requests broken "
                    "out by verb, group, version, resource, scope and component.", list(LABELS))
CONNECT_SUBRESOURCES = frozenset({"exec", "attach", "portforward", "proxy", "log"})


def request_labels(method: str, path: str, query: Mapping[str, str]) -> dict[str, str]:
    """Upstream's verb (``LIST``/``WATCH``/``GET``/``POST``/``PUT``/``PATCH``/``DELETE``/``CONNECT``…) and labels;
    non-resource paths get empty group/resource and scope ``""``."""
    try:
        info = parse_resource_path(path)
    except Exception:  # a too-deep path: a 404 either way
        info = None
    labels = dict.fromkeys(LABELS, "")
    labels["component"] = "apiserver"
    verb = method.upper()
    if info is None:
        labels["verb"] = verb
        return labels
    if verb == "GET":
        if query.get("watch") in ("1", "true"):
            verb = "WATCH"
        elif not info.name:
            verb = "LIST"
    if info.subresource in CONNECT_SUBRESOURCES and info.subresource != "log":
        verb = "CONNECT"
    if verb == "DELETE" and not info.name:
        verb = "DELETECOLLECTION"
    scope = "resource" if info.name else ("namespace" if info.namespace else "cluster")
    labels.update(verb=verb, group=info.group, version=info.version, resource=info.resource,
                  subresource=info.subresource, scope=scope)
    return labels


# labelled children by label values: ``Metric.labels`` validates and locks on every call, a dict lookup does not
_CHILDREN: dict[tuple[Any, ...], Any] = {}
_CHILDREN_MAX = 10000


def _child(metric: Any, values: tuple[str, ...]) -> Any:
    key = (id(metric), *values)
    child = _CHILDREN.get(key)
    if child is None:
        child = metric.labels(*values)
        if len(_CHILDREN) >= _CHILDREN_MAX:
            _CHILDREN.clear()
        _CHILDREN[key] = child
    return child


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count and time every request (outermost middleware, so Status errors are counted with their code)."""
    query = request.query
    labels = request_labels(request.method, request.path, query)
    values = tuple(labels[name] for name in LABELS)
    long_running = labels["verb"] in ("WATCH", "CONNECT") or (
        labels["subresource"] == "log" and query.get("follow") in ("1", "true"))
    start = time.perf_counter()
    code = "500"
    if long_running:
        _child(LONGRUNNING, values).inc()
    try:
        response = await handler(request)
        code = str(response.status)
        return response
    except web.HTTPException as exc:
        code = str(exc.status)
        raise
    finally:
        if long_running:
            _child(LONGRUNNING, values).dec()
        else:
            _child(DURATION, values).observe(time.perf_counter() - start)
        _child(REQUESTS, (*values, code)).inc()


__all__ = ["metrics_handler", "observe", "request_labels"]
