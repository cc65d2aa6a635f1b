"""PersistentVolume, PersistentVolumeClaim (core/v1) and StorageClass (storage.k8s.io/v1)."""

from __future__ import annotations

import copy
import datetime
from typing import Any

from kybernetes.api import validation as v
from kybernetes.api.errors import FieldError, forbidden_field, invalid_value, not_supported, required
from kybernetes.api.strategies._util import (
    Obj,
    canonical_quantities,
    child,
    default_ptr,
    default_str,
    lst,
    m,
    s,
)
from kybernetes.api.strategies._util import quantity_errors as _qerrs
from kybernetes.api.strategies.base import BaseStrategy

_ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]
_RECLAIM = ["Delete", "Recycle", "Retain"]
_PV_SOURCES = (
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "hostPath",
    "glusterfs",
    "nfs",
    "rbd",
    "iscsi",
    "cinder",
    "cephfs",
    "fc",
    "flocker",
    "flexVolume",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "local",
    "storageos",
    "csi",
)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_pvc(claim: Obj) -> None:
    """``SetDefaults_PersistentVolumeClaim(Spec)``: volumeMode Filesystem, status.phase Pending."""
    spec = child(claim, "spec")
    default_ptr(spec, "volumeMode", "Filesystem")
    resources = m(spec, "resources")
    canonical_quantities(resources.get("requests"))
    canonical_quantities(resources.get("limits"))
    default_str(child(claim, "status"), "phase", "Pending")


