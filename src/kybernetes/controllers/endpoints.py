"""The Endpoints controller: one Endpoints object per Service with a selector (upstream ``pkg/controller/endpoint``).

* Pods that may serve (:func:`should_pod_be_in_endpoints`: an IP, not terminal, not terminating unless the
  Service publishes not-ready addresses) become addresses: ready pods in ``addresses``, others in
  ``notReadyAddresses``, each with ``targetRef`` and ``nodeName`` (and ``hostname`` for a pod whose subdomain is
  the Service).  Ports come from each service port's ``targetPort``: a number, or a name looked up in the pod's
  container ports (:func:`find_port`; a pod without that named port is left out of that port).
* :func:`endpoint_subsets` builds and repacks the subsets (addresses sharing a port set share a subset);
  :func:`desired_endpoints` adds labels (the Service's, plus ``service.kubernetes.io/headless`` for headless
  Services), ``endpoints.kubernetes.io/last-change-trigger-time`` and over-capacity truncation (1000 addresses).
* Services without a selector and ExternalName Services are not managed; deleting a Service deletes its Endpoints.

Helpers here (pod inclusion, ports, hostnames, service↔pod matching) are shared with the EndpointSlice controller.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from typing import Any

from kybernetes.client.errors import AlreadyExistsError, ApiError, NotFoundError
from kybernetes.client.informer import split_key
from kybernetes.client.rest import resource
from kybernetes.controllers.base import Controller
from kybernetes.controllers.common import is_pod_ready, parse_time
from kybernetes.controllers.manager import register

log = logging.getLogger(__name__)

Obj = dict[str, Any]
PODS = resource("", "v1", "pods")
SERVICES = resource("", "v1", "services")
ENDPOINTS = resource("", "v1", "endpoints")
HEADLESS_LABEL = "service.kubernetes.io/headless"
TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"
OVER_CAPACITY = "endpoints.kubernetes.io/over-capacity"
MAX_CAPACITY = 1000
LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"


# -- shared helpers ------------------------------------------------------------------------------------------

def service_selector(service: Obj) -> dict[str, str] | None:
    """The selector of a Service this controller manages; None for selector-less and ExternalName Services."""
    spec = service.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return None
    selector = spec.get("selector")
    return dict(selector) if selector else None


def selects(selector: dict[str, str], pod: Obj) -> bool:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.items())


def is_headless(service: Obj) -> bool:
    return (service.get("spec") or {}).get("clusterIP") == "None"


def should_pod_be_in_endpoints(pod: Obj, include_terminating: bool) -> bool:
    """Upstream's ShouldPodBeInEndpoints."""
    status = pod.get("status") or {}
    if status.get("phase") in ("Succeeded", "Failed"):
        return False
    if not status.get("podIP") and not status.get("podIPs"):
        return False
    return include_terminating or not (pod.get("metadata") or {}).get("deletionTimestamp")


def pod_ip(pod: Obj) -> str:
    status = pod.get("status") or {}
    return str(status.get("podIP") or ((status.get("podIPs") or [{}])[0]).get("ip") or "")


