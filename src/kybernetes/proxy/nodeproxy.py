"""The proxy as the node agent (and ``kyb proxy``) runs it: the :class:`Proxier` plus the endpoints the node
publishes itself (:mod:`kybernetes.proxy.nodeendpoints`): ``kube-system/kube-dns`` → ``dns_ip`` (the agent's DNS
server), ``default/kubernetes`` → ``node_ip:<API server port>``.  They are re-ensured every ``resync`` seconds
(someone may delete them).  :meth:`NodeProxy.cleanup` removes the rules and restores the sysctl.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from pathlib import Path
from urllib.parse import urlsplit

from kybernetes.client.errors import ApiError
from kybernetes.client.rest import Client
from kybernetes.proxy import nodeendpoints
from kybernetes.proxy.applier import NftApplier
from kybernetes.proxy.proxier import Proxier
from kybernetes.proxy.rules import NodeInfo

log = logging.getLogger(__name__)

STATE_FILE = "proxy-state.json"


def api_endpoint(server_url: str, node_ip: str) -> tuple[str, int, bool]:
    """(endpoint IP, port, listens only on loopback) of the API server behind ``default/kubernetes``."""
    parts = urlsplit(server_url)
    port = parts.port or 443
    host = parts.hostname or "127.0.0.1"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    return (node_ip if loopback and node_ip else host), port, loopback


class NodeProxy:
    def __init__(self, client: Client, node_name: str, node_ip: str, state_dir: Path, *,
                 cluster_cidr: str = "10.42.0.0/16", dns_ip: str = "", publish_api: bool = True,
                 resync: float = 60.0) -> None:
        self.client = client
        self.node_name = node_name
        self.node_ip = node_ip
        self.dns_ip = dns_ip
        self.publish_api = publish_api
        self.resync = resync
        self.api_ip, self.api_port, loopback = api_endpoint(client.config.server, node_ip)
        loopback_eps = frozenset({(self.api_ip, self.api_port)}) if loopback and publish_api else frozenset()
        self.applier = NftApplier(state_dir / STATE_FILE)
        self.proxier = Proxier(client, NodeInfo(node_name, cluster_cidr, loopback_eps), state_dir,
                               applier=self.applier)

    async def _publish(self) -> None:
        while True:
            try:
                if self.dns_ip:
                    await nodeendpoints.ensure(
                        self.client, "kube-system", "kube-dns", self.dns_ip, nodeendpoints.DNS_PORTS,
                        self.node_name, service_obj=nodeendpoints.kube_dns_service(),
                        slice_name=f"kube-dns-{self.node_name}")
                if self.publish_api:
                    await nodeendpoints.ensure(
                        self.client, "default", "kubernetes", self.api_ip,
                        [{"name": "https", "port": self.api_port, "protocol": "TCP"}], "")
                await asyncio.sleep(self.resync)
            except ApiError as exc:
                log.info("publishing node endpoints: %s; retrying", exc)
                await asyncio.sleep(1.0)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.proxier.run(), name="proxier")
            tg.create_task(self._publish(), name="node endpoints")

    async def cleanup(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            await self.applier.remove()
