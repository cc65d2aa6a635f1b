"""The client sends a request again when the server's flow control answered 429 with Retry-After (client-go)."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from kybernetes.client.config import ClientConfig
from kybernetes.client.errors import ServerUnavailable
from kybernetes.client.rest import Client


def too_many(retry_after: str | None) -> web.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return web.json_response({"kind": "Status", "code": 429, "reason": "TooManyRequests",
                              "message": "Too many requests, please try again later."}, status=429, headers=headers)


async def serve(answers: list[web.Response]) -> tuple[TestServer, list[str]]:
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.method)
        return answers.pop(0)

    app = web.Application()
    app.router.add_route("*", "/api/v1/x", handler)
    server = TestServer(app)
    await server.start_server()
    return server, seen


async def test_429_with_retry_after_is_retried() -> None:
    server, seen = await serve([too_many("0"), too_many("0"), web.json_response({"ok": True})])
    try:
        async with Client(ClientConfig(server=str(server.make_url("")).rstrip("/"))) as client:
            assert await client.request("POST", "/api/v1/x", body={"a": 1}) == {"ok": True}
        assert seen == ["POST", "POST", "POST"]
    finally:
        await server.close()


async def test_429_without_retry_after_is_an_error() -> None:
    server, seen = await serve([too_many(None)])
    try:
        async with Client(ClientConfig(server=str(server.make_url("")).rstrip("/"))) as client:
            with pytest.raises(ServerUnavailable) as info:
                await client.request("GET", "/api/v1/x")
            assert info.value.code == 429
        assert seen == ["GET"]
    finally:
        await server.close()
