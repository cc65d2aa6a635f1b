"""Node lifecycle (upstream ``pkg/controller/nodelifecycle`` + the taint eviction controller).

Health: a node is *probed* whenever its Lease in ``kube-node-lease`` is renewed or its Ready condition gets a new
``lastHeartbeatTime`` (time of the controller's own observation, so clock skew does not matter; a node first seen
counts as just probed).  When no probe came for ``node_monitor_grace_period`` seconds (40), its Ready,
MemoryPressure, DiskPressure and PIDPressure conditions become Unknown (``NodeStatusUnknown``, ``Kubelet stopped
posting node status.``).  A node whose Ready turns from True to anything else gets a ``NodeNotReady`` event and its
pods are marked Ready=False (``MarkPodsNotReady``, Warning ``NodeNotReady`` ``Node is not ready`` on each pod).

Taints (TaintNodesByCondition + the NoExecute taints): Ready=False → ``node.kubernetes.io/not-ready``, Ready=Unknown
→ ``node.kubernetes.io/unreachable`` (NoSchedule and NoExecute), pressure conditions and ``spec.unschedulable`` →
their NoSchedule taints; managed taints that no longer apply are removed (the node came back).

Eviction: a pod on a node with NoExecute taints is deleted once a taint is not tolerated, or when the shortest
matching ``tolerationSeconds`` (counted from the taint's ``timeAdded``) ran out; ``Normal TaintManagerEviction
Marking for deletion Pod ns/name`` (component ``taint-eviction-controller``) and a ``DisruptionTarget`` condition
precede the delete.

Options: ``node_monitor_grace_period`` (40), ``node_monitor_period`` (5), ``max_toleration_seconds`` (None: a cap
on every tolerationSeconds, for tests).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from kybernetes.client.errors import ConflictError, NotFoundError
from kybernetes.client.events import EventRecorder
from kybernetes.client.informer import key_of, split_key
from kybernetes.client.rest import STRATEGIC_PATCH, resource
from kybernetes.controllers.base import Context, Controller, Obj
from kybernetes.controllers.manager import register

NODES = resource("", "v1", "nodes")
PODS = resource("", "v1", "pods")
LEASES = resource("coordination.k8s.io", "v1", "leases")
LEASE_NAMESPACE = "kube-node-lease"

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
MEMORY_PRESSURE = "node.kubernetes.io/memory-pressure"
DISK_PRESSURE = "node.kubernetes.io/disk-pressure"
PID_PRESSURE = "node.kubernetes.io/pid-pressure"
MANAGED_TAINTS = frozenset({NOT_READY, UNREACHABLE, UNSCHEDULABLE, MEMORY_PRESSURE, DISK_PRESSURE, PID_PRESSURE})
HEALTH_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
PRESSURE_TAINTS = {"MemoryPressure": MEMORY_PRESSURE, "DiskPressure": DISK_PRESSURE, "PIDPressure": PID_PRESSURE}


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def condition(obj: Obj, kind: str) -> Obj | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return None


def ready_status(node: Obj) -> str:
    """"True", "False" or "Unknown" (a node without a Ready condition counts as Unknown)."""
    cond = condition(node, "Ready")
    return str(cond.get("status")) if cond else "Unknown"


# -- health ----------------------------------------------------------------------------------------------------

def probe_signature(node: Obj, lease: Obj | None) -> tuple[str, str]:
    """What changes whenever the kubelet shows life: Ready's heartbeat and the Lease's renewTime."""
    ready = condition(node, "Ready") or {}
    renew = str(((lease or {}).get("spec") or {}).get("renewTime") or "")
    return str(ready.get("lastHeartbeatTime") or ""), renew


def is_stale(probed_at: float, now: float, grace: float) -> bool:
    """No sign of life for longer than the grace period."""
    return now - probed_at > grace


def unknown_conditions(node: Obj, now: float) -> list[Obj] | None:
    """The node's conditions with the health ones set Unknown (None when they already are)."""
    ts = rfc3339(now)
    conds = [dict(c) for c in (node.get("status") or {}).get("conditions") or []]
    by_type = {c.get("type"): c for c in conds}
    changed = False
    for kind in HEALTH_CONDITIONS:
        cond = by_type.get(kind)
        if cond is None:
            created = (node.get("metadata") or {}).get("creationTimestamp") or ts
            conds.append({"type": kind, "status": "Unknown", "reason": "NodeStatusNeverUpdated",
                          "message": "Kubelet never posted node status.", "lastHeartbeatTime": created,
                          "lastTransitionTime": ts})
            changed = True
        elif cond.get("status") != "Unknown":
            cond.update(status="Unknown", reason="NodeStatusUnknown",
                        message="Kubelet stopped posting node status.", lastTransitionTime=ts)
            changed = True
    return conds if changed else None


# -- taints ----------------------------------------------------------------------------------------------------

