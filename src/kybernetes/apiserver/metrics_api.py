"""The ``metrics.k8s.io/v1beta1`` group (what metrics-server serves upstream), built into the API server.

:class:`MetricsAPI` scrapes every real node's kubelet ``/stats/summary`` (HTTPS, the API server's kubelet client
certificate, the address :func:`nodeproxy.kubelet_address` finds, one kept-alive connection per kubelet) every
``interval`` seconds (15 s) while the group is read or not yet advertised, every ``idle_interval`` (60 s) while
nobody read it for that long, and on demand when a request finds the data older than ``interval``.  Simulated
nodes (annotation ``kybernetes.io/simulated``) are never contacted: their addresses are not on this machine.
CPU is a rate between two samples of the cumulative ``usageCoreNanoSeconds`` (``window`` = the time between
them); memory is the working set of the newest sample.

Contracts:

* The group is in discovery (registry entries ``podmetrics``/``nodemetrics``) only while the last scrape reached at
  least one kubelet: kubectl prints errors for advertised groups that fail, and ``kubectl top`` says
  ``Metrics API not available`` when the group is absent, like a cluster without metrics-server.
* ``GET /apis/metrics.k8s.io/v1beta1/nodes[/NAME]``, ``…/pods``, ``…/namespaces/NS/pods[/NAME]`` with
  ``labelSelector`` and ``fieldSelector``; a missing object is ``podmetrics.metrics.k8s.io "NS/NAME" not found``.
  Other verbs: 405 MethodNotSupported.
* PodMetrics carry the pod's labels; pods not in the store, or with no container sample, are left out.

:func:`compute_metrics` (pure) turns two samples into NodeMetrics/PodMetrics; the I/O is in :class:`MetricsAPI`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from kybernetes.api import errors
from kybernetes.api.registry import Registry, Resource
from kybernetes.apiserver import nodeproxy
from kybernetes.apiserver.objects import Obj
from kybernetes.apiserver.params import parse_query
from kybernetes.apiserver.presenting import Presenter, field_matcher, label_matcher
from kybernetes.apiserver.requestinfo import parse_resource_path
from kybernetes.apiserver.store import ListOptions, ListPage, RestStore

log = logging.getLogger(__name__)

GROUP, VERSION = "metrics.k8s.io", "v1beta1"
POD_METRICS = Resource(GROUP, VERSION, "PodMetrics", "pods", True, verbs=("get", "list"))
NODE_METRICS = Resource(GROUP, VERSION, "NodeMetrics", "nodes", False, verbs=("get", "list"))
SIMULATED_ANNOTATION = "kybernetes.io/simulated"
DEFAULT_INTERVAL = 15.0
IDLE_INTERVAL = 60.0
MIN_WINDOW = 0.5  # an on-demand second sample is taken this long after a lone first one


@dataclass
class Sample:
    """One scrape of one node: monotonic time, wall time, and the ``Summary``."""

    mono: float
    wall: float
    summary: Obj


@dataclass
class Snapshot:
    """What the API serves: metrics objects keyed by name (nodes) or (namespace, name) (pods)."""

    nodes: dict[str, Obj] = field(default_factory=dict)
    pods: dict[tuple[str, str], Obj] = field(default_factory=dict)


def format_cpu(nano_cores: float) -> str:
    """metrics-server's CPU quantity: nano-cores with the ``n`` suffix (``0`` for zero)."""
    value = max(int(nano_cores), 0)
    return f"{value}n" if value else "0"


def format_memory(num_bytes: float) -> str:
    """A BinarySI quantity in its canonical form (``5562368`` → ``5432Ki``)."""
    value = max(int(num_bytes), 0)
    suffixes = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
    i = 0
    while value and value % 1024 == 0 and i < len(suffixes) - 1:
        value //= 1024
        i += 1
    return f"{value}{suffixes[i]}"


