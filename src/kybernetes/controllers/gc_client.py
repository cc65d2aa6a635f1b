"""Discovery and metadata-only list/watch for controllers that handle every resource (garbage collector, namespace
deletion).

* :func:`discover` reads ``/api/v1`` and ``/apis/<group>/<preferred version>`` and returns one
  :class:`~kybernetes.api.registry.Resource` per served top-level resource (subresources dropped), so custom
  resources are found too.  A group whose resource list cannot be read is reported in ``failed`` and skipped.
* :class:`MetadataClient` is a :class:`~kybernetes.client.rest.Client` whose lists and watches ask for
  ``PartialObjectMetadata(List)``: objects carry only apiVersion, kind and metadata (what the graph needs), which
  keeps a process that watches everything small.  It shares the connection pool of the client it wraps.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from kybernetes.api.registry import Resource
from kybernetes.client.errors import ApiError, ServerUnavailable, error_from_status
from kybernetes.client.rest import Client, path

Obj = dict[str, Any]
METADATA_LIST_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
METADATA_ACCEPT = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"


@dataclass
class Discovery:
    """Served resources and the group/versions whose discovery failed (``"apps/v1": "message"``)."""

    resources: list[Resource] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def by_kind(self) -> dict[tuple[str, str], Resource]:
        """(apiVersion, kind) → resource, to resolve ownerReferences."""
        return {(r.api_version, r.kind): r for r in self.resources}


def _resources_of(group: str, version: str, body: Obj) -> list[Resource]:
    out: list[Resource] = []
    for entry in body.get("resources") or []:
        name = str(entry.get("name") or "")
        if not name or "/" in name:
            continue
        out.append(Resource(group=str(entry.get("group") or group), version=str(entry.get("version") or version),
                            kind=str(entry.get("kind") or ""), plural=name,
                            namespaced=bool(entry.get("namespaced")),
                            verbs=tuple(str(v) for v in entry.get("verbs") or ())))
    return out


async def discover(client: Client) -> Discovery:
    """Every served resource (core v1 plus each group's preferred version, like upstream's preferred resources).

    Raises ApiError/ServerUnavailable only when the core or group list itself cannot be read."""
    result = Discovery()
    core = await client.request("GET", "/api/v1")
    result.resources.extend(_resources_of("", "v1", core))
    groups = await client.request("GET", "/apis")
    for group in groups.get("groups") or []:
        name = str(group.get("name") or "")
        preferred = group.get("preferredVersion") or (group.get("versions") or [{}])[0]
        version = str(preferred.get("version") or "")
        if not name or not version:
            continue
        try:
            body = await client.request("GET", f"/apis/{name}/{version}")
        except ApiError as exc:
            result.failed[f"{name}/{version}"] = exc.message
            continue
        result.resources.extend(_resources_of(name, version, body))
    return result


class MetadataClient(Client):
    """A client whose ``list``/``list_all``/``watch`` return PartialObjectMetadata; other verbs are unchanged."""

    def __init__(self, base: Client) -> None:
        super().__init__(base.config, user_agent=base.user_agent, qps_timeout=base.timeout)
        self._base = base

    @property
    def session(self) -> aiohttp.ClientSession:
        return self._base.session

    async def close(self) -> None:
        """The wrapped client owns the connection pool."""

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
        url = self.config.server + path(res, namespace)
        try:
            async with self.session.get(url, params=params, headers={"Accept": METADATA_LIST_ACCEPT},
                                        timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
                raw = await resp.read()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise ServerUnavailable({"code": 503, "reason": "ServiceUnavailable",
                                     "message": f"list {res.plural}: {type(exc).__name__}: {exc}"}) from exc
        body = _decode(raw)
        if status >= 400:
            raise error_from_status(status, body)
        for item in body.get("items") or []:
            item.setdefault("apiVersion", res.api_version)
            item.setdefault("kind", res.kind)
        return body

    async def watch(self, res: Resource, namespace: str = "", *, resource_version: str = "",
                    label_selector: str = "", field_selector: str = "", timeout_seconds: int = 300,
                    bookmarks: bool = True) -> AsyncIterator[tuple[str, Obj]]:
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
                self.config.server + path(res, namespace), params=params, headers={"Accept": METADATA_ACCEPT},
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=timeout_seconds + 30),
            ) as resp:
                if resp.status >= 400:
                    raise error_from_status(resp.status, _decode(await resp.read()))
                async for line in resp.content:
                    if not line.strip():
                        continue
                    event = orjson.loads(line)
                    kind, obj = event.get("type", ""), event.get("object") or {}
                    if kind == "ERROR":
                        raise error_from_status(int(obj.get("code") or 500), obj)
                    yield kind, obj
        except ApiError:
            raise
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise ServerUnavailable({"code": 503, "reason": "ServiceUnavailable",
                                     "message": f"watch {res.plural}: {type(exc).__name__}: {exc}"}) from exc


def _decode(raw: bytes) -> Obj:
    try:
        body = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        body = {"message": raw[:200].decode(errors="replace")}
    return body if isinstance(body, dict) else {"message": str(body)}
