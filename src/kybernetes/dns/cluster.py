"""Cluster DNS fed by informers: Service and EndpointSlice caches → a :class:`Zone`, rebuilt lazily.

:class:`ClusterDNS` keeps the zone of the last change; any informer event marks it stale and the next query
rebuilds it (bursts of changes cost one rebuild).  :meth:`ClusterDNS.run` serves until cancelled.
"""

from __future__ import annotations

import asyncio
import logging

from kybernetes.client.informer import Informer, InformerFactory
from kybernetes.client.rest import Client, resource
from kybernetes.dns.server import DNSServer
from kybernetes.dns.zone import Zone, build_zone

log = logging.getLogger(__name__)

SERVICES = resource("", "v1", "services")
ENDPOINTSLICES = resource("discovery.k8s.io", "v1", "endpointslices")
DNS_SERVICE_IP = "10.43.0.10"


class ClusterDNS:
    def __init__(self, client: Client, *, host: str, port: int = 53, domain: str = "cluster.local",
                 upstream: str = "", dns_ip: str = DNS_SERVICE_IP) -> None:
        self.informers = InformerFactory(client)
        self.services: Informer = self.informers.informer(SERVICES)
        self.slices: Informer = self.informers.informer(ENDPOINTSLICES)
        self.domain = domain
        self.dns_ip = dns_ip
        self._zone: Zone | None = None
        self.server = DNSServer(self.zone, host=host, port=port, upstream=upstream)
        self.ready = asyncio.Event()
        for inf in (self.services, self.slices):
            inf.add_handlers(lambda _o: self._stale(), lambda _o, _n: self._stale(), lambda _o: self._stale())

    def _stale(self) -> None:
        self._zone = None

    def zone(self) -> Zone:
        if self._zone is None:
            self._zone = build_zone(self.services.store.values(), self.slices.store.values(), self.domain,
                                    self.dns_ip)
        return self._zone

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            self.informers.start(tg)
            await self.informers.wait_for_sync()
            await self.server.start()
            self.ready.set()
            try:
                await asyncio.Event().wait()
            finally:
                await self.server.stop()
