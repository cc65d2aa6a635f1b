"""Printers for storage, coordination, discovery and events.k8s.io kinds.

LimitRange and CustomResourceDefinition have no upstream printer: they get the default ``Name``/``Created At``
table (see :func:`kybernetes.api.tables.build_table`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kybernetes.api.conversion import convert
from kybernetes.api.tables.base import AGE, NAME, Column, Obj, created, name_of, printer
from kybernetes.api.tables.core import event_row
from kybernetes.api.tables.format import as_int, as_str, list_with_more, since

_DEFAULT_CLASS_ANNOTATIONS = (
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
)


@printer(
    "storage.k8s.io",
    "StorageClass",
    NAME,
    Column("Provisioner", "string", "The volume plugin that provisions volumes."),
    Column("ReclaimPolicy", "string", "Reclaim policy of provisioned volumes."),
    Column("VolumeBindingMode", "string", "When volumes are bound and provisioned."),
    Column("AllowVolumeExpansion", "string", "Whether claims may be expanded."),
    AGE,
)
def storageclass_row(sc: Obj, now: datetime) -> list[Any]:
    annotations = (sc.get("metadata") or {}).get("annotations") or {}
    name = name_of(sc)
    if any(annotations.get(a) == "true" for a in _DEFAULT_CLASS_ANNOTATIONS):
        name += " (default)"
    return [
        name,
        as_str(sc.get("provisioner")),
        as_str(sc.get("reclaimPolicy")) or "Delete",
        as_str(sc.get("volumeBindingMode")) or "Immediate",
        bool(sc.get("allowVolumeExpansion")),
        since(created(sc), now),
    ]


@printer(
    "coordination.k8s.io", "Lease", NAME, Column("Holder", "string", "Identity of the current holder."), AGE
)
def lease_row(lease: Obj, now: datetime) -> list[Any]:
    return [
        name_of(lease),
        as_str((lease.get("spec") or {}).get("holderIdentity")),
        since(created(lease), now),
    ]


def _slice_ports(ports: Any) -> str:
    items: list[str] = []
    entries = [p for p in ports or [] if isinstance(p, dict)]
    for p in entries[:3]:
        if p.get("port") is not None:
            items.append(str(as_int(p["port"])))
        elif p.get("name") is not None:
            items.append(as_str(p["name"]))
        else:
            items.append("*")
    return list_with_more(items, len(entries), 3)


def _slice_endpoints(endpoints: Any) -> str:
    addresses = [as_str(a) for e in endpoints or [] if isinstance(e, dict) for a in e.get("addresses") or []]
    return list_with_more(addresses[:3], len(addresses), 3)


@printer(
    "discovery.k8s.io",
    "EndpointSlice",
    NAME,
    Column("AddressType", "string", "IPv4, IPv6 or FQDN."),
    Column("Ports", "string", "The slice's port numbers."),
    Column("Endpoints", "string", "The slice's endpoint addresses."),
    AGE,
)
def endpointslice_row(es: Obj, now: datetime) -> list[Any]:
    return [
        name_of(es),
        as_str(es.get("addressType")),
        _slice_ports(es.get("ports")),
        _slice_endpoints(es.get("endpoints")),
        since(created(es), now),
    ]


def _events_columns() -> tuple[Column, ...]:
    from kybernetes.api.tables.base import PRINTERS

    return PRINTERS[("", "Event")].columns


@printer("events.k8s.io", "Event", *_events_columns())
def events_event_row(ev: Obj, now: datetime) -> list[Any]:
    """events.k8s.io/v1 Events print like core/v1 ones (upstream prints both from one internal type)."""
    if ev.get("apiVersion") == "events.k8s.io/v1":
        ev = convert(ev, "v1")
    return event_row(ev, now)
