"""Request body decoding and response media types.

Bodies arrive as JSON, YAML or Kubernetes protobuf (``k8s\\0`` + ``runtime.Unknown``, sent by kubectl ≥ 1.32).
Anything malformed is a 400 Status; anything over :data:`MAX_BODY` a 413; an unknown media type a 415.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson
import yaml
from aiohttp import web

from kybernetes.api import errors
from kybernetes.api.protobuf import decode_request

MAX_BODY = 3 * 1024 * 1024

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH_YAML = "application/apply-patch+yaml"
APPLY_PATCH_CBOR = "application/apply-patch+cbor"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH_YAML)


async def read_body(request: web.Request) -> bytes:
    """The request body, refused with 413 as soon as it passes :data:`MAX_BODY` (never buffered beyond it)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise errors.request_entity_too_large("Request entity too large: limit is 3145728")
    if request.content_length is not None:
        return await request.read()  # a known length within the limit
    data = bytearray()
    async for chunk in request.content.iter_chunked(65536):
        data.extend(chunk)
        if len(data) > MAX_BODY:
            raise errors.request_entity_too_large("Request entity too large: limit is 3145728")
    return bytes(data)


def media_type(content_type: str | None) -> str:
    """``application/json; charset=utf-8`` → ``application/json``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


class _JsonishLoader(yaml.SafeLoader):
    """SafeLoader whose scalars stay JSON types: timestamps remain strings, as sigs.k8s.io/yaml keeps them."""


_JsonishLoader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _yaml_load(body: bytes) -> Any:
    try:
        value = yaml.load(body, Loader=_JsonishLoader)
    except yaml.YAMLError as exc:
        raise errors.bad_request(f"error converting YAML to JSON: {_yaml_problem(exc)}") from exc
    lowered = body.lower()
    if b".nan" in lowered or b".inf" in lowered:  # YAML's non-finite floats have no JSON form
        bad = _non_finite(value)
        if bad is not None:
            raise errors.bad_request(f"error converting YAML to JSON: json: unsupported value: {bad}")
    return value


def _non_finite(value: Any) -> str | None:
    """How Go prints the first NaN or infinity in ``value`` (``NaN``, ``+Inf``, ``-Inf``), or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        found = _non_finite(child)
        if found is not None:
            return found
    return None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"yaml: line {mark.line + 1}: {problem}"
    return f"yaml: {problem}"


def _json_load(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise errors.bad_request(f"couldn't get version/kind; json parse error: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Body:
    """A decoded request body: the value and the media type it came in."""

    value: Any
    media_type: str
    raw: bytes


def decode_object(raw: bytes, content_type: str | None) -> Body:
    """Decode a create/update body into a JSON object (dict).  Raises 400/413/415 StatusErrors."""
    mt = media_type(content_type) or JSON
    if len(raw) > MAX_BODY:
        raise errors.request_entity_too_large("Request entity too large: limit is 3145728")
    if not raw.strip():
        raise errors.bad_request("the body of the request was empty")
    if mt == JSON:
        value = _json_load(raw)
    elif mt in (YAML, "application/x-yaml", "text/yaml"):
        value = _yaml_load(raw)
    elif mt == PROTOBUF:
        value = decode_request(raw)
    else:
        raise errors.unsupported_media_type(mt)
    if not isinstance(value, dict):
        raise errors.bad_request("the body of the request must be a JSON object")
    return Body(value, mt, raw)


def decode_patch(raw: bytes, content_type: str | None) -> Body:
    """Decode a PATCH body by its patch type (the JSON patch stays a list; apply YAML becomes a dict)."""
    mt = media_type(content_type)
    if len(raw) > MAX_BODY:
        raise errors.request_entity_too_large("Request entity too large: limit is 3145728")
    if mt not in PATCH_TYPES:
        raise errors.StatusError(415, "UnsupportedMediaType",
                                 f"the body of the request was in an unknown format - accepted media types "
                                 f"include: {', '.join(PATCH_TYPES)}")
    if not raw.strip():
        raise errors.bad_request("the body of the request was empty")
    if mt == APPLY_PATCH_YAML:
        value = _yaml_load(raw)
        if not isinstance(value, dict):
            raise errors.bad_request("error decoding YAML: the apply patch must be an object")
    else:
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise errors.bad_request(f"error decoding patch: {exc}") from exc
        if mt == JSON_PATCH and not isinstance(value, list):
            raise errors.bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        if mt != JSON_PATCH and not isinstance(value, dict):
            raise errors.bad_request("error decoding patch: the patch must be a JSON object")
    return Body(value, mt, raw)


def decode_options(raw: bytes, content_type: str | None) -> dict[str, Any]:
    """DeleteOptions and similar small bodies; empty → {}."""
    if not raw.strip():
        return {}
    mt = media_type(content_type) or JSON
    if mt == PROTOBUF:
        value: Any = decode_request(raw)
    elif mt in (YAML, "application/x-yaml"):
        value = _yaml_load(raw)
    else:
        value = _json_load(raw)
    if not isinstance(value, dict):
        raise errors.bad_request("the body of the request must be a JSON object")
    return value


@dataclass(frozen=True, slots=True)
class Accept:
    """What the client wants back."""

    table: bool = False
    partial_metadata: bool = False
    table_version: str = "v1"


def parse_accept(header: str | None) -> Accept:
    """Understand ``application/json;as=Table;v=v1;g=meta.k8s.io`` and ``as=PartialObjectMetadata(List)``.

    The first acceptable entry wins, like upstream's negotiation; protobuf-only entries fall through to JSON.
    """
    if not header:
        return Accept()
    for entry in header.split(","):
        params: dict[str, str] = {}
        fields = entry.split(";")
        mt = fields[0].strip().lower()
        for p in fields[1:]:
            k, _, v = p.partition("=")
            params[k.strip()] = v.strip()
        as_ = params.get("as", "")
        if as_ == "Table" and params.get("g") == "meta.k8s.io" and mt in (JSON, "*/*"):
            return Accept(table=True, table_version=params.get("v", "v1"))
        partial = as_ in ("PartialObjectMetadata", "PartialObjectMetadataList")
        if partial and params.get("g") == "meta.k8s.io" and mt in (JSON, PROTOBUF):
            return Accept(partial_metadata=True)
        if not as_ and mt in (JSON, "*/*", "application/*", YAML, PROTOBUF):
            return Accept()
    return Accept()


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)
