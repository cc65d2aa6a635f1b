"""The EndpointSlice controller (upstream ``pkg/controller/endpointslice``): IPv4 EndpointSlices per Service.

* Each pod that may serve (including terminating ones) becomes an endpoint with ``conditions`` (``serving`` = pod
  Ready, ``terminating`` = being deleted, ``ready`` = serving and not terminating, or always with
  ``publishNotReadyAddresses``), ``targetRef``, ``nodeName`` and the ports resolved for that pod.
* :func:`reconcile` is the pure core: endpoints are grouped by port set; existing slices keep the endpoints they
  already hold (updated in place), new endpoints fill free room first, then new slices of at most ``MAX_PER_SLICE``
  are created (``generateName: <service>-``); slices whose port set is gone are deleted.  A Service with no
  endpoints keeps one empty placeholder slice, like upstream.
* Slices carry the labels ``kubernetes.io/service-name``, ``endpointslice.kubernetes.io/managed-by``
  (``endpointslice-controller.k8s.io``), the Service's own labels, ``service.kubernetes.io/headless`` for
  headless Services, the ``endpoints.kubernetes.io/last-change-trigger-time`` annotation and a controller owner
  reference to the Service (so the garbage collector removes them with it).
* :class:`SliceTracker` remembers what this controller wrote; a sync whose cache has not caught up yet is retried
  instead of acting on stale slices (upstream's EndpointSliceTracker).
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass, field
from typing import Any

from kybernetes.client.errors import ApiError, NotFoundError
from kybernetes.client.informer import split_key
from kybernetes.client.rest import resource
from kybernetes.controllers.base import Controller
from kybernetes.controllers.common import is_pod_ready
from kybernetes.controllers.endpoints import (
    HEADLESS_LABEL,
    TRIGGER_TIME,
    ServicePodController,
    find_port,
    is_headless,
    pod_ip,
    service_selector,
    should_pod_be_in_endpoints,
    should_set_hostname,
    target_ref,
    trigger_time,
)
from kybernetes.controllers.manager import register

Obj = dict[str, Any]
SLICES = resource("discovery.k8s.io", "v1", "endpointslices")
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
MAX_PER_SLICE = 100
RESERVED_LABELS = (SERVICE_NAME_LABEL, MANAGED_BY_LABEL, HEADLESS_LABEL)
_ = Controller  # re-exported base for readers of this module


# -- pure decisions ------------------------------------------------------------------------------------------

def endpoint_ports(service: Obj, pod: Obj) -> list[Obj]:
    ports: list[Obj] = []
    for sp in (service.get("spec") or {}).get("ports") or []:
        number = find_port(pod, sp)
        if number is None:
            continue
        port: Obj = {"name": sp.get("name") or "", "port": number, "protocol": sp.get("protocol") or "TCP"}
        if sp.get("appProtocol"):
            port["appProtocol"] = sp["appProtocol"]
        ports.append(port)
    return ports


def pod_endpoint(service: Obj, pod: Obj) -> Obj:
    serving = is_pod_ready(pod)
    terminating = bool((pod.get("metadata") or {}).get("deletionTimestamp"))
    ready = bool((service.get("spec") or {}).get("publishNotReadyAddresses")) or (serving and not terminating)
    ep: Obj = {"addresses": [pod_ip(pod)],
               "conditions": {"ready": ready, "serving": serving, "terminating": terminating}}
    if should_set_hostname(pod, service):
        ep["hostname"] = pod["spec"]["hostname"]
    ep["targetRef"] = target_ref(pod)
    if (pod.get("spec") or {}).get("nodeName"):
        ep["nodeName"] = pod["spec"]["nodeName"]
    return ep


def _ports_key(ports: list[Obj]) -> str:
    return repr(sorted((p.get("name") or "", p.get("port") or 0, p.get("protocol") or "", p.get("appProtocol") or "")
                       for p in ports))


def _ep_key(ep: Obj) -> str:
    return str((ep.get("targetRef") or {}).get("uid") or (ep.get("addresses") or [""])[0])


def desired_endpoints(service: Obj, pods: list[Obj]) -> dict[str, tuple[list[Obj], list[Obj]]]:
    """ports key → (ports, endpoints) for the Service's IPv4 endpoints."""
    out: dict[str, tuple[list[Obj], list[Obj]]] = {}
    for pod in sorted(pods, key=lambda p: str(p["metadata"].get("name"))):
        if not should_pod_be_in_endpoints(pod, True) or ":" in pod_ip(pod):
            continue
        ports = endpoint_ports(service, pod)
        if not ports and (service.get("spec") or {}).get("ports") and not is_headless(service):
            continue
        key = _ports_key(ports)
        out.setdefault(key, (ports, []))[1].append(pod_endpoint(service, pod))
    return out


