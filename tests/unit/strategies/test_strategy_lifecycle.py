"""Create/update/status-update preparation, immutability and generation rules."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kybernetes.api.strategies import generic_strategy, strategy_for

Obj = dict[str, Any]


def created(group: str, kind: str, obj: Obj) -> Obj:
    obj = copy.deepcopy(obj)
    strategy = strategy_for(group, kind)
    strategy.prepare_for_create(obj)
    strategy.default(obj)
    assert strategy.validate(obj) == []
    return obj


def update_errors(group: str, kind: str, old: Obj, new: Obj) -> list[str]:
    strategy = strategy_for(group, kind)
    new = copy.deepcopy(new)
    strategy.prepare_for_update(new, old)
    strategy.default(new)
    return [e.error() for e in strategy.validate_update(new, old)]


DEPLOY: Obj = {
    "metadata": {"name": "web", "namespace": "default", "uid": "d-1"},
    "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx"}]},
        },
    },
}
POD: Obj = {
    "metadata": {"name": "p", "namespace": "default"},
    "spec": {
        "containers": [{"name": "c", "image": "busybox:1"}],
        "tolerations": [{"key": "a", "operator": "Exists"}],
    },
}


def test_create_resets_client_status() -> None:
    obj = copy.deepcopy(DEPLOY)
    obj["status"] = {"replicas": 99}
    assert created("apps", "Deployment", obj)["status"] == {}


def test_update_keeps_old_status_and_status_update_keeps_old_spec() -> None:
    strategy = strategy_for("apps", "Deployment")
    old = created("apps", "Deployment", DEPLOY)
    old["status"] = {"replicas": 1}
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 3
    new["status"] = {"replicas": 50}
    strategy.prepare_for_update(new, old)
    assert new["status"] == {"replicas": 1}
    assert new["spec"]["replicas"] == 3

    status_new = copy.deepcopy(old)
    status_new["spec"]["replicas"] = 7
    status_new["status"] = {"replicas": 2}
    status_new["metadata"]["labels"] = {"x": "y"}
    status_new["metadata"]["finalizers"] = ["example.com/f"]
    strategy.prepare_for_status_update(status_new, old)
    assert status_new["spec"] == old["spec"]
    assert status_new["status"] == {"replicas": 2}
    assert status_new["metadata"]["labels"] == {"x": "y"}
    assert "finalizers" not in status_new["metadata"]


@pytest.mark.parametrize(
    ("group", "kind", "change", "bumps"),
    [
        pytest.param("apps", "Deployment", {"spec": {"replicas": 3}}, True, id="deployment-spec"),
        pytest.param(
            "apps", "Deployment", {"metadata": {"annotations": {"a": "b"}}}, True, id="deployment-annotations"
        ),
        pytest.param(
            "apps", "Deployment", {"metadata": {"labels": {"a": "b"}}}, False, id="deployment-labels"
        ),
        pytest.param(
            "apps", "ReplicaSet", {"metadata": {"annotations": {"a": "b"}}}, False, id="rs-annotations"
        ),
        pytest.param("apps", "ReplicaSet", {"spec": {"replicas": 3}}, True, id="rs-spec"),
        pytest.param("batch", "Job", {"spec": {"suspend": True}}, True, id="job-spec"),
        pytest.param("", "Pod", {"spec": {"activeDeadlineSeconds": 5}}, False, id="pod-never"),
        pytest.param("", "Service", {"spec": {"selector": {"a": "b"}}}, False, id="service-never"),
        pytest.param("", "Namespace", {"spec": {"finalizers": []}}, False, id="namespace-never"),
        pytest.param(
            "autoscaling", "HorizontalPodAutoscaler", {"spec": {"maxReplicas": 9}}, False, id="hpa-never"
        ),
    ],
)
def test_generation_changes(group: str, kind: str, change: Obj, bumps: bool) -> None:
    old: Obj = {"metadata": {"name": "x"}, "spec": {"replicas": 1}}
    new = copy.deepcopy(old)
    for key, value in change.items():
        new.setdefault(key, {}).update(value)
    assert strategy_for(group, kind).generation_changes(new, old) is bumps


@pytest.mark.parametrize(
    ("has_status", "change", "bumps"),
    [
        pytest.param(True, {"status": {"x": 1}}, False, id="status-only"),
        pytest.param(True, {"spec": {"x": 2}}, True, id="spec"),
        pytest.param(False, {"status": {"x": 1}}, True, id="no-subresource-status-counts"),
        pytest.param(False, {"metadata": {"name": "x", "labels": {"a": "b"}}}, False, id="metadata"),
    ],
)
def test_custom_resource_generation(has_status: bool, change: Obj, bumps: bool) -> None:
    old: Obj = {"metadata": {"name": "x"}, "spec": {"x": 1}}
    new = {**copy.deepcopy(old), **change}
    assert generic_strategy(has_status).generation_changes(new, old) is bumps


def test_deployment_selector_is_immutable() -> None:
    old = created("apps", "Deployment", DEPLOY)
    new = copy.deepcopy(old)
    new["spec"]["selector"] = {"matchLabels": {"app": "b"}}
    new["spec"]["template"]["metadata"]["labels"] = {"app": "b"}
    assert update_errors("apps", "Deployment", old, new) == [
        'spec.selector: Invalid value: &v1.LabelSelector{MatchLabels:map[string]string{"app":"b"}, '
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
    ]


def test_pod_update_image_allowed_other_fields_forbidden() -> None:
    old = created("", "Pod", POD)
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "busybox:2"
    new["spec"]["tolerations"].append({"key": "b", "operator": "Exists"})
    new["spec"]["activeDeadlineSeconds"] = 30
    assert update_errors("", "Pod", old, new) == []
    new["spec"]["containers"][0]["ports"] = [{"containerPort": 80}]
    errs = update_errors("", "Pod", old, new)
    assert len(errs) == 1
    assert errs[0].startswith(
        "spec: Forbidden: pod updates may not change fields other than "
        "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
        "`spec.tolerations` (only additions to existing tolerations),"
        "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously "
        "negative)\n"
    )


def test_pod_update_removing_toleration_is_forbidden() -> None:
    old = created("", "Pod", POD)
    new = copy.deepcopy(old)
    new["spec"]["tolerations"] = []
    assert any(e.startswith("spec.tolerations[0]: Forbidden") for e in update_errors("", "Pod", old, new))


def test_service_update_keeps_allocated_cluster_ip_and_rejects_change() -> None:
    old = created("", "Service", {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}})
    old["spec"]["clusterIP"] = "10.43.0.20"
    old["spec"]["clusterIPs"] = ["10.43.0.20"]
    applied = {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}], "selector": {"app": "x"}}}
    strategy = strategy_for("", "Service")
    new = copy.deepcopy(applied)
    strategy.prepare_for_update(new, old)
    assert new["spec"]["clusterIP"] == "10.43.0.20"
    assert new["spec"]["clusterIPs"] == ["10.43.0.20"]
    changed = copy.deepcopy(old)
    changed["spec"]["clusterIP"] = "10.43.0.21"
    changed["spec"]["clusterIPs"] = ["10.43.0.21"]
    assert update_errors("", "Service", old, changed) == [
        'spec.clusterIPs[0]: Invalid value: []string{"10.43.0.21"}: may not change once set'
    ]


def test_immutable_configmap_and_secret() -> None:
    old = {"metadata": {"name": "c"}, "data": {"a": "1"}, "immutable": True}
    new = {"metadata": {"name": "c"}, "data": {"a": "2"}, "immutable": True}
    assert update_errors("", "ConfigMap", old, new) == [
        "data: Forbidden: field is immutable when `immutable` is set"
    ]
    sold = created("", "Secret", {"metadata": {"name": "s"}, "data": {"a": "MQ=="}})
    snew = copy.deepcopy(sold)
    snew["type"] = "kubernetes.io/tls"
    snew["data"] = {"tls.crt": "", "tls.key": ""}
    assert update_errors("", "Secret", sold, snew) == [
        'type: Invalid value: "kubernetes.io/tls": field is immutable'
    ]


def test_job_template_is_immutable() -> None:
    job = {
        "metadata": {"name": "j", "uid": "u"},
        "spec": {
            "template": {"spec": {"containers": [{"name": "c", "image": "x"}], "restartPolicy": "Never"}}
        },
    }
    old = created("batch", "Job", job)
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "y"
    errs = update_errors("batch", "Job", old, new)
    assert len(errs) == 1 and errs[0].startswith("spec.template: Invalid value: ")
    assert errs[0].endswith(": field is immutable")


def test_pvc_spec_immutable_except_requests_when_bound() -> None:
    old = created(
        "",
        "PersistentVolumeClaim",
        {
            "metadata": {"name": "c"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        },
    )
    old["status"] = {"phase": "Bound"}
    grow = copy.deepcopy(old)
    grow["spec"]["resources"]["requests"]["storage"] = "2Gi"
    assert update_errors("", "PersistentVolumeClaim", old, grow) == []
    modes = copy.deepcopy(old)
    modes["spec"]["accessModes"] = ["ReadWriteMany"]
    assert update_errors("", "PersistentVolumeClaim", old, modes) == [
        "spec: Forbidden: spec is immutable after creation except resources.requests and "
        "volumeAttributesClassName for bound claims"
    ]


def test_namespace_finalizers_survive_plain_update() -> None:
    old = created("", "Namespace", {"metadata": {"name": "dev"}})
    new = {"metadata": {"name": "dev"}, "spec": {}}
    strategy_for("", "Namespace").prepare_for_update(new, old)
    assert new["spec"] == {"finalizers": ["kubernetes"]}
    assert new["status"] == {"phase": "Active"}


def test_statefulset_forbidden_spec_update() -> None:
    sts = {
        "metadata": {"name": "s"},
        "spec": {
            "serviceName": "a",
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "x"}]},
            },
        },
    }
    old = created("apps", "StatefulSet", sts)
    new = copy.deepcopy(old)
    new["spec"]["serviceName"] = "b"
    assert update_errors("apps", "StatefulSet", old, new) == [
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', "
        "'template', "
        "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and "
        "'minReadySeconds' "
        "are forbidden"
    ]
    new["spec"]["serviceName"] = "a"
    new["spec"]["replicas"] = 4
    assert update_errors("apps", "StatefulSet", old, new) == []


def test_metadata_name_is_immutable() -> None:
    old = created("", "ConfigMap", {"metadata": {"name": "a", "uid": "1"}})
    new = {"metadata": {"name": "b", "uid": "1"}}
    assert update_errors("", "ConfigMap", old, new) == [
        'metadata.name: Invalid value: "b": field is immutable'
    ]
