"""The Job controller (``job``, events from ``job-controller``): importing this package registers it.

* :mod:`.logic` — pure decisions (pods to create/delete, backoff, conditions, status).
* :mod:`.control` — the side-effect interface (:class:`JobControl`, real and fake).
* :mod:`.controller` — informers, work queue and ``sync``.
"""

from kybernetes.controllers.job.controller import JobController, pod_for_job, wall_clock

__all__ = ["JobController", "pod_for_job", "wall_clock"]
