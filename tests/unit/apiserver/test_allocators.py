import ipaddress

import pytest

from kybernetes.apiserver.allocators import AllocationError, IPAllocator, PortAllocator


def test_dynamic_ips_come_from_the_upper_band_and_never_repeat() -> None:
    alloc = IPAllocator(ipaddress.IPv4Network("10.43.0.0/16"))
    seen = {alloc.allocate_next("spec.clusterIPs") for _ in range(500)}
    assert len(seen) == 500
    assert all(ipaddress.IPv4Address(ip) >= ipaddress.IPv4Address("10.43.1.1") for ip in seen)


@pytest.mark.parametrize(
    ("ip", "message"),
    [
        pytest.param("10.44.0.1", "not in the valid range", id="outside"),
        pytest.param("10.43.0.0", "not in the valid range", id="network address"),
        pytest.param("bogus", "not in the valid range", id="not an IP"),
    ],
)
def test_explicit_ip_is_validated(ip: str, message: str) -> None:
    with pytest.raises(AllocationError) as info:
        IPAllocator().allocate(ip, "spec.clusterIPs")
    assert message in info.value.error.detail


def test_explicit_ip_collision() -> None:
    alloc = IPAllocator()
    alloc.allocate("10.43.0.10", "spec.clusterIPs")
    with pytest.raises(AllocationError) as info:
        alloc.allocate("10.43.0.10", "spec.clusterIPs")
    assert info.value.error.detail == "failed to allocate IP 10.43.0.10: provided IP is already allocated"
    alloc.release("10.43.0.10")
    assert alloc.allocate("10.43.0.10", "spec.clusterIPs") == "10.43.0.10"


def test_small_range_exhausts() -> None:
    alloc = IPAllocator(ipaddress.IPv4Network("10.0.0.0/29"))
    ips = {alloc.allocate_next("x") for _ in range(6)}
    assert len(ips) == 6
    with pytest.raises(AllocationError):
        alloc.allocate_next("x")


def test_node_ports() -> None:
    ports = PortAllocator(30000, 30002)
    got = {ports.allocate_next("p") for _ in range(3)}
    assert got == {30000, 30001, 30002}
    with pytest.raises(AllocationError):
        ports.allocate_next("p")
    with pytest.raises(AllocationError) as info:
        ports.allocate(80, "spec.ports[0].nodePort")
    assert "The range of valid ports is 30000-30002" in info.value.error.detail