def slice_labels(service: Obj) -> dict[str, str]:
    labels = {k: v for k, v in ((service.get("metadata") or {}).get("labels") or {}).items()
              if k not in RESERVED_LABELS}
    labels[SERVICE_NAME_LABEL] = service["metadata"]["name"]
    labels[MANAGED_BY_LABEL] = CONTROLLER_NAME
    if is_headless(service):
        labels[HEADLESS_LABEL] = ""
    return labels


def owner_ref(service: Obj) -> Obj:
    meta = service["metadata"]
    return {"apiVersion": "v1", "kind": "Service", "name": meta["name"], "uid": meta.get("uid", ""),
            "controller": True, "blockOwnerDeletion": True}


def new_slice(service: Obj, ports: list[Obj], endpoints: list[Obj], stamp: str) -> Obj:
    meta = service["metadata"]
    out: Obj = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"generateName": f"{meta['name']}-", "namespace": meta["namespace"],
                             "labels": slice_labels(service), "ownerReferences": [owner_ref(service)]},
                "addressType": "IPv4", "endpoints": endpoints, "ports": ports}
    if stamp:
        out["metadata"]["annotations"] = {TRIGGER_TIME: stamp}
    return out


@dataclass
class SlicePlan:
    create: list[Obj] = field(default_factory=list)
    update: list[Obj] = field(default_factory=list)
    delete: list[Obj] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.create or self.update or self.delete)


def _refresh_meta(sl: Obj, service: Obj, stamp: str) -> bool:
    """Labels, owner and annotation as they should be; True when something changed."""
    meta = sl["metadata"]
    changed = False
    labels = slice_labels(service)
    if meta.get("labels") != labels:
        meta["labels"] = labels
        changed = True
    if not any(r.get("uid") == service["metadata"].get("uid") for r in meta.get("ownerReferences") or []):
        meta["ownerReferences"] = [owner_ref(service)]
        changed = True
    return changed


def reconcile(service: Obj, pods: list[Obj], existing: list[Obj], *, max_per_slice: int = MAX_PER_SLICE) -> SlicePlan:
    """What to create, update and delete so the slices match the Service's pods."""
    plan = SlicePlan()
    stamp = trigger_time(service, pods)
    wanted = desired_endpoints(service, pods)
    existing = sorted(existing, key=lambda s: str(s["metadata"].get("name")))
    if not wanted:
        placeholder = next((s for s in existing if not s.get("endpoints") and not s.get("ports")), None)
        for sl in existing:
            if sl is not placeholder:
                plan.delete.append(sl)
        if placeholder is None:
            plan.create.append(new_slice(service, [], [], stamp))
        else:
            updated = copy.deepcopy(placeholder)
            if _refresh_meta(updated, service, stamp):
                plan.update.append(updated)
        return plan
    for key, (ports, endpoints) in wanted.items():
        by_key = {_ep_key(ep): ep for ep in endpoints}
        placed: set[str] = set()
        kept: list[tuple[Obj, bool]] = []
        for sl in existing:
            if sl.get("addressType", "IPv4") != "IPv4" or _ports_key(sl.get("ports") or []) != key:
                continue
            new_eps = []
            for ep in sl.get("endpoints") or []:
                k = _ep_key(ep)
                if k in by_key and k not in placed:
                    new_eps.append(by_key[k])
                    placed.add(k)
            updated = copy.deepcopy(sl)
            changed = new_eps != (sl.get("endpoints") or [])
            updated["endpoints"] = new_eps
            changed = _refresh_meta(updated, service, stamp) or changed
            kept.append((updated, changed))
        pending = [ep for ep in endpoints if _ep_key(ep) not in placed]
        for i, (sl, changed) in enumerate(kept):
            room = max_per_slice - len(sl["endpoints"])
            if pending and room > 0:
                sl["endpoints"].extend(pending[:room])
                pending = pending[room:]
                changed = True
            kept[i] = (sl, changed)
        for sl, changed in kept:
            if not sl["endpoints"]:
                plan.delete.append(sl)
            elif changed:
                if stamp:
                    sl["metadata"].setdefault("annotations", {})[TRIGGER_TIME] = stamp
                plan.update.append(sl)
        while pending:
            plan.create.append(new_slice(service, ports, pending[:max_per_slice], stamp))
            pending = pending[max_per_slice:]
    for sl in existing:
        if sl.get("addressType", "IPv4") != "IPv4" or _ports_key(sl.get("ports") or []) not in wanted:
            plan.delete.append(sl)
    return plan


