"""Pure identity and storage helpers of the StatefulSet controller (upstream ``stateful_set_utils.go``).

A StatefulSet pod's identity: name ``<set>-<ordinal>``, labels ``statefulset.kubernetes.io/pod-name`` and
``apps.kubernetes.io/pod-index``, ``spec.hostname`` = its name, ``spec.subdomain`` = ``spec.serviceName``; its
revision: label ``controller-revision-hash`` = the ControllerRevision's *name*.  Its storage: one PVC per
``volumeClaimTemplates`` entry named ``<template>-<set>-<ordinal>``, mounted as the volume named like the template.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from kybernetes.controllers.common import owner_reference, pod_from_template

Obj = dict[str, Any]
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"
_ORDINAL = re.compile(r"^(.*)-([0-9]+)$")


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def set_name(sts: Obj) -> str:
    return str(_meta(sts).get("name", ""))


def pod_name(sts: Obj, ordinal: int) -> str:
    return f"{set_name(sts)}-{ordinal}"


def ordinal_of(pod: Obj) -> int:
    """The ordinal in the pod's name, -1 when it has none (upstream ``getOrdinal``)."""
    match = _ORDINAL.match(str(_meta(pod).get("name", "")))
    return int(match.group(2)) if match else -1


def is_member(sts: Obj, pod: Obj) -> bool:
    match = _ORDINAL.match(str(_meta(pod).get("name", "")))
    return match is not None and match.group(1) == set_name(sts)


def pod_revision(pod: Obj) -> str:
    return str((_meta(pod).get("labels") or {}).get(REVISION_LABEL, ""))


def claim_name(template_name: str, sts: Obj, ordinal: int) -> str:
    return f"{template_name}-{set_name(sts)}-{ordinal}"


def retention_policy(sts: Obj) -> tuple[str, str]:
    """(whenDeleted, whenScaled), both defaulting to Retain."""
    policy = (sts.get("spec") or {}).get("persistentVolumeClaimRetentionPolicy") or {}
    return str(policy.get("whenDeleted") or "Retain"), str(policy.get("whenScaled") or "Retain")


def claims_for(sts: Obj, ordinal: int) -> list[Obj]:
    """The PVCs the pod with ``ordinal`` needs, labelled with the set's matchLabels; owned by the set when
    ``whenDeleted: Delete`` (upstream ``getPersistentVolumeClaims`` + retention policy)."""
    spec = sts.get("spec") or {}
    match_labels = (spec.get("selector") or {}).get("matchLabels") or {}
    when_deleted, _ = retention_policy(sts)
    claims = []
    for template in spec.get("volumeClaimTemplates") or []:
        claim = copy.deepcopy(template)
        tmeta = claim.get("metadata") or {}
        meta: Obj = {k: v for k, v in tmeta.items() if k in ("labels", "annotations", "finalizers")}
        meta["name"] = claim_name(str(tmeta.get("name", "")), sts, ordinal)
        meta["namespace"] = _meta(sts).get("namespace", "")
        meta["labels"] = {**(tmeta.get("labels") or {}), **match_labels}
        if when_deleted == "Delete":
            meta["ownerReferences"] = [owner_reference(sts)]
        claim["metadata"] = meta
        claim["apiVersion"] = "v1"
        claim["kind"] = "PersistentVolumeClaim"
        claim.pop("status", None)
        claims.append(claim)
    return claims


def _set_storage(sts: Obj, pod: Obj, ordinal: int) -> None:
    spec = pod.setdefault("spec", {})
    templates = (sts.get("spec") or {}).get("volumeClaimTemplates") or []
    names = [str(_meta(t).get("name", "")) for t in templates]
    volumes = [v for v in spec.get("volumes") or [] if v.get("name") not in names]
    for name in names:
        volumes.append({"name": name, "persistentVolumeClaim": {"claimName": claim_name(name, sts, ordinal)}})
    if volumes:
        spec["volumes"] = volumes


def identity_labels(sts: Obj, ordinal: int) -> dict[str, str]:
    return {POD_NAME_LABEL: pod_name(sts, ordinal), POD_INDEX_LABEL: str(ordinal)}


def new_stateful_pod(sts: Obj, template: Obj, revision_name: str, ordinal: int) -> Obj:
    """The pod with ``ordinal`` made from ``template`` (the template of revision ``revision_name``)."""
    name = pod_name(sts, ordinal)
    labels = {**identity_labels(sts, ordinal), REVISION_LABEL: revision_name}
    pod = pod_from_template(template, sts, name=name, extra_labels=labels)
    spec = pod.setdefault("spec", {})
    spec["hostname"] = name
    service = (sts.get("spec") or {}).get("serviceName")
    if service:
        spec["subdomain"] = service
    _set_storage(sts, pod, ordinal)
    return pod


def identity_patch(sts: Obj, pod: Obj) -> Obj | None:
    """A merge patch restoring the identity labels of a member pod, None when they match."""
    labels = _meta(pod).get("labels") or {}
    want = identity_labels(sts, ordinal_of(pod))
    missing = {k: v for k, v in want.items() if labels.get(k) != v}
    return {"metadata": {"labels": missing}} if missing else None
