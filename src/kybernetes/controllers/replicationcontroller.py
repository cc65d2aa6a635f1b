"""The ReplicationController controller: the ReplicaSet controller's logic with core/v1 kind and a map selector
(upstream wraps the ReplicaSet controller the same way, in ``pkg/controller/replication``)."""

from __future__ import annotations

from kybernetes.client.rest import resource
from kybernetes.controllers.manager import register
from kybernetes.controllers.replicaset import ReplicaSetController, WorkloadKind, map_selector_of

REPLICATIONCONTROLLERS = resource("", "v1", "replicationcontrollers")
REPLICATIONCONTROLLER_KIND = WorkloadKind(REPLICATIONCONTROLLERS, "ReplicationController", "v1", map_selector_of)


class ReplicationControllerController(ReplicaSetController):
    name = "replicationcontroller"
    component = "replication-controller"
    workload = REPLICATIONCONTROLLER_KIND


register(ReplicationControllerController)
