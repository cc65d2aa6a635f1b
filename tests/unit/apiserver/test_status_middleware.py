"""Failures inside a handler leave as Kubernetes Status objects with the right code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from kybernetes.api import errors
from kybernetes.apiserver.app import status_errors
from kybernetes.storage.interface import UnavailableError


def raising(exc: BaseException) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(_request: web.Request) -> web.Response:
        raise exc

    return handler


@pytest.mark.parametrize(("exc", "code", "reason", "retry_after"), [
    pytest.param(UnavailableError("", "the datastore is busy, please retry"), 503, "ServiceUnavailable", "1",
                 id="storage-unavailable"),
    pytest.param(errors.StatusError(409, "Conflict", "x"), 409, "Conflict", None, id="status-error"),
    pytest.param(RuntimeError("boom"), 500, "InternalError", None, id="unexpected"),
])
async def test_handler_failures_become_status(exc: BaseException, code: int, reason: str,
                                              retry_after: str | None) -> None:
    app = web.Application(middlewares=[status_errors])
    app.router.add_get("/x", raising(exc))
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/x")
        body = await response.json()
    assert response.status == code
    assert body["kind"] == "Status" and body["reason"] == reason and body["code"] == code
    assert response.headers.get("Retry-After") == retry_after
    assert "Traceback" not in body["message"]
