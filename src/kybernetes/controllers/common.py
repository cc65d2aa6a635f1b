"""What workload controllers share: owner references, pods from templates, pod creation/deletion with upstream
events, creation expectations, and pod readiness/availability.

* :class:`PodControl` is the narrow side-effect interface (``RealPodControl`` talks to the API server and records
  ``SuccessfulCreate``/``FailedCreate``/``SuccessfulDelete``/``FailedDelete`` like upstream;
  ``FakePodControl`` records calls for unit tests).
* :class:`Expectations` (upstream's ControllerExpectations) stops a controller from acting twice on stale caches:
  after issuing N creates it waits until its informer has observed N adds (or a timeout passes) before the next
  sync may create again.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from kybernetes.api.patch.common import clone
from kybernetes.client.errors import AlreadyExistsError, ApiError, NotFoundError
from kybernetes.client.events import EventRecorder
from kybernetes.client.rest import Client, resource

Obj = dict[str, Any]
PODS = resource("", "v1", "pods")
EXPECTATIONS_TIMEOUT = 300.0



# -- owner references ----------------------------------------------------------------------------------------

def owner_reference(owner: Obj, *, controller: bool = True, block_owner_deletion: bool = True) -> Obj:
    meta = owner.get("metadata") or {}
    return {"apiVersion": owner.get("apiVersion", ""), "kind": owner.get("kind", ""), "name": meta.get("name", ""),
            "uid": meta.get("uid", ""), "controller": controller, "blockOwnerDeletion": block_owner_deletion}


def controller_ref(obj: Obj) -> Obj | None:
    """The ownerReference with ``controller: true``, if any; shared with ``obj`` (read it, never mutate it)."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("controller"):
            result: Obj = ref
            return result
    return None


def is_controlled_by(obj: Obj, owner: Obj) -> bool:
    ref = controller_ref(obj)
    return ref is not None and ref.get("uid") == (owner.get("metadata") or {}).get("uid")


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> float | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


# -- pods ----------------------------------------------------------------------------------------------------

def pod_from_template(template: Obj, owner: Obj, *, generate_name: str = "", name: str = "",
                      extra_labels: dict[str, str] | None = None, namespace: str = "") -> Obj:
    """A Pod for ``template`` owned (controller) by ``owner``; like upstream's GetPodFromTemplate."""
    template = clone(template or {})
    tmeta = template.get("metadata") or {}
    owner_meta = owner.get("metadata") or {}
    meta: Obj = {"labels": {**(tmeta.get("labels") or {}), **(extra_labels or {})},
                 "ownerReferences": [owner_reference(owner)],
                 "namespace": namespace or owner_meta.get("namespace", "")}
    if tmeta.get("annotations"):
        meta["annotations"] = dict(tmeta["annotations"])
    if tmeta.get("finalizers"):
        meta["finalizers"] = list(tmeta["finalizers"])
    if name:
        meta["name"] = name
    else:
        meta["generateName"] = generate_name or f"{owner_meta.get('name', '')}-"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template.get("spec") or {}}


def is_pod_active(pod: Obj) -> bool:
    """Not Succeeded/Failed and not being deleted (upstream's IsPodActive)."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not (pod.get("metadata") or {}).get("deletionTimestamp")


def pod_condition(pod: Obj, kind: str) -> Obj | None:
    """The pod's condition of type ``kind``; shared with ``pod`` (read it, never mutate it)."""
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == kind:
            result: Obj = cond
            return result
    return None


def is_pod_ready(pod: Obj) -> bool:
    cond = pod_condition(pod, "Ready")
    return cond is not None and cond.get("status") == "True"


def is_pod_available(pod: Obj, min_ready_seconds: int, now: float) -> bool:
    """Ready for at least ``min_ready_seconds`` (upstream's IsPodAvailable)."""
    if not is_pod_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = parse_time((pod_condition(pod, "Ready") or {}).get("lastTransitionTime"))
    return since is not None and since + min_ready_seconds <= now


# -- side effects ----------------------------------------------------------------------------------------------

