"""Endpoints the node agent publishes itself, for selector-less Services served by the node, not by pods:

* ``kube-system/kube-dns`` (10.43.0.10; ports ``dns`` 53/UDP and ``dns-tcp`` 53/TCP; CoreDNS's labels) → the
  cluster DNS the agent serves on the pod bridge's gateway address;
* ``default/kubernetes`` (the Service the API server bootstraps) → the API server at ``node IP:https-port`` (the
  address upstream's endpoint reconciler publishes).  When that API server listens only on 127.0.0.1, the proxy
  DNATs this endpoint to 127.0.0.1 (:attr:`kybernetes.proxy.rules.NodeInfo.loopback_endpoints`).

Pure builders (:func:`kube_dns_service`, :func:`endpoints_object`, :func:`endpoint_slice`) and one idempotent
:func:`ensure` that creates or updates (only when different) the Service, the Endpoints and the EndpointSlice.
"""

from __future__ import annotations

import contextlib
from typing import Any

from kybernetes.client.errors import AlreadyExistsError, ConflictError, NotFoundError
from kybernetes.client.rest import Client, resource

Obj = dict[str, Any]

SERVICES = resource("", "v1", "services")
ENDPOINTS = resource("", "v1", "endpoints")
ENDPOINTSLICES = resource("discovery.k8s.io", "v1", "endpointslices")
DNS_SERVICE_IP = "10.43.0.10"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
AGENT_MANAGER = "kybernetes-agent"
DNS_PORTS = [{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]


def kube_dns_service(cluster_ip: str = DNS_SERVICE_IP) -> Obj:
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system",
                     "labels": {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true",
                                "kubernetes.io/name": "CoreDNS"},
                     "annotations": {"prometheus.io/port": "9153", "prometheus.io/scrape": "true"}},
        "spec": {"type": "ClusterIP", "clusterIP": cluster_ip, "clusterIPs": [cluster_ip],
                 "ports": [{**p, "targetPort": 53} for p in DNS_PORTS], "sessionAffinity": "None"},
    }


def endpoints_object(namespace: str, name: str, ip: str, ports: list[Obj], labels: dict[str, str]) -> Obj:
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
            "subsets": [{"addresses": [{"ip": ip}], "ports": [dict(p) for p in ports]}]}


def endpoint_slice(namespace: str, name: str, service: str, ip: str, ports: list[Obj], node: str,
                   labels: dict[str, str]) -> Obj:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {**labels, "kubernetes.io/service-name": service, MANAGED_BY: AGENT_MANAGER}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True, "serving": True, "terminating": False},
                           **({"nodeName": node} if node else {})}],
            "ports": [dict(p) for p in ports]}


def _differs(want: Obj, have: Obj) -> bool:
    for key, value in want.items():
        if key in ("apiVersion", "kind"):
            continue
        if key == "metadata":
            meta = have.get("metadata") or {}
            if any((meta.get(k) or {}) != v for k, v in value.items() if k in ("labels",)):
                return True
        elif have.get(key) != value:
            return True
    return False


async def _upsert(client: Client, res: Any, obj: Obj) -> None:
    ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
    for _ in range(5):
        try:
            have = await client.get(res, ns, name)
        except NotFoundError:
            try:
                await client.create(res, ns, obj)
                return
            except AlreadyExistsError:
                continue
        if not _differs(obj, have):
            return
        merged = {**have, **{k: v for k, v in obj.items() if k != "metadata"}}
        merged["metadata"] = {**have["metadata"], "labels": {**(have["metadata"].get("labels") or {}),
                                                             **obj["metadata"].get("labels", {})}}
        try:
            await client.update(res, ns, name, merged)
            return
        except ConflictError:
            continue


async def ensure(client: Client, namespace: str, service: str, ip: str, ports: list[Obj], node: str,
                 *, service_obj: Obj | None = None, slice_name: str = "") -> None:
    """Create ``service_obj`` when missing (never changed when present), then Endpoints and EndpointSlice."""
    if service_obj is not None:
        # GET first: creating a Service that exists fails on its cluster IP (422 "already allocated", as
        # upstream) before the name is checked
        try:
            await client.get(SERVICES, namespace, service_obj["metadata"]["name"])
        except NotFoundError:
            with contextlib.suppress(AlreadyExistsError):
                await client.create(SERVICES, namespace, service_obj)
    labels = dict(((service_obj or {}).get("metadata") or {}).get("labels") or {})
    await _upsert(client, ENDPOINTS, endpoints_object(namespace, service, ip, ports, labels))
    await _upsert(client, ENDPOINTSLICES,
                  endpoint_slice(namespace, slice_name or service, service, ip, ports, node, labels))
