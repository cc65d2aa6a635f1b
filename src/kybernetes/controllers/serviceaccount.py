"""The ServiceAccount controller: every active namespace has the ``default`` ServiceAccount.

Keys are namespace names.  A namespace that is added or updated, and a ``default`` ServiceAccount that is deleted,
enqueue the namespace; ``sync`` creates the account when the namespace is active and the cache lacks it
(:func:`missing_accounts`).  Terminating namespaces are left alone, like upstream.
"""

from __future__ import annotations

from typing import Any

from kybernetes.client.errors import AlreadyExistsError, ApiError, NotFoundError
from kybernetes.client.rest import resource
from kybernetes.controllers.base import Controller
from kybernetes.controllers.manager import register

Obj = dict[str, Any]
NAMESPACES = resource("", "v1", "namespaces")
SERVICEACCOUNTS = resource("", "v1", "serviceaccounts")
MANAGED = ("default",)


def is_active(ns: Obj | None) -> bool:
    return ns is not None and not (ns.get("metadata") or {}).get("deletionTimestamp") and \
        (ns.get("status") or {}).get("phase", "Active") == "Active"


def missing_accounts(ns: Obj | None, existing: set[str]) -> list[str]:
    """Names of managed ServiceAccounts to create in ``ns``."""
    if not is_active(ns):
        return []
    return [name for name in MANAGED if name not in existing]


@register
class ServiceAccountController(Controller):
    name = "serviceaccount"
    component = "service-account-controller"

    def setup(self) -> None:
        self.namespaces = self.ctx.informers.informer(NAMESPACES)
        self.accounts = self.ctx.informers.informer(SERVICEACCOUNTS)
        self.namespaces.add_handlers(on_add=self._ns, on_update=lambda _o, n: self._ns(n))
        self.accounts.add_handlers(on_delete=self._sa_deleted)

    def _ns(self, ns: Obj) -> None:
        self.enqueue_key(str((ns.get("metadata") or {}).get("name") or ""))

    def _sa_deleted(self, sa: Obj) -> None:
        meta = sa.get("metadata") or {}
        if meta.get("name") in MANAGED:
            self.enqueue_key(str(meta.get("namespace") or ""))

    async def sync(self, key: str) -> None:
        ns = self.namespaces.lister.get("", key)
        existing = {str(sa["metadata"]["name"]) for sa in self.accounts.lister.list(key)}
        for name in missing_accounts(ns, existing):
            try:
                await self.client.create(SERVICEACCOUNTS, key, {"apiVersion": "v1", "kind": "ServiceAccount",
                                                                "metadata": {"name": name, "namespace": key}})
            except (AlreadyExistsError, NotFoundError):
                pass
            except ApiError as exc:
                if exc.code != 403:  # 403: the namespace started terminating meanwhile
                    raise
