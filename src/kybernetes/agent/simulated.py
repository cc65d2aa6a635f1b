"""Simulated nodes (``kyb agent --simulate N``), like kwok: N Nodes kept alive by one process, no containers.

Each node is registered with capacity, labels, addresses and node info; like a kubelet with node leases, its
Lease in ``kube-node-lease`` is renewed every ``lease_interval`` seconds (10) and its status posted every
``status_interval`` seconds (300, upstream's ``nodeStatusReportFrequency``), or at once when the server's
conditions differ from a healthy node's (e.g. after the node lifecycle controller marked it Unknown).  One loop
drives every node's heartbeat (:mod:`simulated_heartbeat`); the Lease is renewed with a merge patch (the node is
its only writer, so an unconditional patch is as correct as upstream's Update and cheaper on both sides).

Pods: ONE pod informer (``spec.nodeName!=``) and one node informer serve every simulated node, so a process
scales to thousands of nodes.  Pod keys go through a work queue; :func:`simulated_pods.decide` picks the step:

* START  — allocate a pod IP from the node's ``spec.podCIDR`` (a per-node fallback /24 while it has none),
  patch ``pods/status`` once to Running/Ready; with ``pod_events`` record Pulled/Created/Started events
  (component ``kubelet``).  Like kwok's nodes, simulated nodes record no pod events by default: they would cost
  the API server three writes per pod for containers that do not exist.
* WAIT / FINISH — restartPolicy Never/OnFailure pods exit after ``complete_after`` seconds (default 5; per pod
  annotation ``kybernetes.io/simulate-duration``) with ``kybernetes.io/simulate-exit-code`` (0 → Succeeded/
  Completed, else Failed/Error); one status patch.
* DELETE — a pod with a deletionTimestamp is confirmed with a grace-0 DELETE (uid precondition), like a kubelet
  (with ``pod_events``, a Killing event per container first).

:meth:`SimulatedNodes.pause` stops a node's kubelet (no lease renewals, status or pod work) until
:meth:`SimulatedNodes.resume`: how tests make a node go NotReady.

Options (``options`` dict): ``complete_after``, ``lease_interval``, ``status_interval``, ``lease_duration``,
``workers`` (pod workers, 64), ``events`` (record kubelet events at all, True: the node registration events),
``pod_events`` (also the container events of pods, False), ``concurrency`` (registration and heartbeats
in flight, 32).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from pathlib import Path
from typing import Any

from kybernetes.agent import simulated_node as sn
from kybernetes.agent.simulated_events import KubeletEvents, pod_ref
from kybernetes.agent.simulated_heartbeat import Beat, HeartbeatSchedule
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
from kybernetes.client import gctuning
from kybernetes.client.config import load_kubeconfig
from kybernetes.client.errors import AlreadyExistsError, ApiError, ConflictError, NotFoundError
from kybernetes.client.informer import Informer, key_of, split_key
from kybernetes.client.rest import MERGE_PATCH, Client, path, resource
from kybernetes.client.workqueue import WorkQueue

log = logging.getLogger(__name__)

Obj = dict[str, Any]
NODES = resource("", "v1", "nodes")
PODS = resource("", "v1", "pods")
LEASES = resource("coordination.k8s.io", "v1", "leases")
MAX_RETRIES = 10
STATUS_REPORT_FREQUENCY = 300.0  # upstream kubelet's nodeStatusReportFrequency (5 min) with node leases


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
        self._node_ips = {name: sn.node_ip(i) for i, name in enumerate(self.names)}
        self.complete_after = float(opts.get("complete_after", DEFAULT_COMPLETE_AFTER))
        self.lease_interval = float(opts.get("lease_interval", 10.0))
        self.status_interval = float(opts.get("status_interval", STATUS_REPORT_FREQUENCY))
        self.lease_duration = int(opts.get("lease_duration", sn.LEASE_DURATION))
        self.workers = int(opts.get("workers", 64))
        self.concurrency = int(opts.get("concurrency", 32))
        self.events = KubeletEvents(client, enabled=bool(opts.get("events", True)))
        self.pod_events = self.events.enabled and bool(opts.get("pod_events", False))
        self.kubelet_version = str(opts.get("kubelet_version", ""))
        self.paused: set[str] = set()
        self._paused_by_annotation: set[str] = set()
        self.boot_ids = {name: str(uuid.uuid4()) for name in self.names}
        self.node_informer = Informer(client, NODES,
                                      label_selector=f"node.kubernetes.io/instance-type={sn.INSTANCE_TYPE}")
        self.pod_informer = Informer(client, PODS, field_selector="spec.nodeName!=",
                                     indexers={"nodeName": _node_name_index})
        self.queue = WorkQueue("simulated-pods")
        self.heartbeats: HeartbeatSchedule | None = None   # set once the nodes are registered
        self._kick = asyncio.Event()                         # a node must heartbeat before its due time
        self._allocators: dict[str, tuple[str, PodIPAllocator]] = {}  # node → (its pod CIDR, allocator)
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
        self._heartbeat_now(name)
        for pod in self.pod_informer.lister.by_index("nodeName", name):
            self.queue.add(key_of(pod))

    # -- run -------------------------------------------------------------------------------------------------

    async def run(self, ready: asyncio.Event | None = None) -> None:
        """Register the nodes, then keep them alive and run their pods until cancelled."""
        if not self.kubelet_version:
            version = await self.client.request("GET", "/version")
            self.kubelet_version = str(version.get("gitVersion", "v0.0.0")) if isinstance(version, dict) else ""
        self.node_informer.add_handlers(on_add=self._on_node, on_update=lambda _o, n: self._on_node(n))
        self.pod_informer.add_handlers(on_add=self._on_pod, on_update=lambda _o, n: self._on_pod_update(n),
                                       on_delete=self._on_pod)
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.events.run(), name="kubelet events")
                await self._register_all()
                tg.create_task(self.node_informer.run(), name="simulated node informer")
                tg.create_task(self.pod_informer.run(), name="simulated pod informer")
                await self.node_informer.synced.wait()
                await self.pod_informer.synced.wait()
                tg.create_task(self._heartbeat_loop(), name="simulated node heartbeats")
                for i in range(self.workers):
                    tg.create_task(self._worker(), name=f"simulated pod worker {i}")
                log.info("%d simulated nodes registered", len(self.names))
                if ready is not None:
                    ready.set()
        finally:
            self.queue.shutdown()

    async def _patch(self, url_path: str, patch: Obj) -> None:
        """A merge patch whose answer nobody reads (status and Lease writes)."""
        await self.client.request("PATCH", url_path, body=patch, content_type=MERGE_PATCH, decode=False)

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
        await self._patch(path(NODES, "", name, "status"), {"status": status})

    async def _renew(self, name: str, node: Obj | None = None) -> None:
        now = time.time()
        try:
            await self._patch(path(LEASES, sn.LEASE_NAMESPACE, name), {"spec": {
                "holderIdentity": name, "leaseDurationSeconds": self.lease_duration,
                "renewTime": sn.micro_time(now)}})
        except NotFoundError:
            node = node or self.node_informer.lister.get("", name) or {"metadata": {"name": name}}
            with contextlib.suppress(AlreadyExistsError):
                await self.client.create(LEASES, sn.LEASE_NAMESPACE, sn.lease_object(node, now, self.lease_duration))

    def _heartbeat_now(self, name: str) -> None:
        if self.heartbeats is not None and name in self.heartbeats:
            self.heartbeats.now(name, asyncio.get_running_loop().time())
            self._kick.set()

    async def _heartbeat_loop(self) -> None:
        """Renew every node's Lease when due and post its status when due or asked to; paused nodes skip theirs."""
        loop = asyncio.get_running_loop()
        self.heartbeats = HeartbeatSchedule(self.names, lease_interval=self.lease_interval,
                                            status_interval=self.status_interval, now=loop.time())
        gate = asyncio.Semaphore(self.concurrency)
        # Heartbeats go out in batches, at most one per tick: requests sent back to back cost a half to a third
        # of the CPU of the same requests spread out.  A renewal is at most one tick (a tenth of the lease
        # interval, at most 1 s) late.
        tick = min(1.0, self.lease_interval / 10)
        last = loop.time()

        async def gated(beat: Beat) -> None:
            async with gate:
                await self._heartbeat(beat)

        while True:
            self._kick.clear()
            due = self.heartbeats.next_due()
            delay = None if due is None else max(due, last + tick) - loop.time()
            if delay is None or delay > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._kick.wait()
            last = loop.time()
            beats = [b for b in self.heartbeats.pop_due(last) if b.node not in self.paused]
            if len(beats) == 1:
                await self._heartbeat(beats[0])
            elif beats:
                await asyncio.gather(*(gated(b) for b in beats))

    async def _heartbeat(self, beat: Beat) -> None:
        try:
            if beat.status:
                await self._post_status(beat.node)
            await self._renew(beat.node)
        except ApiError as exc:
            log.debug("node %s heartbeat failed: %s", beat.node, exc)

    def _on_node(self, node: Obj) -> None:
        meta = node.get("metadata") or {}
        name = meta.get("name", "")
        if name in self.index:
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
        if name in self.index and name not in self.paused and not sn.is_healthy(node):
            self._heartbeat_now(name)

    def _allocator(self, node_name: str) -> PodIPAllocator:
        node = self.node_informer.lister.get("", node_name) or {}
        cidr = (node.get("spec") or {}).get("podCIDR") or sn.fallback_pod_cidr(self.index[node_name])
        known = self._allocators.get(node_name)
        if known is not None and known[0] == cidr:
            return known[1]
        alloc = PodIPAllocator(cidr)
        if known is not None and known[1].network == alloc.network:
            alloc = known[1]  # the same network spelled differently
        else:  # addresses this agent handed out from an earlier network are not in this one
            for pod in self.pod_informer.lister.by_index("nodeName", node_name):
                ip = (pod.get("status") or {}).get("podIP")
                if ip and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                    alloc.reserve(ip)
        self._allocators[node_name] = (cidr, alloc)
        return alloc

    # -- pods ------------------------------------------------------------------------------------------------

    def _on_pod(self, pod: Obj) -> None:
        if (pod.get("spec") or {}).get("nodeName") in self.index:
            self.queue.add(key_of(pod))

    def _on_pod_update(self, pod: Obj) -> None:
        """Like :meth:`_on_pod`, but an update that leaves nothing to do (mostly this agent's own status patch
        coming back) does not go through the queue: :meth:`sync` would decide the same and do nothing."""
        meta = pod.get("metadata") or {}
        uid = meta.get("uid")
        started = self._started.get(uid) if isinstance(uid, str) else None
        if started is not None and self._uids.get(key_of(pod)) == uid and decide(
                pod, started_at=started, now=time.time(), complete_after=self.complete_after).step is Step.NOTHING:
            return
        self._on_pod(pod)

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
            self._allocators[held[0]][1].release(held[1])

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
        status = running_status(pod, host_ip=self._node_ips[node], pod_ip=self._ips[uid][1], now=now)
        try:
            await self._patch(path(PODS, meta["namespace"], meta["name"], "status"), {"status": status})
        except NotFoundError:
            self._release(uid)
            return
        self._started[uid] = now
        if self.pod_events:
            self._record_started(pod, node)
        if finishes(pod):
            self.queue.add_after(key_of(pod), run_duration(pod, self.complete_after))

    def _record_started(self, pod: Obj, node: str) -> None:
        for c in (pod.get("spec") or {}).get("containers") or []:
            cname = str(c.get("name", ""))
            ref = pod_ref(pod, cname)
            self.events.record(ref, node, "Normal", "Pulled",
                               f'Container image "{c.get("image", "")}" already present on machine')
            self.events.record(ref, node, "Normal", "Created", f"Created container: {cname}")
            self.events.record(ref, node, "Normal", "Started", f"Started container {cname}")

    async def _finish(self, pod: Obj, uid: str, now: float) -> None:
        meta = pod["metadata"]
        status = terminated_status(pod, code=exit_code(pod), now=now, started_at=self._started.get(uid))
        with contextlib.suppress(NotFoundError):
            await self._patch(path(PODS, meta["namespace"], meta["name"], "status"), {"status": status})
        self._finished.add(uid)
        self._release(uid)

    async def _delete(self, pod: Obj, node: str, uid: str) -> None:
        meta = pod["metadata"]
        if self.pod_events and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed") \
                and uid in self._started:
            for c in (pod.get("spec") or {}).get("containers") or []:
                self.events.record(pod_ref(pod, str(c.get("name", ""))), node, "Normal", "Killing",
                                   f"Stopping container {c.get('name', '')}")
        with contextlib.suppress(NotFoundError, ConflictError):
            await self.client.delete(PODS, meta["namespace"], meta["name"], grace_period=0,
                                     preconditions={"uid": uid})
        self._release(uid)


async def run(kubeconfig: Path, count: int, *, prefix: str = "kyb-sim", ready: asyncio.Event | None = None,
              options: dict[str, Any] | None = None) -> None:
    """Run ``count`` simulated nodes named ``<prefix>-<i>`` against the cluster of ``kubeconfig`` (the process's
    garbage collector tuned for big informer caches, like the other components)."""
    gctuning.tune()
    client = Client(load_kubeconfig(kubeconfig), user_agent="kyb-agent-simulated")
    registered = asyncio.Event()

    async def when_registered() -> None:
        await registered.wait()
        gctuning.freeze()  # the nodes and the first pod list stay: keep them out of every collection
        if ready is not None:
            ready.set()

    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(when_registered())
            await SimulatedNodes(client, count, prefix=prefix, options=options).run(registered)
    finally:
        await client.close()


__all__ = ["SimulatedNodes", "image_ref", "run"]
