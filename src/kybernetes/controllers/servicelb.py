"""ServiceLB: LoadBalancer addresses without a cloud (like k3s's ServiceLB, or a pool like MetalLB's).

* Services of type LoadBalancer with no ``spec.loadBalancerClass`` get ``status.loadBalancer.ingress``:
  - without a pool: the InternalIP (ExternalIP when a node has one) of every Ready node, sorted (k3s ServiceLB);
  - with option ``lb_pool`` (``kyb server --lb-pool 127.0.100.0/24``): one address of the pool per Service.
    Addresses already held stay held; ``spec.loadBalancerIP`` is honoured when it is in the pool and free; otherwise
    the lowest free host address.  An exhausted pool (or a requested address that is taken or outside the pool)
    leaves the ingress empty, records a Warning ``AllocationFailed`` event and sets the condition
    ``LoadBalancerAllocated=False`` (reason ``AllocationFailed``); it is removed once an address is given.
* A Service that stops being a LoadBalancer loses the ingress this controller set.
The proxy programs the ingress IPs; pool addresses in 127.0.0.0/8 answer from the host with no extra route.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from kybernetes.client.errors import NotFoundError
from kybernetes.client.informer import split_key
from kybernetes.client.rest import resource
from kybernetes.controllers.base import Context, Controller, Obj
from kybernetes.controllers.common import now_rfc3339
from kybernetes.controllers.manager import register

SERVICES = resource("", "v1", "services")
NODES = resource("", "v1", "nodes")
CONDITION = "LoadBalancerAllocated"


def is_managed_lb(svc: Obj) -> bool:
    spec = svc.get("spec") or {}
    return spec.get("type") == "LoadBalancer" and not spec.get("loadBalancerClass")


def ingress_ips(svc: Obj) -> list[str]:
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return [str(i["ip"]) for i in ingress if i.get("ip")]


def node_addresses(nodes: Iterable[Obj]) -> list[str]:
    """ExternalIP, else InternalIP, of each Ready node (of every node when none is Ready), sorted."""
    def ready(node: Obj) -> bool:
        return any(c.get("type") == "Ready" and c.get("status") == "True"
                   for c in (node.get("status") or {}).get("conditions") or [])

    nodes = list(nodes)
    chosen = [n for n in nodes if ready(n)] or nodes
    out: set[str] = set()
    for node in chosen:
        addrs = (node.get("status") or {}).get("addresses") or []
        ext = [a["address"] for a in addrs if a.get("type") == "ExternalIP" and a.get("address")]
        internal = [a["address"] for a in addrs if a.get("type") == "InternalIP" and a.get("address")]
        out.update(ext or internal)
    return sorted(out, key=lambda a: (ipaddress.ip_address(a).version, ipaddress.ip_address(a)))


def _key(svc: Obj) -> str:
    meta = svc.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}"


def pool_allocations(services: Iterable[Obj], pool: str) -> tuple[dict[str, str], dict[str, str]]:
    """(service key → address, service key → why it got none) for every managed LoadBalancer Service.

    Deterministic: Services already holding a pool address keep it (the oldest wins a conflict), then requests in
    creation order."""
    net = ipaddress.ip_network(pool, strict=False)
    hosts = list(net.hosts()) if net.num_addresses > 2 else list(net)
    lbs = sorted((s for s in services if is_managed_lb(s)),
                 key=lambda s: (str((s.get("metadata") or {}).get("creationTimestamp") or ""), _key(s)))
    taken: dict[str, str] = {}  # ip → key
    out: dict[str, str] = {}
    failed: dict[str, str] = {}
    for svc in lbs:
        for ip in ingress_ips(svc):
            if ipaddress.ip_address(ip) in net and ip not in taken:
                taken[ip] = _key(svc)
                out[_key(svc)] = ip
                break
    free = (str(h) for h in hosts)
    for svc in lbs:
        key = _key(svc)
        if key in out:
            continue
        wanted = str((svc.get("spec") or {}).get("loadBalancerIP") or "")
        if wanted:
            try:
                inside = ipaddress.ip_address(wanted) in net
            except ValueError:
                inside = False
            if not inside:
                failed[key] = f"requested IP {wanted} is not in pool {pool}"
            elif wanted in taken:
                failed[key] = f"requested IP {wanted} is already allocated to {taken[wanted]}"
            else:
                taken[wanted] = key
                out[key] = wanted
            continue
        found = next((h for h in free if h not in taken), None)
        if found is None:
            failed[key] = f"no available IPs in pool {pool}"
            continue
        taken[found] = key
        out[key] = found
    return out, failed


def status_patch(svc: Obj, ips: list[str], failure: str) -> dict[str, Any] | None:
    """The merge patch for ``svc``'s status (None when it already matches)."""
    status = svc.get("status") or {}
    want_ingress = [{"ip": ip, "ipMode": "VIP"} for ip in ips]
    have_ingress = (status.get("loadBalancer") or {}).get("ingress") or []
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != CONDITION]
    if failure:
        old = next((c for c in status.get("conditions") or [] if c.get("type") == CONDITION), None)
        if old and old.get("status") == "False" and old.get("message") == failure:
            conditions.append(old)
        else:
            conditions.append({"type": CONDITION, "status": "False", "reason": "AllocationFailed",
                               "message": failure, "lastTransitionTime": now_rfc3339(),
                               "observedGeneration": (svc.get("metadata") or {}).get("generation", 0)})
    if have_ingress == want_ingress and conditions == (status.get("conditions") or []):
        return None
    patch: dict[str, Any] = {"loadBalancer": {"ingress": want_ingress or None}}
    patch["conditions"] = conditions or None
    return {"status": patch}


