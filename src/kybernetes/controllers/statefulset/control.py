"""Side effects of the StatefulSet controller behind :class:`StatefulPodControl` (upstream
``StatefulPodControlInterface``), with upstream's events on the StatefulSet:

* ``SuccessfulCreate`` ``create Pod web-0 in StatefulSet web successful`` /
  ``FailedCreate`` ``create Pod web-0 in StatefulSet web failed error: …``; same for ``delete`` and ``update``;
* ``SuccessfulCreate`` ``create Claim www-web-0 Pod web-0 in StatefulSet web success`` /
  ``FailedCreate`` ``create Claim www-web-0 for Pod web-0 in StatefulSet web failed error: …``.

An AlreadyExists pod or claim is not an error (stable names make creates idempotent) and records nothing.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Protocol

from kybernetes.client.errors import AlreadyExistsError, ApiError, NotFoundError
from kybernetes.client.events import EventRecorder
from kybernetes.client.rest import Client, resource

Obj = dict[str, Any]
PODS = resource("", "v1", "pods")
PVCS = resource("", "v1", "persistentvolumeclaims")


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


class StatefulPodControl(Protocol):
    async def create_claim(self, sts: Obj, pod: Obj, claim: Obj) -> None: ...

    async def create_pod(self, sts: Obj, pod: Obj) -> None: ...

    async def delete_pod(self, sts: Obj, pod: Obj) -> None: ...

    async def patch_pod(self, sts: Obj, pod: Obj, patch: Obj) -> None: ...

    async def patch_claim(self, sts: Obj, claim_name: str, patch: Obj) -> None: ...


class RealStatefulPodControl:
    def __init__(self, client: Client, recorder: EventRecorder) -> None:
        self.client = client
        self.recorder = recorder

    def _pod_event(self, verb: str, sts: Obj, pod: Obj, err: ApiError | None) -> None:
        if err is None:
            self.recorder.record(sts, "Normal", f"Successful{verb.title()}",
                                 f"{verb} Pod {_name(pod)} in StatefulSet {_name(sts)} successful")
        else:
            self.recorder.record(sts, "Warning", f"Failed{verb.title()}",
                                 f"{verb} Pod {_name(pod)} in StatefulSet {_name(sts)} failed error: {err.message}")

    async def create_claim(self, sts: Obj, pod: Obj, claim: Obj) -> None:
        ns = (claim.get("metadata") or {}).get("namespace", "")
        try:
            await self.client.create(PVCS, ns, claim)
        except AlreadyExistsError:
            return
        except ApiError as exc:
            self.recorder.record(sts, "Warning", "FailedCreate",
                                 f"create Claim {_name(claim)} for Pod {_name(pod)} in StatefulSet {_name(sts)} "
                                 f"failed error: {exc.message}")
            raise
        self.recorder.record(sts, "Normal", "SuccessfulCreate",
                             f"create Claim {_name(claim)} Pod {_name(pod)} in StatefulSet {_name(sts)} success")

    async def create_pod(self, sts: Obj, pod: Obj) -> None:
        ns = (pod.get("metadata") or {}).get("namespace", "")
        try:
            await self.client.create(PODS, ns, pod)
        except AlreadyExistsError:
            return
        except ApiError as exc:
            self._pod_event("create", sts, pod, exc)
            raise
        self._pod_event("create", sts, pod, None)

    async def delete_pod(self, sts: Obj, pod: Obj) -> None:
        ns = (pod.get("metadata") or {}).get("namespace", "")
        try:
            await self.client.delete(PODS, ns, _name(pod))
        except NotFoundError:
            return
        except ApiError as exc:
            self._pod_event("delete", sts, pod, exc)
            raise
        self._pod_event("delete", sts, pod, None)

    async def patch_pod(self, sts: Obj, pod: Obj, patch: Obj) -> None:
        ns = (pod.get("metadata") or {}).get("namespace", "")
        try:
            await self.client.patch(PODS, ns, _name(pod), patch)
        except NotFoundError:
            return
        except ApiError as exc:
            self._pod_event("update", sts, pod, exc)
            raise
        self._pod_event("update", sts, pod, None)

    async def patch_claim(self, sts: Obj, claim_name: str, patch: Obj) -> None:
        ns = (sts.get("metadata") or {}).get("namespace", "")
        try:
            await self.client.patch(PVCS, ns, claim_name, patch)
        except NotFoundError:
            return


@dataclass
class FakeStatefulPodControl:
    """Records calls in order as ``(verb, name)``; ``claims``/``pods`` keep the created objects."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    pods: list[Obj] = field(default_factory=list)
    claims: list[Obj] = field(default_factory=list)

    async def create_claim(self, sts: Obj, pod: Obj, claim: Obj) -> None:
        self.calls.append(("create-claim", _name(claim)))
        self.claims.append(copy.deepcopy(claim))

    async def create_pod(self, sts: Obj, pod: Obj) -> None:
        self.calls.append(("create", _name(pod)))
        self.pods.append(copy.deepcopy(pod))

    async def delete_pod(self, sts: Obj, pod: Obj) -> None:
        self.calls.append(("delete", _name(pod)))

    async def patch_pod(self, sts: Obj, pod: Obj, patch: Obj) -> None:
        self.calls.append(("patch", _name(pod)))

    async def patch_claim(self, sts: Obj, claim_name: str, patch: Obj) -> None:
        self.calls.append(("patch-claim", claim_name))
