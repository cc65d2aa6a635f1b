"""Admission and per-kind side effects around writes: the store's :class:`~kybernetes.apiserver.store.Hooks`.

Built-in plugins, upstream's names: NamespaceLifecycle (no new content in missing or terminating namespaces),
ServiceAccount (pods get ``default`` and the projected ``kube-api-access-*`` volume), DefaultTolerationSeconds,
Priority, DefaultStorageClass (a claim without ``storageClassName`` gets the default class),
StorageObjectInUseProtection (``kubernetes.io/pvc-protection`` / ``kubernetes.io/pv-protection`` finalizers on new
claims and volumes); plus Service ClusterIP/NodePort allocation and CustomResourceDefinition registration.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from kybernetes.api import errors, pvmatch
from kybernetes.api.registry import Resource
from kybernetes.apiserver import objects
from kybernetes.apiserver.allocators import AllocationError, IPAllocator, PortAllocator
from kybernetes.apiserver.objects import Obj
from kybernetes.storage.interface import KeyNotFoundError, Storage

SA_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
DEFAULT_TOLERATION_SECONDS = 300
# what may still be created in a terminating namespace
_TERMINATING_EXEMPT = frozenset({("", "Event"), ("events.k8s.io", "Event"), ("", "Binding")})
_NAMESPACES = Resource("", "v1", "Namespace", "namespaces", False)
_STORAGE_CLASSES = Resource("storage.k8s.io", "v1", "StorageClass", "storageclasses", False)


class Admission:
    """Implements the store's Hooks protocol."""

    def __init__(self, storage: Storage,
                 on_crd_change: Callable[[Obj | None, Obj | None], Awaitable[None]] | None = None) -> None:
        self.storage = storage
        self.ips = IPAllocator()
        self.ports = PortAllocator()
        self._on_crd_change = on_crd_change
        # namespace name → terminating; kept current by after_write (the API server is the only writer)
        self._namespaces: dict[str, bool] = {}

    # -- store hooks ---------------------------------------------------------------------------------------

    async def before_create(self, res: Resource, obj: Obj, dry_run: bool) -> None:
        if res.namespaced:
            await self._namespace_lifecycle(res, obj)
        if _is(res, "", "Pod"):
            admit_pod(obj)
        elif _is(res, "", "Service"):
            self._allocate_service(obj, None, dry_run)
        elif _is(res, "apiextensions.k8s.io", "CustomResourceDefinition"):
            accept_crd(obj)
        elif _is(res, "", "PersistentVolumeClaim"):
            await self._default_storage_class(obj)
            _add_finalizer(obj, pvmatch.PVC_PROTECTION)
        elif _is(res, "", "PersistentVolume"):
            _add_finalizer(obj, pvmatch.PV_PROTECTION)

    async def _default_storage_class(self, claim: Obj) -> None:
        """DefaultStorageClass: only a claim with no class at all (not "") and no beta annotation gets one."""
        spec = claim.setdefault("spec", {})
        annotations = (claim.get("metadata") or {}).get("annotations") or {}
        if spec.get("storageClassName") is not None or pvmatch.BETA_CLASS_ANNOTATION in annotations:
            return
        listed = await self.storage.list(_STORAGE_CLASSES.prefix())
        default = pvmatch.default_class(objects.decode_from_store(kv) for kv in listed.items)
        if default is not None:
            spec["storageClassName"] = (default.get("metadata") or {}).get("name", "")

    async def before_update(self, res: Resource, new: Obj, old: Obj, dry_run: bool) -> None:
        if _is(res, "", "Service"):
            self._allocate_service(new, old, dry_run)
        elif _is(res, "apiextensions.k8s.io", "CustomResourceDefinition"):
            accept_crd(new)

    async def after_write(self, res: Resource, obj: Obj | None, old: Obj | None) -> None:
        if _is(res, "", "Namespace"):
            self._remember_namespace(obj, old)
        elif _is(res, "", "Service"):
            for ip in _service_ips(old) - _service_ips(obj):
                self.ips.release(ip)
            for port in _service_ports(old) - _service_ports(obj):
                self.ports.release(port)
        elif _is(res, "apiextensions.k8s.io", "CustomResourceDefinition") and self._on_crd_change is not None:
            await self._on_crd_change(obj, old)

    async def rollback_create(self, res: Resource, obj: Obj) -> None:
        if _is(res, "", "Service"):
            for ip in _service_ips(obj):
                self.ips.release(ip)
            for port in _service_ports(obj):
                self.ports.release(port)

    # -- services ------------------------------------------------------------------------------------------

    def repair(self, services: list[Obj]) -> None:
        """Mark what stored services use (called once at start, before serving)."""
        for svc in services:
            self.ips.used.update(_service_ips(svc))
            self.ports.used.update(_service_ports(svc))

    def _allocate_service(self, new: Obj, old: Obj | None, dry_run: bool) -> None:
        spec = new.setdefault("spec", {})
        old_spec = (old or {}).get("spec") or {}
        taken_ips: list[str] = []
        taken_ports: list[int] = []
        try:
            self._allocate_ip(spec, old_spec, taken_ips)
            self._allocate_node_ports(spec, old_spec, taken_ports)
        except AllocationError as exc:
            self._release(taken_ips, taken_ports)
            meta = new.get("metadata") or {}
            raise errors.invalid("Service", "", meta.get("name", ""), [exc.error]) from None
        if dry_run:
            self._release(taken_ips, taken_ports)

    def _release(self, ips: list[str], ports: list[int]) -> None:
        for ip in ips:
            self.ips.release(ip)
        for port in ports:
            self.ports.release(port)

    def _allocate_ip(self, spec: Obj, old_spec: Obj, taken: list[str]) -> None:
        svc_type = spec.get("type", "ClusterIP")
        if svc_type == "ExternalName":
            if old_spec.get("clusterIP") and not spec.get("clusterIP"):
                spec.pop("clusterIPs", None)
            return
        old_ip = old_spec.get("clusterIP")
        ip = spec.get("clusterIP") or (spec.get("clusterIPs") or [""])[0]
        if not ip and old_ip:
            spec["clusterIP"] = old_ip
            spec["clusterIPs"] = list(old_spec.get("clusterIPs") or [old_ip])
            return
        if ip == old_ip and ip:
            spec.setdefault("clusterIPs", [ip])
            return
        if ip == "None":
            spec["clusterIP"] = "None"
            spec["clusterIPs"] = ["None"]
            return
        ip = self.ips.allocate(ip, "spec.clusterIPs") if ip else self.ips.allocate_next("spec.clusterIPs")
        taken.append(ip)
        spec["clusterIP"] = ip
        spec["clusterIPs"] = [ip]

    def _allocate_node_ports(self, spec: Obj, old_spec: Obj, taken: list[int]) -> None:
        svc_type = spec.get("type", "ClusterIP")
        wants = svc_type == "NodePort" or (
            svc_type == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts", True) is not False)
        ports: list[Obj] = spec.get("ports") or []
        if not wants:
            if svc_type in ("ClusterIP", "ExternalName"):
                for port in ports:
                    port.pop("nodePort", None)
            return
        old_by_key = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                      for p in old_spec.get("ports") or [] if p.get("nodePort")}
        old_ports = set(old_by_key.values())
        for i, port in enumerate(ports):
            path = f"spec.ports[{i}].nodePort"
            wanted = port.get("nodePort")
            if not wanted:
                wanted = old_by_key.get((port.get("port"), port.get("protocol", "TCP")))
                if wanted:
                    port["nodePort"] = wanted
                    continue
                port["nodePort"] = self.ports.allocate_next(path)
                taken.append(port["nodePort"])
            elif wanted not in old_ports:
                self.ports.allocate(int(wanted), path)
                taken.append(int(wanted))

    # -- namespaces ----------------------------------------------------------------------------------------

    def _remember_namespace(self, obj: Obj | None, old: Obj | None) -> None:
        if obj is None:
            self._namespaces.pop(((old or {}).get("metadata") or {}).get("name", ""), None)
            return
        meta = obj.get("metadata") or {}
        self._namespaces[meta.get("name", "")] = bool(meta.get("deletionTimestamp"))

    async def _namespace_lifecycle(self, res: Resource, obj: Obj) -> None:
        ns = (obj.get("metadata") or {}).get("namespace", "")
        terminating = self._namespaces.get(ns)
        if terminating is None:
            try:
                kv = await self.storage.get(_NAMESPACES.key("", ns))
            except KeyNotFoundError:
                raise errors.not_found("namespaces", "", ns) from None
            self._remember_namespace(objects.decode_from_store(kv), None)
            terminating = self._namespaces.get(ns, False)
        if (res.group, res.kind) in _TERMINATING_EXEMPT:
            return
        if terminating:
            name = (obj.get("metadata") or {}).get("name", "")
            raise errors.forbidden(res.plural, res.group, name,
                                   f"unable to create new content in namespace {ns} because it is being terminated")


