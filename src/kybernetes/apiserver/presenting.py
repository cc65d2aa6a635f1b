"""Encoding answers the way the client asked: plain objects and lists, Tables, or PartialObjectMetadata.

Also the selector adapters the handlers use (label and field selectors as predicates).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from kybernetes.api import selectors, tables
from kybernetes.api.registry import Resource
from kybernetes.apiserver import codec
from kybernetes.apiserver.objects import Obj
from kybernetes.apiserver.params import QueryParams
from kybernetes.apiserver.store import ListPage


def json_response(value: Any, status: int = 200, warnings: list[str] | None = None) -> web.Response:
    headers = {}
    if warnings:
        headers["Warning"] = ", ".join(f'299 - "{_escape_warning(w)}"' for w in dict.fromkeys(warnings))
    return web.Response(body=codec.dumps(value), status=status, content_type="application/json", headers=headers)


def _escape_warning(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def label_matcher(text: str) -> Callable[[dict[str, str]], bool] | None:
    if not text:
        return None
    selector = selectors.parse_label_selector(text)
    if selector.empty:
        return None
    return selector.matches


def field_matcher(res: Resource, text: str) -> Callable[[Obj], bool] | None:
    if not text:
        return None
    selector = selectors.parse_field_selector(text)
    if selector.empty:
        return None
    selectors.validate_field_selector(res, selector)
    return lambda obj: selectors.matches_fields(res, selector, obj)


def partial_metadata(obj: Obj) -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata") or {}}


class Presenter:
    """Turns objects into responses.  ``custom_columns`` maps (group, version, plural) to a CRD's
    additionalPrinterColumns."""

    def __init__(self) -> None:
        self.custom_columns: dict[tuple[str, str, str], list[Obj]] = {}

    def table(self, res: Resource, objs: list[Obj], *, include_object: str = "Metadata", with_columns: bool = True,
              resource_version: str = "", continue_token: str = "", remaining: int | None = None) -> Obj:
        if res.is_custom:
            columns = self.custom_columns.get((res.group, res.version, res.plural)) or []
            return tables.build_custom_table(columns, objs, include_object=include_object,
                                             with_columns=with_columns, resource_version=resource_version,
                                             continue_token=continue_token, remaining=remaining)
        return tables.build_table(res.group, res.kind, objs, include_object=include_object,
                                  with_columns=with_columns, resource_version=resource_version,
                                  continue_token=continue_token, remaining=remaining)

    def object_response(self, request: web.Request, res: Resource, obj: Obj, *, status: int = 200,
                        warnings: list[str] | None = None) -> web.Response:
        accept = codec.parse_accept(request.headers.get("Accept"))
        body: Any = obj
        if accept.table and request.method == "GET" and obj.get("kind") != "Status":
            include = request.query.get("includeObject") or "Metadata"
            body = self.table(res, [obj], include_object=include,
                              resource_version=str((obj.get("metadata") or {}).get("resourceVersion", "")))
        elif accept.partial_metadata and obj.get("kind") != "Status":
            body = partial_metadata(obj)
        return json_response(body, status, warnings)

    def list_response(self, request: web.Request, res: Resource, page: ListPage,
                      params: QueryParams) -> web.Response:
        accept = codec.parse_accept(request.headers.get("Accept"))
        rv = str(page.resource_version)
        if accept.table:
            body = self.table(res, page.items, include_object=params.include_object, resource_version=rv,
                              continue_token=page.continue_token, remaining=page.remaining)
            return json_response(body)
        metadata: Obj = {"resourceVersion": rv}
        if page.continue_token:
            metadata["continue"] = page.continue_token
        if page.remaining is not None:
            metadata["remainingItemCount"] = page.remaining
        if accept.partial_metadata:
            return json_response({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                                  "metadata": metadata, "items": [partial_metadata(o) for o in page.items]})
        return json_response({"kind": res.list_kind, "apiVersion": res.api_version, "metadata": metadata,
                              "items": page.items})
