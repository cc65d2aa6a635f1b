"""``kyb apiserver``: open the store, make certificates, bootstrap, serve HTTPS, write the kubeconfig.

:func:`run` is the component's ``async run()``: it sets ``ready`` once the server answers and the kubeconfig is
written, and runs until cancelled, then closes the listener, the watch caches and the store, in that order.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from kybernetes.api import patch, schema
from kybernetes.api.registry import Registry, Resource
from kybernetes.api.strategies import generic_strategy
from kybernetes.apiserver import bootstrap, certs, crds, flowcontrol, front, kubeconfig, nodeproxy, prometheus, watch
from kybernetes.apiserver.admission import Admission
from kybernetes.apiserver.app import Routes, build_app
from kybernetes.apiserver.handlers import ResourceHandler
from kybernetes.apiserver.metrics_api import MetricsAPI
from kybernetes.apiserver.objects import Obj
from kybernetes.apiserver.presenting import Presenter
from kybernetes.apiserver.store import RestStore
from kybernetes.apiserver.watchcache import WatchCaches
from kybernetes.client import gctuning
from kybernetes.storage.interface import Storage
from kybernetes.storage.sqlite import SQLiteStorage

log = logging.getLogger(__name__)


@dataclass
class Options:
    data_dir: Path
    https_port: int = 6443
    bind_address: str = "127.0.0.1"
    datastore: str = "sqlite"
    extra_sans: list[str] = field(default_factory=list)
    compact_keep_revisions: int = 10000  # history kept for watches from old resourceVersions
    compact_interval: float = 300.0
    watch_bookmark_interval: float = 30.0
    max_requests_inflight: int = flowcontrol.DEFAULT_INFLIGHT  # with the mutating limit: API Priority and Fairness
    max_mutating_requests_inflight: int = flowcontrol.DEFAULT_MUTATING_INFLIGHT

    @property
    def kubeconfig_path(self) -> Path:
        return self.data_dir / "kubeconfig.yaml"


async def open_storage(options: Options) -> Storage:
    if options.datastore in ("", "sqlite"):
        db_dir = options.data_dir / "db"
        db_dir.mkdir(parents=True, exist_ok=True)
        return await SQLiteStorage.open(db_dir / "state.db", keep_revisions=options.compact_keep_revisions,
                                        compact_interval=options.compact_interval)
    raise SystemExit(f"unsupported --datastore {options.datastore!r} (supported: sqlite)")


def _track_fields(res: Resource, old: Obj | None, new: Obj, manager: str, subresource: str) -> Obj:
    td = None if res.is_custom else schema.definition_for_gvk(res.group, res.version, res.kind)
    ignored = () if subresource == "status" else (("status",),)
    return patch.track_update(old, new, manager, "Update", td, subresource=subresource, ignored_fields=ignored,
                              consume=True)


class APIServer:
    """The wired-up server; exposed for tests and for ``kyb server``."""

    def __init__(self, options: Options, storage: Storage) -> None:
        self.options = options
        self.storage = storage
        self.registry = Registry()
        self.presenter = Presenter()
        self.admission = Admission(storage, on_crd_change=self._crd_changed)
        self.store = RestStore(storage, self.admission, track_fields=_track_fields, on_written=watch.remember_written)
        self.caches = WatchCaches(storage)
        self.handler = ResourceHandler(self.registry, self.store, self.caches, self.presenter,
                                       bookmark_interval=options.watch_bookmark_interval)
        self.custom_schemas: dict[tuple[str, str, str], Obj] = {}
        self.metrics = MetricsAPI(self.registry, self.store, self.presenter)
        self._ready = False

    async def _crd_changed(self, crd: Obj | None, old: Obj | None) -> None:
        for res in crds.resources_from_crd(old or {}):
            self.custom_schemas.pop((res.group, res.version, res.kind), None)
        resources = crds.apply_crd(self.registry, crd, old)
        if crd is None:
            return
        columns = crds.printer_columns(crd)
        schemas = crds.version_schemas(crd)
        for res in resources:
            self.presenter.custom_columns[(res.group, res.version, res.plural)] = columns.get(res.version, [])
            if res.version in schemas:
                self.custom_schemas[(res.group, res.version, res.kind)] = schemas[res.version]
        storage = next((v["name"] for v in (crd.get("spec") or {}).get("versions") or [] if v.get("storage")), "")
        for res in resources[:1]:
            base = generic_strategy(crds.has_status(crd, storage or res.version))
            self.store.set_custom_strategy(res.group, res.kind,
                                           crds.CustomResourceStrategy(base, schemas.get(storage or res.version)))

    async def prepare(self) -> None:
        """Load what the store already holds (CRDs, allocations) and create the bootstrap objects."""
        for crd in await bootstrap.list_all(self.store, self.registry, "apiextensions.k8s.io",
                                            "customresourcedefinitions"):
            await self._crd_changed(crd, None)
        self.admission.repair(await bootstrap.list_all(self.store, self.registry, "", "services"))
        await bootstrap.ensure_defaults(self.store, self.registry, self.options.https_port)

    def app(self) -> web.Application:
        address = f"{self.options.bind_address}:{self.options.https_port}"
        routes = Routes(self.registry, self.handler, address, lambda: self._ready, self.custom_schemas,
                        metrics=self.metrics.handle, prometheus=prometheus.metrics_handler)
        return build_app(routes, flowcontrol.FlowControl(
            self.options.max_requests_inflight + self.options.max_mutating_requests_inflight))

    def mark_ready(self) -> None:
        self._ready = True


async def _return_free_memory(period: float = 30.0) -> None:
    """Large list responses leave freed heap pages that glibc keeps; hand them back to the OS now and then so the
    resident size reflects what the server holds, not its peak."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    while True:
        await asyncio.sleep(period)
        libc.malloc_trim(0)


async def run(options: Options, ready: asyncio.Event | None = None) -> None:
    options.data_dir.mkdir(parents=True, exist_ok=True)
    pki = certs.ensure_pki(options.data_dir, hosts=options.extra_sans)
    nodeproxy.configure(certs.kubelet_client_ssl_context(pki))
    storage = await open_storage(options)
    server = APIServer(options, storage)
    runner: web.AppRunner | None = None
    listener: asyncio.Server | None = None
    connections: front.Front | None = None
    try:
        await server.prepare()
        gctuning.tune()
        gctuning.freeze()  # imports, schema tables, bootstrap objects: never garbage, never walked again
        app = server.app()
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        assert runner.server is not None
        connections = front.Front(app, list(app.middlewares), server.handler.handle, runner.server)
        listener = await asyncio.get_running_loop().create_server(
            connections, options.bind_address, options.https_port, ssl=certs.server_ssl_context(pki),
            reuse_address=True, backlog=128)
        server.mark_ready()
        host = options.bind_address if options.bind_address not in ("0.0.0.0", "::") else "127.0.0.1"
        kubeconfig.write_kubeconfig(options.kubeconfig_path, f"https://{host}:{options.https_port}", pki)
        log.info("API server ready on https://%s:%d", host, options.https_port)
        if ready is not None:
            ready.set()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(server.metrics.run(), name="metrics scrape")  # kubelets → metrics.k8s.io
            tg.create_task(_return_free_memory(), name="malloc trim")
            tg.create_task(connections.close_idle(), name="idle connections")
    finally:
        if listener is not None:
            listener.close()
        if connections is not None:
            connections.close()
        if runner is not None:
            with contextlib.suppress(Exception):
                await runner.cleanup()
        await server.caches.stop()
        await storage.close()
