#!/usr/bin/env python3
"""Generate ``src/kybernetes/api/schema/types.json``: facts about every API type the registry serves.

Usage::

    python hack/gen_schema.py PROTO_DIR [--openapi FILE] [--out FILE]

Inputs (read-only, kept outside the repository):

* ``--openapi``: upstream's Swagger 2.0 document (``k8s-openapi-v2-release-*.json``). It gives the types,
  JSON field names, value types, ``$ref``s, ``required``, ``x-kubernetes-group-version-kind`` and the
  patch/list/map extensions.
* ``PROTO_DIR``: a tree of upstream ``generated.proto`` texts (``k8s.io/api/apps/v1/generated.proto``, ...).
  They give the protobuf field numbers; ``[(gogoproto.nullable) = false]`` marks Go value (non-pointer)
  fields. (The texts used were recovered from the gogo file descriptors embedded in the kubectl 1.33 binary,
  which carry that option, plus apiextensions v1 from another Kubernetes 1.3x Go binary.)

Only facts are copied: no descriptions. The output is deterministic (sorted keys), so regenerating
gives readable diffs.

Output format (compact, every key optional unless noted)::

    {"types": {"<definition name>": {
        "gvk": [[group, version, kind], ...], "map_type": "atomic",
        "fields": {"<json name>": {"n": proto number, "t": scalar|"object" (required), "r": ref,
                   "rep": 1, "map": 1, "ps": patch strategy, "mk": merge key, "lt": list type,
                   "lk": [list map keys], "mt": map type, "req": 1, "ptr": 1, "via": embedding number}}}}}
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from kybernetes.api.registry import RESOURCES  # noqa: E402

DEFAULT_OPENAPI = Path("/work/shared/reference/k8s-openapi-v2-release-1.36.json")
DEFAULT_OUT = ROOT / "src/kybernetes/api/schema/types.json"

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
APIEXT = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1."

# Definitions that are scalars in JSON (or free-form JSON) and have a special protobuf encoding.
SPECIAL: dict[str, str] = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity": "quantity",
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": "int-or-string",
    META + "Time": "time",
    META + "MicroTime": "micro-time",
    META + "Duration": "duration",
    "io.k8s.apimachinery.pkg.runtime.RawExtension": "raw",
    META + "FieldsV1": "raw",
    APIEXT + "JSON": "raw",
    APIEXT + "JSONSchemaPropsOrArray": "raw",
    APIEXT + "JSONSchemaPropsOrBool": "raw",
    APIEXT + "JSONSchemaPropsOrStringArray": "raw",
}

# Roots besides the registry's kinds (and their lists and subresource kinds).
EXTRA_ROOTS = [META + n for n in (
    "ObjectMeta", "ListMeta", "Status", "StatusDetails", "StatusCause", "LabelSelector", "OwnerReference",
    "ManagedFieldsEntry", "DeleteOptions", "Preconditions", "WatchEvent", "APIResourceList", "APIGroupList",
    "APIGroup", "APIVersions")] + [
    "io.k8s.api.autoscaling.v1.Scale", "io.k8s.api.policy.v1.Eviction", "io.k8s.api.core.v1.Binding",
    "io.k8s.api.authentication.v1.TokenRequest",
]

_FIELD_RE = re.compile(r"^\s*(?:(optional|repeated|required)\s+([\w.]+)|map<\s*(\w+)\s*,\s*([\w.]+)\s*>)"
                       r"\s+(\w+)\s*=\s*(\d+)\s*(\[[^\]]*\])?\s*;")


ProtoField = tuple[int, bool, str]  # number, nullable, fully qualified type ("" for scalars)


def parse_protos(proto_dir: Path) -> dict[str, dict[str, ProtoField]]:
    """``{"<package>.<Message>": {normalized field name: (number, nullable, type)}}``, top-level messages."""
    out: dict[str, dict[str, ProtoField]] = {}
    for path in sorted(proto_dir.rglob("*.proto")):
        package = ""
        depth = 0
        current = ""
        for line in path.read_text().splitlines():
            line = line.split("//", 1)[0]
            m = re.match(r"^\s*package\s+([\w.]+)\s*;", line)
            if m:
                package = m.group(1)
            m = re.match(r"^\s*message\s+(\w+)\s*\{", line)
            if m and depth == 0:
                current = f"{package}.{m.group(1)}"
                out.setdefault(current, {})
            f = _FIELD_RE.match(line)
            if f and depth == 1 and current:
                options = f.group(7) or ""
                nullable = "nullable) = false" not in options and f.group(3) is None
                typ = f.group(2) or ""
                if typ.startswith("."):
                    typ = typ[1:]
                elif typ and typ[0].isupper():
                    typ = f"{package}.{typ}"
                else:
                    typ = ""
                out[current][_norm(f.group(5))] = (int(f.group(6)), nullable, typ)
            depth += line.count("{") - line.count("}")
            if depth == 0:
                current = ""
    return out


def inline_lookup(message: dict[str, ProtoField], known: set[str],
                  protos: dict[str, dict[str, ProtoField]]) -> dict[str, tuple[int, ProtoField]]:
    """Fields reached through Go inline (embedded) structs: ``{normalized json name: (via number, field)}``.

    Upstream embeds e.g. ``VolumeSource`` in ``Volume`` (JSON inline, protobuf field 2 of type VolumeSource);
    every proto message field with no JSON counterpart is such an embedding.
    """
    out: dict[str, tuple[int, ProtoField]] = {}
    for pname, (number, _nullable, typ) in message.items():
        if pname in known or not typ or typ not in protos:
            continue
        for inner_name, inner in protos[typ].items():
            out.setdefault(inner_name, (number, inner))
    return out


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def proto_message(definition: str) -> str:
    """``io.k8s.api.apps.v1.Deployment`` → ``k8s.io.api.apps.v1.Deployment`` (the proto package naming)."""
    assert definition.startswith("io.k8s.")
    return "k8s.io." + definition[len("io.k8s."):].replace("-", "_")


def ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def classify(prop: dict[str, Any]) -> dict[str, Any]:
    """The value facts of one property: ``t``, ``r``, ``rep``, ``map``."""
    if "$ref" in prop:
        name = ref_name(prop["$ref"])
        if name in SPECIAL:
            kind = SPECIAL[name]
            return {"t": kind, "r": name} if kind == "raw" else {"t": kind}
        return {"t": "object", "r": name}
    typ, fmt = prop.get("type"), prop.get("format")
    if typ == "array":
        inner = classify(prop.get("items", {}))
        if inner.get("rep") or inner.get("map"):
            return {"t": "raw"}
        return {**inner, "rep": 1}
    if typ == "object":
        if isinstance(prop.get("additionalProperties"), dict):
            inner = classify(prop["additionalProperties"])
            if inner.get("rep") or inner.get("map"):
                return {"t": "raw"}
            return {**inner, "map": 1}
        return {"t": "raw"}
    if typ == "string":
        return {"t": {"byte": "bytes", "date-time": "time", "int-or-string": "int-or-string"}.get(fmt or "",
                                                                                              "string")}
    if typ == "integer":
        return {"t": "int64" if fmt == "int64" else "int32"}
    if typ == "number":
        return {"t": "double"}
    if typ == "boolean":
        return {"t": "boolean"}
    return {"t": "raw"}


def build(openapi: dict[str, Any], protos: dict[str, dict[str, ProtoField]]) -> dict[str, Any]:
    defs: dict[str, Any] = openapi["definitions"]
    by_gvk: dict[tuple[str, str, str], str] = {}
    for name, d in defs.items():
        for g in d.get("x-kubernetes-group-version-kind", []):
            by_gvk.setdefault((g["group"], g["version"], g["kind"]), name)
    roots: list[str] = []
    for r in RESOURCES:
        for kind in (r.kind, r.list_kind):
            if (r.group, r.version, kind) in by_gvk:
                roots.append(by_gvk[(r.group, r.version, kind)])
        for sub in r.subresources:
            key = (sub.group, sub.version, sub.kind or r.kind)
            if key in by_gvk:
                roots.append(by_gvk[key])
    roots += [n for n in EXTRA_ROOTS if n in defs]

    types: dict[str, Any] = {}
    todo = list(dict.fromkeys(roots))
    missing_numbers: list[str] = []
    while todo:
        name = todo.pop()
        if name in types or name in SPECIAL:
            continue
        d = defs[name]
        message = protos.get(proto_message(name), {})
        fields: dict[str, Any] = {}
        required = set(d.get("required", []))
        props: dict[str, Any] = d.get("properties", {})
        inline = inline_lookup(message, {_norm(p) for p in props}, protos)
        for fname, prop in sorted(props.items()):
            f = classify(prop)
            number, nullable, _typ = message.get(_norm(fname), (0, True, ""))
            if not number and _norm(fname) in inline:
                f["via"], (number, nullable, _typ) = inline[_norm(fname)]
            if number:
                f["n"] = number
                if nullable and f["t"] not in ("object", "raw") and not f.get("rep") and not f.get("map"):
                    f["ptr"] = 1
            elif message and fname not in ("kind", "apiVersion"):  # TypeMeta travels outside the message
                missing_numbers.append(f"{name}.{fname}")
            for short, ext in (("ps", "x-kubernetes-patch-strategy"), ("mk", "x-kubernetes-patch-merge-key"),
                             ("lt", "x-kubernetes-list-type"), ("lk", "x-kubernetes-list-map-keys"),
                             ("mt", "x-kubernetes-map-type")):
                if ext in prop:
                    f[short] = prop[ext]
            if fname in required:
                f["req"] = 1
            if f["t"] == "object" and f["r"] not in types:
                todo.append(f["r"])
            fields[fname] = f
        entry: dict[str, Any] = {"fields": fields}
        gvks = [[g["group"], g["version"], g["kind"]] for g in d.get("x-kubernetes-group-version-kind", [])]
        if gvks:
            entry["gvk"] = gvks
        if "x-kubernetes-map-type" in d:
            entry["map_type"] = d["x-kubernetes-map-type"]
        if not message:
            entry["noproto"] = 1
        types[name] = entry
    for m in missing_numbers:
        print(f"warning: no protobuf number for {m}", file=sys.stderr)
    return {"types": dict(sorted(types.items()))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("proto_dir", type=Path)
    ap.add_argument("--openapi", type=Path, default=DEFAULT_OPENAPI)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    openapi = json.loads(args.openapi.read_text())
    table = build(openapi, parse_protos(args.proto_dir))
    args.out.write_text(json.dumps(table, sort_keys=True, separators=(",", ":")) + "\n")
    print(f"wrote {len(table['types'])} types to {args.out}")


if __name__ == "__main__":
    main()
