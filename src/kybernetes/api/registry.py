"""The one resource registry: every served kind, where it lives and how it is named.

Discovery, routing, OpenAPI, tables, field selectors and store keys all read this table.  Adding a kind is one
:class:`Resource` entry here plus a strategy in :mod:`kybernetes.api.strategies`.

Store keys are ``/registry/<storage resource>/<namespace>/<name>`` (cluster-scoped: ``/registry/<res>/<name>``).
Several served versions may share one stored object (``horizontalpodautoscalers`` v1 and v2, ``events`` in core/v1
and events.k8s.io/v1): they share ``storage_resource`` and convert through :mod:`kybernetes.api.conversion`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
SUBRESOURCE_VERBS = ("get", "patch", "update")


@dataclass(frozen=True)
class Subresource:
    name: str  # status, scale, binding, log, exec, attach, portforward, proxy
    kind: str
    group: str = ""
    version: str = "v1"
    verbs: tuple[str, ...] = SUBRESOURCE_VERBS
    # scale of a custom resource: (specReplicasPath, statusReplicasPath, labelSelectorPath) as in the CRD
    scale_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class Resource:
    """One served group/version/resource."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[Subresource, ...] = ()
    storage_resource: str = ""  # defaults to "<group>/<plural>" style key segment, see storage_key()
    storage_api_version: str = ""  # apiVersion objects are stored in (empty: this one's)
    field_selectors: tuple[str, ...] = ()  # extra selectable fields beyond metadata.name/namespace
    is_custom: bool = False  # served from a CustomResourceDefinition

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def qualified(self) -> str:
        """``deployments.apps`` (what error messages and kubectl print)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def store_segment(self) -> str:
        return self.storage_resource or (f"{self.group}/{self.plural}" if self.group else self.plural)

    def key(self, namespace: str, name: str) -> str:
        """The store key of one object."""
        if self.namespaced:
            return f"/registry/{self.store_segment}/{namespace}/{name}"
        return f"/registry/{self.store_segment}/{name}"

    def prefix(self, namespace: str = "") -> str:
        """The store prefix of a list; ``namespace`` empty means all namespaces."""
        if self.namespaced and namespace:
            return f"/registry/{self.store_segment}/{namespace}/"
        return f"/registry/{self.store_segment}/"

    def subresource(self, name: str) -> Subresource | None:
        for sub in self.subresources:
            if sub.name == name:
                return sub
        return None

    @property
    def stored_in_other_version(self) -> bool:
        return bool(self.storage_api_version) and self.storage_api_version != self.api_version


STATUS = Subresource("status", "")  # kind filled in by the registry: the resource's own kind
SCALE = Subresource("scale", "Scale", "autoscaling", "v1")
POD_SUBRESOURCES = (
    STATUS,
    Subresource("binding", "Binding", "", "v1", ("create",)),
    Subresource("eviction", "Eviction", "policy", "v1", ("create",)),
    Subresource("log", "Pod", "", "v1", ("get",)),
    Subresource("exec", "PodExecOptions", "", "v1", ("create", "get")),
    Subresource("attach", "PodAttachOptions", "", "v1", ("create", "get")),
    Subresource("portforward", "PodPortForwardOptions", "", "v1", ("create", "get")),
    Subresource("proxy", "PodProxyOptions", "", "v1",
                ("create", "delete", "get", "patch", "update")),
)

_ALL = ("all",)
_NS_VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")

RESOURCES: tuple[Resource, ...] = (
    # core/v1
    Resource("", "v1", "Namespace", "namespaces", False, ("ns",), verbs=_NS_VERBS,
             subresources=(STATUS, Subresource("finalize", "Namespace", "", "v1", ("update",))),
             field_selectors=("status.phase",)),
    Resource("", "v1", "Pod", "pods", True, ("po",), _ALL, subresources=POD_SUBRESOURCES,
             field_selectors=("spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                              "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP",
                              "status.podIPs", "status.nominatedNodeName")),
    Resource("", "v1", "Service", "services", True, ("svc",), _ALL,
             verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
             subresources=(STATUS, Subresource("proxy", "ServiceProxyOptions", "", "v1",
                                               ("create", "delete", "get", "patch", "update"))),
             field_selectors=("spec.clusterIP", "spec.type")),
    Resource("", "v1", "Endpoints", "endpoints", True, ("ep",)),
    Resource("", "v1", "ConfigMap", "configmaps", True, ("cm",)),
    Resource("", "v1", "Secret", "secrets", True, (), field_selectors=("type",)),
    Resource("", "v1", "ServiceAccount", "serviceaccounts", True, ("sa",),
             subresources=(Subresource("token", "TokenRequest", "authentication.k8s.io", "v1", ("create",)),)),
    Resource("", "v1", "Event", "events", True, ("ev",), storage_resource="events",
             field_selectors=("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                              "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
                              "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type")),
    Resource("", "v1", "Node", "nodes", False, ("no",),
             subresources=(STATUS, Subresource("proxy", "NodeProxyOptions", "", "v1",
                                               ("create", "delete", "get", "patch", "update"))),
             field_selectors=("spec.unschedulable",)),
    Resource("", "v1", "PersistentVolume", "persistentvolumes", False, ("pv",), subresources=(STATUS,)),
    Resource("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, ("pvc",), subresources=(STATUS,)),
    Resource("", "v1", "ComponentStatus", "componentstatuses", False, ("cs",), verbs=("get", "list")),
    Resource("", "v1", "ReplicationController", "replicationcontrollers", True, ("rc",), _ALL,
             subresources=(STATUS, SCALE), field_selectors=("status.replicas",)),
    Resource("", "v1", "LimitRange", "limitranges", True, ("limits",)),
    Resource("", "v1", "ResourceQuota", "resourcequotas", True, ("quota",), subresources=(STATUS,)),
    # apps/v1
    Resource("apps", "v1", "Deployment", "deployments", True, ("deploy",), _ALL, subresources=(STATUS, SCALE)),
    Resource("apps", "v1", "ReplicaSet", "replicasets", True, ("rs",), _ALL, subresources=(STATUS, SCALE),
             field_selectors=("status.replicas",)),
    Resource("apps", "v1", "DaemonSet", "daemonsets", True, ("ds",), _ALL, subresources=(STATUS,)),
    Resource("apps", "v1", "StatefulSet", "statefulsets", True, ("sts",), _ALL, subresources=(STATUS, SCALE)),
    Resource("apps", "v1", "ControllerRevision", "controllerrevisions", True),
    # batch/v1
    Resource("batch", "v1", "Job", "jobs", True, (), _ALL, subresources=(STATUS,),
             field_selectors=("status.successful",)),
    Resource("batch", "v1", "CronJob", "cronjobs", True, ("cj",), _ALL, subresources=(STATUS,)),
    # autoscaling: v2 is listed first (preferred), both share one stored object kept in v2
    Resource("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, ("hpa",), _ALL,
             subresources=(STATUS,), storage_resource="horizontalpodautoscalers", storage_api_version="autoscaling/v2"),
    Resource("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, ("hpa",), _ALL,
             subresources=(STATUS,), storage_resource="horizontalpodautoscalers", storage_api_version="autoscaling/v2"),
    # storage.k8s.io/v1
    Resource("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, ("sc",)),
    # coordination.k8s.io/v1
    Resource("coordination.k8s.io", "v1", "Lease", "leases", True),
    # events.k8s.io/v1: the same stored events as core/v1
    Resource("events.k8s.io", "v1", "Event", "events", True, ("ev",), storage_resource="events",
             storage_api_version="v1",
             field_selectors=("regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid",
                              "reason", "type", "reportingController")),
    # discovery.k8s.io/v1
    Resource("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", True,
             field_selectors=("addressType",)),
    # apiextensions.k8s.io/v1
    Resource("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False,
             ("crd", "crds"), subresources=(STATUS,)),
)

# Group order in /apis, as upstream lists them.
GROUP_ORDER = ("apps", "events.k8s.io", "autoscaling", "batch", "discovery.k8s.io", "coordination.k8s.io",
               "storage.k8s.io", "apiextensions.k8s.io")


@dataclass
class Registry:
    """Lookup over a set of resources; built-ins plus custom resources added at run time from CRDs."""

    resources: list[Resource] = field(default_factory=lambda: list(RESOURCES))
    generation: int = 0  # bumped on every change, for caches of derived documents

    def add(self, resource: Resource) -> None:
        self.remove(resource.group, resource.version, resource.plural)
        self.resources.append(resource)
        self.generation += 1

    def remove(self, group: str, version: str, plural: str) -> None:
        self.resources = [r for r in self.resources
                          if not (r.group == group and r.version == version and r.plural == plural)]
        self.generation += 1

    def get(self, group: str, version: str, plural: str) -> Resource | None:
        for r in self.resources:
            if r.group == group and r.version == version and r.plural == plural:
                return r
        return None

    def by_kind(self, group: str, version: str, kind: str) -> Resource | None:
        for r in self.resources:
            if r.group == group and r.version == version and r.kind == kind:
                return r
        return None

    def by_api_version_kind(self, api_version: str, kind: str) -> Resource | None:
        group, _, version = api_version.rpartition("/")
        return self.by_kind(group, version, kind)

    def groups(self) -> list[str]:
        """Non-core groups in discovery order."""
        seen = [g for g in GROUP_ORDER if any(r.group == g for r in self.resources)]
        extra = sorted({r.group for r in self.resources if r.group and r.group not in GROUP_ORDER})
        return seen + extra

    def versions(self, group: str) -> list[str]:
        """Served versions of a group, preferred first (registry order)."""
        out: list[str] = []
        for r in self.resources:
            if r.group == group and r.version not in out:
                out.append(r.version)
        return out

    def in_group_version(self, group: str, version: str) -> Iterable[Resource]:
        return (r for r in self.resources if r.group == group and r.version == version)


def default_registry() -> Registry:
    return Registry()
