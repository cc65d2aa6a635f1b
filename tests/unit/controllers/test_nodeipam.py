"""Node IPAM: CIDR allocation (pure) and the controller's sync with a fake client."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.client.informer import InformerFactory
from kybernetes.controllers.base import Context
from kybernetes.controllers.nodeipam import NodeIpamController, next_free_cidr, node_cidrs

Obj = dict[str, Any]


@pytest.mark.parametrize(("cluster", "mask", "used", "expected"), [
    pytest.param("10.42.0.0/16", 24, set(), "10.42.0.0/24", id="empty"),
    pytest.param("10.42.0.0/16", 24, {"10.42.0.0/24", "10.42.1.0/24"}, "10.42.2.0/24", id="next"),
    pytest.param("10.42.0.0/16", 24, {"10.42.1.0/24"}, "10.42.0.0/24", id="fills-hole"),
    pytest.param("10.42.0.0/16", 24, {"10.42.0.0/23"}, "10.42.2.0/24", id="bigger-used-range"),
    pytest.param("10.42.0.0/16", 24, {"10.42.0.128/25"}, "10.42.1.0/24", id="smaller-used-range"),
    pytest.param("10.42.0.0/16", 24, {"192.168.0.0/24", "bogus"}, "10.42.0.0/24", id="outside-and-invalid"),
    pytest.param("10.42.0.0/23", 24, {"10.42.0.0/24", "10.42.1.0/24"}, None, id="full"),
    pytest.param("10.42.0.0/16", 8, set(), None, id="mask-too-big"),
    pytest.param("10.42.0.0/16", 26, {"10.42.0.0/26"}, "10.42.0.64/26", id="other-mask"),
])
def test_next_free_cidr(cluster: str, mask: int, used: set[str], expected: str | None) -> None:
    assert next_free_cidr(cluster, mask, used) == expected


@pytest.mark.parametrize(("spec", "cidrs"), [
    pytest.param({}, [], id="none"),
    pytest.param({"podCIDR": "10.42.0.0/24"}, ["10.42.0.0/24"], id="legacy-field"),
    pytest.param({"podCIDR": "10.42.0.0/24", "podCIDRs": ["10.42.0.0/24", "fd00::/64"]},
                 ["10.42.0.0/24", "fd00::/64"], id="dual-stack"),
])
def test_node_cidrs(spec: Obj, cidrs: list[str]) -> None:
    assert node_cidrs({"spec": spec}) == cidrs


class FakeClient:
    def __init__(self) -> None:
        self.patches: list[tuple[str, Obj]] = []

    async def patch(self, res: Any, namespace: str, name: str, patch: Obj, **_: Any) -> Obj:
        self.patches.append((name, patch))
        return {}


def node(name: str, cidr: str = "") -> Obj:
    return {"metadata": {"name": name, "resourceVersion": "1"}, "spec": {"podCIDR": cidr} if cidr else {}}


async def test_sync_assigns_distinct_cidrs_and_rebuilds_from_existing_nodes() -> None:
    client = FakeClient()
    ctx = Context(client, InformerFactory(client), {})  # type: ignore[arg-type]
    ctrl = NodeIpamController(ctx)
    for n in (node("a", "10.42.0.0/24"), node("b"), node("c")):
        ctrl.nodes.store.put(n)
    await ctrl.sync("b")
    await ctrl.sync("c")
    await ctrl.sync("b")  # not yet observed: the same CIDR again, never a second one
    assert client.patches == [
        ("b", {"spec": {"podCIDR": "10.42.1.0/24", "podCIDRs": ["10.42.1.0/24"]}}),
        ("c", {"spec": {"podCIDR": "10.42.2.0/24", "podCIDRs": ["10.42.2.0/24"]}}),
        ("b", {"spec": {"podCIDR": "10.42.1.0/24", "podCIDRs": ["10.42.1.0/24"]}}),
    ]
    ctrl.nodes.store.put(node("b", "10.42.1.0/24"))
    await ctrl.sync("b")
    assert len(client.patches) == 3
    ctrl.nodes.store.remove("a")
    await ctrl.sync("a")
    ctrl.nodes.store.put(node("d"))
    await ctrl.sync("d")
    assert client.patches[-1] == ("d", {"spec": {"podCIDR": "10.42.0.0/24", "podCIDRs": ["10.42.0.0/24"]}})
