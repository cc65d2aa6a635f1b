"""Leader election through a coordination.k8s.io/v1 Lease, with client-go's timing.

``run(leading)`` blocks until this process holds the Lease, runs ``leading()`` while renewing every
``retry_period``, and cancels it (then raises :class:`LostLeadership`) when a renewal has not succeeded for
``renew_deadline``.  A component should exit then and be restarted by its supervisor, like upstream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from kybernetes.client.errors import AlreadyExistsError, ApiError, ConflictError, NotFoundError
from kybernetes.client.rest import Client, resource

log = logging.getLogger(__name__)

LEASES = resource("coordination.k8s.io", "v1", "leases")


class LostLeadership(Exception):
    pass


def _micro_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class LeaderElector:
    def __init__(self, client: Client, name: str, identity: str, *, namespace: str = "kube-system",
                 lease_duration: float = 15.0, renew_deadline: float = 10.0, retry_period: float = 2.0) -> None:
        self.client = client
        self.name = name
        self.namespace = namespace
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.is_leader = False
        self._last: dict[str, Any] | None = None  # the Lease as we last wrote it

    def _spec(self, lease: dict[str, Any] | None) -> dict[str, Any]:
        now = _micro_now()
        spec = dict((lease or {}).get("spec") or {})
        transitions = int(spec.get("leaseTransitions") or 0)
        if spec.get("holderIdentity") != self.identity:
            spec["acquireTime"] = now
            if lease is not None:
                transitions += 1
        spec.update({"holderIdentity": self.identity, "leaseDurationSeconds": int(self.lease_duration),
                     "renewTime": now, "leaseTransitions": transitions})
        return spec

    async def _renew_cached(self) -> bool | None:
        """Renew with the Lease we last wrote (one PUT instead of GET + PUT, as client-go's lock does); None when
        there is no cached copy or it is stale (then the caller reads the Lease)."""
        cached = self._last
        if cached is None or (cached.get("spec") or {}).get("holderIdentity") != self.identity:
            return None
        try:
            self._last = await self.client.update(LEASES, self.namespace, self.name,
                                                  {**cached, "spec": self._spec(cached)})
            return True
        except (ConflictError, NotFoundError):
            self._last = None
            return None

    async def try_acquire_or_renew(self) -> bool:
        renewed = await self._renew_cached()
        if renewed is not None:
            return renewed
        try:
            lease = await self.client.get(LEASES, self.namespace, self.name)
        except NotFoundError:
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": self.namespace}, "spec": self._spec(None)}
            try:
                self._last = await self.client.create(LEASES, self.namespace, body)
                return True
            except (AlreadyExistsError, ConflictError):
                return False
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity")
        if holder and holder != self.identity:
            renewed = spec.get("renewTime")
            duration = float(spec.get("leaseDurationSeconds") or self.lease_duration)
            if renewed and _parse(renewed) + duration > time.time():
                return False
        lease = {**lease, "spec": self._spec(lease)}
        try:
            self._last = await self.client.update(LEASES, self.namespace, self.name, lease)
            return True
        except (ConflictError, NotFoundError):
            return False

    async def run(self, leading: Callable[[], Coroutine[Any, Any, None]]) -> None:
        while True:
            try:
                if await self.try_acquire_or_renew():
                    break
            except ApiError as exc:
                log.debug("lease %s: %s", self.name, exc)
            await asyncio.sleep(self.retry_period)
        self.is_leader = True
        log.info("became leader of %s/%s as %s", self.namespace, self.name, self.identity)
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(leading(), name=f"leading {self.name}")
        last_renew = time.monotonic()
        try:
            while not task.done():
                done, _ = await asyncio.wait({task}, timeout=self.retry_period)
                if done:
                    break
                try:
                    if await self.try_acquire_or_renew():
                        last_renew = time.monotonic()
                except ApiError as exc:
                    log.debug("renewing lease %s: %s", self.name, exc)
                if time.monotonic() - last_renew > self.renew_deadline:
                    raise LostLeadership(f"lost the lease {self.namespace}/{self.name}")
            await task
        finally:
            self.is_leader = False
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
