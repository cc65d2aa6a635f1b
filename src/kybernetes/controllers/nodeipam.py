"""Node IPAM (upstream ``pkg/controller/nodeipam``, range allocator): a pod CIDR per node.

Every Node without ``spec.podCIDR`` gets the lowest free ``/node_cidr_mask_size`` (24) of ``cluster_cidr``
(10.42.0.0/16) in ``spec.podCIDR`` and ``spec.podCIDRs``.  The set of used CIDRs is rebuilt from the node
informer (so a restart is consistent: every CIDR already on a node stays taken); a CIDR is marked used before the
patch is sent, so concurrent workers never hand out the same range (asyncio: no await in between).  When the range
is exhausted the node gets a ``CIDRNotAvailable`` event, like upstream.

Options: ``cluster_cidr``, ``node_cidr_mask_size``.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Any

from kybernetes.client.errors import NotFoundError
from kybernetes.client.rest import resource
from kybernetes.controllers.base import Context, Controller, Obj
from kybernetes.controllers.manager import register

NODES = resource("", "v1", "nodes")
DEFAULT_CLUSTER_CIDR = "10.42.0.0/16"
DEFAULT_MASK = 24


def node_cidrs(node: Obj) -> list[str]:
    spec = node.get("spec") or {}
    cidrs = list(spec.get("podCIDRs") or [])
    if not cidrs and spec.get("podCIDR"):
        cidrs = [spec["podCIDR"]]
    return [str(c) for c in cidrs]


@functools.lru_cache(maxsize=65536)
def _span(cidr: str, cluster_cidr: str, mask: int) -> tuple[int, int] | None:
    """The indexes (first, last) of the ``/mask`` subnets of ``cluster_cidr`` that ``cidr`` overlaps."""
    cluster = ipaddress.ip_network(cluster_cidr, strict=False)
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None
    if net.version != cluster.version or not net.overlaps(cluster):
        return None
    shift = cluster.max_prefixlen - mask
    base = int(cluster.network_address) >> shift
    count = 1 << (mask - cluster.prefixlen)
    first = (int(net.network_address) >> shift) - base
    last = (int(net.broadcast_address) >> shift) - base
    return max(first, 0), min(last, count - 1)


def next_free_cidr(cluster_cidr: str, mask: int, used: set[str]) -> str | None:
    """The lowest ``/mask`` subnet of ``cluster_cidr`` that overlaps nothing in ``used`` (None when full)."""
    cluster = ipaddress.ip_network(cluster_cidr, strict=False)
    if mask < cluster.prefixlen or mask > cluster.max_prefixlen:
        return None
    shift = cluster.max_prefixlen - mask
    count = 1 << (mask - cluster.prefixlen)
    taken: set[int] = set()
    cluster_text = str(cluster)
    for cidr in used:
        span = _span(cidr, cluster_text, mask)
        if span is not None:
            taken.update(range(span[0], span[1] + 1))
    for i in range(count):
        if i not in taken:
            return str(ipaddress.ip_network((int(cluster.network_address) + (i << shift), mask)))
    return None


@register
class NodeIpamController(Controller):
    name = "nodeipam"
    component = "cidrAllocator"
    workers = 4

    def __init__(self, ctx: Context) -> None:
        self.cluster_cidr = str(ctx.options.get("cluster_cidr", DEFAULT_CLUSTER_CIDR))
        self.mask = int(ctx.options.get("node_cidr_mask_size", DEFAULT_MASK))
        self._pending: dict[str, str] = {}  # node → CIDR sent but not yet seen on the node
        self._by_node: dict[str, list[str]] | None = None  # node → its CIDRs
        super().__init__(ctx)

    def setup(self) -> None:
        self.nodes = self.ctx.informers.informer(NODES)
        self.nodes.add_handlers(on_add=self.enqueue, on_update=lambda _o, n: self.enqueue(n),
                                on_delete=self.enqueue)

    def used(self) -> set[str]:
        """CIDRs on nodes (as last synced; filled from the cache on first use) and CIDRs being assigned."""
        if self._by_node is None:
            self._by_node = {}
            for node in self.nodes.lister.list():
                if node_cidrs(node):
                    self._by_node[str(node["metadata"]["name"])] = node_cidrs(node)
        return {c for cidrs in self._by_node.values() for c in cidrs} | set(self._pending.values())

    async def sync(self, key: str) -> None:
        node = self.nodes.lister.get("", key)
        if node is None:
            self._pending.pop(key, None)
            if self._by_node is not None:
                self._by_node.pop(key, None)
            return
        if node_cidrs(node):
            self._pending.pop(key, None)
            if self._by_node is not None:
                self._by_node[key] = node_cidrs(node)
            return
        if key in self._pending:
            cidr = self._pending[key]
        else:
            found = next_free_cidr(self.cluster_cidr, self.mask, self.used())
            if found is None:
                self.recorder.record(node, "Normal", "CIDRNotAvailable",
                                     f"Node {key} status is now: CIDRNotAvailable")
                raise RuntimeError(f"no pod CIDR left in {self.cluster_cidr} for node {key}")
            cidr = found
            self._pending[key] = cidr
        patch: dict[str, Any] = {"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}}
        try:
            await self.client.patch(NODES, "", key, patch)
        except NotFoundError:
            self._pending.pop(key, None)
        except Exception:
            self._pending.pop(key, None)
            self.recorder.record(node, "Warning", "CIDRAssignmentFailed",
                                 f"Node {key} status is now: CIDRAssignmentFailed")
            raise
