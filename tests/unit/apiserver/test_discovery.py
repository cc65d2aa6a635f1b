import pytest

from kybernetes.api.registry import Registry
from kybernetes.apiserver import discovery


def test_legacy_resource_list_has_upstream_fields() -> None:
    doc = discovery.api_resource_list(Registry(), "apps", "v1")
    assert doc is not None
    entries = {e["name"]: e for e in doc["resources"]}
    deploy = entries["deployments"]
    assert deploy["kind"] == "Deployment" and deploy["namespaced"] is True
    assert deploy["shortNames"] == ["deploy"] and deploy["categories"] == ["all"]
    assert deploy["singularName"] == "deployment"
    scale = entries["deployments/scale"]
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")


def test_autoscaling_v2_is_preferred() -> None:
    group = discovery.api_group(Registry(), "autoscaling")
    assert group["preferredVersion"]["version"] == "v2"
    assert [v["version"] for v in group["versions"]] == ["v2", "v1"]


def test_aggregated_core_group() -> None:
    doc = discovery.aggregated(Registry(), True, "v2")
    assert doc["apiVersion"] == "apidiscovery.k8s.io/v2"
    (core,) = doc["items"]
    assert core["metadata"]["name"] == ""
    pods = next(r for r in core["versions"][0]["resources"] if r["resource"] == "pods")
    assert pods["scope"] == "Namespaced" and pods["shortNames"] == ["po"]
    assert {s["subresource"] for s in pods["subresources"]} >= {"status", "binding", "log", "exec"}


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        pytest.param("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;"
                     "g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json", "v2", id="1.32"),
        pytest.param("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json",
                     "v2beta1", id="1.27"),
        pytest.param("application/json", None, id="legacy"),
        pytest.param(None, None, id="none"),
    ],
)
def test_aggregated_version(accept: str | None, expected: str | None) -> None:
    assert discovery.aggregated_version(accept) == expected
