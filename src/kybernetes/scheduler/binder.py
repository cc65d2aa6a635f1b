"""Side effects of the scheduler, behind narrow interfaces with real and fake implementations.

* :class:`ApiBinder` (the ``DefaultBinder`` bind plugin): ``POST pods/<name>/binding``.
* :class:`ApiStatusWriter`: on failure, patch the pod's ``PodScheduled`` condition to False/``Unschedulable`` with
  the FailedScheduling message (``pods/status``), as upstream's ``updatePod``.
* :class:`FakeBinder` / :class:`FakeStatusWriter` record calls (unit tests, benchmarks).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any, Protocol

from kybernetes.client.errors import ApiError, NotFoundError
from kybernetes.client.rest import STRATEGIC_PATCH, Client, resource
from kybernetes.scheduler import framework as fw
from kybernetes.scheduler.nodeinfo import PodInfo

PODS = resource("", "v1", "pods")
NAME = "DefaultBinder"

Obj = dict[str, Any]


def binding_body(pod: PodInfo, node_name: str) -> Obj:
    meta: Obj = {"name": pod.name, "namespace": pod.namespace}
    if pod.uid:
        meta["uid"] = pod.uid
    return {"apiVersion": "v1", "kind": "Binding", "metadata": meta,
            "target": {"apiVersion": "v1", "kind": "Node", "name": node_name}}


def unschedulable_condition(message: str, now: str | None = None) -> Obj:
    return {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message,
            "lastProbeTime": None,
            "lastTransitionTime": now or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


def condition_unchanged(pod: Obj, message: str) -> bool:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "PodScheduled":
            return bool(c.get("status") == "False" and c.get("reason") == "Unschedulable"
                        and c.get("message") == message)
    return False


class ApiBinder:
    name = NAME

    def __init__(self, client: Client) -> None:
        self.client = client

    async def bind(self, pod: PodInfo, node_name: str) -> fw.Status | None:
        try:
            await self.client.create(PODS, pod.namespace, binding_body(pod, node_name), name=pod.name,
                                     subresource="binding")
        except ApiError as exc:
            return fw.Status.error(str(exc), plugin=NAME)
        return None


class StatusWriter(Protocol):
    async def set_unschedulable(self, pod: Obj, message: str) -> None: ...


class ApiStatusWriter:
    def __init__(self, client: Client) -> None:
        self.client = client

    async def set_unschedulable(self, pod: Obj, message: str) -> None:
        if condition_unchanged(pod, message):
            return
        meta = pod.get("metadata") or {}
        patch = {"status": {"conditions": [unschedulable_condition(message)]}}
        with contextlib.suppress(NotFoundError):
            await self.client.patch(PODS, meta.get("namespace", ""), meta.get("name", ""), patch,
                                    patch_type=STRATEGIC_PATCH, subresource="status")


class FakeBinder:
    name = NAME

    def __init__(self, fail: set[str] | None = None) -> None:
        self.bound: list[tuple[str, str]] = []
        self.fail = fail or set()

    async def bind(self, pod: PodInfo, node_name: str) -> fw.Status | None:
        if pod.key in self.fail:
            return fw.Status.error("binding rejected", plugin=NAME)
        self.bound.append((pod.key, node_name))
        return None


class FakeStatusWriter:
    def __init__(self) -> None:
        self.written: list[tuple[str, str]] = []

    async def set_unschedulable(self, pod: Obj, message: str) -> None:
        meta = pod.get("metadata") or {}
        self.written.append((f"{meta.get('namespace', '')}/{meta.get('name', '')}", message))


_b: fw.BindPlugin = FakeBinder()
