"""API Priority and Fairness: classification like upstream's suggested FlowSchemas, seats, 429 after waiting."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from kybernetes.apiserver import app as app_module
from kybernetes.apiserver import flowcontrol
from kybernetes.apiserver.certs import User
from kybernetes.apiserver.flowcontrol import FlowControl, RequestFacts, classify

NODE = User("system:node:n1", ("system:nodes",))
CM = User("system:kube-controller-manager")


@pytest.mark.parametrize(("user", "facts", "level"), [
    pytest.param(User("admin", ("system:masters",)), RequestFacts("default", "pods"), "exempt", id="masters"),
    pytest.param(None, RequestFacts(), "exempt", id="probe"),
    pytest.param(CM, RequestFacts("kube-system", "leases"), "leader-election",
                 id="leader-election"),
    pytest.param(CM, RequestFacts("default", "pods"), "workload-high", id="controller-manager"),
    pytest.param(User("system:kube-scheduler"), RequestFacts("default", "pods"), "workload-high", id="scheduler"),
    pytest.param(NODE, RequestFacts("kube-node-lease", "leases"), "node-high",
                 id="node-lease"),
    pytest.param(NODE, RequestFacts("", "nodes"), "node-high", id="node-status"),
    pytest.param(NODE, RequestFacts("default", "pods"), "system", id="pod-status"),
    pytest.param(User("system:serviceaccount:default:x"), RequestFacts("default", "pods"), "workload-low",
                 id="service-account"),
    pytest.param(User("alice"), RequestFacts("default", "pods"), "global-default", id="anyone"),
])
def test_classify(user: User | None, facts: RequestFacts, level: str) -> None:
    assert classify(user, facts) == level


@pytest.mark.parametrize(("total", "expected"), [
    pytest.param(600, {"leader-election": 25, "node-high": 98, "system": 74, "workload-high": 98,
                       "workload-low": 245, "global-default": 49, "catch-all": 13}, id="upstream-default-600"),
    pytest.param(150, {"leader-election": 7, "node-high": 25, "system": 19, "workload-high": 25,
                       "workload-low": 62, "global-default": 13, "catch-all": 4}, id="ours-150"),
    pytest.param(1, dict.fromkeys(flowcontrol.SHARES, 1), id="at-least-one"),
])
def test_seats(total: int, expected: dict[str, int]) -> None:
    assert flowcontrol.seats(total) == expected


async def test_a_full_level_answers_429_and_others_go_on(monkeypatch: pytest.MonkeyPatch) -> None:
    users = {"node": NODE, "cm": CM}
    who = ["cm"]  # the identity the next request authenticates as
    monkeypatch.setattr(app_module.certs, "client_identity", lambda _cert: users[who[0]])
    release = asyncio.Event()

    async def slow(_request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({})

    async def fast(_request: web.Request) -> web.Response:
        return web.json_response({})

    control = FlowControl(total=1, queue_timeout=0.2)  # one seat per level
    application = web.Application(middlewares=[app_module.status_errors, app_module.authenticate])
    application[app_module.FLOW_CONTROL_KEY] = control
    application.router.add_get("/api/v1/namespaces/default/pods/slow", slow)
    application.router.add_get("/api/v1/namespaces/default/pods/fast", fast)
    async with TestClient(TestServer(application)) as client:
        who[0] = "cm"
        held = asyncio.create_task(client.get("/api/v1/namespaces/default/pods/slow"))
        await asyncio.sleep(0.05)  # the controller manager's only seat is taken
        refused = await client.get("/api/v1/namespaces/default/pods/fast")
        body = await refused.json()
        assert refused.status == 429 and refused.headers["Retry-After"] == "1"
        assert body["reason"] == "TooManyRequests" and body["details"]["retryAfterSeconds"] == 1
        who[0] = "node"  # another level still has its seat
        assert (await client.get("/api/v1/namespaces/default/pods/fast")).status == 200
        release.set()
        assert (await held).status == 200
        who[0] = "cm"
        assert (await client.get("/api/v1/namespaces/default/pods/fast")).status == 200
    assert control.rejected["workload-high"] == 1

