"""VolumeBinding: pods using PersistentVolumeClaims.

* PreFilter: a pod without PVC volumes skips this plugin.  A missing PVC rejects the pod
  (``persistentvolumeclaim "<name>" not found``); a PVC still unbound whose StorageClass binds ``Immediate``
  (or that has no class) rejects it with ``pod has unbound immediate PersistentVolumeClaims``, as upstream.
  A bound ReadWriteOncePod claim used by another pod rejects the pod (upstream's VolumeRestrictions message).
* Filter: for bound PVCs, the PV's ``spec.nodeAffinity.required`` must match the node
  (``node(s) didn't match PersistentVolume's node affinity``, 1.33's wording); a bound ReadWriteOnce claim already
  used by a pod on some node keeps the pod on that node (ours: upstream leaves this to the attach/detach
  controller).  For unbound ``WaitForFirstConsumer`` claims the node must have an available matching PV (its node
  affinity included) or the class a provisioner (``node(s) didn't find available persistent volumes to bind``).
* :class:`VolumePreBinder` (PreBind, wrapping the bind plugin): before the pod is bound, each unbound
  WaitForFirstConsumer claim is bound to the matching PV of the chosen node (the PV's ``claimRef``; the PV
  controller completes it) or annotated ``volume.kubernetes.io/selected-node`` for the provisioner.  Unlike
  upstream the pod is bound without waiting for the claim; the kubelet waits (``PVC is not bound``).
"""

from __future__ import annotations

import copy
from typing import Any, Protocol

from kybernetes.api import pvmatch as pm
from kybernetes.client.errors import ApiError
from kybernetes.client.rest import MERGE_PATCH, Client, resource
from kybernetes.scheduler import framework as fw
from kybernetes.scheduler.nodeinfo import NodeInfo, PodInfo
from kybernetes.scheduler.plugins.helpers import node_selector_matches

NAME = "VolumeBinding"
ERR_NODE_CONFLICT = "node(s) didn't match PersistentVolume's node affinity"
ERR_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
ERR_NO_VOLUMES = "node(s) didn't find available persistent volumes to bind"
ERR_RWOP = "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode"
ERR_RWO_ELSEWHERE = "node(s) didn't have the pod using the same ReadWriteOnce PersistentVolumeClaim"
PVCS = resource("", "v1", "persistentvolumeclaims")
PVS = resource("", "v1", "persistentvolumes")
NODES = resource("", "v1", "nodes")

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


def _all_pvs(lookup: VolumeLookup) -> list[Obj]:
    pvs = getattr(lookup, "all_pvs", None)  # optional in the protocol
    return list(pvs()) if pvs is not None else []


def claim_names(pod: PodInfo) -> list[str]:
    names: list[str] = []
    for vol in pod.spec.get("volumes") or []:
        claim = vol.get("persistentVolumeClaim")
        if claim and claim.get("claimName"):
            names.append(str(claim["claimName"]))
        elif vol.get("ephemeral") is not None:
            names.append(f"{pod.name}-{vol.get('name', '')}")
    return names


def claim_users(pod: PodInfo, claim: str, pods: Any) -> set[str]:
    """Nodes running other pods of the namespace that use ``claim``."""
    nodes: set[str] = set()
    for other in pods:
        if other.uid == pod.uid or other.namespace != pod.namespace or not other.node_name:
            continue
        if claim in claim_names(other):
            nodes.add(other.node_name)
    return nodes


class ClaimState:
    """What PreFilter learned, for Filter: bound PVs' node affinities, unbound delayed claims (with their class),
    nodes a bound ReadWriteOnce claim pins the pod to."""

    def __init__(self) -> None:
        self.affinities: list[Obj] = []
        self.delayed: list[tuple[Obj, Obj]] = []
        self.pinned: set[str] | None = None
        self.pvs: list[Obj] = []


def check_claims(pod: PodInfo, lookup: VolumeLookup,
                 snapshot: fw.Snapshot | None = None) -> tuple[ClaimState, fw.Status | None]:
    state = ClaimState()
    for name in claim_names(pod):
        pvc = lookup.pvc(pod.namespace, name)
        if pvc is None:
            return state, fw.Status.unresolvable(f'persistentvolumeclaim "{name}" not found', plugin=NAME)
        volume = (pvc.get("spec") or {}).get("volumeName")
        if not volume:
            sc_name = pm.claim_class(pvc)
            sc = lookup.storage_class(sc_name) if sc_name else None
            if sc is None or sc.get("volumeBindingMode", "Immediate") == "Immediate":
                return state, fw.Status.unresolvable(ERR_UNBOUND_IMMEDIATE, plugin=NAME)
            state.delayed.append((pvc, sc))
            continue
        pv = lookup.pv(str(volume))
        pv_spec = (pv or {}).get("spec") or {}
        required = (pv_spec.get("nodeAffinity") or {}).get("required")
        if required is not None:
            state.affinities.append(required)
        modes = set(pv_spec.get("accessModes") or (pvc.get("status") or {}).get("accessModes") or [])
        if snapshot is not None and modes and modes <= {"ReadWriteOnce", "ReadWriteOncePod"}:
            users = claim_users(pod, name, snapshot.all_pods())
            if users and "ReadWriteOncePod" in modes:
                return state, fw.Status.unresolvable(ERR_RWOP, plugin=NAME)
            if users:
                state.pinned = users if state.pinned is None else state.pinned & users
    if state.delayed:
        state.pvs = _all_pvs(lookup)
    return state, None


