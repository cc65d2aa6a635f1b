"""Pure decisions of the PV controller: what to do with one claim, what to do with one volume.

:func:`claim_action` and :func:`volume_action` read only their arguments and return an :class:`Action`; the
controller applies it (API writes, events).  Messages and reasons are upstream's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kybernetes.api import pvmatch as pm

Obj = dict[str, Any]

WAIT_FOR_FIRST_CONSUMER = "waiting for first consumer to be created before binding"
NO_VOLUMES_NO_CLASS = "no persistent volumes available for this claim and no storage class is set"
NO_VOLUMES = "no persistent volumes available for this claim"
EXTERNAL_PROVISIONING = ("Waiting for a volume to be created either by the external provisioner '{}' or manually by "
                         "the system administrator. If volume creation is delayed, please verify that your external "
                         "provisioner is running and correctly registered.")
CLAIM_LOST = "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!"
CLAIM_MISBOUND = "Two claims are bound to the same volume, this one is bound incorrectly"
WFFC = "WaitForFirstConsumer"


@dataclass
class Action:
    """``kind``: "none", "bind" (``volume``), "provision" (``provisioner``), "lost", "phase" (volume phase),
    "released", "unbind", "failed"; ``events``: (type, reason, message)."""

    kind: str = "none"
    volume: Obj | None = None
    provisioner: str = ""
    phase: str = ""
    events: list[tuple[str, str, str]] = field(default_factory=list)


def _meta(obj: Mapping[str, Any]) -> Obj:
    return obj.get("metadata") or {}


def _phase(obj: Mapping[str, Any]) -> str:
    return str((obj.get("status") or {}).get("phase") or "")


def delays_binding(claim: Mapping[str, Any], sc: Mapping[str, Any] | None) -> bool:
    """WaitForFirstConsumer and the scheduler has not picked a node yet."""
    if sc is None or sc.get("volumeBindingMode") != WFFC:
        return False
    return pm.ANN_SELECTED_NODE not in (_meta(claim).get("annotations") or {})


def claim_action(claim: Mapping[str, Any], volumes: Mapping[str, Obj], classes: Mapping[str, Obj]) -> Action:
    """What the controller does for ``claim`` given every volume (by name) and StorageClass (by name)."""
    if _meta(claim).get("deletionTimestamp"):
        return Action()
    spec = claim.get("spec") or {}
    wanted = str(spec.get("volumeName") or "")
    if not wanted:
        cls = pm.claim_class(claim)
        sc = classes.get(cls) if cls else None
        delay = delays_binding(claim, sc)
        match = pm.find_matching_volume(claim, volumes.values(), delay_binding=delay)
        if match is not None:
            return Action("bind", volume=match)
        if delay:
            return Action(events=[("Normal", "WaitForFirstConsumer", WAIT_FOR_FIRST_CONSUMER)])
        if not cls:
            return Action(events=[("Normal", "FailedBinding", NO_VOLUMES_NO_CLASS)])
        if sc is None:
            return Action(events=[("Warning", "ProvisioningFailed", f'storageclass.storage.k8s.io "{cls}" not found')])
        provisioner = str(sc.get("provisioner") or "")
        if provisioner == pm.NO_PROVISIONER:
            return Action(events=[("Normal", "FailedBinding", NO_VOLUMES)])
        return Action("provision", provisioner=provisioner,
                      events=[("Normal", "ExternalProvisioning", EXTERNAL_PROVISIONING.format(provisioner))])
    volume = volumes.get(wanted)
    bound_before = _phase(claim) == "Bound"
    if volume is None:
        if bound_before:
            return Action("lost", events=[("Warning", "ClaimLost", CLAIM_LOST)])
        return Action()
    if not (volume.get("spec") or {}).get("claimRef"):
        reason = pm.volume_mismatch(claim, volume)
        if reason is not None:
            return Action(events=[("Warning", "VolumeMismatch", f'Cannot bind to requested volume "{wanted}": '
                                                                  f"{reason}")])
        return Action("bind", volume=volume)
    if pm.is_bound_to(volume, claim):
        return Action("bind", volume=volume)  # completes a half-done binding; no-op writes are skipped
    if bound_before:
        return Action("lost", events=[("Warning", "ClaimMisbound", CLAIM_MISBOUND)])
    return Action()


def volume_action(volume: Mapping[str, Any], claim: Mapping[str, Any] | None) -> Action:
    """What the controller does for ``volume``; ``claim`` is the object its ``claimRef`` names (None if gone)."""
    spec = volume.get("spec") or {}
    ref = spec.get("claimRef")
    phase = _phase(volume)
    if not ref or not ref.get("uid"):
        return Action("phase", phase="Available") if phase != "Available" else Action()
    if claim is None or _meta(claim).get("uid") != ref.get("uid"):
        if phase in ("Released", "Failed"):
            return Action("released") if phase == "Released" else Action()
        return Action("phase", phase="Released")
    wanted = str((claim.get("spec") or {}).get("volumeName") or "")
    name = str(_meta(volume).get("name") or "")
    if not wanted:
        return Action()  # the claim's sync finishes the binding
    if wanted == name:
        return Action("phase", phase="Bound") if phase != "Bound" else Action()
    if (_meta(volume).get("annotations") or {}).get(pm.ANN_BOUND_BY_CONTROLLER) == "yes":
        return Action("unbind")
    return Action()
