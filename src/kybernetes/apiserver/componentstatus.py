"""``componentstatuses``: computed on request, never stored (like upstream).

The store is healthy when it answers; the scheduler and the controller manager are healthy while their leader
Leases in kube-system are being renewed (each runs leader election), which works the same for components in other
processes or on other machines.
"""

from __future__ import annotations

from datetime import timedelta

from kybernetes.api import errors
from kybernetes.api.registry import Registry
from kybernetes.apiserver import objects
from kybernetes.apiserver.objects import Obj
from kybernetes.apiserver.store import RestStore

DEPRECATION = "v1 ComponentStatus is deprecated in v1.19+"
LEASES = (("scheduler", "kube-scheduler"), ("controller-manager", "kube-controller-manager"))


def _status(name: str, healthy: bool, message: str, error: str = "") -> Obj:
    return {"kind": "ComponentStatus", "apiVersion": "v1", "metadata": {"name": name},
            "conditions": [{"type": "Healthy", "status": "True" if healthy else "False", "message": message,
                            "error": error}]}


async def component_statuses(store: RestStore, registry: Registry) -> list[Obj]:
    leases = registry.get("coordination.k8s.io", "v1", "leases")
    assert leases is not None
    out: list[Obj] = []
    for name, lease_name in LEASES:
        try:
            lease = await store.get(leases, "kube-system", lease_name)
        except errors.StatusError:
            out.append(_status(name, False, "", f'no leader lease "kube-system/{lease_name}" is held'))
            continue
        spec = lease.get("spec") or {}
        renewed = spec.get("renewTime")
        duration = int(spec.get("leaseDurationSeconds") or 15)
        if renewed and objects.parse_time(renewed) + timedelta(seconds=duration) >= objects.now():
            out.append(_status(name, True, "ok"))
        else:
            out.append(_status(name, False, "", f'leader lease "kube-system/{lease_name}" expired'))
    try:
        await store.storage.current_revision()
        out.append(_status("etcd-0", True, "ok"))
    except Exception as exc:  # the store's own failure, whatever it is, is the message
        out.append(_status("etcd-0", False, "", str(exc)))
    return out
