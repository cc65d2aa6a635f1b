"""Pure PersistentVolume ↔ PersistentVolumeClaim matching, shared by the PV controller, the scheduler's
VolumeBinding plugin and the kubelet (upstream's ``pkg/controller/volume/persistentvolume/util``).

Contracts:

* :func:`find_matching_volume` returns the smallest volume that satisfies the claim (capacity ≥ request, every
  requested access mode offered, same volumeMode, same class, labels match the claim's selector, node affinity
  matches ``node`` when one is given), preferring a volume pre-bound to the claim (``claimRef``) above all.  With
  ``delay_binding`` and no node, only pre-bound volumes match (WaitForFirstConsumer).
* :func:`volume_mismatch` says why a claim cannot use a requested volume, with upstream's wording (``None``: fits).
* Nothing here mutates its arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kybernetes.api.quantity import Quantity, parse_quantity
from kybernetes.api.selectors import matches_labels, selector_from_label_selector

Obj = dict[str, Any]
NodeMatcher = Callable[[Obj], bool]  # PV → does its node affinity allow the candidate node

BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"
ANN_BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
ANN_BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
ANN_PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
ANN_SELECTED_NODE = "volume.kubernetes.io/selected-node"
ANN_STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
ANN_BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
ANN_DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
ANN_BETA_DEFAULT_CLASS = "storageclass.beta.kubernetes.io/is-default-class"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"
NO_PROVISIONER = "kubernetes.io/no-provisioner"


def _meta(obj: Mapping[str, Any]) -> Obj:
    return obj.get("metadata") or {}


def _spec(obj: Mapping[str, Any]) -> Obj:
    return obj.get("spec") or {}


def claim_class(claim: Mapping[str, Any]) -> str:
    """``GetPersistentVolumeClaimClass``: the beta annotation wins, then ``spec.storageClassName``, else ""."""
    ann = _meta(claim).get("annotations") or {}
    if BETA_CLASS_ANNOTATION in ann:
        return str(ann[BETA_CLASS_ANNOTATION])
    return str(_spec(claim).get("storageClassName") or "")


def volume_class(volume: Mapping[str, Any]) -> str:
    ann = _meta(volume).get("annotations") or {}
    if BETA_CLASS_ANNOTATION in ann:
        return str(ann[BETA_CLASS_ANNOTATION])
    return str(_spec(volume).get("storageClassName") or "")


def requested_storage(claim: Mapping[str, Any]) -> Quantity:
    req = ((_spec(claim).get("resources") or {}).get("requests") or {}).get("storage") or "0"
    return parse_quantity(str(req))


def volume_capacity(volume: Mapping[str, Any]) -> Quantity:
    return parse_quantity(str((_spec(volume).get("capacity") or {}).get("storage") or "0"))


def access_modes_ok(claim: Mapping[str, Any], volume: Mapping[str, Any]) -> bool:
    """Every mode the claim asks for is one the volume offers (``CheckAccessModes``)."""
    offered = set(_spec(volume).get("accessModes") or [])
    return all(mode in offered for mode in _spec(claim).get("accessModes") or [])


def volume_mode_ok(claim: Mapping[str, Any], volume: Mapping[str, Any]) -> bool:
    return (_spec(claim).get("volumeMode") or "Filesystem") == (_spec(volume).get("volumeMode") or "Filesystem")


def is_bound_to(volume: Mapping[str, Any], claim: Mapping[str, Any]) -> bool:
    """``IsVolumeBoundToClaim``: the volume's claimRef names the claim (and its uid, when the ref has one)."""
    ref = _spec(volume).get("claimRef")
    if not ref:
        return False
    meta = _meta(claim)
    if ref.get("name") != meta.get("name") or ref.get("namespace") != meta.get("namespace"):
        return False
    return not ref.get("uid") or ref.get("uid") == meta.get("uid")


def volume_mismatch(claim: Mapping[str, Any], volume: Mapping[str, Any]) -> str | None:
    """``checkVolumeSatisfyClaim``: the reason ``volume`` cannot serve ``claim``, or None."""
    if volume_capacity(volume) < requested_storage(claim):
        return "requested PV is too small"
    if volume_class(volume) != claim_class(claim):
        return "storageClassName does not match"
    if not volume_mode_ok(claim, volume):
        return "incompatible volumeMode"
    if not access_modes_ok(claim, volume):
        return "incompatible accessMode"
    return None


def find_matching_volume(claim: Mapping[str, Any], volumes: Iterable[Mapping[str, Any]], *,
                         node: NodeMatcher | None = None, delay_binding: bool = False) -> Obj | None:
    """The volume the claim should bind to (see the module contract), or None."""
    requested = requested_storage(claim)
    wanted_class = claim_class(claim)
    selector_spec = _spec(claim).get("selector")
    selector = selector_from_label_selector(selector_spec) if selector_spec else None
    best: Obj | None = None
    best_size: Quantity | None = None
    for volume in volumes:
        if not volume_mode_ok(claim, volume):
            continue
        if _meta(volume).get("deletionTimestamp"):
            continue
        size = volume_capacity(volume)
        if size < requested or not access_modes_ok(claim, volume):
            continue
        affinity_ok = node is None or node(dict(volume))
        if is_bound_to(volume, claim):
            return dict(volume) if affinity_ok else None
        if node is None and delay_binding:
            continue
        if _spec(volume).get("claimRef"):
            continue
        if ((volume.get("status") or {}).get("phase") or "Pending") not in ("Pending", "Available"):
            continue
        if selector is not None and not matches_labels(selector, dict(volume)):
            continue
        if volume_class(volume) != wanted_class or not affinity_ok:
            continue
        if best_size is None or size < best_size:
            best, best_size = dict(volume), size
    return best


def default_class(classes: Iterable[Mapping[str, Any]]) -> Obj | None:
    """The default StorageClass (``GetDefaultClass``): the newest of those annotated default, by creation time
    then name; None when there is none."""
    defaults = [dict(c) for c in classes
                if str((_meta(c).get("annotations") or {}).get(ANN_DEFAULT_CLASS,
                                                               (_meta(c).get("annotations") or {}).get(
                                                                   ANN_BETA_DEFAULT_CLASS, ""))).lower() == "true"]
    if not defaults:
        return None
    defaults.sort(key=lambda c: (str(_meta(c).get("creationTimestamp") or ""), str(_meta(c).get("name") or "")))
    return defaults[-1]
