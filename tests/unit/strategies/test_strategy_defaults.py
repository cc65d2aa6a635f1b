"""Defaulting: what kubectl sends must come back exactly as upstream's API server returns it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kybernetes.api.strategies import strategy_for

Obj = dict[str, Any]

# What upstream returns for a defaulted pod template with one `nginx` container (no tag → Always).
TEMPLATE_SPEC = {
    "containers": [
        {
            "name": "nginx",
            "image": "nginx",
            "resources": {},
            "imagePullPolicy": "Always",
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
        }
    ],
    "restartPolicy": "Always",
    "terminationGracePeriodSeconds": 30,
    "dnsPolicy": "ClusterFirst",
    "securityContext": {},
    "schedulerName": "default-scheduler",
}


def create(group: str, kind: str, obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    strategy = strategy_for(group, kind)
    strategy.prepare_for_create(out)
    strategy.default(out)
    assert strategy.validate(out) == [], [e.error() for e in strategy.validate(out)]
    return out


def test_kubectl_create_deployment_defaults_exactly() -> None:
    sent = {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {"name": "nginx", "labels": {"app": "nginx"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx", "resources": {}}]},
            },
            "strategy": {},
        },
        "status": {},
    }
    want = {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {"name": "nginx", "labels": {"app": "nginx"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {"metadata": {"labels": {"app": "nginx"}}, "spec": TEMPLATE_SPEC},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
        "status": {},
    }
    assert create("apps", "Deployment", sent) == want


def test_kubectl_run_pod_defaults_exactly() -> None:
    sent = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "labels": {"run": "web"}},
        "spec": {
            "containers": [
                {"name": "web", "image": "nginx:1.25", "resources": {}, "ports": [{"containerPort": 80}]}
            ],
            "dnsPolicy": "ClusterFirst",
            "restartPolicy": "Always",
        },
        "status": {},
    }
    got = create("", "Pod", sent)
    assert got["spec"] == {
        "containers": [
            {
                "name": "web",
                "image": "nginx:1.25",
                "resources": {},
                "ports": [{"containerPort": 80, "protocol": "TCP"}],
                "imagePullPolicy": "IfNotPresent",
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
            }
        ],
        "dnsPolicy": "ClusterFirst",
        "restartPolicy": "Always",
        "securityContext": {},
        "terminationGracePeriodSeconds": 30,
        "schedulerName": "default-scheduler",
        "enableServiceLinks": True,
    }
    assert got["status"] == {"phase": "Pending", "qosClass": "BestEffort"}


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        pytest.param("nginx", "Always", id="no-tag"),
        pytest.param("nginx:latest", "Always", id="latest"),
        pytest.param("nginx:1.25", "IfNotPresent", id="tag"),
        pytest.param("localhost:5000/nginx", "Always", id="registry-port-no-tag"),
        pytest.param("localhost:5000/nginx:v1", "IfNotPresent", id="registry-port-tag"),
        pytest.param("nginx@sha256:" + "a" * 64, "IfNotPresent", id="digest"),
    ],
)
def test_image_pull_policy(image: str, policy: str) -> None:
    got = create(
        "", "Pod", {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": image}]}}
    )
    assert got["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_pod_nested_defaults() -> None:
    pod = {
        "metadata": {"name": "p"},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "busybox",
                    "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                    "livenessProbe": {"httpGet": {"port": 8080}},
                    "readinessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 5},
                    "resources": {"limits": {"cpu": "0.5", "memory": "128Mi"}},
                }
            ],
            "volumes": [
                {"name": "a", "configMap": {"name": "cm"}},
                {"name": "b", "secret": {"secretName": "s"}},
                {"name": "c"},
                {"name": "d", "hostPath": {"path": "/tmp"}},
            ],
        },
    }
    got = create("", "Pod", pod)
    ctr = got["spec"]["containers"][0]
    assert ctr["env"][0]["valueFrom"]["fieldRef"] == {"fieldPath": "metadata.name", "apiVersion": "v1"}
    assert ctr["livenessProbe"] == {
        "httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert ctr["readinessProbe"]["periodSeconds"] == 5
    assert ctr["resources"] == {
        "limits": {"cpu": "500m", "memory": "128Mi"},
        "requests": {"cpu": "500m", "memory": "128Mi"},
    }
    assert got["status"]["qosClass"] == "Guaranteed"
    assert got["spec"]["volumes"] == [
        {"name": "a", "configMap": {"name": "cm", "defaultMode": 420}},
        {"name": "b", "secret": {"secretName": "s", "defaultMode": 420}},
        {"name": "c", "emptyDir": {}},
        {"name": "d", "hostPath": {"path": "/tmp", "type": ""}},
    ]


def test_kubectl_expose_service_defaults() -> None:
    sent = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"labels": {"app": "nginx"}, "name": "nginx"},
        "spec": {
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
            "selector": {"app": "nginx"},
            "type": "ClusterIP",
        },
        "status": {"loadBalancer": {}},
    }
    got = create("", "Service", sent)
    assert got["spec"] == {
        "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
        "selector": {"app": "nginx"},
        "type": "ClusterIP",
        "sessionAffinity": "None",
        "internalTrafficPolicy": "Cluster",
        "ipFamilyPolicy": "SingleStack",
        "ipFamilies": ["IPv4"],
    }
    assert got["status"] == {"loadBalancer": {}}


def test_nodeport_service_defaults() -> None:
    got = create(
        "", "Service", {"metadata": {"name": "np"}, "spec": {"type": "NodePort", "ports": [{"port": 80}]}}
    )
    assert got["spec"]["externalTrafficPolicy"] == "Cluster"
    assert got["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]


def test_job_selector_and_labels_from_uid() -> None:
    sent = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "pi", "uid": "u-1"},
        "spec": {
            "template": {
                "metadata": {},
                "spec": {
                    "containers": [{"name": "pi", "image": "perl", "resources": {}}],
                    "restartPolicy": "Never",
                },
            }
        },
        "status": {},
    }
    got = create("batch", "Job", sent)
    labels = {
        "batch.kubernetes.io/controller-uid": "u-1",
        "batch.kubernetes.io/job-name": "pi",
        "controller-uid": "u-1",
        "job-name": "pi",
    }
    assert got["metadata"]["labels"] == labels
    spec = got["spec"]
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}}
    assert spec["template"]["metadata"]["labels"] == labels
    assert {
        k: spec[k]
        for k in (
            "parallelism",
            "completions",
            "backoffLimit",
            "completionMode",
            "suspend",
            "podReplacementPolicy",
        )
    } == {
        "parallelism": 1,
        "completions": 1,
        "backoffLimit": 6,
        "completionMode": "NonIndexed",
        "suspend": False,
        "podReplacementPolicy": "TerminatingOrFailed",
    }
    assert "manualSelector" not in spec
    assert got["status"] == {}


@pytest.mark.parametrize(
    ("given", "want"),
    [
        pytest.param({}, {"completions": 1, "parallelism": 1}, id="neither"),
        pytest.param({"completions": 5}, {"completions": 5, "parallelism": 1}, id="completions-only"),
        pytest.param({"parallelism": 3}, {"parallelism": 3}, id="parallelism-only-work-queue"),
    ],
)
def test_job_completions_parallelism(given: Obj, want: Obj) -> None:
    job = {
        "metadata": {"name": "j", "uid": "u"},
        "spec": {
            **given,
            "template": {
                "spec": {"containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "OnFailure"}
            },
        },
    }
    spec = create("batch", "Job", job)["spec"]
    assert {k: spec[k] for k in ("completions", "parallelism") if k in spec} == want


def test_cronjob_defaults() -> None:
    got = create(
        "batch",
        "CronJob",
        {
            "metadata": {"name": "c"},
            "spec": {
                "schedule": "*/1 * * * *",
                "jobTemplate": {
                    "metadata": {"name": "c"},
                    "spec": {
                        "template": {
                            "spec": {
                                "containers": [{"name": "c", "image": "busybox"}],
                                "restartPolicy": "OnFailure",
                            }
                        }
                    },
                },
            },
        },
    )
    spec = got["spec"]
    assert {
        k: spec[k]
        for k in ("concurrencyPolicy", "suspend", "successfulJobsHistoryLimit", "failedJobsHistoryLimit")
    } == {
        "concurrencyPolicy": "Allow",
        "suspend": False,
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 1,
    }
    assert "backoffLimit" not in spec["jobTemplate"]["spec"]
    assert spec["jobTemplate"]["spec"]["template"]["spec"]["schedulerName"] == "default-scheduler"


def test_daemonset_defaults() -> None:
    got = create(
        "apps",
        "DaemonSet",
        {
            "metadata": {"name": "d"},
            "spec": {
                "selector": {"matchLabels": {"a": "b"}},
                "template": {
                    "metadata": {"labels": {"a": "b"}},
                    "spec": {"containers": [{"name": "c", "image": "x"}]},
                },
            },
        },
    )
    assert got["spec"]["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
    }
    assert got["spec"]["revisionHistoryLimit"] == 10


def test_statefulset_defaults() -> None:
    got = create(
        "apps",
        "StatefulSet",
        {
            "metadata": {"name": "s"},
            "spec": {
                "serviceName": "s",
                "selector": {"matchLabels": {"a": "b"}},
                "template": {
                    "metadata": {"labels": {"a": "b"}},
                    "spec": {"containers": [{"name": "c", "image": "x"}]},
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}},
                        },
                    }
                ],
            },
        },
    )
    spec = got["spec"]
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    assert (spec["replicas"], spec["revisionHistoryLimit"]) == (1, 10)
    claim = spec["volumeClaimTemplates"][0]
    assert claim["spec"]["volumeMode"] == "Filesystem"
    assert claim["status"] == {"phase": "Pending"}


def test_replication_controller_selector_from_template() -> None:
    got = create(
        "",
        "ReplicationController",
        {
            "metadata": {"name": "rc"},
            "spec": {
                "template": {
                    "metadata": {"labels": {"app": "x"}},
                    "spec": {"containers": [{"name": "c", "image": "x"}]},
                }
            },
        },
    )
    assert got["spec"]["selector"] == {"app": "x"}
    assert got["metadata"]["labels"] == {"app": "x"}
    assert got["spec"]["replicas"] == 1


def test_hpa_from_kubectl_autoscale_gets_cpu_80() -> None:
    got = create(
        "autoscaling",
        "HorizontalPodAutoscaler",
        {
            "metadata": {"name": "h"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "maxReplicas": 5,
            },
        },
    )
    assert got["spec"]["minReplicas"] == 1
    assert got["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
        }
    ]
    assert "behavior" not in got["spec"]


def test_hpa_behavior_defaults_fill_missing_rules() -> None:
    got = create(
        "autoscaling",
        "HorizontalPodAutoscaler",
        {
            "metadata": {"name": "h"},
            "spec": {
                "scaleTargetRef": {"kind": "Deployment", "name": "web"},
                "maxReplicas": 5,
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}},
            },
        },
    )
    assert got["spec"]["behavior"] == {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15},
            ],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": 60,
            "selectPolicy": "Max",
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
        },
    }


@pytest.mark.parametrize(
    ("group", "kind", "obj", "want"),
    [
        pytest.param(
            "",
            "Namespace",
            {"metadata": {"name": "dev"}},
            {
                "metadata": {"name": "dev", "labels": {"kubernetes.io/metadata.name": "dev"}},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            },
            id="namespace",
        ),
        pytest.param(
            "",
            "Secret",
            {"metadata": {"name": "s"}, "stringData": {"k": "v"}},
            {"metadata": {"name": "s"}, "type": "Opaque", "data": {"k": "dg=="}},
            id="secret",
        ),
        pytest.param(
            "",
            "PersistentVolumeClaim",
            {
                "metadata": {"name": "c"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1000Mi"}}},
            },
            {
                "metadata": {"name": "c"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "volumeMode": "Filesystem",
                    "resources": {"requests": {"storage": "1000Mi"}},
                },
                "status": {"phase": "Pending"},
            },
            id="pvc",
        ),
        pytest.param(
            "storage.k8s.io",
            "StorageClass",
            {"metadata": {"name": "sc"}, "provisioner": "x.io/p"},
            {
                "metadata": {"name": "sc"},
                "provisioner": "x.io/p",
                "reclaimPolicy": "Delete",
                "volumeBindingMode": "Immediate",
            },
            id="storageclass",
        ),
        pytest.param(
            "discovery.k8s.io",
            "EndpointSlice",
            {
                "metadata": {"name": "e"},
                "addressType": "IPv4",
                "endpoints": [{"addresses": ["10.0.0.1"]}],
                "ports": [{"port": 80}],
            },
            {
                "metadata": {"name": "e"},
                "addressType": "IPv4",
                "endpoints": [{"addresses": ["10.0.0.1"]}],
                "ports": [{"port": 80, "name": "", "protocol": "TCP"}],
            },
            id="endpointslice",
        ),
    ],
)
def test_simple_kind_defaults(group: str, kind: str, obj: Obj, want: Obj) -> None:
    assert create(group, kind, obj) == want


def test_pv_defaults() -> None:
    got = create(
        "",
        "PersistentVolume",
        {
            "metadata": {"name": "pv"},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteOnce"],
                "hostPath": {"path": "/data"},
            },
        },
    )
    assert got["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert got["spec"]["volumeMode"] == "Filesystem"
    assert got["status"]["phase"] == "Pending"


def test_crd_defaults() -> None:
    got = create(
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        {
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "scope": "Namespaced",
                "names": {"plural": "widgets", "kind": "Widget"},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {"openAPIV3Schema": {"type": "object"}},
                    }
                ],
            },
        },
    )
    assert got["spec"]["names"] == {
        "plural": "widgets",
        "kind": "Widget",
        "singular": "widget",
        "listKind": "WidgetList",
    }
    assert got["spec"]["conversion"] == {"strategy": "None"}
    assert got["status"] == {"acceptedNames": {"kind": "", "plural": ""}, "storedVersions": ["v1"]}


def test_defaulting_does_not_override_user_values() -> None:
    sent = {
        "metadata": {"name": "d"},
        "spec": {
            "replicas": 0,
            "revisionHistoryLimit": 0,
            "selector": {"matchLabels": {"a": "b"}},
            "strategy": {"type": "Recreate"},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {
                    "containers": [{"name": "c", "image": "x", "imagePullPolicy": "Never"}],
                    "terminationGracePeriodSeconds": 0,
                },
            },
        },
    }
    spec = create("apps", "Deployment", sent)["spec"]
    assert (spec["replicas"], spec["revisionHistoryLimit"]) == (0, 0)
    assert spec["strategy"] == {"type": "Recreate"}
    assert spec["template"]["spec"]["terminationGracePeriodSeconds"] == 0
    assert spec["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Never"
