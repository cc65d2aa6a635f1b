"""Small hand-built types so patch semantics are tested independently of the generated schema table."""

from __future__ import annotations

from kybernetes.api.schema import FieldDef, TypeDef


def _f(name: str, type_: str = "string", **kw: object) -> FieldDef:
    return FieldDef(name=name, number=0, type=type_, **kw)  # type: ignore[arg-type]


TYPES: dict[str, TypeDef] = {
    "t.Widget": TypeDef(
        "t.Widget",
        {
            "apiVersion": _f("apiVersion"),
            "kind": _f("kind"),
            "metadata": _f("metadata", "object", ref="t.Meta"),
            "spec": _f("spec", "object", ref="t.Spec"),
            "status": _f("status", "object", ref="t.Status"),
        },
        gvks=(("example.com", "v1", "Widget"),),
    ),
    "t.Meta": TypeDef(
        "t.Meta",
        {
            "name": _f("name"),
            "namespace": _f("namespace"),
            "uid": _f("uid"),
            "resourceVersion": _f("resourceVersion"),
            "labels": _f("labels", map=True),
            "annotations": _f("annotations", map=True),
            "finalizers": _f("finalizers", repeated=True, patch_strategy="merge", list_type="set"),
            "managedFields": _f("managedFields", "raw", repeated=True),
        },
    ),
    "t.Spec": TypeDef(
        "t.Spec",
        {
            "replicas": _f("replicas", "int32"),
            "paused": _f("paused", "boolean"),
            "items": _f(
                "items",
                "object",
                ref="t.Item",
                repeated=True,
                patch_strategy="merge",
                merge_key="name",
                list_type="map",
                list_map_keys=("name",),
            ),
            "tags": _f("tags", repeated=True),
            "strategy": _f("strategy", "object", ref="t.Strategy", patch_strategy="retainKeys"),
            "selector": _f("selector", "object", ref="t.Selector"),
            "config": _f("config", map=True, patch_strategy="replace"),
            "template": _f("template", "object", ref="t.Template", patch_strategy="replace"),
        },
    ),
    "t.Item": TypeDef(
        "t.Item",
        {
            "name": _f("name"),
            "image": _f("image"),
            "args": _f("args", repeated=True),
            "ports": _f(
                "ports",
                "object",
                ref="t.Port",
                repeated=True,
                patch_strategy="merge",
                merge_key="port",
                list_type="map",
                list_map_keys=("port", "protocol"),
            ),
        },
    ),
    "t.Port": TypeDef("t.Port", {"port": _f("port", "int32"), "protocol": _f("protocol")}),
    "t.Strategy": TypeDef(
        "t.Strategy", {"type": _f("type"), "rolling": _f("rolling", "object", ref="t.Rolling")}
    ),
    "t.Rolling": TypeDef("t.Rolling", {"maxSurge": _f("maxSurge", "int32")}),
    "t.Selector": TypeDef("t.Selector", {"matchLabels": _f("matchLabels", map=True)}, map_type="atomic"),
    "t.Template": TypeDef("t.Template", {"a": _f("a"), "b": _f("b")}),
    "t.Status": TypeDef("t.Status", {"ready": _f("ready", "int32")}),
}

WIDGET = TYPES["t.Widget"]


def lookup(name: str) -> TypeDef | None:
    return TYPES.get(name)
