"""Informer event handlers: pending pods feed the queue, assigned pods and nodes feed the cache, and cluster
events move unschedulable pods back (only on changes that can matter, e.g. not on node heartbeats)."""

from __future__ import annotations

from typing import Any

from kybernetes.client.informer import InformerFactory, Lister
from kybernetes.client.rest import resource
from kybernetes.scheduler import framework as fw
from kybernetes.scheduler.cache import SchedulerCache
from kybernetes.scheduler.queue import SchedulingQueue, pod_key

Obj = dict[str, Any]

PODS = resource("", "v1", "pods")
NODES = resource("", "v1", "nodes")
NAMESPACES = resource("", "v1", "namespaces")
PVCS = resource("", "v1", "persistentvolumeclaims")
PVS = resource("", "v1", "persistentvolumes")
STORAGE_CLASSES = resource("storage.k8s.io", "v1", "storageclasses")
NON_TERMINAL = "status.phase!=Succeeded,status.phase!=Failed"


def responsible(pod: Obj, scheduler_name: str) -> bool:
    spec = pod.get("spec") or {}
    return (spec.get("schedulerName") or "default-scheduler") == scheduler_name and not spec.get("nodeName") \
        and not (pod.get("metadata") or {}).get("deletionTimestamp")


def node_changed_for_scheduling(old: Obj, new: Obj) -> bool:
    """Labels, taints, unschedulable or allocatable changed (upstream's nodeSchedulingPropertiesChange)."""
    om, nm = old.get("metadata") or {}, new.get("metadata") or {}
    os_, ns_ = old.get("spec") or {}, new.get("spec") or {}
    return (om.get("labels") != nm.get("labels") or os_.get("taints") != ns_.get("taints")
            or bool(os_.get("unschedulable")) != bool(ns_.get("unschedulable"))
            or (old.get("status") or {}).get("allocatable") != (new.get("status") or {}).get("allocatable"))


class Handlers:
    def __init__(self, cache: SchedulerCache, queue: SchedulingQueue, scheduler_name: str = "default-scheduler"):
        self.cache = cache
        self.queue = queue
        self.scheduler_name = scheduler_name

    # pods
    def pod_add(self, pod: Obj) -> None:
        if (pod.get("spec") or {}).get("nodeName"):
            self.cache.add_pod(pod)
            self.queue.delete(pod_key(pod))
            self.queue.move_on_event(fw.POD_ADD)
        elif responsible(pod, self.scheduler_name):
            self.queue.add(pod)

    def pod_update(self, old: Obj, new: Obj) -> None:
        if (new.get("spec") or {}).get("nodeName"):
            self.cache.add_pod(new)
            if not (old.get("spec") or {}).get("nodeName"):
                self.queue.delete(pod_key(new))
                self.queue.move_on_event(fw.POD_ADD)
            elif (old.get("metadata") or {}).get("labels") != (new.get("metadata") or {}).get("labels"):
                self.queue.move_on_event(fw.POD_UPDATE)
        elif responsible(new, self.scheduler_name):
            self.queue.update(new)
        else:
            self.queue.delete(pod_key(new))

    def pod_delete(self, pod: Obj) -> None:
        key = pod_key(pod)
        if self.cache.node_of(key) is not None:
            self.cache.remove_pod(key)
            self.queue.move_on_event(fw.POD_DELETE)
        self.queue.delete(key)

    # nodes
    def node_add(self, node: Obj) -> None:
        self.cache.set_node(node)
        self.queue.move_on_event(fw.NODE_ADD)

    def node_update(self, old: Obj, new: Obj) -> None:
        self.cache.set_node(new)
        if node_changed_for_scheduling(old, new):
            self.queue.move_on_event(fw.NODE_UPDATE)

    def node_delete(self, node: Obj) -> None:
        self.cache.remove_node((node.get("metadata") or {}).get("name", ""))
        self.queue.move_on_event(fw.NODE_DELETE)

    # namespaces
    def namespace_set(self, ns: Obj) -> None:
        meta = ns.get("metadata") or {}
        labels = meta.get("labels") or {}
        if self.cache.namespace_labels.get(meta.get("name", "")) != labels:
            self.cache.namespace_labels[meta.get("name", "")] = labels
            self.queue.move_on_event(fw.NAMESPACE_CHANGE)

    def namespace_delete(self, ns: Obj) -> None:
        self.cache.namespace_labels.pop((ns.get("metadata") or {}).get("name", ""), None)


class ListerVolumes:
    """The VolumeBinding lookup over shared informers."""

    def __init__(self, pvcs: Lister, pvs: Lister, classes: Lister) -> None:
        self._pvcs, self._pvs, self._classes = pvcs, pvs, classes

    def pvc(self, namespace: str, name: str) -> Obj | None:
        return self._pvcs.get(namespace, name)

    def pv(self, name: str) -> Obj | None:
        return self._pvs.get("", name)

    def storage_class(self, name: str) -> Obj | None:
        return self._classes.get("", name)

    def all_pvs(self) -> list[Obj]:
        return self._pvs.list()


class _Mover:
    def __init__(self, queue: SchedulingQueue, event: str) -> None:
        self.queue, self.event = queue, event

    def on_add(self, _obj: Obj) -> None:
        self.queue.move_on_event(self.event)

    def on_update(self, _old: Obj, _new: Obj) -> None:
        self.queue.move_on_event(self.event)


def wire(informers: InformerFactory, handlers: Handlers) -> ListerVolumes:
    """Create the informers the scheduler reads and register the handlers; returns the volume lookup."""
    queue = handlers.queue
    pods = informers.informer(PODS, field_selector=NON_TERMINAL)
    pods.add_handlers(handlers.pod_add, handlers.pod_update, handlers.pod_delete)
    nodes = informers.informer(NODES)
    nodes.add_handlers(handlers.node_add, handlers.node_update, handlers.node_delete)
    namespaces = informers.informer(NAMESPACES)
    namespaces.add_handlers(handlers.namespace_set, lambda _o, n: handlers.namespace_set(n),
                            handlers.namespace_delete)
    volumes = []
    for res, event in ((PVCS, fw.PVC_CHANGE), (PVS, fw.PV_CHANGE), (STORAGE_CLASSES, fw.STORAGE_CLASS_CHANGE)):
        inf = informers.informer(res)
        mover = _Mover(queue, event)
        inf.add_handlers(mover.on_add, mover.on_update, None)
        volumes.append(inf.lister)
    return ListerVolumes(volumes[0], volumes[1], volumes[2])
