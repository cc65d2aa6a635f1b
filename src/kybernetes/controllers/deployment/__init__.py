"""The Deployment controller (upstream ``pkg/controller/deployment``), split by concern:

* ``controller`` — informers, handlers, ReplicaSet adoption, the priority dispatch of a sync;
* ``sync`` — one sync's driver (:class:`~.sync.Rollout`) over a :class:`~.sync.DeploymentApi`, plus the pure
  proportional-scaling and history-cleanup decisions;
* ``rolling`` / ``recreate`` — the strategies' pure arithmetic;
* ``progress`` — status and conditions;
* ``util`` — hash, annotations, fenceposts, ReplicaSet lookups.

Importing the package registers the controller with the manager.
"""

from kybernetes.controllers.deployment.controller import DeploymentController, RealDeploymentApi
from kybernetes.controllers.manager import register

register(DeploymentController)

__all__ = ["DeploymentController", "RealDeploymentApi"]
