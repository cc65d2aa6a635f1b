"""``kyb proxy``: the service proxy alone (the agent runs the same :class:`NodeProxy` next to the kubelet).

It programs rules only; it publishes no endpoints (no DNS here, and the agent publishes ``default/kubernetes``).
With ``cleanup`` the rules are removed and ``route_localnet`` restored on exit.
"""

from __future__ import annotations

import socket
from pathlib import Path

from kybernetes.client.config import load_kubeconfig
from kybernetes.client.rest import Client
from kybernetes.proxy.nodeproxy import NodeProxy


async def run_proxy(kubeconfig: Path, data_dir: Path, node_name: str, node_ip: str, cluster_cidr: str, *,
                    cleanup: bool = False) -> None:
    client = Client(load_kubeconfig(kubeconfig), user_agent="kyb-proxy")
    proxy = NodeProxy(client, node_name or socket.gethostname().lower(), node_ip, data_dir,
                      cluster_cidr=cluster_cidr, publish_api=False)
    try:
        await proxy.proxier.run()
    finally:
        if cleanup:
            await proxy.cleanup()
        await client.close()
