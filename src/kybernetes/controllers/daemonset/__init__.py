"""The DaemonSet controller (upstream ``pkg/controller/daemon``); importing the package registers it.

* :mod:`.predicates` — pure node checks (``should_run``), automatic tolerations, node pinning.
* :mod:`.plan` — pure ``plan_daemonset``: creates, deletes (incl. RollingUpdate/OnDelete) and status.
* :mod:`.controller` — informers, work queue, side effects.
"""

from kybernetes.controllers.daemonset.controller import DaemonSetController
from kybernetes.controllers.daemonset.plan import DaemonPlan, plan_daemonset
from kybernetes.controllers.daemonset.predicates import should_run

__all__ = ["DaemonPlan", "DaemonSetController", "plan_daemonset", "should_run"]
