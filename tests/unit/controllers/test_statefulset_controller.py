"""``sync`` of the StatefulSet controller with filled informer caches and fake side effects."""

from __future__ import annotations

from typing import Any

from kybernetes.client.config import ClientConfig
from kybernetes.client.informer import InformerFactory
from kybernetes.client.rest import Client
from kybernetes.controllers.base import Context
from kybernetes.controllers.history import FakeHistoryControl
from kybernetes.controllers.statefulset import StatefulSetController
from kybernetes.controllers.statefulset.control import FakeStatefulPodControl

Obj = dict[str, Any]


def context() -> Context:
    client = Client(ClientConfig(server="https://127.0.0.1:1"))
    return Context(client, InformerFactory(client), {})


def set_obj(kind: str, **spec: Any) -> Obj:
    return {"apiVersion": "apps/v1", "kind": kind,
            "metadata": {"name": "web", "namespace": "default", "uid": "uid-1", "generation": 1},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}, **spec},
            "status": {}}


class Recorder:
    """Stands in for the controller's status write."""

    def __init__(self) -> None:
        self.statuses: list[Obj] = []

    async def __call__(self, _obj: Obj, status: Obj) -> None:
        self.statuses.append(status)


async def test_statefulset_sync_creates_claims_then_first_pod() -> None:
    ctrl = StatefulSetController(context())
    control = FakeStatefulPodControl()
    history = FakeHistoryControl()
    status = Recorder()
    ctrl.pod_control, ctrl.history_control = control, history
    ctrl._update_status = status  # type: ignore[method-assign, assignment]
    ctrl.sets.store.put(set_obj("StatefulSet", replicas=2, serviceName="nginx", volumeClaimTemplates=[
        {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]))
    await ctrl.sync("default/web")
    assert control.calls == [("create-claim", "data-web-0"), ("create", "web-0")]
    assert len(history.created) == 1
    assert control.pods[0]["metadata"]["labels"]["controller-revision-hash"] == \
        history.created[0]["metadata"]["name"]
    assert status.statuses[-1]["replicas"] == 1
    await ctrl.client.close()


async def test_statefulset_sync_ignores_missing_set() -> None:
    ctrl = StatefulSetController(context())
    ctrl.pod_control = FakeStatefulPodControl()
    await ctrl.sync("default/nothing")
    await ctrl.client.close()
