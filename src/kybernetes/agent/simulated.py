"""Simulated nodes (``kyb agent --simulate N``), like kwok: N Nodes kept alive by one process, no containers.

Each node is registered with capacity, labels, addresses and node info; its Lease in ``kube-node-lease`` is
renewed every ``lease_interval`` seconds (10) and its status conditions posted every ``status_interval`` seconds
(60), or at once when the server's conditions differ from a healthy node's (e.g. after the node lifecycle
controller marked it Unknown).

Pods: ONE pod informer (``spec.nodeName!=``) and one node informer serve every simulated node, so a process
scales to thousands of nodes.  Pod keys go through a work queue; :func:`simulated_pods.decide` picks the step:

* START  — allocate a pod IP from the node's ``spec.podCIDR`` (a per-node fallback /24 while it has none),
  patch ``pods/status`` once to Running/Ready, record Pulled/Created/Started events (component ``kubelet``).
* WAIT / FINISH — restartPolicy Never/OnFailure pods exit after ``complete_after`` seconds (default 5; per pod
  annotation ``kybernetes.io/simulate-duration``) with ``kybernetes.io/simulate-exit-code`` (0 → Succeeded/
  Completed, else Failed/Error); one status patch.
* DELETE — a pod with a deletionTimestamp is confirmed with a grace-0 DELETE (uid precondition), like a kubelet.

:meth:`SimulatedNodes.pause` stops a node's kubelet (no lease renewals, status or pod work) until
:meth:`SimulatedNodes.resume`: how tests make a node go NotReady.

Options (``options`` dict): ``complete_after``, ``lease_interval``, ``status_interval``, ``lease_duration``,
``workers`` (pod workers, 16), ``events`` (record kubelet events, True), ``concurrency`` (registration, 32).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from pathlib import Path
from typing import Any

from kybernetes.agent import simulated_node as sn
from kybernetes.agent.simulated_events import KubeletEvents, pod_ref
from kybernetes.agent.simulated_pods import (
    DEFAULT_COMPLETE_AFTER,
    PodIPAllocator,
    Step,
    decide,
    exit_code,
    finishes,
    image_ref,
    run_duration,
    running_status,
    terminated_status,
)
from kybernetes.client.config import load_kubeconfig
from kybernetes.client.errors import AlreadyExistsError, ApiError, ConflictError, NotFoundError
from kybernetes.client.informer import Informer, key_of, split_key
from kybernetes.client.rest import Client, resource
from kybernetes.client.workqueue import WorkQueue

log = logging.getLogger(__name__)

Obj = dict[str, Any]
NODES = resource("", "v1", "nodes")
PODS = resource("", "v1", "pods")
LEASES = resource("coordination.k8s.io", "v1", "leases")
MAX_RETRIES = 10


def _node_name_index(pod: Obj) -> list[str]:
    name = (pod.get("spec") or {}).get("nodeName")
    return [str(name)] if name else []


PAUSE_ANNOTATION = "kybernetes.io/simulate-paused"


class SimulatedNodes:
    """N simulated kubelets sharing one client, one node informer and one pod informer."""

    def __init__(self, client: Client, count: int, *, prefix: str = "kyb-sim",
                 options: dict[str, Any] | None = None) -> None:
        opts = dict(options or {})
        self.client = client
        self.names = [f"{prefix}-{i}" for i in range(count)]
        self.index = {name: i for i, name in enumerate(self.names)}
        self.complete_after = float(opts.get("complete_after", DEFAULT_COMPLETE_AFTER))
        self.lease_interval = float(opts.get("lease_interval", 10.0))
        self.status_interval = float(opts.get("status_interval", 60.0))
        self.lease_duration = int(opts.get("lease_duration", sn.LEASE_DURATION))
        self.workers = int(opts.get("workers", 16))
        self.concurrency = int(opts.get("concurrency", 32))
        self.events = KubeletEvents(client, enabled=bool(opts.get("events", True)))
        self.kubelet_version = str(opts.get("kubelet_version", ""))
        self.paused: set[str] = set()
        self._paused_by_annotation: set[str] = set()
        self.boot_ids = {name: str(uuid.uuid4()) for name in self.names}
        self.node_informer = Informer(client, NODES,
                                      label_selector=f"node.kubernetes.io/instance-type={sn.INSTANCE_TYPE}")
        self.pod_informer = Informer(client, PODS, field_selector="spec.nodeName!=",
                                     indexers={"nodeName": _node_name_index})
        self.queue = WorkQueue("simulated-pods")
        self._wake = {name: asyncio.Event() for name in self.names}
        self._allocators: dict[str, PodIPAllocator] = {}
        self._ips: dict[str, tuple[str, str]] = {}      # pod uid → (node, ip)
        self._started: dict[str, float] = {}            # pod uid → when this agent reported it Running
        self._finished: set[str] = set()                # pod uids reported Succeeded/Failed
        self._uids: dict[str, str] = {}                 # pod key → uid (cleanup after the pod is gone)

    # -- control ---------------------------------------------------------------------------------------------

    def pause(self, name: str) -> None:
        """Stop node ``name``'s kubelet: no lease renewals, no status, no pod work until :meth:`resume`."""
        self.paused.add(name)

    def resume(self, name: str) -> None:
        self.paused.discard(name)
        if name in self._wake:
            self._wake[name].set()
        for pod in self.pod_informer.lister.by_index("nodeName", name):
            self.queue.add(key_of(pod))

    # -- run -------------------------------------------------------------------------------------------------

    async def run(self, ready: asyncio.Event | None = None) -> None:
        """Register the nodes, then keep them alive and run their pods until cancelled."""
        if not self.kubelet_version:
            version = await self.client.request("GET", "/version")
            self.kubelet_version = str(version.get("gitVersion", "v0.0.0")) if isinstance(version, dict) else ""
        self.node_informer.add_handlers(on_add=self._on_node, on_update=lambda _o, n: self._on_node(n))
        self.pod_informer.add_handlers(on_add=self._on_pod, on_update=lambda _o, n: self._on_pod(n),
                                       on_delete=self._on_pod)
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.events.run(), name="kubelet events")
                await self._register_all()
                tg.create_task(self.node_informer.run(), name="simulated node informer")
                tg.create_task(self.pod_informer.run(), name="simulated pod informer")
                await self.node_informer.synced.wait()
                await self.pod_informer.synced.wait()
                for name in self.names:
                    tg.create_task(self._node_loop(name), name=f"node {name}")
                for i in range(self.workers):
                    tg.create_task(self._worker(), name=f"simulated pod worker {i}")
                log.info("%d simulated nodes registered", len(self.names))
                if ready is not None:
                    ready.set()
        finally:
            self.queue.shutdown()

    # -- nodes -----------------------------------------------------------------------------------------------

    async def _register_all(self) -> None:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(name: str) -> None:
            async with gate:
                await self._register(name)

        async with asyncio.TaskGroup() as tg:
            for name in self.names:
                tg.create_task(one(name))

    async def _register(self, name: str) -> None:
        index = self.index[name]
        now = time.time()
        body = sn.node_object(name, index, kubelet_version=self.kubelet_version, now=now,
                              boot_id=self.boot_ids[name])
        try:
            node = await self.client.create(NODES, "", body)
        except AlreadyExistsError:
            node = await self.client.patch(NODES, "", name, {"metadata": {
                "labels": body["metadata"]["labels"], "annotations": body["metadata"]["annotations"]}})
        await self._post_status(name, node)
        await self._renew(name, node)
        for event_type, reason, message in sn.registration_events(name):
            self.events.record(sn.node_ref(name), name, event_type, reason, message)

    async def _post_status(self, name: str, node: Obj | None = None) -> None:
        if node is None:
            node = self.node_informer.lister.get("", name)
        old = ((node or {}).get("status") or {}).get("conditions")
        status = sn.node_status(name, self.index[name], kubelet_version=self.kubelet_version, now=time.time(),
                                boot_id=self.boot_ids[name], old_conditions=old)
        await self.client.patch(NODES, "", name, {"status": status}, subresource="status")

    async def _renew(self, name: str, node: Obj | None = None) -> None:
        now = time.time()
        try:
            await self.client.patch(LEASES, sn.LEASE_NAMESPACE, name, {"spec": {
                "holderIdentity": name, "leaseDurationSeconds": self.lease_duration,
                "renewTime": sn.micro_time(now)}})
        except NotFoundError:
            node = node or self.node_informer.lister.get("", name) or {"metadata": {"name": name}}
            with contextlib.suppress(AlreadyExistsError):
                await self.client.create(LEASES, sn.LEASE_NAMESPACE, sn.lease_object(node, now, self.lease_duration))

    async def _node_loop(self, name: str) -> None:
        """Renew the Lease every ``lease_interval``; post status every ``status_interval`` or when woken."""
        wake = self._wake[name]
        loop = asyncio.get_running_loop()
        next_status = loop.time() + random.uniform(0.5, 1.0) * self.status_interval
        await asyncio.sleep(random.uniform(0, self.lease_interval))
        while True:
            if name not in self.paused:
                woken = wake.is_set()
                wake.clear()
                try:
                    await self._renew(name)
                    if woken or loop.time() >= next_status:
                        await self._post_status(name)
                        next_status = loop.time() + self.status_interval
                except ApiError as exc:
                    log.debug("node %s heartbeat failed: %s", name, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=self.lease_interval)

    def _on_node(self, node: Obj) -> None:
        meta = node.get("metadata") or {}
        name = meta.get("name", "")
        if name in self._wake:
            # tests and demos stop a node's kubelet from outside the agent with this annotation
            wants_pause = (meta.get("annotations") or {}).get(PAUSE_ANNOTATION) == "true"
            if wants_pause and name not in self.paused:
                self.pause(name)
            elif not wants_pause and name in self.paused and name in self._paused_by_annotation:
                self.resume(name)
            if wants_pause:
                self._paused_by_annotation.add(name)
            else:
                self._paused_by_annotation.discard(name)
        if name in self._wake and name not in self.paused and not sn.is_healthy(node):
            self._wake[name].set()

    def _allocator(self, node_name: str) -> PodIPAllocator:
        node = self.node_informer.lister.get("", node_name) or {}
        cidr = (node.get("spec") or {}).get("podCIDR") or sn.fallback_pod_cidr(self.index[node_name])
        alloc = self._allocators.get(node_name)
        if alloc is None or str(alloc.network) != str(PodIPAllocator(cidr).network):
            alloc = PodIPAllocator(cidr)
            for pod in self.pod_informer.lister.by_index("nodeName", node_name):
                ip = (pod.get("status") or {}).get("podIP")
                if ip and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                    alloc.reserve(ip)
            for owner, ip in self._ips.values():
                if owner == node_name:
                    alloc.reserve(ip)
            self._allocators[node_name] = alloc
        return alloc

    # -- pods ------------------------------------------------------------------------------------------------

    def _on_pod(self, pod: Obj) -> None:
        if (pod.get("spec") or {}).get("nodeName") in self.index:
            self.queue.add(key_of(pod))

    async def _worker(self) -> None:
        while True:
            key = await self.queue.get()
            if key is None:
                return
            try:
                await self.sync(str(key))
                self.queue.forget(key)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.queue.retries(key) < MAX_RETRIES:
                    log.debug("simulated pod %s: %s; requeued", key, exc)
                    self.queue.add_rate_limited(key)
                else:
                    log.warning("simulated pod %s: giving up: %s", key, exc)
                    self.queue.forget(key)
            finally:
                self.queue.done(key)

    def _forget(self, key: str) -> None:
        uid = self._uids.pop(key, None)
        if uid is None:
            return
        self._release(uid)
        self._started.pop(uid, None)
        self._finished.discard(uid)

    def _release(self, uid: str) -> None:
        held = self._ips.pop(uid, None)
        if held is not None and held[0] in self._allocators:
            self._allocators[held[0]].release(held[1])

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        pod = self.pod_informer.lister.get(namespace, name)
        uid = str(((pod or {}).get("metadata") or {}).get("uid", ""))
        if pod is None or (key in self._uids and self._uids[key] != uid):
            self._forget(key)
        if pod is None:
            return
        node = str((pod.get("spec") or {}).get("nodeName", ""))
        if node not in self.index or node in self.paused or uid in self._finished:
            return
        self._uids[key] = uid
        now = time.time()
        decision = decide(pod, started_at=self._started.get(uid), now=now, complete_after=self.complete_after)
        if decision.step is Step.START:
            await self._start(pod, node, uid, now)
        elif decision.step is Step.WAIT:
            self._started.setdefault(uid, now - run_duration(pod, self.complete_after) + decision.after)
            self.queue.add_after(key, decision.after)
        elif decision.step is Step.FINISH:
            await self._finish(pod, uid, now)
        elif decision.step is Step.DELETE:
            await self._delete(pod, node, uid)

    async def _start(self, pod: Obj, node: str, uid: str, now: float) -> None:
        meta = pod["metadata"]
        if uid not in self._ips:
            ip = self._allocator(node).allocate()
            if ip is None:
                raise RuntimeError(f"no pod IP left on {node}")
            self._ips[uid] = (node, ip)
        status = running_status(pod, host_ip=sn.node_ip(self.index[node]), pod_ip=self._ips[uid][1], now=now)
        try:
            await self.client.patch(PODS, meta["namespace"], meta["name"], {"status": status}, subresource="status")
        except NotFoundError:
            self._release(uid)
            return
        self._started[uid] = now
        for c in (pod.get("spec") or {}).get("containers") or []:
            cname = str(c.get("name", ""))
            ref = pod_ref(pod, cname)
            self.events.record(ref, node, "Normal", "Pulled",
                               f'Container image "{c.get("image", "")}" already present on machine')
            self.events.record(ref, node, "Normal", "Created", f"Created container: {cname}")
            self.events.record(ref, node, "Normal", "Started", f"Started container {cname}")
        if finishes(pod):
            self.queue.add_after(key_of(pod), run_duration(pod, self.complete_after))

    async def _finish(self, pod: Obj, uid: str, now: float) -> None:
        meta = pod["metadata"]
        status = terminated_status(pod, code=exit_code(pod), now=now, started_at=self._started.get(uid))
        with contextlib.suppress(NotFoundError):
            await self.client.patch(PODS, meta["namespace"], meta["name"], {"status": status}, subresource="status")
        self._finished.add(uid)
        self._release(uid)

    async def _delete(self, pod: Obj, node: str, uid: str) -> None:
        meta = pod["metadata"]
        if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed") and uid in self._started:
            for c in (pod.get("spec") or {}).get("containers") or []:
                self.events.record(pod_ref(pod, str(c.get("name", ""))), node, "Normal", "Killing",
                                   f"Stopping container {c.get('name', '')}")
        with contextlib.suppress(NotFoundError, ConflictError):
            await self.client.delete(PODS, meta["namespace"], meta["name"], grace_period=0,
                                     preconditions={"uid": uid})
        self._release(uid)


async def run(kubeconfig: Path, count: int, *, prefix: str = "kyb-sim", ready: asyncio.Event | None = None,
              options: dict[str, Any] | None = None) -> None:
    """Run ``count`` simulated nodes named ``<prefix>-<i>`` against the cluster of ``kubeconfig``."""
    client = Client(load_kubeconfig(kubeconfig), user_agent="kyb-agent-simulated")
    try:
        await SimulatedNodes(client, count, prefix=prefix, options=options).run(ready)
    finally:
        await client.close()


__all__ = ["SimulatedNodes", "image_ref", "run"]