def desired_taints(node: Obj) -> list[Obj]:
    """The managed taints ``node`` should carry given its conditions and ``spec.unschedulable``."""
    out: list[Obj] = []
    ready = ready_status(node)
    if ready == "False":
        out += [{"key": NOT_READY, "effect": "NoSchedule"}, {"key": NOT_READY, "effect": "NoExecute"}]
    elif ready == "Unknown":
        out += [{"key": UNREACHABLE, "effect": "NoSchedule"}, {"key": UNREACHABLE, "effect": "NoExecute"}]
    for kind, key in PRESSURE_TAINTS.items():
        cond = condition(node, kind)
        if cond is not None and cond.get("status") == "True":
            out.append({"key": key, "effect": "NoSchedule"})
    if (node.get("spec") or {}).get("unschedulable"):
        out.append({"key": UNSCHEDULABLE, "effect": "NoSchedule"})
    return out


def reconcile_taints(existing: list[Obj], desired: list[Obj], now: float) -> list[Obj] | None:
    """``existing`` with managed taints made equal to ``desired`` (None when nothing changes).

    Unmanaged taints are kept in place; a NoExecute taint added now gets ``timeAdded``.
    """
    want = {(t["key"], t["effect"]) for t in desired}
    kept = [t for t in existing if t.get("key") not in MANAGED_TAINTS or (t.get("key"), t.get("effect")) in want]
    have = {(t.get("key"), t.get("effect")) for t in kept}
    added = []
    for taint in desired:
        if (taint["key"], taint["effect"]) not in have:
            new = dict(taint)
            if new["effect"] == "NoExecute":
                new["timeAdded"] = rfc3339(now)
            added.append(new)
    if not added and len(kept) == len(existing):
        return None
    return kept + added