def _add_finalizer(obj: Obj, finalizer: str) -> None:
    finalizers: list[str] = obj.setdefault("metadata", {}).setdefault("finalizers", [])
    if finalizer not in finalizers:
        finalizers.append(finalizer)


def _is(res: Resource, group: str, kind: str) -> bool:
    return res.group == group and res.kind == kind


def _service_ips(svc: Obj | None) -> set[str]:
    if not svc:
        return set()
    spec = svc.get("spec") or {}
    ips = set(spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else []))
    ips.discard("None")
    ips.discard("")
    return ips


def _service_ports(svc: Obj | None) -> set[int]:
    if not svc:
        return set()
    return {int(p["nodePort"]) for p in (svc.get("spec") or {}).get("ports") or [] if p.get("nodePort")}


def admit_pod(pod: Obj) -> None:
    """ServiceAccount, DefaultTolerationSeconds and Priority admission for a new pod (mutates it)."""
    spec: dict[str, Any] = pod.setdefault("spec", {})
    sa = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    spec["serviceAccountName"] = sa
    spec["serviceAccount"] = sa
    if spec.get("automountServiceAccountToken") is not False and not _mounts_sa_path(spec):
        volume_name = "kube-api-access-" + objects.random_suffix()
        spec.setdefault("volumes", []).append(_token_volume(volume_name))
        for key in ("initContainers", "containers"):
            for container in spec.get(key) or []:
                container.setdefault("volumeMounts", []).append(
                    {"name": volume_name, "readOnly": True, "mountPath": SA_MOUNT})
    tolerations: list[Obj] = spec.setdefault("tolerations", [])
    for taint in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") == taint and t.get("effect") in ("NoExecute", None, "") for t in tolerations) and \
                not any(t.get("operator") == "Exists" and not t.get("key") for t in tolerations):
            tolerations.append({"key": taint, "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": DEFAULT_TOLERATION_SECONDS})
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")