def node_matcher(node_name: str, labels: dict[str, str]) -> pm.NodeMatcher:
    def matches(pv: Obj) -> bool:
        required = (((pv.get("spec") or {}).get("nodeAffinity")) or {}).get("required")
        return required is None or node_selector_matches(required, labels, node_name)
    return matches


def delayed_claim_fits(pvc: Obj, sc: Obj, pvs: list[Obj], node_name: str, labels: dict[str, str]) -> bool:
    if pm.find_matching_volume(pvc, pvs, node=node_matcher(node_name, labels)) is not None:
        return True
    return bool(sc.get("provisioner")) and sc.get("provisioner") != pm.NO_PROVISIONER


class VolumeBinding:
    name = NAME
    events = frozenset({fw.NODE_ADD, fw.NODE_UPDATE, fw.PVC_CHANGE, fw.PV_CHANGE, fw.STORAGE_CLASS_CHANGE,
                        fw.POD_DELETE})

    def __init__(self, lookup: VolumeLookup | None = None) -> None:
        self.lookup: VolumeLookup = lookup or NoVolumes()

    def pre_filter(self, state: fw.CycleState, pod: PodInfo,
                   snapshot: fw.Snapshot) -> tuple[fw.PreFilterResult | None, fw.Status | None]:
        if not claim_names(pod):
            return None, fw.SKIP
        claims, status = check_claims(pod, self.lookup, snapshot)
        if status is not None:
            return None, status
        state[NAME] = claims
        return None, None

    def filter(self, state: fw.CycleState, pod: PodInfo, node: NodeInfo) -> fw.Status | None:
        claims: ClaimState = state[NAME]
        for required in claims.affinities:
            if not node_selector_matches(required, node.labels, node.name):
                return fw.Status.unresolvable(ERR_NODE_CONFLICT, plugin=NAME)
        if claims.pinned is not None and node.name not in claims.pinned:
            return fw.Status.unresolvable(ERR_RWO_ELSEWHERE, plugin=NAME)
        for pvc, sc in claims.delayed:
            if not delayed_claim_fits(pvc, sc, claims.pvs, node.name, node.labels):
                return fw.Status.unresolvable(ERR_NO_VOLUMES, plugin=NAME)
        return None


class VolumePreBinder:
    """Wraps the bind plugin: binds or annotates the pod's delayed claims for the chosen node, then binds."""

    def __init__(self, inner: fw.BindPlugin, client: Client, lookup: VolumeLookup) -> None:
        self.inner, self.client, self.lookup = inner, client, lookup
        self.name = inner.name

    async def bind(self, pod: PodInfo, node_name: str) -> fw.Status | None:
        try:
            await self.prebind(pod, node_name)
        except ApiError as exc:
            return fw.Status.error(f"binding volumes: {exc}", plugin=NAME)
        return await self.inner.bind(pod, node_name)

    async def prebind(self, pod: PodInfo, node_name: str) -> None:
        labels: dict[str, str] | None = None
        for name in claim_names(pod):
            pvc = self.lookup.pvc(pod.namespace, name)
            if pvc is None or (pvc.get("spec") or {}).get("volumeName"):
                continue
            if pm.ANN_SELECTED_NODE in ((pvc.get("metadata") or {}).get("annotations") or {}):
                continue
            if labels is None:
                node = await self.client.get(NODES, "", node_name)
                labels = dict((node.get("metadata") or {}).get("labels") or {})
            pv = pm.find_matching_volume(pvc, _all_pvs(self.lookup), node=node_matcher(node_name, labels))
            meta = pvc.get("metadata") or {}
            if pv is not None:
                new = copy.deepcopy(pv)
                new.setdefault("metadata", {}).setdefault("annotations", {})[pm.ANN_BOUND_BY_CONTROLLER] = "yes"
                new.setdefault("spec", {})["claimRef"] = {
                    "kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": meta.get("namespace", ""),
                    "name": meta.get("name", ""), "uid": meta.get("uid", ""),
                    "resourceVersion": meta.get("resourceVersion", "")}
                await self.client.update(PVS, "", str((pv.get("metadata") or {}).get("name", "")), new)
            else:
                await self.client.patch(PVCS, pod.namespace, name,
                                        {"metadata": {"annotations": {pm.ANN_SELECTED_NODE: node_name}}},
                                        patch_type=MERGE_PATCH)


def new(lookup: VolumeLookup | None = None) -> VolumeBinding:
    return VolumeBinding(lookup)


_: fw.FilterPlugin = VolumeBinding()