@register
class ServiceLBController(Controller):
    name = "servicelb"
    component = "service-lb-controller"
    workers = 1  # allocations are decided from the whole cache; one worker keeps them consistent

    def __init__(self, ctx: Context) -> None:
        self.pool = str(ctx.options.get("lb_pool") or "")
        super().__init__(ctx)

    def setup(self) -> None:
        self.services = self.ctx.informers.informer(SERVICES)
        self.nodes = self.ctx.informers.informer(NODES)
        self.services.add_handlers(on_add=self.enqueue, on_update=lambda _o, n: self.enqueue(n),
                                   on_delete=lambda _o: self._enqueue_all())
        self.nodes.add_handlers(on_add=lambda _o: self._enqueue_all(),
                                on_update=lambda o, n: self._node_changed(o, n),
                                on_delete=lambda _o: self._enqueue_all())

    def _node_changed(self, old: Obj, new: Obj) -> None:
        if node_addresses([old]) != node_addresses([new]):
            self._enqueue_all()

    def _enqueue_all(self) -> None:
        for svc in self.services.lister.list():
            if is_managed_lb(svc) or ingress_ips(svc):
                self.enqueue(svc)

    async def sync(self, key: str) -> None:
        ns, name = split_key(key)
        svc = self.services.lister.get(ns, name)
        if svc is None:
            return
        failure = ""
        if not is_managed_lb(svc):
            if not ingress_ips(svc) or (svc.get("spec") or {}).get("loadBalancerClass"):
                return
            ips: list[str] = []
        elif self.pool:
            allocated, failed = pool_allocations(self.services.lister.list(), self.pool)
            ips = [allocated[key]] if key in allocated else []
            failure = failed.get(key, "")
        else:
            ips = node_addresses(self.nodes.lister.list())
        patch = status_patch(svc, ips, failure)
        if patch is None:
            return
        if failure and not any(c.get("message") == failure for c in (svc.get("status") or {}).get("conditions") or []):
            self.recorder.record(svc, "Warning", "AllocationFailed", f"Failed to allocate IP for \"{key}\": {failure}")
        try:
            await self.client.patch(SERVICES, ns, name, patch, subresource="status")
        except NotFoundError:
            return
        if ips and is_managed_lb(svc) and not ingress_ips(svc):
            self.recorder.record(svc, "Normal", "IPAllocated", f"Assigned IP {', '.join(ips)}")
