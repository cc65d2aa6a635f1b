"""Printers for core/v1 kinds other than Pod (and events.k8s.io Events, printed through core/v1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kybernetes.api.selectors import format_labels
from kybernetes.api.tables.base import (
    AGE,
    CONTAINERS,
    IMAGES,
    NAME,
    SELECTOR,
    Column,
    Obj,
    created,
    deleting,
    name_of,
    printer,
    wide,
)
from kybernetes.api.tables.format import as_int, as_str, containers_cells, dig, parse_time, since

_LB_WIDTH = 16


def _lb_ingress(status: Any, wide_output: bool) -> str:
    found = set()
    for ing in dig(status, "loadBalancer", "ingress") or []:
        if isinstance(ing, dict):
            if ing.get("ip"):
                found.add(str(ing["ip"]))
            elif ing.get("hostname"):
                found.add(str(ing["hostname"]))
    text = ",".join(sorted(found))
    if not wide_output and len(text) > _LB_WIDTH:
        text = text[: _LB_WIDTH - 3] + "..."
    return text


def service_external_ip(svc: Obj, wide_output: bool = True) -> str:
    """``getServiceExternalIP``: external IPs, LoadBalancer ingress or ``<pending>``, ExternalName."""
    spec = svc.get("spec") or {}
    external = [str(ip) for ip in spec.get("externalIPs") or []]
    stype = spec.get("type") or "ClusterIP"
    if stype in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if stype == "LoadBalancer":
        lb = _lb_ingress(svc.get("status"), wide_output)
        if external:
            return ",".join([*(lb.split(",") if lb else []), *external])
        return lb or "<pending>"
    if stype == "ExternalName":
        return str(spec.get("externalName") or "")
    return "<unknown>"


def service_ports(ports: Any) -> str:
    """``makePortString``: ``80/TCP`` or ``80:30080/TCP`` per port, comma-joined."""
    pieces = []
    for p in ports or []:
        if not isinstance(p, dict):
            continue
        proto = p.get("protocol") or "TCP"
        if as_int(p.get("nodePort")) > 0:
            pieces.append(f"{as_int(p.get('port'))}:{as_int(p.get('nodePort'))}/{proto}")
        else:
            pieces.append(f"{as_int(p.get('port'))}/{proto}")
    return ",".join(pieces)


@printer(
    "",
    "Service",
    NAME,
    Column("Type", "string", "How the service is exposed."),
    Column("Cluster-IP", "string", "The service's cluster IP."),
    Column("External-IP", "string", "Addresses the service is reachable at from outside the cluster."),
    Column("Port(s)", "string", "The ports the service exposes."),
    AGE,
    wide("Selector", "Label query over the pods the service routes to."),
)
def service_row(svc: Obj, now: datetime) -> list[Any]:
    spec = svc.get("spec") or {}
    cluster_ips = spec.get("clusterIPs") or []
    internal = str(cluster_ips[0]) if cluster_ips else "<none>"
    return [
        name_of(svc),
        str(spec.get("type") or ""),
        internal,
        service_external_ip(svc),
        service_ports(spec.get("ports")) or "<none>",
        since(created(svc), now),
        format_labels(spec.get("selector")),
    ]


def format_endpoints(ep: Obj) -> str:
    """``formatEndpoints``: up to three ``ip:port`` entries, ``+ N more...``; ``<none>`` without subsets."""
    subsets = [s for s in ep.get("subsets") or [] if isinstance(s, dict)]
    if not subsets:
        return "<none>"
    items: list[str] = []
    limit, count, more = 3, 0, False
    for ss in subsets:
        addresses = [a for a in ss.get("addresses") or [] if isinstance(a, dict)]
        ports = [p for p in ss.get("ports") or [] if isinstance(p, dict)]
        if not ports:
            count += len(addresses)
            for a in addresses:
                if len(items) == limit:
                    more = True
                    break
                items.append(str(a.get("ip", "")))
            continue
        for port in ports:
            count += len(addresses)
            for a in addresses:
                if len(items) == limit:
                    more = True
                    break
                ip = str(a.get("ip", ""))
                host = f"[{ip}]" if ":" in ip else ip
                items.append(f"{host}:{as_int(port.get('port'))}")
    text = ",".join(items)
    return f"{text} + {count - limit} more..." if more else text


@printer("", "Endpoints", NAME, Column("Endpoints", "string", "Ready addresses and ports."), AGE)
def endpoints_row(ep: Obj, now: datetime) -> list[Any]:
    return [name_of(ep), format_endpoints(ep), since(created(ep), now)]


def node_roles(node: Obj) -> list[str]:
    """Roles from ``node-role.kubernetes.io/<role>`` labels and the ``kubernetes.io/role`` label, sorted."""
    roles: set[str] = set()
    for key, value in ((node.get("metadata") or {}).get("labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/"):
            role = key[len("node-role.kubernetes.io/") :]
            if role:
                roles.add(role)
        elif key == "kubernetes.io/role" and value:
            roles.add(str(value))
    return sorted(roles)


def _node_address(node: Obj, kind: str) -> str:
    for addr in dig(node, "status", "addresses") or []:
        if isinstance(addr, dict) and addr.get("type") == kind:
            return str(addr.get("address", ""))
    return "<none>"


@printer(
    "",
    "Node",
    NAME,
    Column("Status", "string", "Readiness of the node, and whether scheduling is disabled."),
    Column("Roles", "string", "The node's roles, from its node-role labels."),
    AGE,
    Column("Version", "string", "The kubelet version."),
    wide("Internal-IP", "The node's internal address."),
    wide("External-IP", "The node's external address."),
    wide("OS-Image", "The node's operating system image."),
    wide("Kernel-Version", "The node's kernel version."),
    wide("Container-Runtime", "The node's container runtime and version."),
)
def node_row(node: Obj, now: datetime) -> list[Any]:
    status: list[str] = []
    for cond in dig(node, "status", "conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "Ready":
            status = ["Ready" if cond.get("status") == "True" else "NotReady"]
    if not status:
        status = ["Unknown"]
    if dig(node, "spec", "unschedulable"):
        status.append("SchedulingDisabled")
    info = dig(node, "status", "nodeInfo") or {}
    return [
        name_of(node),
        ",".join(status),
        ",".join(node_roles(node)) or "<none>",
        since(created(node), now),
        as_str(info.get("kubeletVersion")),
        _node_address(node, "InternalIP"),
        _node_address(node, "ExternalIP"),
        as_str(info.get("osImage")) or "<unknown>",
        as_str(info.get("kernelVersion")) or "<unknown>",
        as_str(info.get("containerRuntimeVersion")) or "<unknown>",
    ]


@printer("", "Namespace", NAME, Column("Status", "string", "The namespace's phase."), AGE)
def namespace_row(ns: Obj, now: datetime) -> list[Any]:
    return [name_of(ns), as_str(dig(ns, "status", "phase")), since(created(ns), now)]


def _event_source(ev: Obj) -> str:
    component = as_str(dig(ev, "source", "component")) or as_str(ev.get("reportingComponent"))
    host = as_str(dig(ev, "source", "host")) or as_str(ev.get("reportingInstance"))
    return f"{component}, {host}" if host else component


@printer(
    "",
    "Event",
    Column("Last Seen", "string", "When the event was last observed."),
    Column("Type", "string", "Normal or Warning."),
    Column("Reason", "string", "Short machine-readable reason."),
    Column("Object", "string", "The object the event is about."),
    wide("Subobject", "The part of the object the event is about."),
    wide("Source", "The component (and host) that reported the event."),
    Column("Message", "string", "Human-readable description."),
    wide("First Seen", "When the event was first observed."),
    wide("Count", "How many times the event occurred.", "string"),
    Column("Name", "string", "Name of the event.", 1, "name"),
)
def event_row(ev: Obj, now: datetime) -> list[Any]:
    first = since(ev.get("firstTimestamp"), now)
    if parse_time(ev.get("firstTimestamp")) is None:
        first = since(ev.get("eventTime"), now)
    last = since(ev.get("lastTimestamp"), now)
    if parse_time(ev.get("lastTimestamp")) is None:
        last = first
    count = as_int(ev.get("count"))
    series = ev.get("series")
    if isinstance(series, dict):
        last = since(series.get("lastObservedTime"), now)
        count = as_int(series.get("count"))
    elif count == 0:
        count = 1
    involved = ev.get("involvedObject") or {}
    kind = as_str(involved.get("kind")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    return [
        last,
        as_str(ev.get("type")),
        as_str(ev.get("reason")),
        target,
        as_str(involved.get("fieldPath")),
        _event_source(ev),
        as_str(ev.get("message")).strip(),
        first,
        count,
        name_of(ev),
    ]


@printer("", "ConfigMap", NAME, Column("Data", "string", "Number of data and binaryData entries."), AGE)
def configmap_row(cm: Obj, now: datetime) -> list[Any]:
    return [name_of(cm), len(cm.get("data") or {}) + len(cm.get("binaryData") or {}), since(created(cm), now)]


@printer(
    "",
    "Secret",
    NAME,
    Column("Type", "string", "The secret's type."),
    Column("Data", "string", "Number of data entries."),
    AGE,
)
def secret_row(secret: Obj, now: datetime) -> list[Any]:
    return [
        name_of(secret),
        as_str(secret.get("type")),
        len(secret.get("data") or {}),
        since(created(secret), now),
    ]


@printer("", "ServiceAccount", NAME, Column("Secrets", "string", "Number of referenced secrets."), AGE)
def serviceaccount_row(sa: Obj, now: datetime) -> list[Any]:
    return [name_of(sa), len(sa.get("secrets") or []), since(created(sa), now)]


_ACCESS_MODES = (
    ("ReadWriteOnce", "RWO"),
    ("ReadOnlyMany", "ROX"),
    ("ReadWriteMany", "RWX"),
    ("ReadWriteOncePod", "RWOP"),
)


def access_modes(modes: Any) -> str:
    """``GetAccessModesAsString``: short names in fixed order, each once."""
    have = set(modes or [])
    return ",".join(short for full, short in _ACCESS_MODES if full in have)


def _storage_class(obj: Obj) -> str:
    cls = dig(obj, "spec", "storageClassName")
    if cls is None:
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        cls = annotations.get("volume.beta.kubernetes.io/storage-class", "")
    return as_str(cls)


@printer(
    "",
    "PersistentVolume",
    NAME,
    Column("Capacity", "string", "The volume's storage capacity."),
    Column("Access Modes", "string", "How the volume may be mounted."),
    Column("Reclaim Policy", "string", "What happens to the volume when its claim is released."),
    Column("Status", "string", "The volume's phase."),
    Column("Claim", "string", "The claim bound to the volume."),
    Column("StorageClass", "string", "The volume's storage class."),
    Column("VolumeAttributesClass", "string", "The volume's attributes class."),
    Column("Reason", "string", "Why the volume is in its phase."),
    AGE,
    wide("VolumeMode", "Filesystem or Block."),
)
def pv_row(pv: Obj, now: datetime) -> list[Any]:
    spec = pv.get("spec") or {}
    ref = spec.get("claimRef")
    claim = f"{as_str(ref.get('namespace'))}/{as_str(ref.get('name'))}" if isinstance(ref, dict) else ""
    phase = "Terminating" if deleting(pv) else as_str(dig(pv, "status", "phase"))
    return [
        name_of(pv),
        as_str(dig(spec, "capacity", "storage")) or "0",
        access_modes(spec.get("accessModes")),
        as_str(spec.get("persistentVolumeReclaimPolicy")),
        phase,
        claim,
        _storage_class(pv),
        as_str(spec.get("volumeAttributesClassName")) or "<unset>",
        as_str(dig(pv, "status", "reason")),
        since(created(pv), now),
        as_str(spec.get("volumeMode")) or "<unset>",
    ]


@printer(
    "",
    "PersistentVolumeClaim",
    NAME,
    Column("Status", "string", "The claim's phase."),
    Column("Volume", "string", "The volume bound to the claim."),
    Column("Capacity", "string", "The bound volume's capacity."),
    Column("Access Modes", "string", "How the bound volume may be mounted."),
    Column("StorageClass", "string", "The claim's storage class."),
    Column("VolumeAttributesClass", "string", "The claim's attributes class."),
    AGE,
    wide("VolumeMode", "Filesystem or Block."),
)
def pvc_row(pvc: Obj, now: datetime) -> list[Any]:
    spec = pvc.get("spec") or {}
    phase = "Terminating" if deleting(pvc) else as_str(dig(pvc, "status", "phase"))
    capacity = modes = ""
    if spec.get("volumeName"):
        modes = access_modes(dig(pvc, "status", "accessModes"))
        capacity = as_str(dig(pvc, "status", "capacity", "storage")) or "0"
    return [
        name_of(pvc),
        phase,
        as_str(spec.get("volumeName")),
        capacity,
        modes,
        _storage_class(pvc),
        as_str(spec.get("volumeAttributesClassName")) or "<unset>",
        since(created(pvc), now),
        as_str(spec.get("volumeMode")) or "<unset>",
    ]


@printer(
    "",
    "ComponentStatus",
    NAME,
    Column("Status", "string", "Healthy, Unhealthy or Unknown."),
    Column("Message", "string", "Message of the Healthy condition."),
    Column("Error", "string", "Error of the Healthy condition."),
)
def componentstatus_row(cs: Obj, now: datetime) -> list[Any]:
    status, message, error = "Unknown", "", ""
    for cond in cs.get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "Healthy":
            status = "Healthy" if cond.get("status") == "True" else "Unhealthy"
            message, error = as_str(cond.get("message")), as_str(cond.get("error"))
            break
    return [name_of(cs), status, message, error]


@printer(
    "",
    "ResourceQuota",
    NAME,
    Column("Request", "string", "Used and hard request quotas."),
    Column("Limit", "string", "Used and hard limit quotas."),
    AGE,
)
def resourcequota_row(rq: Obj, now: datetime) -> list[Any]:
    hard = dig(rq, "status", "hard") or {}
    used = dig(rq, "status", "used") or {}
    requests: list[str] = []
    limits: list[str] = []
    for res in sorted(hard):
        entry = f"{res}: {as_str(used.get(res)) or '0'}/{as_str(hard[res])}"
        parts = res.split(".")
        (limits if len(parts) > 1 and parts[0] == "limits" else requests).append(entry)
    return [name_of(rq), ", ".join(requests), ", ".join(limits), since(created(rq), now)]


@printer(
    "",
    "ReplicationController",
    NAME,
    Column("Desired", "integer", "Desired number of replicas."),
    Column("Current", "integer", "Observed number of replicas."),
    Column("Ready", "integer", "Number of ready replicas."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
)
def replicationcontroller_row(rc: Obj, now: datetime) -> list[Any]:
    spec = rc.get("spec") or {}
    status = rc.get("status") or {}
    names, images = containers_cells(dig(spec, "template", "spec", "containers"))
    desired = spec.get("replicas")
    return [
        name_of(rc),
        as_int(1 if desired is None else desired),
        as_int(status.get("replicas")),
        as_int(status.get("readyReplicas")),
        since(created(rc), now),
        names,
        images,
        format_labels(spec.get("selector")),
    ]