class PodControl(Protocol):
    async def create_pod(self, namespace: str, pod: Obj, owner: Obj) -> Obj | None:
        """Create ``pod`` (from :func:`pod_from_template`); None when it could not be created."""
        ...

    async def delete_pod(self, namespace: str, name: str, owner: Obj) -> bool:
        """Delete a pod; False when it was already gone."""
        ...

    async def patch_pod(self, namespace: str, name: str, patch: Obj) -> None:
        ...


class RealPodControl:
    def __init__(self, client: Client, recorder: EventRecorder) -> None:
        self.client = client
        self.recorder = recorder

    async def create_pod(self, namespace: str, pod: Obj, owner: Obj) -> Obj | None:
        try:
            created = await self.client.create(PODS, namespace, pod)
        except AlreadyExistsError:
            return None
        except ApiError as exc:
            self.recorder.record(owner, "Warning", "FailedCreate", f"Error creating: {exc.message}")
            raise
        self.recorder.record(owner, "Normal", "SuccessfulCreate",
                             f"Created pod: {created['metadata']['name']}")
        return created

    async def delete_pod(self, namespace: str, name: str, owner: Obj) -> bool:
        try:
            await self.client.delete(PODS, namespace, name)
        except NotFoundError:
            return False
        except ApiError as exc:
            self.recorder.record(owner, "Warning", "FailedDelete", f"Error deleting: {exc.message}")
            raise
        self.recorder.record(owner, "Normal", "SuccessfulDelete", f"Deleted pod: {name}")
        return True

    async def patch_pod(self, namespace: str, name: str, patch: Obj) -> None:
        await self.client.patch(PODS, namespace, name, patch)


@dataclass
class FakePodControl:
    """Records what a controller asked for; ``created`` pods get names ``<generateName><n>``."""

    created: list[Obj] = field(default_factory=list)
    deleted: list[tuple[str, str]] = field(default_factory=list)
    patched: list[tuple[str, str, Obj]] = field(default_factory=list)

    async def create_pod(self, namespace: str, pod: Obj, owner: Obj) -> Obj | None:
        pod = copy.deepcopy(pod)
        meta = pod["metadata"]
        meta.setdefault("name", f"{meta.get('generateName', 'pod-')}{len(self.created)}")
        self.created.append(pod)
        return pod

    async def delete_pod(self, namespace: str, name: str, owner: Obj) -> bool:
        self.deleted.append((namespace, name))
        return True

    async def patch_pod(self, namespace: str, name: str, patch: Obj) -> None:
        self.patched.append((namespace, name, patch))


# -- expectations --------------------------------------------------------------------------------------------

@dataclass
class _Expect:
    adds: int = 0
    deletes: int = 0
    since: float = field(default_factory=time.monotonic)


class Expectations:
    """Per-controller-key counts of creates/deletes issued but not yet seen by the informer."""

    def __init__(self, timeout: float = EXPECTATIONS_TIMEOUT) -> None:
        self.timeout = timeout
        self._by_key: dict[str, _Expect] = {}

    def expect(self, key: str, adds: int = 0, deletes: int = 0) -> None:
        self._by_key[key] = _Expect(adds, deletes)

    def creation_observed(self, key: str) -> None:
        e = self._by_key.get(key)
        if e is not None:
            e.adds -= 1

    def deletion_observed(self, key: str) -> None:
        e = self._by_key.get(key)
        if e is not None:
            e.deletes -= 1

    def lower(self, key: str, adds: int = 0, deletes: int = 0) -> None:
        """Creates/deletes that failed: they will never be observed."""
        e = self._by_key.get(key)
        if e is not None:
            e.adds -= adds
            e.deletes -= deletes

    def satisfied(self, key: str) -> bool:
        e = self._by_key.get(key)
        if e is None:
            return True
        return (e.adds <= 0 and e.deletes <= 0) or time.monotonic() - e.since > self.timeout

    def forget(self, key: str) -> None:
        self._by_key.pop(key, None)


def active_pods(pods: Iterable[Obj]) -> list[Obj]:
    return [p for p in pods if is_pod_active(p)]
