"""Objects every cluster starts with: the system namespaces and the ``kubernetes`` Service at 10.43.0.1."""

from __future__ import annotations

from kybernetes.api import errors
from kybernetes.api.registry import Registry, Resource
from kybernetes.apiserver.objects import Obj
from kybernetes.apiserver.store import ListOptions, RestStore, WriteOptions

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
KUBERNETES_SERVICE_IP = "10.43.0.1"


def _resource(registry: Registry, group: str, plural: str) -> Resource:
    versions = registry.versions(group)
    for version in versions:
        res = registry.get(group, version, plural)
        if res is not None:
            return res
    raise LookupError(f"{plural}.{group} is not registered")


async def list_all(store: RestStore, registry: Registry, group: str, plural: str) -> list[Obj]:
    page = await store.list(_resource(registry, group, plural), "", ListOptions())
    return page.items


async def _create_if_missing(store: RestStore, res: Resource, namespace: str, obj: Obj) -> None:
    try:
        await store.get(res, namespace, obj["metadata"]["name"])
        return
    except errors.StatusError as exc:
        if exc.code != 404:
            raise
    try:
        await store.create(res, namespace, obj, WriteOptions(field_manager="kube-apiserver"))
    except errors.StatusError as exc:
        if exc.code != 409:
            raise


async def ensure_defaults(store: RestStore, registry: Registry, https_port: int) -> None:
    namespaces = _resource(registry, "", "namespaces")
    for name in SYSTEM_NAMESPACES:
        await _create_if_missing(store, namespaces, "", {
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}}})
    services = _resource(registry, "", "services")
    await _create_if_missing(store, services, "default", {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"type": "ClusterIP", "clusterIP": KUBERNETES_SERVICE_IP, "clusterIPs": [KUBERNETES_SERVICE_IP],
                 "sessionAffinity": "None",
                 "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": https_port}]},
    })
