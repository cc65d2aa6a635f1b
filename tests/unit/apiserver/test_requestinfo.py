import pytest

from kybernetes.api.errors import StatusError
from kybernetes.apiserver.requestinfo import RequestInfo, parse_resource_path


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("/api/v1/pods", RequestInfo("", "v1", "", "pods"), id="all-namespaces list"),
        pytest.param("/api/v1/namespaces/default/pods", RequestInfo("", "v1", "default", "pods", namespaced_path=True),
                     id="namespaced list"),
        pytest.param("/api/v1/namespaces/default/pods/web/log",
                     RequestInfo("", "v1", "default", "pods", "web", "log", True), id="subresource"),
        pytest.param("/api/v1/namespaces/kube-system", RequestInfo("", "v1", "", "namespaces", "kube-system"),
                     id="a namespace object"),
        pytest.param("/api/v1/namespaces/x/status", RequestInfo("", "v1", "", "namespaces", "x", "status"),
                     id="namespace status"),
        pytest.param("/api/v1/namespaces/x/finalize", RequestInfo("", "v1", "", "namespaces", "x", "finalize"),
                     id="namespace finalize"),
        pytest.param("/apis/apps/v1/namespaces/d/deployments/web/scale",
                     RequestInfo("apps", "v1", "d", "deployments", "web", "scale", True), id="group scale"),
        pytest.param("/api/v1/nodes/n1", RequestInfo("", "v1", "", "nodes", "n1"), id="cluster scoped"),
        pytest.param("/api/v1", None, id="not a resource path"),
        pytest.param("/apis/apps", None, id="group only"),
    ],
)
def test_parse(path: str, expected: RequestInfo | None) -> None:
    assert parse_resource_path(path) == expected


def test_too_deep_is_404() -> None:
    with pytest.raises(StatusError) as info:
        parse_resource_path("/api/v1/namespaces/d/pods/a/b/c/d")
    assert info.value.code == 404
