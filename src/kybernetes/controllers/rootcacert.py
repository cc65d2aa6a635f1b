"""The root CA publisher: a ConfigMap ``kube-root-ca.crt`` (key ``ca.crt``: the cluster CA, PEM) in every
namespace, with upstream's ``kubernetes.io/description`` annotation.

The CA is the one the controller manager trusts (``ctx.client.config.ca_pem``).  Keys are namespace names; a
namespace added or updated and the ConfigMap changed or deleted enqueue it.  :func:`desired_configmap` decides:
create, update (data or annotation drifted), or nothing.
"""

from __future__ import annotations

import copy
from typing import Any

from kybernetes.client.errors import AlreadyExistsError, ApiError, ConflictError, NotFoundError
from kybernetes.client.rest import resource
from kybernetes.controllers.base import Controller
from kybernetes.controllers.manager import register

Obj = dict[str, Any]
NAMESPACES = resource("", "v1", "namespaces")
CONFIGMAPS = resource("", "v1", "configmaps")
NAME = "kube-root-ca.crt"
DESCRIPTION_ANNOTATION = "kubernetes.io/description"
DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
               "such as the internal service IP or kubernetes.default.svc. "
               "No other usage is guaranteed across distributions of Kubernetes clusters.")


def desired_configmap(namespace: str, ca_pem: str, current: Obj | None) -> tuple[str, Obj | None]:
    """("create" | "update" | "none", the object to write)."""
    if current is None:
        return "create", {"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": NAME, "namespace": namespace,
                                       "annotations": {DESCRIPTION_ANNOTATION: DESCRIPTION}},
                          "data": {"ca.crt": ca_pem}}
    data = current.get("data") or {}
    annotations = (current.get("metadata") or {}).get("annotations") or {}
    if data == {"ca.crt": ca_pem} and annotations.get(DESCRIPTION_ANNOTATION) == DESCRIPTION:
        return "none", None
    updated = copy.deepcopy(current)
    updated["data"] = {"ca.crt": ca_pem}
    updated["metadata"].setdefault("annotations", {})[DESCRIPTION_ANNOTATION] = DESCRIPTION
    return "update", updated


@register
class RootCACertPublisher(Controller):
    name = "root-ca-cert-publisher"
    component = "root-ca-cert-publisher"

    def setup(self) -> None:
        self.ca_pem = self.client.config.ca_pem.decode()
        self.namespaces = self.ctx.informers.informer(NAMESPACES)
        self.configmaps = self.ctx.informers.informer(CONFIGMAPS, field_selector=f"metadata.name={NAME}")
        self.namespaces.add_handlers(on_add=self._ns, on_update=lambda _o, n: self._ns(n))
        self.configmaps.add_handlers(on_update=lambda _o, n: self._cm(n), on_delete=self._cm)

    def _ns(self, ns: Obj) -> None:
        self.enqueue_key(str((ns.get("metadata") or {}).get("name") or ""))

    def _cm(self, cm: Obj) -> None:
        meta = cm.get("metadata") or {}
        if meta.get("name") == NAME:
            self.enqueue_key(str(meta.get("namespace") or ""))

    async def sync(self, key: str) -> None:
        ns = self.namespaces.lister.get("", key)
        if ns is None or (ns.get("metadata") or {}).get("deletionTimestamp"):
            return
        action, obj = desired_configmap(key, self.ca_pem, self.configmaps.lister.get(key, NAME))
        try:
            if action == "create" and obj is not None:
                await self.client.create(CONFIGMAPS, key, obj)
            elif action == "update" and obj is not None:
                await self.client.update(CONFIGMAPS, key, NAME, obj)
        except (AlreadyExistsError, ConflictError, NotFoundError):
            self.queue.add_after(key, 1.0)
        except ApiError as exc:
            if exc.code != 403:  # 403: the namespace is terminating
                raise
