"""Discovery and metadata-only list/watch for controllers that handle every resource (garbage collector, namespace
deletion).

* :func:`discover` reads aggregated discovery (``/api`` and ``/apis``, two requests, as upstream's clients do since
  1.30; a server without it: ``/api/v1`` and ``/apis/<group>/<preferred version>``) and returns one
  :class:`~kybernetes.api.registry.Resource` per served top-level resource (subresources dropped), so custom
  resources are found too.  A group whose resource list cannot be read is reported in ``failed`` and skipped.
* :class:`MetadataClient` is a :class:`~kybernetes.client.rest.Client` whose lists and watches ask for
  ``PartialObjectMetadata(List)``: objects carry only apiVersion, kind and metadata (what the graph needs), which
  keeps a process that watches everything small.  It shares the connection pool of the client it wraps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp

from kybernetes.api.registry import Resource
from kybernetes.client.errors import ApiError
from kybernetes.client.http1 import Http1Pool
from kybernetes.client.rest import Client

Obj = dict[str, Any]
METADATA_LIST_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
METADATA_ACCEPT = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"
AGGREGATED_ACCEPT = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"


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


def _aggregated_resources(doc: Obj) -> list[Resource]:
    """The preferred (first) version's resources of every group in an APIGroupDiscoveryList."""
    out: list[Resource] = []
    for group in doc.get("items") or []:
        name = str((group.get("metadata") or {}).get("name") or "")
        versions = group.get("versions") or []
        if not versions:
            continue
        version = str(versions[0].get("version") or "")
        for entry in versions[0].get("resources") or []:
            kind = (entry.get("responseKind") or {}).get("kind") or ""
            out.append(Resource(group=name, version=version, kind=str(kind), plural=str(entry.get("resource") or ""),
                                namespaced=entry.get("scope") == "Namespaced",
                                verbs=tuple(str(v) for v in entry.get("verbs") or ())))
    return out


async def discover(client: Client) -> Discovery:
    """Every served resource (core v1 plus each group's preferred version, like upstream's preferred resources).

    Raises ApiError/ServerUnavailable only when the core or group list itself cannot be read."""
    result = Discovery()
    core_doc = await client.request("GET", "/api", accept=AGGREGATED_ACCEPT)
    if isinstance(core_doc, dict) and core_doc.get("kind") == "APIGroupDiscoveryList":
        groups_doc = await client.request("GET", "/apis", accept=AGGREGATED_ACCEPT)
        result.resources.extend(_aggregated_resources(core_doc))
        result.resources.extend(_aggregated_resources(groups_doc))
        return result
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

    @property
    def http1(self) -> Http1Pool:
        return self._base.http1

    async def close(self) -> None:
        """The wrapped client owns the connection pools."""

    list_accept = METADATA_LIST_ACCEPT
    watch_accept = METADATA_ACCEPT

    async def list(self, res: Resource, namespace: str = "", *, label_selector: str = "", field_selector: str = "",
                   limit: int = 0, continue_token: str = "", resource_version: str = "") -> Obj:
        body = await super().list(res, namespace, label_selector=label_selector, field_selector=field_selector,
                                  limit=limit, continue_token=continue_token, resource_version=resource_version)
        for item in body.get("items") or []:
            item.setdefault("apiVersion", res.api_version)
            item.setdefault("kind", res.kind)
        return body