# -- cache freshness -----------------------------------------------------------------------------------------

DELETED = -1


class SliceTracker:
    """Per Service key: the slices this controller wrote (name → resourceVersion, or DELETED)."""

    def __init__(self) -> None:
        self._written: dict[str, dict[str, int]] = {}

    def wrote(self, key: str, sl: Obj) -> None:
        meta = sl.get("metadata") or {}
        self._written.setdefault(key, {})[str(meta.get("name"))] = int(meta.get("resourceVersion") or 0)

    def deleted(self, key: str, name: str) -> None:
        self._written.setdefault(key, {})[name] = DELETED

    def stale(self, key: str, cached: list[Obj]) -> bool:
        """True while the cache misses a write of ours; entries the cache has caught up with are dropped."""
        written = self._written.get(key)
        if not written:
            return False
        by_name = {str(s["metadata"].get("name")): s for s in cached}
        for name, rv in list(written.items()):
            sl = by_name.get(name)
            if rv == DELETED:
                fresh = sl is None
            else:
                fresh = sl is not None and int(sl["metadata"].get("resourceVersion") or 0) >= rv
            if fresh:
                del written[name]
        if not written:
            del self._written[key]
            return False
        return True

    def forget(self, key: str) -> None:
        self._written.pop(key, None)


# -- the controller ------------------------------------------------------------------------------------------

def _service_index(sl: Obj) -> list[str]:
    meta = sl.get("metadata") or {}
    name = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
    return [f"{meta.get('namespace', '')}/{name}"] if name else []


@register
class EndpointSliceController(ServicePodController):
    name = "endpointslice"
    component = "endpointslice-controller"
    workers = 4

    def setup(self) -> None:
        super().setup()
        self.tracker = SliceTracker()
        self.slices = self.ctx.informers.informer(SLICES, label_selector=f"{MANAGED_BY_LABEL}={CONTROLLER_NAME}")
        self.slices.store.add_indexer("service", _service_index)
        self.slices.add_handlers(on_update=lambda _o, n: self._slice(n), on_delete=self._slice)

    def _slice(self, sl: Obj) -> None:
        for key in _service_index(sl):
            self.enqueue_key(key)

    async def sync(self, key: str) -> None:
        namespace, _ = split_key(key)
        service, pods = self.service_and_pods(key)
        if service is None or service_selector(service) is None:
            self.tracker.forget(key)
            return  # owned slices go with the Service through the garbage collector
        existing = self.slices.lister.by_index("service", key)
        if self.tracker.stale(key, existing):
            self.queue.add_after(key, 0.1)
            return
        owned = [s for s in existing
                 if any(r.get("uid") == service["metadata"].get("uid") and r.get("controller")
                        for r in (s["metadata"].get("ownerReferences") or []))]
        plan = reconcile(service, pods, owned)
        try:
            for sl in plan.create:
                self.tracker.wrote(key, await self.client.create(SLICES, namespace, sl))
            for sl in plan.update:
                self.tracker.wrote(key, await self.client.update(SLICES, namespace, sl["metadata"]["name"], sl))
            for sl in plan.delete:
                with contextlib.suppress(NotFoundError):
                    await self.client.delete(SLICES, namespace, sl["metadata"]["name"])
                self.tracker.deleted(key, str(sl["metadata"]["name"]))
        except ApiError as exc:
            if exc.code == 403:
                return  # the namespace is terminating
            self.recorder.record(service, "Warning", "FailedToUpdateEndpointSlices",
                                 f"Error updating Endpoint Slices for Service {key}: {exc.message}")
            raise
