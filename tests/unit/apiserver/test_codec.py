import pytest

from kybernetes.api.errors import StatusError
from kybernetes.apiserver import codec


@pytest.mark.parametrize(
    ("raw", "content_type", "code"),
    [
        pytest.param(b"{not json", "application/json", 400, id="malformed json"),
        pytest.param(b"a: [1, 2", "application/yaml", 400, id="malformed yaml"),
        pytest.param(b"[1, 2]", "application/json", 400, id="not an object"),
        pytest.param(b"", "application/json", 400, id="empty"),
        pytest.param(b"k8s\x00\xff\xff", "application/vnd.kubernetes.protobuf", 400, id="malformed protobuf"),
        pytest.param(b"{}", "text/html", 415, id="unknown media type"),
        pytest.param(b"{" + b" " * codec.MAX_BODY + b"}", "application/json", 413, id="too large"),
    ],
)
def test_bad_bodies(raw: bytes, content_type: str, code: int) -> None:
    with pytest.raises(StatusError) as info:
        codec.decode_object(raw, content_type)
    assert info.value.code == code
    assert info.value.to_status()["kind"] == "Status"


@pytest.mark.parametrize(("raw", "printed"), [
    pytest.param(b"spec:\n  x: .nan\n", "NaN", id="nan"),
    pytest.param(b"spec:\n  list: [1, .Inf]\n", "+Inf", id="inf-in-list"),
    pytest.param(b"spec:\n  x: -.INF\n", "-Inf", id="negative-inf"),
])
def test_yaml_non_finite_numbers_are_bad_requests(raw: bytes, printed: str) -> None:
    with pytest.raises(StatusError) as info:
        codec.decode_object(raw, "application/yaml")
    assert info.value.code == 400
    assert info.value.message == f"error converting YAML to JSON: json: unsupported value: {printed}"


def test_yaml_strings_that_look_non_finite_are_fine() -> None:
    body = codec.decode_object(b"data:\n  a: '.nan'\n  b: x.inf\n", "application/yaml")
    assert body.value == {"data": {"a": ".nan", "b": "x.inf"}}


def test_yaml_timestamps_stay_strings() -> None:
    body = codec.decode_object(b"metadata:\n  annotations:\n    when: 2024-01-01\n", "application/yaml")
    assert body.value["metadata"]["annotations"]["when"] == "2024-01-01"


@pytest.mark.parametrize(
    ("accept", "table", "partial"),
    [
        pytest.param("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;"
                     "g=meta.k8s.io,application/json", True, False, id="kubectl get"),
        pytest.param("application/json", False, False, id="plain"),
        pytest.param("application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,"
                     "application/json", False, True, id="metadata informer"),
        pytest.param(None, False, False, id="none"),
    ],
)
def test_accept(accept: str | None, table: bool, partial: bool) -> None:
    parsed = codec.parse_accept(accept)
    assert (parsed.table, parsed.partial_metadata) == (table, partial)


@pytest.mark.parametrize(
    ("content_type", "raw", "code"),
    [
        pytest.param("application/json-patch+json", b'{"op": "add"}', 400, id="json patch must be a list"),
        pytest.param("application/merge-patch+json", b"[1]", 400, id="merge patch must be an object"),
        pytest.param("application/json", b"{}", 415, id="not a patch type"),
    ],
)
def test_bad_patches(content_type: str, raw: bytes, code: int) -> None:
    with pytest.raises(StatusError) as info:
        codec.decode_patch(raw, content_type)
    assert info.value.code == code
