"""The agent's own Services and endpoints (kube-dns) against a real API server: ensuring them again is quiet."""

from __future__ import annotations

from harness import Cluster

from kybernetes.client.config import load_kubeconfig
from kybernetes.client.rest import Client
from kybernetes.proxy import nodeendpoints


async def test_ensure_twice_keeps_the_service_and_updates_endpoints(fresh_apiserver: Cluster) -> None:
    async with Client(load_kubeconfig(fresh_apiserver.kubeconfig)) as client:
        async def ensure(ip: str) -> None:
            await nodeendpoints.ensure(client, "kube-system", "kube-dns", ip, nodeendpoints.DNS_PORTS, "node-a",
                                       service_obj=nodeendpoints.kube_dns_service(), slice_name="kube-dns-node-a")

        await ensure("10.42.0.1")
        first = await client.get(nodeendpoints.SERVICES, "kube-system", "kube-dns")
        await ensure("10.42.0.1")  # the Service exists: no error (its cluster IP is taken by itself)
        await ensure("10.42.7.1")  # the node's address changed: endpoints follow
        service = await client.get(nodeendpoints.SERVICES, "kube-system", "kube-dns")
        assert service["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
        assert service["spec"]["clusterIP"] == nodeendpoints.DNS_SERVICE_IP
        endpoints = await client.get(nodeendpoints.ENDPOINTS, "kube-system", "kube-dns")
        assert endpoints["subsets"][0]["addresses"] == [{"ip": "10.42.7.1"}]
        eps = await client.get(nodeendpoints.ENDPOINTSLICES, "kube-system", "kube-dns-node-a")
        assert eps["endpoints"][0]["addresses"] == ["10.42.7.1"]
