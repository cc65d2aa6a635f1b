"""The StatefulSet controller (upstream ``pkg/controller/statefulset``); importing the package registers it.

* :mod:`.pods` — pure identity/storage helpers (names, labels, PVCs from ``volumeClaimTemplates``).
* :mod:`.plan` — pure ``plan_statefulset``: ordered creates, scale-down, rolling update, status.
* :mod:`.control` — :class:`StatefulPodControl` (real and fake) with upstream events.
* :mod:`.controller` — informers, work queue, history, status writes.
"""

from kybernetes.controllers.statefulset.controller import StatefulSetController
from kybernetes.controllers.statefulset.plan import Action, StatefulPlan, plan_statefulset

__all__ = ["Action", "StatefulPlan", "StatefulSetController", "plan_statefulset"]