def _rfc3339(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _window(seconds: float) -> str:
    """A Go ``time.Duration`` string for a window of ``seconds`` (``15s``, ``14.982s``)."""
    ms = round(seconds * 1000)
    if ms % 1000 == 0:
        return f"{ms // 1000}s"
    return f"{ms / 1000:.3f}".rstrip("0").rstrip(".") + "s"


def _rate(new: Obj, old: Obj | None, seconds: float) -> float | None:
    """Nano-cores between two ``cpu`` stats (cumulative core-nanoseconds), else the runtime's own rate."""
    if old is not None and seconds > 0 and "usageCoreNanoSeconds" in new and "usageCoreNanoSeconds" in old:
        delta = int(new["usageCoreNanoSeconds"]) - int(old["usageCoreNanoSeconds"])
        if delta >= 0:
            return delta / seconds
    if "usageNanoCores" in new and old is None:
        return float(new["usageNanoCores"])
    return None


def compute_metrics(node_name: str, new: Sample, old: Sample | None, pods: dict[tuple[str, str], Obj]) -> Snapshot:
    """NodeMetrics and PodMetrics of one node from its two newest samples; ``pods`` are the stored pods (their
    labels and creationTimestamp are copied; pods not there are skipped)."""
    out = Snapshot()
    seconds = new.mono - old.mono if old is not None else 0.0
    window = _window(seconds) if old is not None else _window(DEFAULT_INTERVAL)
    stamp = _rfc3339(new.wall)
    old_summary = old.summary if old is not None else {}
    node = new.summary.get("node") or {}
    old_node = old_summary.get("node") or {}
    node_cpu = _rate(node.get("cpu") or {}, old_node.get("cpu") if old is not None else None, seconds)
    working_set = (node.get("memory") or {}).get("workingSetBytes")
    if node_cpu is not None and working_set is not None:
        out.nodes[node_name] = {
            "metadata": {"name": node_name, "creationTimestamp": _rfc3339(new.wall),
                         "labels": {}},
            "timestamp": stamp, "window": window,
            "usage": {"cpu": format_cpu(node_cpu), "memory": format_memory(working_set)},
        }
    old_containers: dict[tuple[str, str, str], Obj] = {}
    for pod in old_summary.get("pods") or []:
        ref = pod.get("podRef") or {}
        for c in pod.get("containers") or []:
            old_containers[(ref.get("namespace", ""), ref.get("name", ""), c.get("name", ""))] = c
    for pod in new.summary.get("pods") or []:
        ref = pod.get("podRef") or {}
        key = (str(ref.get("namespace", "")), str(ref.get("name", "")))
        stored = pods.get(key)
        if stored is None or (stored.get("metadata") or {}).get("uid", ref.get("uid")) != ref.get("uid"):
            continue
        containers = []
        for c in pod.get("containers") or []:
            previous = old_containers.get((*key, c.get("name", "")))
            cpu = _rate(c.get("cpu") or {}, (previous or {}).get("cpu") if old is not None else None, seconds)
            if cpu is None and previous is None and old is not None:
                cpu = float((c.get("cpu") or {}).get("usageNanoCores", 0)) or None
            mem = (c.get("memory") or {}).get("workingSetBytes")
            if cpu is None or mem is None:
                continue
            containers.append({"name": c.get("name", ""),
                               "usage": {"cpu": format_cpu(cpu), "memory": format_memory(mem)}})
        if not containers:
            continue
        meta = stored.get("metadata") or {}
        out.pods[key] = {
            "metadata": {"name": key[1], "namespace": key[0], "creationTimestamp": _rfc3339(new.wall),
                         "labels": dict(meta.get("labels") or {})},
            "timestamp": stamp, "window": window, "containers": containers,
        }
    return out


Fetch = Callable[[str, int], Awaitable[Obj]]


class KubeletFetcher:
    """GETs kubelets' ``/stats/summary`` over HTTPS with the kubelet client certificate (5 s timeout), keeping
    connections alive between scrapes.  ``close`` ends them."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def __call__(self, host: str, port: int) -> Obj:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        url = f"https://{host}:{port}/stats/summary"
        async with self._session.get(url, ssl=nodeproxy._ssl()) as resp:
            if resp.status != 200:
                raise OSError(f"kubelet {host}:{port} answered {resp.status}")
            body: Obj = await resp.json()
            return body

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class MetricsAPI:
    """Scrapes kubelets and serves the group; see the module doc.  ``fetch`` and the clocks are injectable."""

    def __init__(self, registry: Registry, store: RestStore, presenter: Presenter, *,
                 interval: float = DEFAULT_INTERVAL, idle_interval: float = IDLE_INTERVAL,
                 fetch: Fetch | None = None,
                 mono: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> None:
        self.registry = registry
        self.store = store
        self.presenter = presenter
        self.interval = interval
        self.idle_interval = idle_interval
        self._fetcher: KubeletFetcher | None = None
        if fetch is None:
            fetch = self._fetcher = KubeletFetcher()
        self.fetch = fetch
        self.mono = mono
        self.wall = wall
        self.samples: dict[str, tuple[Sample, Sample | None]] = {}
        self.snapshot = Snapshot()
        self.last_scrape: float | None = None
        self.last_read: float | None = None  # when a client last asked for metrics
        self._lock = asyncio.Lock()

    # -------------------------------------------------------------------------------------------- scraping

    async def _list(self, group: str, version: str, plural: str) -> list[Obj]:
        res = self.registry.get(group, version, plural)
        assert res is not None
        return list((await self.store.list(res, "", ListOptions())).items)

    async def scrape(self) -> None:
        """One round over every real node; updates the snapshot and the discovery registration."""
        async with self._lock:
            await self._scrape_locked()

    async def _scrape_locked(self) -> None:
        nodes = await self._list("", "v1", "nodes")
        targets: dict[str, tuple[str, int]] = {}
        for node in nodes:
            meta = node.get("metadata") or {}
            if (meta.get("annotations") or {}).get(SIMULATED_ANNOTATION) == "true":
                continue
            address = nodeproxy.kubelet_address(node)
            if address is not None:
                targets[str(meta.get("name", ""))] = address

        async def one(name: str, host: str, port: int) -> tuple[str, Obj | None]:
            try:
                summary = await self.fetch(host, port)
            except Exception as exc:  # any failure means "no metrics from this node"
                log.debug("metrics: scraping node %s at %s:%d failed: %s", name, host, port, exc)
                return name, None
            if (summary.get("node") or {}).get("nodeName", name) != name:
                return name, None
            return name, summary

        results = await asyncio.gather(*(one(n, h, p) for n, (h, p) in targets.items()))
        pods: dict[tuple[str, str], Obj] = {}
        if any(summary is not None for _name, summary in results):
            pods = {((p.get("metadata") or {}).get("namespace", ""), (p.get("metadata") or {}).get("name", "")): p
                    for p in await self._list("", "v1", "pods")}
        mono, wall = self.mono(), self.wall()
        snapshot = Snapshot()
        reached = False
        for name, summary in results:
            if summary is None:
                self.samples.pop(name, None)
                continue
            reached = True
            previous = self.samples.get(name)
            sample = Sample(mono, wall, summary)
            self.samples[name] = (sample, previous[0] if previous is not None else None)
            part = compute_metrics(name, sample, self.samples[name][1], pods)
            snapshot.nodes.update(part.nodes)
            snapshot.pods.update(part.pods)
        for gone in set(self.samples) - set(targets):
            self.samples.pop(gone, None)
        self.snapshot = snapshot
        self.last_scrape = mono
        self._advertise(reached)

    def _advertise(self, on: bool) -> None:
        present = self.registry.get(GROUP, VERSION, "pods") is not None
        if on and not present:
            self.registry.add(POD_METRICS)
            self.registry.add(NODE_METRICS)
            log.info("metrics.k8s.io/v1beta1 available")
        elif not on and present:
            self.registry.remove(GROUP, VERSION, "pods")
            self.registry.remove(GROUP, VERSION, "nodes")
            log.info("metrics.k8s.io/v1beta1 unavailable: no kubelet answered")

    async def ensure_fresh(self) -> None:
        """Scrape now when the data is older than the interval; take a second sample soon after a lone first."""
        async with self._lock:
            stale = self.last_scrape is None or self.mono() - self.last_scrape >= self.interval
            if stale:
                await self._scrape_locked()
            if any(old is None for _new, old in self.samples.values()):
                await asyncio.sleep(MIN_WINDOW)
                await self._scrape_locked()

    def next_scrape_in(self) -> float:
        """The background period: short while the group is read or not yet advertised, long otherwise."""
        advertised = self.registry.get(GROUP, VERSION, "pods") is not None
        recently_read = self.last_read is not None and self.mono() - self.last_read < self.idle_interval
        return self.interval if recently_read or not advertised else self.idle_interval

    async def run(self) -> None:
        """Scrape in the background until cancelled (then the kubelet connections are closed)."""
        try:
            while True:
                with contextlib.suppress(Exception):
                    await self.scrape()
                await asyncio.sleep(self.next_scrape_in())
        finally:
            if self._fetcher is not None:
                await self._fetcher.close()

    # -------------------------------------------------------------------------------------------- serving

    async def handle(self, request: web.Request) -> web.StreamResponse:
        info = parse_resource_path(request.path)
        if info is None:
            raise errors.path_not_found()
        res = self.registry.get(info.group, info.version, info.resource)
        if res is None or info.subresource:
            raise errors.path_not_found()
        if res.namespaced and info.name and not info.namespaced_path:
            raise errors.path_not_found()
        if not res.namespaced and info.namespaced_path:
            raise errors.path_not_found()
        params = parse_query(request.query, user_agent=request.headers.get("User-Agent", ""))
        if request.method != "GET" or params.watch:
            verb = "watch" if params.watch else {"POST": "create", "PUT": "update", "PATCH": "patch",
                                                 "DELETE": "delete"}.get(request.method, request.method.lower())
            raise errors.method_not_supported(res.plural, res.group, verb)
        self.last_read = self.mono()
        await self.ensure_fresh()
        if res.namespaced:
            items: dict[Any, Obj] = {k: v for k, v in self.snapshot.pods.items()
                                     if not info.namespace or k[0] == info.namespace}
            wanted: Any = (info.namespace, info.name)
            not_found = f"{info.namespace}/{info.name}"
        else:
            items = dict(self.snapshot.nodes)
            wanted, not_found = info.name, info.name
        if info.name:
            obj = items.get(wanted)
            if obj is None:
                raise errors.not_found(f"{res.kind.lower()}", GROUP, not_found)
            return self.presenter.object_response(request, res, _with_type(res, obj))
        labels = label_matcher(params.label_selector)
        fields = field_matcher(res, params.field_selector)
        out = []
        for key in sorted(items):
            obj = _with_type(res, items[key])
            if labels is not None and not labels(obj["metadata"].get("labels") or {}):
                continue
            if fields is not None and not fields(obj):
                continue
            out.append(obj)
        page = ListPage(out, await self.store.storage.current_revision())
        return self.presenter.list_response(request, res, page, params)


def _with_type(res: Resource, obj: Obj) -> Obj:
    return {"kind": res.kind, "apiVersion": res.api_version, **obj}
