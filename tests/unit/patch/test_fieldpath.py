from __future__ import annotations

from typing import Any

import pytest

from kybernetes.api.patch import fieldpath as fp

K_WEB = fp.key_element({"name": "web"})
K_PORT = fp.key_element({"protocol": "TCP", "containerPort": 80})


@pytest.mark.parametrize(
    ("paths", "wire"),
    [
        pytest.param({fp.make_path("spec", "replicas")}, {"f:spec": {"f:replicas": {}}}, id="leaf"),
        pytest.param(
            {fp.make_path("metadata", "labels"), fp.make_path("metadata", "labels", "app")},
            {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}},
            id="member-with-children",
        ),
        pytest.param(
            {
                (*fp.make_path("spec", "containers"), K_WEB),
                (*fp.make_path("spec", "containers"), K_WEB, "f:name"),
                (*fp.make_path("spec", "containers"), K_WEB, "f:ports", K_PORT),
            },
            {
                "f:spec": {
                    "f:containers": {
                        'k:{"name":"web"}': {
                            ".": {},
                            "f:name": {},
                            "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {}},
                        }
                    }
                }
            },
            id="keyed-items",
        ),
        pytest.param(
            {("f:metadata", "f:finalizers", fp.value_element("a/b"))},
            {"f:metadata": {"f:finalizers": {'v:"a/b"': {}}}},
            id="set-item",
        ),
        pytest.param(set(), {}, id="empty"),
    ],
)
def test_fields_v1_round_trip(paths: set[fp.Path], wire: dict[str, Any]) -> None:
    assert fp.to_fields_v1(frozenset(paths)) == wire
    assert fp.from_fields_v1(wire) == frozenset(paths)


def test_fields_v1_key_order() -> None:
    paths = frozenset(
        {("f:b",), ("f:a",), ("f:l", 'k:{"n":"x"}'), ("f:l", "f:z"), ("f:l", 'v:"s"'), ("f:l", "i:2")}
    )
    wire = fp.to_fields_v1(paths)
    assert list(wire) == ["f:a", "f:b", "f:l"]
    assert list(wire["f:l"]) == ["f:z", 'k:{"n":"x"}', 'v:"s"', "i:2"]


@pytest.mark.parametrize(
    "wire",
    [
        pytest.param([], id="not-object"),
        pytest.param({"x:y": {}}, id="bad-element"),
        pytest.param({"f:a": 1}, id="bad-child"),
    ],
)
def test_fields_v1_malformed(wire: Any) -> None:
    with pytest.raises(ValueError):
        fp.from_fields_v1(wire)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        pytest.param(fp.make_path("spec", "replicas"), ".spec.replicas", id="fields"),
        pytest.param(
            ("f:spec", "f:containers", K_WEB, "f:image"), '.spec.containers[name="web"].image', id="key"
        ),
        pytest.param(("f:ports", K_PORT), '.ports[containerPort=80,protocol="TCP"]', id="multi-key"),
        pytest.param(("f:finalizers", fp.value_element("x")), '.finalizers[="x"]', id="value"),
        pytest.param(("f:args", fp.index_element(3)), ".args[3]", id="index"),
    ],
)
def test_path_string(path: fp.Path, text: str) -> None:
    assert fp.path_string(path) == text


def test_recursive_difference() -> None:
    paths = frozenset({("f:status",), ("f:status", "f:ready"), ("f:spec", "f:replicas")})
    assert fp.recursive_difference(paths, [("f:status",)]) == frozenset({("f:spec", "f:replicas")})
