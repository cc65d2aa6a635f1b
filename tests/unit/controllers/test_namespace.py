"""Namespace deletion conditions, the ServiceAccount controller's and the root CA publisher's decisions."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.client.rest import resource
from kybernetes.controllers.namespace import (
    DeletionReport,
    count_remaining,
    namespace_conditions,
    needs_cleanup,
    wanted_conditions,
)
from kybernetes.controllers.rootcacert import DESCRIPTION, DESCRIPTION_ANNOTATION, desired_configmap
from kybernetes.controllers.serviceaccount import missing_accounts

Obj = dict[str, Any]
PODS = resource("", "v1", "pods")
DEPLOYMENTS = resource("apps", "v1", "deployments")
NOW = "2024-05-01T10:00:00Z"


def report(**kw: Any) -> DeletionReport:
    return DeletionReport(**kw)


@pytest.mark.parametrize(("rep", "ctype", "want"), [
    pytest.param(report(), "NamespaceContentRemaining", ("False", "ContentRemoved", "All content successfully removed"),
                 id="all-removed"),
    pytest.param(report(remaining={("pods", ""): 2, ("deployments", "apps"): 1}), "NamespaceContentRemaining",
                 ("True", "SomeResourcesRemain",
                  "Some resources are remaining: deployments.apps has 1 resource instances, pods. has 2 resource "
                  "instances"), id="resources-remain"),
    pytest.param(report(finalizers={"example.com/x": 1}), "NamespaceFinalizersRemaining",
                 ("True", "SomeFinalizersRemain",
                  "Some content in the namespace has finalizers remaining: example.com/x in 1 resource instances"),
                 id="finalizers-remain"),
    pytest.param(report(), "NamespaceFinalizersRemaining",
                 ("False", "ContentHasNoFinalizers", "All content-preserving finalizers finished"), id="no-finalizers"),
    pytest.param(report(delete_errors=["pods.: boom"]), "NamespaceDeletionContentFailure",
                 ("True", "ContentDeletionFailed", "Failed to delete all resource types, 1 remaining: pods.: boom"),
                 id="delete-failed"),
    pytest.param(report(), "NamespaceDeletionDiscoveryFailure",
                 ("False", "ResourcesDiscovered", "All resources successfully discovered"), id="discovered"),
    pytest.param(report(discovery_failed={"metrics.k8s.io/v1beta1": "503"}), "NamespaceDeletionDiscoveryFailure",
                 ("True", "DiscoveryFailed", "Discovery failed for some groups, 1 failing: unable to retrieve the "
                  "complete list of server APIs: metrics.k8s.io/v1beta1: 503"), id="discovery-failed"),
])
def test_wanted_conditions(rep: DeletionReport, ctype: str, want: tuple[str, str, str]) -> None:
    assert wanted_conditions(rep)[ctype] == want


def test_conditions_keep_transition_time_unless_status_flips() -> None:
    first, changed = namespace_conditions([], report(remaining={("pods", ""): 1}), NOW)
    assert changed and [c["type"] for c in first] == [
        "NamespaceDeletionDiscoveryFailure", "NamespaceDeletionGroupVersionParsingFailure",
        "NamespaceDeletionContentFailure", "NamespaceContentRemaining", "NamespaceFinalizersRemaining"]
    same, changed = namespace_conditions(first, report(remaining={("pods", ""): 1}), "2030-01-01T00:00:00Z")
    assert not changed and same == first
    later, changed = namespace_conditions(first, report(), "2030-01-01T00:00:00Z")
    content = next(c for c in later if c["type"] == "NamespaceContentRemaining")
    discovery = next(c for c in later if c["type"] == "NamespaceDeletionDiscoveryFailure")
    assert changed and content["lastTransitionTime"] == "2030-01-01T00:00:00Z" and content["status"] == "False"
    assert discovery["lastTransitionTime"] == NOW


def test_count_remaining_counts_objects_and_finalizers() -> None:
    rep = DeletionReport()
    count_remaining(PODS, [{"metadata": {"finalizers": ["a/b"]}}, {"metadata": {}}], rep)
    count_remaining(DEPLOYMENTS, [], rep)
    assert rep.remaining == {("pods", ""): 2} and rep.finalizers == {"a/b": 1} and not rep.done


@pytest.mark.parametrize(("ns", "want"), [
    pytest.param({"metadata": {}, "spec": {"finalizers": ["kubernetes"]}}, False, id="active"),
    pytest.param({"metadata": {"deletionTimestamp": NOW}, "spec": {"finalizers": ["kubernetes"]}}, True,
                 id="terminating"),
    pytest.param({"metadata": {"deletionTimestamp": NOW}, "spec": {}}, False, id="already-finalized"),
])
def test_needs_cleanup(ns: Obj, want: bool) -> None:
    assert needs_cleanup(ns) is want


@pytest.mark.parametrize(("ns", "existing", "want"), [
    pytest.param({"metadata": {"name": "a"}, "status": {"phase": "Active"}}, set(), ["default"], id="missing"),
    pytest.param({"metadata": {"name": "a"}, "status": {"phase": "Active"}}, {"default"}, [], id="present"),
    pytest.param({"metadata": {"name": "a", "deletionTimestamp": NOW}, "status": {"phase": "Terminating"}}, set(), [],
                 id="terminating"),
    pytest.param(None, set(), [], id="gone"),
])
def test_missing_accounts(ns: Obj | None, existing: set[str], want: list[str]) -> None:
    assert missing_accounts(ns, existing) == want


PEM = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize(("current", "action"), [
    pytest.param(None, "create", id="missing"),
    pytest.param({"metadata": {"annotations": {DESCRIPTION_ANNOTATION: DESCRIPTION}}, "data": {"ca.crt": PEM}}, "none",
                 id="current"),
    pytest.param({"metadata": {"annotations": {DESCRIPTION_ANNOTATION: DESCRIPTION}}, "data": {"ca.crt": "old"}},
                 "update", id="stale-ca"),
    pytest.param({"metadata": {}, "data": {"ca.crt": PEM}}, "update", id="missing-annotation"),
])
def test_desired_configmap(current: Obj | None, action: str) -> None:
    got, obj = desired_configmap("ns", PEM, current)
    assert got == action
    if obj is not None:
        assert obj["data"] == {"ca.crt": PEM}
        assert obj["metadata"]["annotations"][DESCRIPTION_ANNOTATION] == DESCRIPTION
