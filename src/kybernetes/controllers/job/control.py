"""The Job controller's side effects behind one narrow interface (:class:`JobControl`), real and fake."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Protocol

from kybernetes.client.errors import NotFoundError
from kybernetes.client.events import EventRecorder
from kybernetes.client.rest import JSON_PATCH, Client, resource
from kybernetes.controllers.common import PODS, RealPodControl
from kybernetes.controllers.job.logic import TRACKING_FINALIZER

Obj = dict[str, Any]
JOBS = resource("batch", "v1", "jobs")


class JobControl(Protocol):
    async def create_pod(self, namespace: str, pod: Obj, job: Obj) -> Obj | None:
        """Create a pod (records SuccessfulCreate/FailedCreate); None when it could not be created."""
        ...

    async def delete_pod(self, namespace: str, name: str, job: Obj) -> bool:
        """Delete a pod (records SuccessfulDelete); False when it was already gone."""
        ...

    async def remove_finalizer(self, pod: Obj) -> bool:
        """Drop the job-tracking finalizer; False when the pod is gone.  Raises on conflicts."""
        ...

    async def update_status(self, job: Obj, status: Obj) -> Obj:
        """PUT the status subresource with ``job``'s resourceVersion (Conflict when the cache was stale)."""
        ...


class RealJobControl:
    def __init__(self, client: Client, recorder: EventRecorder) -> None:
        self.client = client
        self.pods = RealPodControl(client, recorder)

    async def create_pod(self, namespace: str, pod: Obj, job: Obj) -> Obj | None:
        return await self.pods.create_pod(namespace, pod, job)

    async def delete_pod(self, namespace: str, name: str, job: Obj) -> bool:
        return await self.pods.delete_pod(namespace, name, job)

    async def remove_finalizer(self, pod: Obj) -> bool:
        meta = pod.get("metadata") or {}
        finalizers = list(meta.get("finalizers") or [])
        if TRACKING_FINALIZER not in finalizers:
            return True
        rest = [f for f in finalizers if f != TRACKING_FINALIZER]
        patch = [{"op": "test", "path": "/metadata/finalizers", "value": finalizers},
                 {"op": "replace", "path": "/metadata/finalizers", "value": rest}]
        try:
            await self.client.patch(PODS, meta.get("namespace", ""), meta.get("name", ""), patch,
                                    patch_type=JSON_PATCH)
        except NotFoundError:
            return False
        return True

    async def update_status(self, job: Obj, status: Obj) -> Obj:
        body = copy.deepcopy(job)
        body["status"] = status
        meta = job.get("metadata") or {}
        return await self.client.update(JOBS, meta.get("namespace", ""), meta.get("name", ""), body,
                                        subresource="status")


@dataclass
class FakeJobControl:
    """Records calls; created pods are named ``<generateName><n>`` and get uid ``uid-<n>``."""

    created: list[Obj] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    statuses: list[Obj] = field(default_factory=list)

    async def create_pod(self, namespace: str, pod: Obj, job: Obj) -> Obj | None:
        pod = copy.deepcopy(pod)
        meta = pod["metadata"]
        meta.setdefault("name", f"{meta.get('generateName', 'pod-')}{len(self.created)}")
        meta["uid"] = f"uid-{len(self.created)}"
        self.created.append(pod)
        return pod

    async def delete_pod(self, namespace: str, name: str, job: Obj) -> bool:
        self.deleted.append(name)
        return True

    async def remove_finalizer(self, pod: Obj) -> bool:
        self.released.append(str((pod.get("metadata") or {}).get("uid")))
        return True

    async def update_status(self, job: Obj, status: Obj) -> Obj:
        self.statuses.append(copy.deepcopy(status))
        out = copy.deepcopy(job)
        out["status"] = status
        return out
