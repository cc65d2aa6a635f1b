"""The async API client every component uses: typed verbs over HTTPS with a kubeconfig's credentials.

Resources are addressed with registry entries (:class:`kybernetes.api.registry.Resource`), objects are JSON
dicts.  Every non-2xx answer raises an :mod:`kybernetes.client.errors` exception parsed from the Status;
transport failures raise :class:`~kybernetes.client.errors.ServerUnavailable`.

One :class:`Client` holds one connection pool; create it inside the component's event loop and ``close()`` it.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import orjson

from kybernetes.api.registry import Resource, default_registry
from kybernetes.client.config import ClientConfig
from kybernetes.client.errors import ApiError, ServerUnavailable, error_from_status
from kybernetes.client.http1 import Http1Pool, ProtocolError

Obj = dict[str, Any]
ObjList = list[Obj]  # "list" is also a method name in the classes below

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

_REGISTRY = default_registry()
IDLE_CONNECTION_TIMEOUT = 90.0
MAX_RETRIES = 10  # client-go's default for answers with Retry-After


def resource(group: str, version: str, plural: str) -> Resource:
    """The built-in registry entry for group/version/plural (KeyError when unknown)."""
    res = _REGISTRY.get(group, version, plural)
    if res is None:
        raise KeyError(f"{plural}.{group}/{version}")
    return res


def path(res: Resource, namespace: str = "", name: str = "", subresource: str = "") -> str:
    base = f"/apis/{res.group}/{res.version}" if res.group else f"/api/{res.version}"
    if res.namespaced and namespace:
        base += f"/namespaces/{quote(namespace, safe='')}"
    base += f"/{res.plural}"
    if name:
        base += f"/{quote(name, safe='')}"
    if subresource:
        base += f"/{subresource}"
    return base


def _watch_event(line: bytes) -> tuple[str, Obj]:
    """One watch stream line as (type, object); an ERROR event raises its Status."""
    event = orjson.loads(line)
    kind, obj = event.get("type", ""), event.get("object") or {}
    if kind == "ERROR":
        raise error_from_status(int(obj.get("code") or 500), obj)
    return kind, obj


class Client:
    #: what list and watch ask for (a metadata-only client asks for PartialObjectMetadata instead)
    list_accept = JSON
    watch_accept = JSON

    def __init__(self, config: ClientConfig, *, user_agent: str = "kybernetes", qps_timeout: float = 30.0) -> None:
        self.config = config
        self.user_agent = user_agent
        self.timeout = qps_timeout
        self._session: aiohttp.ClientSession | None = None
        self._http1: Http1Pool | None = None

    @property
    def http1(self) -> Http1Pool:
        """Connections for whole-answer requests (everything but watches)."""
        if self._http1 is None:
            self._http1 = Http1Pool(self.config, user_agent=self.user_agent)
        return self._http1

    def _ssl(self) -> ssl.SSLContext:
        return self.config.ssl_context()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            # idle connections live 90 s like Go's http.Transport: a burst of requests after a pause reuses them
            # instead of paying a TLS handshake each
            # room for every informer's long-lived watch besides the requests (Go sets no per-host limit)
            connector = aiohttp.TCPConnector(ssl=self._ssl(), limit=256, keepalive_timeout=IDLE_CONNECTION_TIMEOUT)
            headers = {"User-Agent": self.user_agent}
            if self.config.token:
                headers["Authorization"] = f"Bearer {self.config.token}"
            self._session = aiohttp.ClientSession(base_url=None, connector=connector, headers=headers,
                                                  cookie_jar=aiohttp.DummyCookieJar(),  # the API sets no cookies
                                                  json_serialize=lambda v: orjson.dumps(v).decode())
        return self._session

    async def close(self) -> None:
        closing = 0
        if self._http1 is not None:
            closing = self._http1.close()
            self._http1 = None
        if self._session is not None:
            await self._session.close()
            self._session = None
            closing += 1
        if closing:
            # TLS transports finish closing a moment later; waiting here keeps ResourceWarnings out
            await asyncio.sleep(0.25)

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- raw requests ----------------------------------------------------------------------------------------

    async def request(self, method: str, url_path: str, *, params: Mapping[str, str] | None = None,
                      body: Any = None, content_type: str = JSON, deadline: float | None = None,
                      accept: str = JSON, decode: bool = True) -> Any:
        """One request; returns the decoded JSON body (or text for non-JSON answers; None without ``decode``,
        for callers that do not read a successful answer).  Like client-go, a 429 with ``Retry-After`` (the
        server's flow control turned it away unprocessed) is sent again after that many seconds, up to
        :data:`MAX_RETRIES` times."""
        data = None if body is None else (body if isinstance(body, bytes) else orjson.dumps(body))
        target = url_path + ("?" + urlencode(params) if params else "")
        for attempt in range(MAX_RETRIES + 1):
            try:
                answer = await self.http1.request(method, target, data, accept=accept, content_type=content_type,
                                                  time_limit=deadline or self.timeout)
            except (TimeoutError, ConnectionError, ProtocolError, OSError) as exc:
                raise ServerUnavailable({"code": 503, "reason": "ServiceUnavailable",
                                         "message": f"{method} {url_path}: {type(exc).__name__}: {exc}"}) from exc
            if answer.status != 429 or not answer.retry_after.isdigit() or attempt == MAX_RETRIES:
                break
            await asyncio.sleep(min(int(answer.retry_after), 10))
        raw, status, ctype = answer.body, answer.status, answer.content_type
        if not decode and status < 400:
            return None
        decoded: Any = raw
        if "json" in ctype and raw:
            try:
                decoded = orjson.loads(raw)
            except orjson.JSONDecodeError:
                decoded = {"message": raw[:200].decode(errors="replace")}
        elif raw:
            decoded = raw.decode(errors="replace")
        if status >= 400:
            raise error_from_status(status, decoded if isinstance(decoded, dict) else {"message": str(decoded)})
        return decoded

    # -- verbs -----------------------------------------------------------------------------------------------

    async def get(self, res: Resource, namespace: str, name: str, subresource: str = "") -> Obj:
        result: Obj = await self.request("GET", path(res, namespace, name, subresource))
        return result

    async def list(self, res: Resource, namespace: str = "", *, label_selector: str = "", field_selector: str = "",
                   limit: int = 0, continue_token: str = "", resource_version: str = "") -> Obj:
        params: dict[str, str] = {}
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        if limit:
            params["limit"] = str(limit)
        if continue_token:
            params["continue"] = continue_token
        if resource_version:
            params["resourceVersion"] = resource_version
        result: Obj = await self.request("GET", path(res, namespace), params=params, accept=self.list_accept)
        return result

    async def list_all(self, res: Resource, namespace: str = "", *, label_selector: str = "",
                       field_selector: str = "", page: int = 500) -> tuple[ObjList, str]:
        """Every item (paging with continue tokens) and the list's resourceVersion."""
        items: ObjList = []
        token = ""
        while True:
            out = await self.list(res, namespace, label_selector=label_selector, field_selector=field_selector,
                                  limit=page, continue_token=token)
            items.extend(out.get("items") or [])
            token = (out.get("metadata") or {}).get("continue") or ""
            if not token:
                return items, str((out.get("metadata") or {}).get("resourceVersion") or "")

    async def create(self, res: Resource, namespace: str, obj: Obj, *, subresource: str = "",
                     name: str = "", field_manager: str = "") -> Obj:
        params = {"fieldManager": field_manager} if field_manager else None
        result: Obj = await self.request("POST", path(res, namespace, name, subresource), params=params, body=obj)
        return result

    async def update(self, res: Resource, namespace: str, name: str, obj: Obj, *, subresource: str = "",
                     field_manager: str = "") -> Obj:
        params = {"fieldManager": field_manager} if field_manager else None
        result: Obj = await self.request("PUT", path(res, namespace, name, subresource), params=params, body=obj)
        return result

    async def patch(self, res: Resource, namespace: str, name: str, patch: Any, *,
                    patch_type: str = MERGE_PATCH, subresource: str = "", field_manager: str = "",
                    force: bool = False) -> Obj:
        params: dict[str, str] = {}
        if field_manager:
            params["fieldManager"] = field_manager
        if force:
            params["force"] = "true"
        body = patch if isinstance(patch, bytes) else orjson.dumps(patch)
        result: Obj = await self.request("PATCH", path(res, namespace, name, subresource), params=params,
                                         body=body, content_type=patch_type)
        return result

    async def delete(self, res: Resource, namespace: str, name: str, *, propagation: str = "",
                     grace_period: int | None = None, preconditions: Obj | None = None) -> Obj:
        options: Obj = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation:
            options["propagationPolicy"] = propagation
        if grace_period is not None:
            options["gracePeriodSeconds"] = grace_period
        if preconditions:
            options["preconditions"] = preconditions
        result: Obj = await self.request("DELETE", path(res, namespace, name), body=options)
        return result

    async def watch(self, res: Resource, namespace: str = "", *, resource_version: str = "",
                    label_selector: str = "", field_selector: str = "", timeout_seconds: int = 300,
                    bookmarks: bool = True) -> AsyncIterator[tuple[str, Obj]]:
        """(type, object) pairs from a watch stream until the server closes it.  An ERROR event raises the
        Status as an ApiError (GoneError for 410: the caller must re-list)."""
        params = {"watch": "true", "timeoutSeconds": str(timeout_seconds)}
        if resource_version:
            params["resourceVersion"] = resource_version
        if bookmarks:
            params["allowWatchBookmarks"] = "true"
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        try:
            async with self.session.get(
                self.config.server + path(res, namespace), params=params, headers={"Accept": self.watch_accept},
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=timeout_seconds + 30),
            ) as resp:
                if resp.status >= 400:
                    raw = await resp.read()
                    try:
                        body = orjson.loads(raw)
                    except orjson.JSONDecodeError:
                        body = {"message": raw.decode(errors="replace")}
                    raise error_from_status(resp.status, body)
                # whole chunks split here: far cheaper than the stream's readline for many small lines
                partial = b""
                async for chunk in resp.content.iter_any():
                    lines = (partial + chunk if partial else chunk).split(b"\n")
                    partial = lines.pop()
                    for line in lines:
                        if line and not line.isspace():
                            yield _watch_event(line)
                if partial and not partial.isspace():
                    yield _watch_event(partial)
        except ApiError:
            raise
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise ServerUnavailable({"code": 503, "reason": "ServiceUnavailable",
                                     "message": f"watch {res.plural}: {type(exc).__name__}: {exc}"}) from exc
