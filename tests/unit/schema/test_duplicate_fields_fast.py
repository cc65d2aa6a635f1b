"""``duplicate_fields``' fast proof of "no duplicates" never hides one: it agrees with the exact walks (JSON
object hook, YAML node walk) on a table of bodies."""

from __future__ import annotations

import json

import pytest

from kybernetes.api import fieldvalidation as fv

DEPLOYMENT = json.dumps({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                         "spec": {"template": {"spec": {"containers": [{"name": "c", "env": [{"name": "A"}]}]}}}})


def _exact(body: bytes, media: str) -> list[str]:
    if media.endswith("yaml"):
        return fv._yaml_duplicates(body)
    try:
        doc = json.loads(body, object_pairs_hook=fv._hook)
    except (ValueError, RecursionError):
        return []
    return [fv.render(p) for p in fv._child_dups(doc)]


BODIES = [
    pytest.param(DEPLOYMENT.encode(), [], id="deployment"),
    pytest.param(b'{"a":1,"a":2}', ["a"], id="top-level"),
    pytest.param(DEPLOYMENT.replace('"name": "A"', '"name": "A", "name": "B"').encode(),
                 ["spec.template.spec.containers[0].env[0].name"], id="deep-in-lists"),
    pytest.param(b'{"a":{"b":1,"b":1},"c":[{"d":1},{"d":1,"d":2}],"a":3}', ["a.b", "c[1].d", "a"], id="several"),
    pytest.param(b'{"a":1,"\\u0061":2}', ["a"], id="escaped-duplicate"),
    pytest.param(b'{"\\ud83d\\ude00":1,"\xf0\x9f\x98\x80":2}', None, id="surrogate-pair-vs-raw"),
    pytest.param(b'{"a\\/b":1,"a/b":2}', ["a/b"], id="solidus-escape"),
    pytest.param(b'{"x":"line\\nbreak","y":1}', [], id="value-escapes"),
    pytest.param(b'{"\xc3\xa9":1,"\xc3\xa9":2}', ["\u00e9"], id="non-ascii-duplicate"),
    pytest.param(b'{"a": 1', [], id="truncated"),
    pytest.param(b"[1, 2]", [], id="array"),
    pytest.param(b"a: 1\nb:\n  c: 2\n  c: 3\na: 4\n", None, id="yaml-syntax"),
    pytest.param(b"a: 1\nb: 2\n", None, id="yaml-unique"),
    pytest.param(b'{"a": 1, "b": {"c": 2}}', [], id="unique"),
]


@pytest.mark.parametrize("media", ["application/json", "application/apply-patch+yaml",
                                   "application/merge-patch+json; charset=utf-8"])
@pytest.mark.parametrize(("body", "json_expected"), BODIES)
def test_fast_check_agrees_with_exact_walk(body: bytes, json_expected: list[str] | None, media: str) -> None:
    result = fv.duplicate_fields(body, media)
    assert result == _exact(body, media)
    if json_expected is not None and media.endswith("json"):
        assert result == json_expected


@pytest.mark.parametrize(("body", "unique"), [
    pytest.param(b'{"a":1,"b":[{"a":1,"a":1}]}', False, id="duplicate"),
    pytest.param(b'{"a":1,"b":[{"a":1}]}', True, id="unique"),
    pytest.param(b"{nope", None, id="not-json"),
    pytest.param(b'{"a":' * 5000 + b"1" + b"}" * 5000, None, id="too-deep"),
])
def test_json_unique(body: bytes, unique: bool | None) -> None:
    assert fv._json_unique(body) is unique
    assert fv.duplicate_fields(body, "application/json") == _exact(body, "application/json")


@pytest.mark.parametrize("media", ["application/json", "application/apply-patch+yaml"])
@pytest.mark.parametrize(("body", "json_expected"), BODIES)
def test_re_encoding_proof_agrees_with_exact_walk(body: bytes, json_expected: list[str] | None, media: str) -> None:
    """Given what the body decoded to (as the API server passes it), the answer is the same as without it."""
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError):
        decoded = None
    compact = json.dumps(decoded, separators=(",", ":"), ensure_ascii=False).encode() if decoded is not None else b""
    for raw in (body, compact):
        assert fv.duplicate_fields(raw, media, decoded) == _exact(raw, media)
