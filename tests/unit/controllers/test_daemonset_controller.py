"""``sync`` of the DaemonSet controller with filled informer caches and fake side effects."""

from __future__ import annotations

from typing import Any

from kybernetes.client.config import ClientConfig
from kybernetes.client.informer import InformerFactory
from kybernetes.client.rest import Client
from kybernetes.controllers.base import Context
from kybernetes.controllers.common import FakePodControl
from kybernetes.controllers.daemonset import DaemonSetController
from kybernetes.controllers.history import FakeHistoryControl

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


async def test_daemonset_sync_creates_one_pinned_pod_per_node_once() -> None:
    ctrl = DaemonSetController(context())
    pods = FakePodControl()
    ctrl.pod_control, ctrl.history_control = pods, FakeHistoryControl()
    status = Recorder()
    ctrl._update_status = status  # type: ignore[method-assign, assignment]
    ctrl.daemonsets.store.put(set_obj("DaemonSet", updateStrategy={"type": "RollingUpdate"}))
    for name in ("n0", "n1"):
        ctrl.nodes.store.put({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
    await ctrl.sync("default/web")
    assert sorted(p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
                  ["nodeSelectorTerms"][0]["matchFields"][0]["values"][0] for p in pods.created) == ["n0", "n1"]
    assert all(p["metadata"]["generateName"] == "web-" for p in pods.created)
    # The informer has not seen the pods yet: expectations stop a second round of creates.
    await ctrl.sync("default/web")
    assert len(pods.created) == 2
    assert status.statuses[-1]["desiredNumberScheduled"] == 2
    await ctrl.client.close()
