"""Validation messages users see through kubectl (``The <Kind> "x" is invalid: <these>``)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kybernetes.api.strategies import generic_strategy, strategy_for

Obj = dict[str, Any]


def deployment(**spec: Any) -> Obj:
    base: Obj = {
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx"}]},
            },
        },
    }
    base["spec"].update(spec)
    return base


def errors(group: str, kind: str, obj: Obj) -> list[str]:
    obj = copy.deepcopy(obj)
    strategy = strategy_for(group, kind)
    strategy.prepare_for_create(obj)
    strategy.default(obj)
    return [e.error() for e in strategy.validate(obj)]


def pod(**spec: Any) -> Obj:
    base: Obj = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    base["spec"].update(spec)
    return base


@pytest.mark.parametrize(
    ("group", "kind", "obj", "want"),
    [
        pytest.param(
            "apps",
            "Deployment",
            deployment(
                template={
                    "metadata": {"labels": {"app": "y"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx"}]},
                }
            ),
            [
                'spec.template.metadata.labels: Invalid value: map[string]string{"app":"y"}: '
                "`selector` does not match template `labels`"
            ],
            id="deployment-selector-mismatch",
        ),
        pytest.param(
            "apps",
            "Deployment",
            deployment(replicas=-1),
            ["spec.replicas: Invalid value: -1: must be greater than or equal to 0"],
            id="negative-replicas",
        ),
        pytest.param(
            "apps",
            "Deployment",
            deployment(
                template={"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web"}]}}
            ),
            ["spec.template.spec.containers[0].image: Required value"],
            id="image-required",
        ),
        pytest.param(
            "apps",
            "Deployment",
            deployment(
                template={
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "a"}, {"name": "web", "image": "b"}]},
                }
            ),
            ['spec.template.spec.containers[1].name: Duplicate value: "web"'],
            id="duplicate-container",
        ),
        pytest.param(
            "apps",
            "Deployment",
            deployment(selector={"matchLabels": {}}),
            [
                "spec.selector: Invalid value: &v1.LabelSelector{MatchLabels:map[string]string(nil), "
                "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid "
                "for deployment"
            ],
            id="empty-selector",
        ),
        pytest.param(
            "apps",
            "Deployment",
            deployment(strategy={"type": "Rolling"}),
            [
                'spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:"Rolling", '
                'RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: "Recreate", '
                '"RollingUpdate"'
            ],
            id="bad-strategy",
        ),
        pytest.param(
            "apps",
            "Deployment",
            deployment(
                strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}
            ),
            [
                "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when "
                "`maxSurge` is 0"
            ],
            id="zero-surge-and-unavailable",
        ),
        pytest.param(
            "",
            "Pod",
            pod(containers=[{"name": "Web_1", "image": "x"}]),
            [
                'spec.containers[0].name: Invalid value: "Web_1": a lowercase RFC 1123 label must consist of '
                "lower case alphanumeric characters or '-', and must start and end with an alphanumeric "
                "character (e.g. 'my-name',  or '123-abc', regex used for validation is "
                "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
            ],
            id="container-name",
        ),
        pytest.param(
            "",
            "Pod",
            pod(containers=[{"name": "c", "image": "x", "ports": [{"containerPort": 70000}]}]),
            [
                "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 "
                "and 65535, "
                "inclusive"
            ],
            id="container-port-range",
        ),
        pytest.param(
            "",
            "Pod",
            pod(
                containers=[{"name": "c", "image": "x", "ports": [{"containerPort": 80, "protocol": "HTTP"}]}]
            ),
            [
                'spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", '
                '"TCP", "UDP"'
            ],
            id="port-protocol",
        ),
        pytest.param("", "Pod", pod(containers=[]), ["spec.containers: Required value"], id="no-containers"),
        pytest.param(
            "",
            "Pod",
            pod(restartPolicy="Sometimes"),
            [
                'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", '
                '"OnFailure", '
                '"Never"'
            ],
            id="restart-policy",
        ),
        pytest.param(
            "",
            "Pod",
            pod(
                containers=[
                    {"name": "c", "image": "x", "volumeMounts": [{"name": "data", "mountPath": "/d"}]}
                ]
            ),
            ['spec.containers[0].volumeMounts[0].name: Not found: "data"'],
            id="mount-without-volume",
        ),
        pytest.param(
            "",
            "Pod",
            pod(
                containers=[
                    {
                        "name": "c",
                        "image": "x",
                        "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}},
                    }
                ]
            ),
            [
                'spec.containers[0].resources.requests: Invalid value: "2": must be less than or '
                "equal to cpu "
                "limit of 1"
            ],
            id="requests-over-limits",
        ),
        pytest.param(
            "",
            "Pod",
            pod(containers=[{"name": "c", "image": "x", "resources": {"limits": {"cpu": "1x"}}}]),
            [
                'spec.containers[0].resources.limits[cpu]: Invalid value: "1x": quantities must match the '
                "regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                'spec.containers[0].resources.requests[cpu]: Invalid value: "1x": quantities must match the '
                "regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            ],
            id="bad-quantity-also-copied-to-requests",
        ),
        pytest.param(
            "",
            "Pod",
            {"metadata": {}, "spec": {"containers": [{"name": "c", "image": "x"}]}},
            ["metadata.name: Required value: name or generateName is required"],
            id="name-required",
        ),
        pytest.param(
            "",
            "Pod",
            {"metadata": {"generateName": "web-"}, "spec": {"containers": [{"name": "c", "image": "x"}]}},
            ["metadata.name: Required value: name or generateName is required"],
            id="generate-name-server-fills-name",
        ),
        pytest.param(
            "",
            "Pod",
            {
                "metadata": {"name": "p", "labels": {"a": "b c"}},
                "spec": {"containers": [{"name": "c", "image": "x"}]},
            },
            [
                'metadata.labels: Invalid value: "b c": a valid label must be an empty string or consist of '
                "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                "alphanumeric character "
                "(e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
            ],
            id="label-value",
        ),
        pytest.param(
            "",
            "Service",
            {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 0, "targetPort": 80}]}},
            ["spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"],
            id="svc-port",
        ),
        pytest.param(
            "",
            "Service",
            {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 0}]}},
            [
                "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
            ],
            id="svc-port-defaulted-target-port",
        ),
        pytest.param(
            "",
            "Service",
            {"metadata": {"name": "1web"}, "spec": {"ports": [{"port": 80}]}},
            [
                'metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case '
                "alphanumeric "
                "characters or '-', start with an alphabetic character, and end with an "
                "alphanumeric character "
                "(e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
            ],
            id="svc-name-dns1035",
        ),
        pytest.param(
            "",
            "Service",
            {"metadata": {"name": "web"}, "spec": {"type": "Magic", "ports": [{"port": 80}]}},
            [
                'spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", '
                '"LoadBalancer", "NodePort"'
            ],
            id="svc-type",
        ),
        pytest.param(
            "",
            "Service",
            {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}, {"port": 81, "name": "b"}]}},
            ["spec.ports[0].name: Required value"],
            id="svc-multi-port-names",
        ),
        pytest.param(
            "",
            "Service",
            {"metadata": {"name": "web"}, "spec": {}},
            ["spec.ports: Required value"],
            id="svc-ports-required",
        ),
        pytest.param(
            "",
            "Namespace",
            {"metadata": {"name": "my.ns"}},
            [
                'metadata.name: Invalid value: "my.ns": a lowercase RFC 1123 label must consist of '
                "lower case "
                "alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. "
                "'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
            ],
            id="namespace-name-label",
        ),
        pytest.param(
            "",
            "ConfigMap",
            {"metadata": {"name": "c"}, "data": {"a b": "x"}},
            [
                'data[a b]: Invalid value: "a b": a valid config key must consist of alphanumeric '
                "characters, "
                "'-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for "
                "validation is "
                "'[-._a-zA-Z0-9]+')"
            ],
            id="configmap-key",
        ),
        pytest.param(
            "",
            "Secret",
            {"metadata": {"name": "s"}, "type": "kubernetes.io/tls", "data": {"tls.crt": ""}},
            ["data[tls.key]: Required value"],
            id="tls-secret",
        ),
        pytest.param(
            "batch",
            "Job",
            {
                "metadata": {"name": "j", "uid": "u"},
                "spec": {
                    "template": {
                        "spec": {"containers": [{"name": "c", "image": "x"}], "restartPolicy": "Always"}
                    }
                },
            },
            [
                'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: '
                '"OnFailure", '
                '"Never"'
            ],
            id="job-restart-policy",
        ),
        pytest.param(
            "batch",
            "CronJob",
            {
                "metadata": {"name": "c"},
                "spec": {
                    "schedule": "bogus",
                    "jobTemplate": {
                        "spec": {
                            "template": {
                                "spec": {
                                    "containers": [{"name": "c", "image": "x"}],
                                    "restartPolicy": "Never",
                                }
                            }
                        }
                    },
                },
            },
            ['spec.schedule: Invalid value: "bogus": expected exactly 5 fields, found 1: [bogus]'],
            id="cron-schedule",
        ),
        pytest.param(
            "",
            "PersistentVolumeClaim",
            {"metadata": {"name": "c"}, "spec": {"resources": {}}},
            [
                "spec.accessModes: Required value: at least 1 access mode is required",
                "spec.resources[storage]: Required value",
            ],
            id="pvc-required",
        ),
        pytest.param(
            "autoscaling",
            "HorizontalPodAutoscaler",
            {
                "metadata": {"name": "h"},
                "spec": {
                    "scaleTargetRef": {"kind": "Deployment", "name": "w"},
                    "minReplicas": 5,
                    "maxReplicas": 2,
                },
            },
            ["spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"],
            id="hpa-min-max",
        ),
        pytest.param(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            {
                "metadata": {"name": "wrong.example.com"},
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
            ['metadata.name: Invalid value: "wrong.example.com": must be spec.names.plural+"."+spec.group'],
            id="crd-name",
        ),
    ],
)
def test_validation_messages(group: str, kind: str, obj: Obj, want: list[str]) -> None:
    assert errors(group, kind, obj) == want


def test_cronjob_name_length() -> None:
    name = "c" * 53
    got = errors(
        "batch",
        "CronJob",
        {
            "metadata": {"name": name},
            "spec": {
                "schedule": "@hourly",
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "spec": {"containers": [{"name": "c", "image": "x"}], "restartPolicy": "Never"}
                        }
                    }
                },
            },
        },
    )
    assert got == [f'metadata.name: Invalid value: "{name}": must be no more than 52 characters']


def test_generic_strategy_validates_metadata_only() -> None:
    strategy = generic_strategy(False)
    assert strategy.has_status_subresource is False
    obj: Obj = {"metadata": {"name": "Any_Name"}, "spec": {"x": 1}}
    strategy.default(obj)
    assert obj == {"metadata": {"name": "Any_Name"}, "spec": {"x": 1}}
    assert strategy.validate(obj) == []
    assert [e.error() for e in strategy.validate({"metadata": {"name": "a/b"}})] == [
        "metadata.name: Invalid value: \"a/b\": may not contain '/'"
    ]
    assert strategy_for("example.com", "Widget").has_status_subresource is True
