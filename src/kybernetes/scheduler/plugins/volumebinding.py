"""VolumeBinding (hook for the storage issue): pods using PersistentVolumeClaims.

What it does now:

* PreFilter: a pod without PVC volumes skips this plugin.  A missing PVC rejects the pod
  (``persistentvolumeclaim "<name>" not found``); a PVC still unbound whose StorageClass binds ``Immediate``
  (or that has no class) rejects it with ``pod has unbound immediate PersistentVolumeClaims``, as upstream.
* Filter: for bound PVCs, the PV's ``spec.nodeAffinity.required`` must match the node
  (``node(s) didn't match PersistentVolume's node affinity``, 1.33's wording).

What the storage issue adds: ``WaitForFirstConsumer`` provisioning/binding in Reserve/PreBind (``VolumeLookup``
is the seam: give it listers of PVCs, PVs and StorageClasses).
"""

from __future__ import annotations

from typing import Any, Protocol

from kybernetes.scheduler import framework as fw
from kybernetes.scheduler.nodeinfo import NodeInfo, PodInfo
from kybernetes.scheduler.plugins.helpers import node_selector_matches

NAME = "VolumeBinding"
ERR_NODE_CONFLICT = "node(s) didn't match PersistentVolume's node affinity"
ERR_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"

Obj = dict[str, Any]


class VolumeLookup(Protocol):
    def pvc(self, namespace: str, name: str) -> Obj | None: ...

    def pv(self, name: str) -> Obj | None: ...

    def storage_class(self, name: str) -> Obj | None: ...


class NoVolumes:
    """A lookup that knows no objects (unit tests, benchmarks)."""

    def pvc(self, namespace: str, name: str) -> Obj | None:
        return None

    def pv(self, name: str) -> Obj | None:
        return None

    def storage_class(self, name: str) -> Obj | None:
        return None


def claim_names(pod: PodInfo) -> list[str]:
    names: list[str] = []
    for vol in pod.spec.get("volumes") or []:
        claim = vol.get("persistentVolumeClaim")
        if claim and claim.get("claimName"):
            names.append(str(claim["claimName"]))
        elif vol.get("ephemeral") is not None:
            names.append(f"{pod.name}-{vol.get('name', '')}")
    return names


def check_claims(pod: PodInfo, lookup: VolumeLookup) -> tuple[list[Obj], fw.Status | None]:
    """(bound PVs' node affinities, rejection status)."""
    affinities: list[Obj] = []
    for name in claim_names(pod):
        pvc = lookup.pvc(pod.namespace, name)
        if pvc is None:
            return [], fw.Status.unresolvable(f'persistentvolumeclaim "{name}" not found', plugin=NAME)
        volume = (pvc.get("spec") or {}).get("volumeName")
        if not volume:
            sc_name = (pvc.get("spec") or {}).get("storageClassName") or ""
            sc = lookup.storage_class(sc_name) if sc_name else None
            if sc is None or sc.get("volumeBindingMode", "Immediate") == "Immediate":
                return [], fw.Status.unresolvable(ERR_UNBOUND_IMMEDIATE, plugin=NAME)
            continue  # WaitForFirstConsumer: the storage issue binds it
        pv = lookup.pv(str(volume))
        required = (((pv or {}).get("spec") or {}).get("nodeAffinity") or {}).get("required")
        if required is not None:
            affinities.append(required)
    return affinities, None


class VolumeBinding:
    name = NAME
    events = frozenset({fw.NODE_ADD, fw.NODE_UPDATE, fw.PVC_CHANGE, fw.PV_CHANGE, fw.STORAGE_CLASS_CHANGE})

    def __init__(self, lookup: VolumeLookup | None = None) -> None:
        self.lookup: VolumeLookup = lookup or NoVolumes()

    def pre_filter(self, state: fw.CycleState, pod: PodInfo,
                   snapshot: fw.Snapshot) -> tuple[fw.PreFilterResult | None, fw.Status | None]:
        if not claim_names(pod):
            return None, fw.SKIP
        affinities, status = check_claims(pod, self.lookup)
        if status is not None:
            return None, status
        state[NAME] = affinities
        return None, None

    def filter(self, state: fw.CycleState, pod: PodInfo, node: NodeInfo) -> fw.Status | None:
        for required in state[NAME]:
            if not node_selector_matches(required, node.labels, node.name):
                return fw.Status.unresolvable(ERR_NODE_CONFLICT, plugin=NAME)
        return None


def new(lookup: VolumeLookup | None = None) -> VolumeBinding:
    return VolumeBinding(lookup)


_: fw.FilterPlugin = VolumeBinding()