def _mounts_sa_path(spec: Obj) -> bool:
    return any(m.get("mountPath") == SA_MOUNT
               for c in spec.get("containers") or [] for m in c.get("volumeMounts") or [])


def _token_volume(name: str) -> Obj:
    return {"name": name, "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1",
                                                                      "fieldPath": "metadata.namespace"}}]}},
    ]}}


def accept_crd(crd: Obj) -> None:
    """A CRD is accepted and established at once (names are checked by validation)."""
    spec = crd.get("spec") or {}
    names = dict(spec.get("names") or {})
    names.setdefault("singular", str(names.get("plural", "")).rstrip("s") or names.get("kind", "").lower())
    names.setdefault("listKind", f"{names.get('kind', '')}List")
    now = objects.rfc3339()
    storage = [v["name"] for v in spec.get("versions") or [] if v.get("storage")]
    status = crd.setdefault("status", {})
    status["acceptedNames"] = names
    stored = list(status.get("storedVersions") or [])
    for v in storage:
        if v not in stored:
            stored.append(v)
    status["storedVersions"] = stored
    status["conditions"] = [
        {"type": "NamesAccepted", "status": "True", "lastTransitionTime": now, "reason": "NoConflicts",
         "message": "no conflicts found"},
        {"type": "Established", "status": "True", "lastTransitionTime": now, "reason": "InitialNamesAccepted",
         "message": "the initial names have been accepted"},
    ]
