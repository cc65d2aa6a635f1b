"""ClusterIP and NodePort allocation for Services (upstream's ipallocator/portallocator, in memory).

The API server is the only writer, so the allocators live in its memory: rebuilt from the stored Services at
start (``repair``), updated by the service hooks on every create, update and delete.  Dynamic ClusterIPs come
from the upper band of the range first, like upstream, so the lower band stays free for fixed addresses
(``10.43.0.1`` for ``kubernetes``, ``10.43.0.10`` for DNS).
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass, field

from kybernetes.api.errors import FieldError, invalid_value

SERVICE_CIDR = "10.43.0.0/16"
NODE_PORT_RANGE = (30000, 32767)


class AllocationError(Exception):
    def __init__(self, error: FieldError) -> None:
        super().__init__(error.error())
        self.error = error


@dataclass
class IPAllocator:
    cidr: ipaddress.IPv4Network = field(default_factory=lambda: ipaddress.IPv4Network(SERVICE_CIDR))
    used: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        size = self.cidr.num_addresses - 2  # no network, no broadcast
        self._static_band = min(max(16, size // 16), 256)

    def contains(self, ip: str) -> bool:
        try:
            addr = ipaddress.IPv4Address(ip)
        except ValueError:
            return False
        return addr in self.cidr and addr not in (self.cidr.network_address, self.cidr.broadcast_address)

    def allocate(self, ip: str, path: str) -> str:
        """Reserve ``ip`` (validated) and return it."""
        if not self.contains(ip):
            raise AllocationError(invalid_value(
                path, [ip], f"failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. "
                            f"The range of valid IPs is {self.cidr}"))
        if ip in self.used:
            raise AllocationError(invalid_value(
                path, [ip], f"failed to allocate IP {ip}: provided IP is already allocated"))
        self.used.add(ip)
        return ip

    def allocate_next(self, path: str) -> str:
        base = int(self.cidr.network_address)
        size = self.cidr.num_addresses - 2
        bands = [(self._static_band + 1, size), (1, min(self._static_band, size))]
        for low, high in bands:
            span = high - low + 1
            if span <= 0:
                continue
            start = random.randrange(span)
            for i in range(span):
                ip = str(ipaddress.IPv4Address(base + low + (start + i) % span))
                if ip not in self.used:
                    self.used.add(ip)
                    return ip
        raise AllocationError(invalid_value(path, [], "failed to allocate a serviceIP: range is full"))

    def release(self, ip: str) -> None:
        self.used.discard(ip)


@dataclass
class PortAllocator:
    low: int = NODE_PORT_RANGE[0]
    high: int = NODE_PORT_RANGE[1]
    used: set[int] = field(default_factory=set)

    def allocate(self, port: int, path: str) -> int:
        if not self.low <= port <= self.high:
            raise AllocationError(invalid_value(
                path, port, f"provided port is not in the valid range. The range of valid ports is "
                            f"{self.low}-{self.high}"))
        if port in self.used:
            raise AllocationError(invalid_value(path, port, "provided port is already allocated"))
        self.used.add(port)
        return port

    def allocate_next(self, path: str) -> int:
        span = self.high - self.low + 1
        start = random.randrange(span)
        for i in range(span):
            port = self.low + (start + i) % span
            if port not in self.used:
                self.used.add(port)
                return port
        raise AllocationError(invalid_value(path, 0, "failed to allocate a nodePort: range is full"))

    def release(self, port: int) -> None:
        self.used.discard(port)