def find_port(pod: Obj, service_port: Obj) -> int | None:
    """The pod's port for a service port: a numeric targetPort as is, a named one from the container ports."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol") or "TCP"
    spec = pod.get("spec") or {}
    for container in spec.get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return int(port["containerPort"])
    return None


def should_set_hostname(pod: Obj, service: Obj) -> bool:
    spec = pod.get("spec") or {}
    return bool(spec.get("hostname")) and spec.get("subdomain") == service["metadata"]["name"] and \
        pod["metadata"].get("namespace") == service["metadata"].get("namespace")


def target_ref(pod: Obj) -> Obj:
    meta = pod.get("metadata") or {}
    return {"kind": "Pod", "namespace": meta.get("namespace", ""), "name": meta.get("name", ""),
            "uid": meta.get("uid", "")}


def trigger_time(service: Obj, pods: list[Obj]) -> str:
    """The newest state change among the Service and its pods (creation, Ready transition, deletion)."""
    stamps = [str((service.get("metadata") or {}).get("creationTimestamp") or "")]
    for pod in pods:
        meta = pod.get("metadata") or {}
        stamps.append(str(meta.get("creationTimestamp") or ""))
        stamps.append(str(meta.get("deletionTimestamp") or ""))
        for cond in (pod.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "Ready":
                stamps.append(str(cond.get("lastTransitionTime") or ""))
    valid = [s for s in stamps if s and parse_time(s) is not None]
    return max(valid, key=lambda s: parse_time(s) or 0.0) if valid else ""


# -- pure decisions ------------------------------------------------------------------------------------------

def _port_key(port: Obj) -> tuple[str, int, str, str]:
    return (str(port.get("name") or ""), int(port.get("port") or 0), str(port.get("protocol") or ""),
            str(port.get("appProtocol") or ""))


def endpoint_subsets(service: Obj, pods: list[Obj]) -> list[Obj]:
    """The Service's subsets, repacked: one subset per distinct set of ports (upstream's RepackSubsets)."""
    spec = service.get("spec") or {}
    tolerate = bool(spec.get("publishNotReadyAddresses"))
    ports_of_addr: dict[tuple[str, str], set[tuple[str, int, str, str]]] = {}
    addrs: dict[tuple[str, str], tuple[Obj, bool]] = {}
    port_objs: dict[tuple[str, int, str, str], Obj] = {}
    for pod in sorted(pods, key=lambda p: str(p["metadata"].get("name"))):
        if not should_pod_be_in_endpoints(pod, tolerate):
            continue
        ip = pod_ip(pod)
        addr: Obj = {"ip": ip}
        if should_set_hostname(pod, service):
            addr["hostname"] = pod["spec"]["hostname"]
        if (pod.get("spec") or {}).get("nodeName"):
            addr["nodeName"] = pod["spec"]["nodeName"]
        addr["targetRef"] = target_ref(pod)
        key = (ip, str(pod["metadata"].get("uid") or ""))
        ready = tolerate or is_pod_ready(pod)
        service_ports = spec.get("ports") or []
        if not service_ports:
            if is_headless(service):
                addrs[key] = (addr, ready)
                ports_of_addr.setdefault(key, set())
            continue
        for sp in service_ports:
            number = find_port(pod, sp)
            if number is None:
                continue
            port: Obj = {"port": number, "protocol": sp.get("protocol") or "TCP"}
            if sp.get("name"):
                port = {"name": sp["name"], **port}
            if sp.get("appProtocol"):
                port["appProtocol"] = sp["appProtocol"]
            pk = _port_key(port)
            port_objs[pk] = port
            addrs[key] = (addr, ready)
            ports_of_addr.setdefault(key, set()).add(pk)
    groups: dict[frozenset[tuple[str, int, str, str]], list[tuple[str, str]]] = {}
    for key, addr_ports in ports_of_addr.items():
        groups.setdefault(frozenset(addr_ports), []).append(key)
    subsets: list[Obj] = []
    for port_set, keys in groups.items():
        keys.sort()
        subset: Obj = {}
        ready_addrs = [addrs[k][0] for k in keys if addrs[k][1]]
        not_ready = [addrs[k][0] for k in keys if not addrs[k][1]]
        if ready_addrs:
            subset["addresses"] = ready_addrs
        if not_ready:
            subset["notReadyAddresses"] = not_ready
        if port_set:
            subset["ports"] = [port_objs[pk] for pk in sorted(port_set)]
        subsets.append(subset)
    subsets.sort(key=lambda s: (sorted(_port_key(p) for p in s.get("ports") or []),
                                ((s.get("addresses") or s.get("notReadyAddresses") or [{}])[0]).get("ip", "")))
    return subsets


def truncate(subsets: list[Obj]) -> bool:
    """Cut to MAX_CAPACITY addresses, ready ones first, proportionally per subset; True when cut."""
    total_ready = sum(len(s.get("addresses") or []) for s in subsets)
    total_not_ready = sum(len(s.get("notReadyAddresses") or []) for s in subsets)
    if total_ready + total_not_ready <= MAX_CAPACITY:
        return False
    truncate_ready = total_ready > MAX_CAPACITY
    limit = MAX_CAPACITY if truncate_ready else MAX_CAPACITY - total_ready
    total = total_ready if truncate_ready else total_not_ready
    room = limit
    for subset in subsets:
        field = "addresses" if truncate_ready else "notReadyAddresses"
        items = subset.get(field) or []
        take = min(-(-len(items) * limit // total) if total else 0, room)
        subset[field] = items[:take]
        if truncate_ready:
            subset.pop("notReadyAddresses", None)
        room -= len(subset[field])
    return True


def desired_endpoints(service: Obj, pods: list[Obj], current: Obj | None, now: str = "") -> Obj | None:
    """The Endpoints object to write, or None when ``current`` is already right."""
    meta = service["metadata"]
    subsets = endpoint_subsets(service, pods)
    labels = dict(meta.get("labels") or {})
    if current is not None:
        current_labels = dict((current.get("metadata") or {}).get("labels") or {})
        current_labels.pop(HEADLESS_LABEL, None)
        annotations = (current.get("metadata") or {}).get("annotations") or {}
        if _strip_rv(current.get("subsets") or []) == subsets and current_labels == labels and \
                OVER_CAPACITY not in annotations and \
                sum(len(s.get("addresses") or []) + len(s.get("notReadyAddresses") or []) for s in subsets) \
                <= MAX_CAPACITY:
            return None
    out: Obj = copy.deepcopy(current) if current is not None else {
        "apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": meta["name"], "namespace": meta["namespace"]}}
    out.setdefault("apiVersion", "v1")
    out.setdefault("kind", "Endpoints")
    out_meta = out["metadata"]
    annotations = dict(out_meta.get("annotations") or {})
    stamp = trigger_time(service, pods) or now
    if stamp:
        annotations[TRIGGER_TIME] = stamp
    else:
        annotations.pop(TRIGGER_TIME, None)
    if truncate(subsets):
        annotations[OVER_CAPACITY] = "truncated"
    else:
        annotations.pop(OVER_CAPACITY, None)
    if is_headless(service):
        labels[HEADLESS_LABEL] = ""
    out_meta["labels"] = labels
    out_meta["annotations"] = annotations
    if subsets:
        out["subsets"] = subsets
    else:
        out.pop("subsets", None)
    return out


def _strip_rv(subsets: list[Obj]) -> list[Obj]:
    out = copy.deepcopy(subsets)
    for subset in out:
        for field in ("addresses", "notReadyAddresses"):
            for addr in subset.get(field) or []:
                (addr.get("targetRef") or {}).pop("resourceVersion", None)
    return out


# -- the controller ------------------------------------------------------------------------------------------

class ServicePodController(Controller):
    """Wiring shared by the Endpoints and EndpointSlice controllers: Service keys, pods mapped to Services."""

    def setup(self) -> None:
        self.services = self.ctx.informers.informer(SERVICES)
        self.pods = self.ctx.informers.informer(PODS)
        self.services.add_handlers(on_add=self.enqueue, on_update=lambda _o, n: self.enqueue(n),
                                   on_delete=self.enqueue)
        self.pods.add_handlers(on_add=self._pod, on_update=self._pod_update, on_delete=self._pod)

    def _pod(self, pod: Obj) -> None:
        self._pod_update(None, pod)

    def _pod_update(self, old: Obj | None, pod: Obj) -> None:
        namespace = str((pod.get("metadata") or {}).get("namespace") or "")
        for service in self.services.lister.list(namespace):
            selector = service_selector(service)
            if selector is None:
                continue
            if selects(selector, pod) or (old is not None and selects(selector, old)):
                self.enqueue(service)

    def service_and_pods(self, key: str) -> tuple[Obj | None, list[Obj]]:
        namespace, name = split_key(key)
        service = self.services.lister.get(namespace, name)
        if service is None:
            return None, []
        selector = service_selector(service)
        if selector is None:
            return service, []
        return service, [p for p in self.pods.lister.list(namespace) if selects(selector, p)]


@register
class EndpointsController(ServicePodController):
    name = "endpoints"
    component = "endpoint-controller"
    workers = 4

    def setup(self) -> None:
        super().setup()
        self.endpoints = self.ctx.informers.informer(ENDPOINTS)
        self.endpoints.add_handlers(on_delete=self.enqueue)

    async def background(self) -> None:
        """Once at start: queue every Endpoints object, so those whose Service went away meanwhile are deleted
        (upstream's checkLeftoverEndpoints; leader-election records are left alone)."""
        await self.endpoints.synced.wait()
        for ep in self.endpoints.lister.list():
            if LEADER_ANNOTATION not in ((ep.get("metadata") or {}).get("annotations") or {}):
                self.enqueue(ep)

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        service, pods = self.service_and_pods(key)
        if service is None:
            with contextlib.suppress(NotFoundError):
                await self.client.delete(ENDPOINTS, namespace, name)
            return
        if service_selector(service) is None:
            return
        current = self.endpoints.lister.get(namespace, name)
        wanted = desired_endpoints(service, pods, current)
        if wanted is None:
            return
        try:
            if current is None:
                await self.client.create(ENDPOINTS, namespace, wanted)
            else:
                await self.client.update(ENDPOINTS, namespace, name, wanted)
        except AlreadyExistsError:
            raise
        except ApiError as exc:
            if current is None and exc.code == 403:
                return  # the namespace is terminating
            reason, verb = ("FailedToCreateEndpoint", "create") if current is None else \
                ("FailedToUpdateEndpoint", "update")
            message = f"Failed to create endpoint for service {namespace}/{name}: {exc.message}" \
                if verb == "create" else f"Failed to update endpoint {namespace}/{name}: {exc.message}"
            self.recorder.record(wanted, "Warning", reason, message)
            raise