def _validate_access_modes(modes: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for mode in modes:
        if mode not in _ACCESS_MODES:
            errs.append(not_supported(path, mode, _ACCESS_MODES))
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        errs.append(forbidden_field(path, "may not use ReadWriteOncePod with other access modes"))
    return errs


def validate_pvc_spec(spec: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    modes = lst(spec, "accessModes")
    if not modes:
        errs.append(required(f"{path}.accessModes", "at least 1 access mode is required"))
    errs.extend(_validate_access_modes(modes, f"{path}.accessModes"))
    requests = m(m(spec, "resources"), "requests")
    storage_path = f"{path}.resources[storage]"
    if "storage" not in requests:
        errs.append(required(storage_path))
    else:
        qerrs, q = _qerrs(requests["storage"], storage_path)
        errs.extend(qerrs)
        if q is not None and q.sign() <= 0:
            errs.append(invalid_value(storage_path, q.canonical(), "must be greater than zero"))
    mode = spec.get("volumeMode")
    if mode is not None and mode not in ("Block", "Filesystem"):
        errs.append(not_supported(f"{path}.volumeMode", mode, ["Block", "Filesystem"]))
    sc = spec.get("storageClassName")
    if isinstance(sc, str) and sc:
        errs.extend(invalid_value(f"{path}.storageClassName", sc, msg) for msg in v.is_dns1123_subdomain(sc))
    return errs


class PersistentVolumeClaimStrategy(BaseStrategy):
    has_status_subresource = True

    def initial_status(self, obj: Obj) -> Obj | None:
        return {"phase": "Pending"}

    def _default(self, obj: Obj) -> None:
        default_pvc(obj)

    def _validate(self, obj: Obj) -> list[FieldError]:
        return validate_pvc_spec(m(obj, "spec"), "spec")

    def _validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        """Immutable except ``resources.requests`` (never below the old size), ``volumeAttributesClassName``
        and binding an unset ``volumeName``."""
        new_spec, old_spec = copy.deepcopy(m(new, "spec")), copy.deepcopy(m(old, "spec"))
        errs: list[FieldError] = []
        old_req = m(m(old_spec, "resources"), "requests").get("storage")
        new_req = m(m(new_spec, "resources"), "requests").get("storage")
        bound = s(m(old, "status"), "phase") == "Bound"
        if old_req is not None and new_req is not None and bound:
            _, oq = _qerrs(old_req, "")
            _, nq = _qerrs(new_req, "")
            if oq is not None and nq is not None and nq.cmp(oq) < 0:
                errs.append(
                    forbidden_field(
                        "spec.resources.requests.storage", "field can not be less than previous value"
                    )
                )
        if bound:
            for spec in (new_spec, old_spec):
                child(child(spec, "resources"), "requests").pop("storage", None)
        for spec in (new_spec, old_spec):
            spec.pop("volumeAttributesClassName", None)
        if not s(old_spec, "volumeName"):
            new_spec.pop("volumeName", None)
            old_spec.pop("volumeName", None)
        if new_spec != old_spec:
            errs.append(
                forbidden_field(
                    "spec",
                    "spec is immutable after creation except resources.requests and "
                    "volumeAttributesClassName for bound claims",
                )
            )
        return errs


class PersistentVolumeStrategy(BaseStrategy):
    has_status_subresource = True

    def initial_status(self, obj: Obj) -> Obj | None:
        return {"phase": "Pending", "lastPhaseTransitionTime": _now()}

    def _default(self, obj: Obj) -> None:
        spec = child(obj, "spec")
        default_str(spec, "persistentVolumeReclaimPolicy", "Retain")
        default_ptr(spec, "volumeMode", "Filesystem")
        canonical_quantities(spec.get("capacity"))
        host_path = spec.get("hostPath")
        if isinstance(host_path, dict):
            default_ptr(host_path, "type", "")
        default_str(child(obj, "status"), "phase", "Pending")

    def _validate(self, obj: Obj) -> list[FieldError]:
        spec = m(obj, "spec")
        errs: list[FieldError] = []
        modes = lst(spec, "accessModes")
        if not modes:
            errs.append(required("spec.accessModes"))
        errs.extend(_validate_access_modes(modes, "spec.accessModes"))
        capacity = m(spec, "capacity")
        if not capacity:
            errs.append(required("spec.capacity"))
        elif "storage" not in capacity or len(capacity) > 1:
            errs.append(not_supported("spec.capacity", capacity, ["storage"]))
        else:
            qerrs, q = _qerrs(capacity["storage"], "spec.capacity[storage]")
            errs.extend(qerrs)
            if q is not None and q.sign() <= 0:
                errs.append(
                    invalid_value("spec.capacity[storage]", q.canonical(), "must be greater than zero")
                )
        sources = [src for src in _PV_SOURCES if spec.get(src) is not None]
        if not sources:
            errs.append(required("spec", "must specify a volume type"))
        for extra in sources[1:]:
            errs.append(forbidden_field(f"spec.{extra}", "may not specify more than 1 volume type"))
        if "hostPath" in sources and not s(spec["hostPath"], "path"):
            errs.append(required("spec.hostPath.path"))
        if "local" in sources and not s(spec["local"], "path"):
            errs.append(required("spec.local.path"))
        policy = spec.get("persistentVolumeReclaimPolicy")
        if policy not in _RECLAIM:
            errs.append(not_supported("spec.persistentVolumeReclaimPolicy", policy, _RECLAIM))
        mode = spec.get("volumeMode")
        if mode is not None and mode not in ("Block", "Filesystem"):
            errs.append(not_supported("spec.volumeMode", mode, ["Block", "Filesystem"]))
        return errs

    def _validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        new_spec, old_spec = m(new, "spec"), m(old, "spec")
        for src in _PV_SOURCES:
            if new_spec.get(src) != old_spec.get(src):
                return [
                    forbidden_field(
                        "spec.persistentvolumesource",
                        "spec.persistentvolumesource is immutable after creation",
                    )
                ]
        return []


class StorageClassStrategy(BaseStrategy):
    def _default(self, obj: Obj) -> None:
        default_ptr(obj, "reclaimPolicy", "Delete")
        default_ptr(obj, "volumeBindingMode", "Immediate")

    def _validate(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        provisioner = s(obj, "provisioner")
        if not provisioner:
            errs.append(required("provisioner"))
        else:
            errs.extend(
                invalid_value("provisioner", provisioner, msg) for msg in v.is_qualified_name(provisioner)
            )
        policy = obj.get("reclaimPolicy")
        if policy not in ("Delete", "Retain"):
            errs.append(not_supported("reclaimPolicy", policy, ["Delete", "Retain"]))
        mode = obj.get("volumeBindingMode")
        if mode not in ("Immediate", "WaitForFirstConsumer"):
            errs.append(not_supported("volumeBindingMode", mode, ["Immediate", "WaitForFirstConsumer"]))
        return errs

    def _validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        for key in ("parameters", "provisioner", "reclaimPolicy", "volumeBindingMode"):
            if new.get(key) != old.get(key):
                errs.append(forbidden_field(key, "updates to " + key + " are forbidden."))
        return errs
