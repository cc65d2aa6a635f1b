"""Encode a Swagger 2.0 document (a JSON dict) as gnostic's ``openapi.v2.Document`` protobuf.

Field numbers are gnostic's ``openapiv2/OpenAPIv2.proto``. Only the parts our documents use are encoded:
info, paths (operations with body/query/path parameters and responses), definitions (schemas with ``$ref``,
type, format, required, properties, items, additionalProperties, allOf, enum, readOnly) and vendor
extensions (``x-*`` keys, whose values travel as YAML text; JSON is valid YAML).
"""

from __future__ import annotations

from typing import Any

import orjson

from kybernetes.api.schema.wire import Writer


def encode_document(doc: dict[str, Any]) -> bytes:
    """The ``openapi.v2.Document`` bytes of a Swagger 2.0 dict."""
    w = Writer()
    w.string(1, doc.get("swagger", "2.0"))
    info = doc.get("info", {})
    iw = Writer()
    iw.string(1, info.get("title", ""))
    iw.string(2, info.get("version", ""))
    w.data(2, iw.getvalue())
    paths = Writer()
    for name, item in doc.get("paths", {}).items():
        named = Writer()
        named.string(1, name)
        named.data(2, _path_item(item))
        paths.data(2, named.getvalue())
    w.data(8, paths.getvalue())
    defs = Writer()
    for name, schema in doc.get("definitions", {}).items():
        defs.data(1, _named(name, _schema(schema)))
    w.data(9, defs.getvalue())
    _extensions(w, 16, doc)
    return w.getvalue()


def _named(name: str, value: bytes) -> bytes:
    w = Writer()
    w.string(1, name)
    w.data(2, value)
    return w.getvalue()


def _extensions(w: Writer, number: int, obj: dict[str, Any]) -> None:
    for key, value in obj.items():
        if key.startswith("x-"):
            any_w = Writer()
            any_w.string(2, orjson.dumps(value).decode())
            w.data(number, _named(key, any_w.getvalue()))


_OPS = {"get": 2, "put": 3, "post": 4, "delete": 5, "options": 6, "head": 7, "patch": 8}


def _path_item(item: dict[str, Any]) -> bytes:
    w = Writer()
    for method, number in _OPS.items():
        if method in item:
            w.data(number, _operation(item[method]))
    for param in item.get("parameters", []):
        w.data(9, _parameters_item(param))
    _extensions(w, 10, item)
    return w.getvalue()


def _operation(op: dict[str, Any]) -> bytes:
    w = Writer()
    for tag in op.get("tags", []):
        w.string(1, tag)
    if "operationId" in op:
        w.string(5, op["operationId"])
    for media in op.get("produces", []):
        w.string(6, media)
    for media in op.get("consumes", []):
        w.string(7, media)
    for param in op.get("parameters", []):
        w.data(8, _parameters_item(param))
    responses = Writer()
    for code, response in op.get("responses", {}).items():
        rw = Writer()
        rw.string(1, response.get("description", ""))
        if "schema" in response:
            item = Writer()
            item.data(1, _schema(response["schema"]))
            rw.data(2, item.getvalue())
        value = Writer()
        value.data(1, rw.getvalue())
        responses.data(1, _named(code, value.getvalue()))
    w.data(9, responses.getvalue())
    _extensions(w, 13, op)
    return w.getvalue()


def _parameters_item(param: dict[str, Any]) -> bytes:
    p = Writer()
    if param.get("in") == "body":
        body = Writer()
        body.string(2, param["name"])
        body.string(3, "body")
        body.boolean(4, bool(param.get("required")))
        body.data(5, _schema(param.get("schema", {})))
        p.data(1, body.getvalue())
    else:
        # NonBodyParameter: 3 query sub-schema, 4 path sub-schema (field numbers differ between the two).
        sub = Writer()
        if param.get("in") == "path":
            sub.boolean(1, True)
            sub.string(2, "path")
            sub.string(4, param["name"])
            sub.string(5, param.get("type", "string"))
            if param.get("uniqueItems"):
                sub.boolean(19, True)
            which = 4
        else:
            if param.get("required"):
                sub.boolean(1, True)
            sub.string(2, "query")
            sub.string(4, param["name"])
            sub.string(6, param.get("type", "string"))
            if param.get("uniqueItems"):
                sub.boolean(20, True)
            which = 3
        non_body = Writer()
        non_body.data(which, sub.getvalue())
        p.data(2, non_body.getvalue())
    item = Writer()
    item.data(1, p.getvalue())
    return item.getvalue()


def _any(value: Any) -> bytes:
    w = Writer()
    w.string(2, orjson.dumps(value).decode())
    return w.getvalue()


def _schema(schema: dict[str, Any]) -> bytes:
    w = Writer()
    if "$ref" in schema:
        w.string(1, schema["$ref"])
    if "format" in schema:
        w.string(2, schema["format"])
    if "title" in schema:
        w.string(3, schema["title"])
    if "default" in schema:
        w.data(5, _any(schema["default"]))
    for name in schema.get("required", []):
        w.string(19, name)
    for value in schema.get("enum", []):
        w.data(20, _any(value))
    extra = schema.get("additionalProperties")
    if extra is not None:
        aw = Writer()
        if isinstance(extra, bool):
            aw.boolean(2, extra)
        else:
            aw.data(1, _schema(extra))
        w.data(21, aw.getvalue())
    if "type" in schema:
        tw = Writer()
        for t in schema["type"] if isinstance(schema["type"], list) else [schema["type"]]:
            tw.string(1, t)
        w.data(22, tw.getvalue())
    if "items" in schema:
        iw = Writer()
        items = schema["items"]
        for item in items if isinstance(items, list) else [items]:
            iw.data(1, _schema(item))
        w.data(23, iw.getvalue())
    for sub in schema.get("allOf", []):
        w.data(24, _schema(sub))
    if "properties" in schema:
        pw = Writer()
        for name, prop in schema["properties"].items():
            pw.data(1, _named(name, _schema(prop)))
        w.data(25, pw.getvalue())
    if schema.get("readOnly"):
        w.boolean(27, True)
    _extensions(w, 31, schema)
    return w.getvalue()
