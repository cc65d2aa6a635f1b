"""The proxy loop: Service and EndpointSlice informers → :func:`build_ruleset` → :class:`NftApplier`.

Any informer event marks the state dirty; one sync runs at a time and coalesces the events that arrived while it
ran (``min_sync_interval`` bounds how often ``nft`` runs under churn; the default keeps change → rule latency low).
Services labelled ``service.kubernetes.io/service-proxy-name`` belong to another proxy and are ignored, like
upstream.  A failed sync is retried after ``retry_interval`` as a full sync.  ``kyb proxy`` runs this alone;
the agent runs it next to the kubelet.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from kybernetes.client.informer import Informer, InformerFactory
from kybernetes.client.rest import Client, resource
from kybernetes.proxy.applier import NftApplier, ProxyApplyError
from kybernetes.proxy.model import Obj
from kybernetes.proxy.rules import NodeInfo, UdpState, build_ruleset, conntrack_deletions, udp_state

log = logging.getLogger(__name__)

SERVICES = resource("", "v1", "services")
ENDPOINTSLICES = resource("discovery.k8s.io", "v1", "endpointslices")
PROXY_NAME_LABEL = "service.kubernetes.io/service-proxy-name"


def _ours(svc: Obj) -> bool:
    return PROXY_NAME_LABEL not in ((svc.get("metadata") or {}).get("labels") or {})


class Proxier:
    def __init__(self, client: Client, node: NodeInfo, state_dir: Path, *, applier: NftApplier | None = None,
                 min_sync_interval: float = 0.0, retry_interval: float = 1.0) -> None:
        self.node = node
        self.applier = applier or NftApplier(state_dir / "proxy-state.json")
        self.informers = InformerFactory(client)
        self.services: Informer = self.informers.informer(SERVICES)
        self.slices: Informer = self.informers.informer(ENDPOINTSLICES)
        self.min_sync_interval = min_sync_interval
        self.retry_interval = retry_interval
        self._dirty = asyncio.Event()
        self._udp = UdpState({})
        self.synced = asyncio.Event()  # set after the first successful sync
        self.last_sync_seconds = 0.0
        for inf in (self.services, self.slices):
            inf.add_handlers(lambda _o: self._dirty.set(), lambda _o, _n: self._dirty.set(),
                             lambda _o: self._dirty.set())

    async def sync_once(self) -> bool:
        """Build and apply the rules from the informers' caches; returns whether ``nft`` ran."""
        started = time.perf_counter()
        services = [s for s in self.services.store.values() if _ours(s)]
        slices = self.slices.store.values()
        ruleset = build_ruleset(services, slices, self.node)
        changed = await self.applier.apply(ruleset)
        udp = udp_state(services, slices, self.node)
        await self.applier.conntrack(conntrack_deletions(self._udp, udp))
        self._udp = udp
        self.last_sync_seconds = time.perf_counter() - started
        if changed:
            log.debug("proxy sync: %d service chains in %.3fs", ruleset.service_chain_count, self.last_sync_seconds)
        return changed

    async def run(self) -> None:
        """Run until cancelled.  Rules stay in place on exit; :meth:`NftApplier.remove` deletes them."""
        async with asyncio.TaskGroup() as tg:
            self.informers.start(tg)
            await self.informers.wait_for_sync()
            self._dirty.set()
            while True:
                await self._dirty.wait()
                self._dirty.clear()
                try:
                    await self.sync_once()
                    self.synced.set()
                except ProxyApplyError as exc:
                    log.warning("proxy sync failed: %s; retrying", exc)
                    await asyncio.sleep(self.retry_interval)
                    self._dirty.set()
                    continue
                if self.min_sync_interval:
                    await asyncio.sleep(self.min_sync_interval)