def tolerates(toleration: Obj, taint: Obj) -> bool:
    """Upstream's ``Toleration.ToleratesTaint``."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    operator = toleration.get("operator") or "Equal"
    if key and key != taint.get("key"):
        return False
    if operator == "Exists":
        return True
    if not key:
        return False
    return operator == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


def eviction_delay(pod: Obj, taints: list[Obj], now: float, cap: float | None = None) -> float | None:
    """Seconds until ``pod`` must be evicted from a node with ``taints``: 0 now, None never.

    Only NoExecute taints count.  An untolerated one evicts at once; otherwise the pod stays for the shortest
    ``tolerationSeconds`` among the tolerations used (counted from the taint's ``timeAdded``); a toleration without
    ``tolerationSeconds`` tolerates forever.  ``cap`` bounds every tolerationSeconds (tests).
    """
    no_execute = [t for t in taints if t.get("effect") == "NoExecute"]
    if not no_execute:
        return None
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    deadline: float | None = None
    for taint in no_execute:
        used = [t for t in tolerations if tolerates(t, taint)]
        if not used:
            return 0.0
        seconds = [float(t["tolerationSeconds"]) for t in used if t.get("tolerationSeconds") is not None]
        if not seconds:
            continue  # tolerated forever
        limit = max(min(seconds), 0.0)
        if cap is not None:
            limit = min(limit, cap)
        added = parse_time(taint.get("timeAdded")) or now
        candidate = added + limit
        deadline = candidate if deadline is None else min(deadline, candidate)
    if deadline is None:
        return None
    return max(deadline - now, 0.0)


# -- controller ------------------------------------------------------------------------------------------------

def _node_name_index(pod: Obj) -> list[str]:
    name = (pod.get("spec") or {}).get("nodeName")
    return [str(name)] if name else []


@register
class NodeLifecycleController(Controller):
    """Keys: a node name (health, taints) or ``namespace/name`` of a pod (NoExecute eviction)."""

    name = "nodelifecycle"
    component = "node-controller"
    workers = 4

    def __init__(self, ctx: Context) -> None:
        self.grace = float(ctx.options.get("node_monitor_grace_period", 40.0))
        self.period = float(ctx.options.get("node_monitor_period", 5.0))
        cap = ctx.options.get("max_toleration_seconds")
        self.toleration_cap = None if cap is None else float(cap)
        self._probes: dict[str, tuple[tuple[str, str], float]] = {}  # node → (signature, monotonic time seen)
        self._ready: dict[str, str] = {}  # node → Ready status last synced
        super().__init__(ctx)
        self.taint_recorder = EventRecorder(ctx.client, "taint-eviction-controller")

    def setup(self) -> None:
        informers = self.ctx.informers
        self.nodes = informers.informer(NODES)
        self.leases = informers.informer(LEASES, namespace=LEASE_NAMESPACE)
        self.pods = informers.informer(PODS)
        self.pods.store.add_indexer("nodeName", _node_name_index)
        self.nodes.add_handlers(on_add=self.enqueue, on_update=self._node_updated, on_delete=self.enqueue)
        self.leases.add_handlers(on_add=self._lease_changed, on_update=lambda _o, n: self._lease_changed(n))
        self.pods.add_handlers(on_add=self._pod_changed, on_update=lambda _o, n: self._pod_changed(n))

    # -- handlers (enqueue only) --------------------------------------------------------------------------------

    def _node_updated(self, old: Obj, new: Obj) -> None:
        self.enqueue(new)
        if (old.get("spec") or {}).get("taints") != (new.get("spec") or {}).get("taints"):
            for pod in self.pods.lister.by_index("nodeName", str(new["metadata"]["name"])):
                self.enqueue(pod)

    def _lease_changed(self, lease: Obj) -> None:
        self.enqueue_key(str((lease.get("metadata") or {}).get("name", "")))

    def _pod_changed(self, pod: Obj) -> None:
        node = self.nodes.lister.get("", str((pod.get("spec") or {}).get("nodeName") or ""))
        if node is not None and any(t.get("effect") == "NoExecute" for t in (node.get("spec") or {}).get("taints")
                                    or []):
            self.enqueue(pod)

    async def background(self) -> None:
        """Monitor every node each ``node_monitor_period`` (staleness needs no event); send eviction events."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.taint_recorder.run(), name="taint eviction events")
            while True:
                await asyncio.sleep(self.period)
                for node in self.nodes.lister.list():
                    self.enqueue(node)

    # -- sync ------------------------------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        if "/" in key:
            await self.sync_pod(key)
        else:
            await self.sync_node(key)

    async def sync_node(self, name: str) -> None:
        node = self.nodes.lister.get("", name)
        if node is None:
            self._probes.pop(name, None)
            self._ready.pop(name, None)
            return
        now_mono = time.monotonic()
        signature = probe_signature(node, self.leases.lister.get(LEASE_NAMESPACE, name))
        seen = self._probes.get(name)
        if seen is None:
            self.recorder.record(node, "Normal", "RegisteredNode", f"Node {name} event: Registered Node {name} in "
                                 "Controller")
        if seen is None or seen[0] != signature:
            self._probes[name] = (signature, now_mono)
        elif is_stale(seen[1], now_mono, self.grace):
            conditions = unknown_conditions(node, time.time())
            if conditions is not None:
                await self.client.patch(NODES, "", name, {
                    "metadata": {"resourceVersion": node["metadata"]["resourceVersion"]},
                    "status": {"conditions": conditions}}, subresource="status")
                return  # the update comes back through the informer
        await self._sync_taints(node)
        ready = ready_status(node)
        before = self._ready.get(name)
        self._ready[name] = ready
        if ready != "True":
            if before == "True":
                self.recorder.record(node, "Normal", "NodeNotReady", f"Node {name} status is now: NodeNotReady")
            await self._mark_pods_not_ready(name)

    async def _sync_taints(self, node: Obj) -> None:
        existing = list((node.get("spec") or {}).get("taints") or [])
        taints = reconcile_taints(existing, desired_taints(node), time.time())
        if taints is None:
            return
        await self.client.patch(NODES, "", node["metadata"]["name"], {
            "metadata": {"resourceVersion": node["metadata"]["resourceVersion"]}, "spec": {"taints": taints}})

    async def _mark_pods_not_ready(self, node_name: str) -> None:
        ts = rfc3339(time.time())
        for pod in self.pods.lister.by_index("nodeName", node_name):
            ready = condition(pod, "Ready")
            if ready is None or ready.get("status") != "True":
                continue
            meta = pod["metadata"]
            patch = {"status": {"conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": ts}]}}
            try:
                await self.client.patch(PODS, meta["namespace"], meta["name"], patch, subresource="status",
                                        patch_type=STRATEGIC_PATCH)
            except NotFoundError:
                continue
            self.recorder.record(pod, "Warning", "NodeNotReady", "Node is not ready")

    async def sync_pod(self, key: str) -> None:
        namespace, name = split_key(key)
        pod = self.pods.lister.get(namespace, name)
        if pod is None or (pod.get("metadata") or {}).get("deletionTimestamp"):
            return
        node = self.nodes.lister.get("", str((pod.get("spec") or {}).get("nodeName") or ""))
        if node is None:
            return
        delay = eviction_delay(pod, list((node.get("spec") or {}).get("taints") or []), time.time(),
                               self.toleration_cap)
        if delay is None:
            return
        if delay > 0:
            self.queue.add_after(key, delay)
            return
        await self._evict(pod)

    async def _evict(self, pod: Obj) -> None:
        meta = pod["metadata"]
        self.taint_recorder.record(pod, "Normal", "TaintManagerEviction",
                                   f"Marking for deletion Pod {key_of(pod)}")
        patch: dict[str, Any] = {"status": {"conditions": [{
            "type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
            "message": "Taint manager: deleting due to NoExecute taint", "lastTransitionTime": rfc3339(time.time())}]}}
        try:
            await self.client.patch(PODS, meta["namespace"], meta["name"], patch, subresource="status",
                                    patch_type=STRATEGIC_PATCH)
            await self.client.delete(PODS, meta["namespace"], meta["name"], preconditions={"uid": meta.get("uid")})
        except (NotFoundError, ConflictError):
            return
