"""Per-kind strategies: upstream's defaulting, validation and status handling for every built-in kind.

``strategy_for(group, kind)`` returns the strategy of a registry kind (both served Event kinds, both HPA
versions share one); unknown kinds get :func:`generic_strategy` with a status subresource.  Custom resources
should use ``generic_strategy(has_status)`` according to their CRD's ``subresources.status``.
"""

from __future__ import annotations

from kybernetes.api.strategies.apps import (
    ControllerRevisionStrategy,
    DaemonSetStrategy,
    DeploymentStrategy,
    ReplicaSetStrategy,
    ReplicationControllerStrategy,
    StatefulSetStrategy,
)
from kybernetes.api.strategies.base import BaseStrategy, GenericStrategy, validate_object_meta
from kybernetes.api.strategies.batch import CronJobStrategy, JobStrategy
from kybernetes.api.strategies.core import (
    ComponentStatusStrategy,
    ConfigMapStrategy,
    EndpointsStrategy,
    EventStrategy,
    LimitRangeStrategy,
    NamespaceStrategy,
    NodeStrategy,
    ResourceQuotaStrategy,
    SecretStrategy,
    ServiceAccountStrategy,
    ServiceStrategy,
)
from kybernetes.api.strategies.other import (
    CustomResourceDefinitionStrategy,
    EndpointSliceStrategy,
    HorizontalPodAutoscalerStrategy,
    LeaseStrategy,
)
from kybernetes.api.strategies.pod import PodStrategy
from kybernetes.api.strategies.storage import (
    PersistentVolumeClaimStrategy,
    PersistentVolumeStrategy,
    StorageClassStrategy,
)
from kybernetes.api.strategy import Strategy

_BUILTIN: dict[tuple[str, str], BaseStrategy] = {
    ("", "Namespace"): NamespaceStrategy(),
    ("", "Pod"): PodStrategy(),
    ("", "Service"): ServiceStrategy(),
    ("", "Endpoints"): EndpointsStrategy(),
    ("", "ConfigMap"): ConfigMapStrategy(),
    ("", "Secret"): SecretStrategy(),
    ("", "ServiceAccount"): ServiceAccountStrategy(),
    ("", "Event"): EventStrategy(),
    ("events.k8s.io", "Event"): EventStrategy("reportingController"),
    ("", "Node"): NodeStrategy(),
    ("", "PersistentVolume"): PersistentVolumeStrategy(),
    ("", "PersistentVolumeClaim"): PersistentVolumeClaimStrategy(),
    ("", "ComponentStatus"): ComponentStatusStrategy(),
    ("", "ReplicationController"): ReplicationControllerStrategy(),
    ("", "LimitRange"): LimitRangeStrategy(),
    ("", "ResourceQuota"): ResourceQuotaStrategy(),
    ("apps", "Deployment"): DeploymentStrategy(),
    ("apps", "ReplicaSet"): ReplicaSetStrategy(),
    ("apps", "DaemonSet"): DaemonSetStrategy(),
    ("apps", "StatefulSet"): StatefulSetStrategy(),
    ("apps", "ControllerRevision"): ControllerRevisionStrategy(),
    ("batch", "Job"): JobStrategy(),
    ("batch", "CronJob"): CronJobStrategy(),
    ("autoscaling", "HorizontalPodAutoscaler"): HorizontalPodAutoscalerStrategy(),
    ("storage.k8s.io", "StorageClass"): StorageClassStrategy(),
    ("coordination.k8s.io", "Lease"): LeaseStrategy(),
    ("discovery.k8s.io", "EndpointSlice"): EndpointSliceStrategy(),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): CustomResourceDefinitionStrategy(),
}


def generic_strategy(has_status: bool) -> Strategy:
    """No defaults, metadata validation only (path-segment names), custom-resource generation rule."""
    return GenericStrategy(has_status)


def strategy_for(group: str, kind: str) -> Strategy:
    """The strategy of a built-in kind; a generic one (with a status subresource) for anything else.

    Strategies are stateless and shared: callers must not mutate them.
    """
    strategy = _BUILTIN.get((group, kind))
    if strategy is None:
        return GenericStrategy(True)
    return strategy


__all__ = ["BaseStrategy", "GenericStrategy", "generic_strategy", "strategy_for", "validate_object_meta"]
