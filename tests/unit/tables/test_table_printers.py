"""Rows of every built-in printer except Pod, compared with the cells upstream's printers produce."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kybernetes.api.registry import RESOURCES
from kybernetes.api.tables import build_table, column_definitions, has_printer

NOW = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
CREATED = "2024-01-01T11:55:00Z"  # Age 5m


def obj(kind: str, name: str = "x", api: str = "v1", **fields: Any) -> dict[str, Any]:
    meta = {"name": name, "namespace": "default", "creationTimestamp": CREATED}
    meta.update(fields.pop("metadata", {}))
    return {"apiVersion": api, "kind": kind, "metadata": meta, **fields}


def svc(stype: str, ports: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    status = spec.pop("status", {})
    return obj("Service", "web", spec={"type": stype, "ports": ports or [], **spec}, status=status)


NODE_READY = {
    "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
    "addresses": [{"type": "InternalIP", "address": "10.0.0.10"}, {"type": "Hostname", "address": "n1"}],
    "nodeInfo": {
        "kubeletVersion": "v1.32.0",
        "osImage": "Debian GNU/Linux 12",
        "kernelVersion": "6.1.0",
        "containerRuntimeVersion": "containerd://1.7.24",
    },
}
TEMPLATE = {
    "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}, {"name": "side", "image": "busybox"}]}
}
HPA_REF = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "nginx"}


def cpu(util: int) -> dict[str, Any]:
    return {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": util}},
    }


CASES = [
    # ---- services
    pytest.param(
        "",
        svc(
            "ClusterIP",
            [{"port": 80, "protocol": "TCP"}],
            clusterIPs=["10.43.0.10"],
            selector={"tier": "web", "app": "nginx"},
        ),
        ["web", "ClusterIP", "10.43.0.10", "<none>", "80/TCP", "5m", "app=nginx,tier=web"],
        id="svc-clusterip",
    ),
    pytest.param(
        "",
        svc(
            "NodePort",
            [
                {"port": 80, "nodePort": 30080, "protocol": "TCP"},
                {"port": 53, "nodePort": 30053, "protocol": "UDP"},
            ],
            clusterIPs=["10.43.0.11"],
        ),
        ["web", "NodePort", "10.43.0.11", "<none>", "80:30080/TCP,53:30053/UDP", "5m", "<none>"],
        id="svc-nodeport",
    ),
    pytest.param(
        "",
        svc("LoadBalancer", [{"port": 443, "nodePort": 31443, "protocol": "TCP"}], clusterIPs=["10.43.0.12"]),
        ["web", "LoadBalancer", "10.43.0.12", "<pending>", "443:31443/TCP", "5m", "<none>"],
        id="svc-lb-pending",
    ),
    pytest.param(
        "",
        svc(
            "LoadBalancer",
            [{"port": 80, "protocol": "TCP"}],
            clusterIPs=["10.43.0.12"],
            externalIPs=["192.0.2.9"],
            status={"loadBalancer": {"ingress": [{"ip": "127.0.0.2"}, {"hostname": "lb.example"}]}},
        ),
        ["web", "LoadBalancer", "10.43.0.12", "127.0.0.2,lb.example,192.0.2.9", "80/TCP", "5m", "<none>"],
        id="svc-lb-ingress-and-external",
    ),
    pytest.param(
        "",
        svc("ClusterIP", [], clusterIPs=["None"], externalIPs=["192.0.2.1", "192.0.2.2"]),
        ["web", "ClusterIP", "None", "192.0.2.1,192.0.2.2", "<none>", "5m", "<none>"],
        id="svc-headless",
    ),
    pytest.param(
        "",
        svc("ExternalName", externalName="db.example.com"),
        ["web", "ExternalName", "<none>", "db.example.com", "<none>", "5m", "<none>"],
        id="svc-externalname",
    ),
    # ---- endpoints
    pytest.param(
        "",
        obj(
            "Endpoints",
            "web",
            subsets=[{"addresses": [{"ip": "10.42.0.5"}, {"ip": "10.42.0.6"}], "ports": [{"port": 80}]}],
        ),
        ["web", "10.42.0.5:80,10.42.0.6:80", "5m"],
        id="endpoints",
    ),
    pytest.param(
        "",
        obj(
            "Endpoints",
            "web",
            subsets=[{"addresses": [{"ip": f"10.42.0.{i}"} for i in range(1, 6)], "ports": [{"port": 8080}]}],
        ),
        ["web", "10.42.0.1:8080,10.42.0.2:8080,10.42.0.3:8080 + 2 more...", "5m"],
        id="endpoints-more",
    ),
    pytest.param(
        "",
        obj("Endpoints", "web", subsets=[{"addresses": [{"ip": "10.42.0.5"}]}]),
        ["web", "10.42.0.5", "5m"],
        id="endpoints-headless-no-ports",
    ),
    pytest.param("", obj("Endpoints", "web"), ["web", "<none>", "5m"], id="endpoints-none"),
    # ---- nodes
    pytest.param(
        "",
        obj(
            "Node",
            "n1",
            metadata={
                "labels": {
                    "node-role.kubernetes.io/control-plane": "",
                    "node-role.kubernetes.io/master": "",
                    "kubernetes.io/hostname": "n1",
                }
            },
            status=NODE_READY,
        ),
        [
            "n1",
            "Ready",
            "control-plane,master",
            "5m",
            "v1.32.0",
            "10.0.0.10",
            "<none>",
            "Debian GNU/Linux 12",
            "6.1.0",
            "containerd://1.7.24",
        ],
        id="node-ready-roles",
    ),
    pytest.param(
        "",
        obj(
            "Node",
            "n1",
            metadata={"labels": {"kubernetes.io/role": "worker"}},
            spec={"unschedulable": True},
            status=NODE_READY,
        ),
        [
            "n1",
            "Ready,SchedulingDisabled",
            "worker",
            "5m",
            "v1.32.0",
            "10.0.0.10",
            "<none>",
            "Debian GNU/Linux 12",
            "6.1.0",
            "containerd://1.7.24",
        ],
        id="node-cordoned",
    ),
    pytest.param(
        "",
        obj("Node", "n1", status={"conditions": [{"type": "Ready", "status": "Unknown"}]}),
        ["n1", "NotReady", "<none>", "5m", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"],
        id="node-not-ready",
    ),
    pytest.param(
        "",
        obj("Node", "n1"),
        ["n1", "Unknown", "<none>", "5m", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"],
        id="node-no-conditions",
    ),
    # ---- simple core kinds
    pytest.param(
        "",
        obj("Namespace", "kube-system", status={"phase": "Active"}),
        ["kube-system", "Active", "5m"],
        id="namespace",
    ),
    pytest.param(
        "",
        obj("ConfigMap", "cfg", data={"a": "1", "b": "2"}, binaryData={"c": "AA=="}),
        ["cfg", 3, "5m"],
        id="configmap",
    ),
    pytest.param("", obj("ConfigMap", "cfg"), ["cfg", 0, "5m"], id="configmap-empty"),
    pytest.param(
        "",
        obj("Secret", "tls", type="kubernetes.io/tls", data={"tls.crt": "", "tls.key": ""}),
        ["tls", "kubernetes.io/tls", 2, "5m"],
        id="secret",
    ),
    pytest.param("", obj("ServiceAccount", "default"), ["default", 0, "5m"], id="serviceaccount"),
    pytest.param(
        "",
        obj("ComponentStatus", "etcd-0", conditions=[{"type": "Healthy", "status": "True", "message": "ok"}]),
        ["etcd-0", "Healthy", "ok", ""],
        id="cs-healthy",
    ),
    pytest.param(
        "",
        obj(
            "ComponentStatus",
            "scheduler",
            conditions=[{"type": "Healthy", "status": "False", "error": "connection refused"}],
        ),
        ["scheduler", "Unhealthy", "", "connection refused"],
        id="cs-unhealthy",
    ),
    pytest.param("", obj("ComponentStatus", "x"), ["x", "Unknown", "", ""], id="cs-unknown"),
    pytest.param(
        "",
        obj(
            "ResourceQuota",
            "q",
            status={
                "hard": {"pods": "10", "limits.cpu": "2", "requests.cpu": "1", "limits.memory": "1Gi"},
                "used": {"pods": "1", "limits.cpu": "500m"},
            },
        ),
        ["q", "pods: 1/10, requests.cpu: 0/1", "limits.cpu: 500m/2, limits.memory: 0/1Gi", "5m"],
        id="quota",
    ),
    pytest.param(
        "",
        obj(
            "ReplicationController",
            "rc",
            spec={"replicas": 3, "selector": {"app": "web"}, "template": TEMPLATE},
            status={"replicas": 3, "readyReplicas": 1},
        ),
        ["rc", 3, 3, 1, "5m", "nginx,side", "nginx:1.27,busybox", "app=web"],
        id="rc",
    ),
    # ---- storage
    pytest.param(
        "",
        obj(
            "PersistentVolume",
            "pv1",
            spec={
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain",
                "claimRef": {"namespace": "default", "name": "data"},
                "storageClassName": "local-path",
                "volumeMode": "Filesystem",
            },
            status={"phase": "Bound"},
        ),
        [
            "pv1",
            "1Gi",
            "RWO,RWX",
            "Retain",
            "Bound",
            "default/data",
            "local-path",
            "<unset>",
            "",
            "5m",
            "Filesystem",
        ],
        id="pv-bound",
    ),
    pytest.param(
        "",
        obj(
            "PersistentVolume",
            "pv1",
            metadata={"deletionTimestamp": CREATED},
            spec={
                "capacity": {"storage": "5Gi"},
                "accessModes": ["ReadWriteOncePod"],
                "volumeAttributesClassName": "gold",
            },
            status={"phase": "Released", "reason": "gone"},
        ),
        ["pv1", "5Gi", "RWOP", "", "Terminating", "", "", "gold", "gone", "5m", "<unset>"],
        id="pv-terminating",
    ),
    pytest.param(
        "",
        obj(
            "PersistentVolumeClaim",
            "data",
            spec={
                "volumeName": "pv1",
                "storageClassName": "local-path",
                "resources": {"requests": {"storage": "1Gi"}},
            },
            status={"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "2Gi"}},
        ),
        ["data", "Bound", "pv1", "2Gi", "RWO", "local-path", "<unset>", "5m", "<unset>"],
        id="pvc-bound",
    ),
    pytest.param(
        "",
        obj(
            "PersistentVolumeClaim",
            "data",
            spec={
                "storageClassName": "local-path",
                "volumeMode": "Block",
                "resources": {"requests": {"storage": "1Gi"}},
            },
            status={"phase": "Pending"},
        ),
        ["data", "Pending", "", "", "", "local-path", "<unset>", "5m", "Block"],
        id="pvc-pending",
    ),
    pytest.param(
        "storage.k8s.io",
        obj(
            "StorageClass",
            "local-path",
            "storage.k8s.io/v1",
            metadata={"annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            provisioner="rancher.io/local-path",
            volumeBindingMode="WaitForFirstConsumer",
            reclaimPolicy="Delete",
        ),
        ["local-path (default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer", False, "5m"],
        id="storageclass-default",
    ),
    pytest.param(
        "storage.k8s.io",
        obj("StorageClass", "fast", "storage.k8s.io/v1", provisioner="x.io/p", allowVolumeExpansion=True),
        ["fast", "x.io/p", "Delete", "Immediate", True, "5m"],
        id="storageclass-defaults",
    ),
    # ---- apps
    pytest.param(
        "apps",
        obj(
            "Deployment",
            "nginx",
            "apps/v1",
            spec={"replicas": 3, "selector": {"matchLabels": {"app": "nginx"}}, "template": TEMPLATE},
            status={"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
        ),
        ["nginx", "2/3", 3, 2, "5m", "nginx,side", "nginx:1.27,busybox", "app=nginx"],
        id="deployment",
    ),
    pytest.param(
        "apps",
        obj(
            "Deployment",
            "nginx",
            "apps/v1",
            spec={
                "selector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}]}
            },
        ),
        ["nginx", "0/1", 0, 0, "5m", "", "", "tier in (a,b)"],
        id="deployment-defaults",
    ),
    pytest.param(
        "apps",
        obj(
            "ReplicaSet",
            "nginx-abc",
            "apps/v1",
            spec={
                "replicas": 2,
                "template": TEMPLATE,
                "selector": {"matchLabels": {"app": "nginx", "pod-template-hash": "abc"}},
            },
            status={"replicas": 2, "readyReplicas": 1},
        ),
        ["nginx-abc", 2, 2, 1, "5m", "nginx,side", "nginx:1.27,busybox", "app=nginx,pod-template-hash=abc"],
        id="replicaset",
    ),
    pytest.param(
        "apps",
        obj("ReplicaSet", "rs", "apps/v1", spec={"replicas": 0, "selector": {}}),
        ["rs", 0, 0, 0, "5m", "", "", "<none>"],
        id="replicaset-empty-selector",
    ),
    pytest.param(
        "apps",
        obj(
            "DaemonSet",
            "proxy",
            "apps/v1",
            spec={
                "selector": {"matchLabels": {"k8s-app": "proxy"}},
                "template": {
                    "spec": {
                        "nodeSelector": {"kubernetes.io/os": "linux"},
                        "containers": [{"name": "p", "image": "proxy:1"}],
                    }
                },
            },
            status={
                "desiredNumberScheduled": 3,
                "currentNumberScheduled": 3,
                "numberReady": 2,
                "updatedNumberScheduled": 3,
                "numberAvailable": 2,
            },
        ),
        ["proxy", 3, 3, 2, 3, 2, "kubernetes.io/os=linux", "5m", "p", "proxy:1", "k8s-app=proxy"],
        id="daemonset",
    ),
    pytest.param(
        "apps",
        obj(
            "StatefulSet",
            "db",
            "apps/v1",
            spec={"replicas": 3, "template": TEMPLATE},
            status={"readyReplicas": 1},
        ),
        ["db", "1/3", "5m", "nginx,side", "nginx:1.27,busybox"],
        id="statefulset",
    ),
    pytest.param(
        "apps",
        obj(
            "ControllerRevision",
            "proxy-6d4",
            "apps/v1",
            revision=2,
            metadata={
                "ownerReferences": [
                    {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "proxy", "controller": True}
                ]
            },
        ),
        ["proxy-6d4", "daemonset.apps/proxy", 2, "5m"],
        id="controllerrevision",
    ),
    pytest.param(
        "apps",
        obj("ControllerRevision", "orphan", "apps/v1", revision=1),
        ["orphan", "<none>", 1, "5m"],
        id="controllerrevision-orphan",
    ),
    # ---- batch
    pytest.param(
        "batch",
        obj(
            "Job",
            "pi",
            "batch/v1",
            spec={
                "completions": 1,
                "template": TEMPLATE,
                "selector": {"matchLabels": {"batch.kubernetes.io/job-name": "pi"}},
            },
            status={
                "succeeded": 1,
                "startTime": "2024-01-01T11:55:00Z",
                "completionTime": "2024-01-01T11:55:42Z",
                "conditions": [
                    {"type": "SuccessCriteriaMet", "status": "True"},
                    {"type": "Complete", "status": "True"},
                ],
            },
        ),
        [
            "pi",
            "Complete",
            "1/1",
            "42s",
            "5m",
            "nginx,side",
            "nginx:1.27,busybox",
            "batch.kubernetes.io/job-name=pi",
        ],
        id="job-complete",
    ),
    pytest.param(
        "batch",
        obj("Job", "w", "batch/v1", spec={"parallelism": 3}, status={"startTime": "2024-01-01T11:57:00Z"}),
        ["w", "Running", "0/1 of 3", "3m", "5m", "", "", "<none>"],
        id="job-running-parallel",
    ),
    pytest.param(
        "batch",
        obj(
            "Job",
            "w",
            "batch/v1",
            spec={"completions": 5},
            status={"succeeded": 2, "conditions": [{"type": "Failed", "status": "True"}]},
        ),
        ["w", "Failed", "2/5", "", "5m", "", "", "<none>"],
        id="job-failed",
    ),
    pytest.param(
        "batch",
        obj(
            "Job",
            "w",
            "batch/v1",
            spec={"suspend": True},
            status={"conditions": [{"type": "Suspended", "status": "True"}]},
        ),
        ["w", "Suspended", "0/1", "", "5m", "", "", "<none>"],
        id="job-suspended",
    ),
    pytest.param(
        "batch",
        obj(
            "Job",
            "w",
            "batch/v1",
            metadata={"deletionTimestamp": CREATED},
            status={"conditions": [{"type": "FailureTarget", "status": "True"}]},
        ),
        ["w", "Terminating", "0/1", "", "5m", "", "", "<none>"],
        id="job-terminating",
    ),
    pytest.param(
        "batch",
        obj("Job", "w", "batch/v1", status={"conditions": [{"type": "FailureTarget", "status": "True"}]}),
        ["w", "FailureTarget", "0/1", "", "5m", "", "", "<none>"],
        id="job-failure-target",
    ),
    pytest.param(
        "batch",
        obj(
            "CronJob",
            "hello",
            "batch/v1",
            spec={
                "schedule": "*/1 * * * *",
                "suspend": False,
                "jobTemplate": {"spec": {"template": TEMPLATE}},
            },
            status={"active": [{"name": "hello-1"}], "lastScheduleTime": "2024-01-01T11:59:15Z"},
        ),
        [
            "hello",
            "*/1 * * * *",
            "<none>",
            "False",
            1,
            "45s",
            "5m",
            "nginx,side",
            "nginx:1.27,busybox",
            "<none>",
        ],
        id="cronjob",
    ),
    pytest.param(
        "batch",
        obj(
            "CronJob",
            "hello",
            "batch/v1",
            spec={"schedule": "@daily", "timeZone": "Etc/UTC", "suspend": True},
        ),
        ["hello", "@daily", "Etc/UTC", "True", 0, "<none>", "5m", "", "", "<none>"],
        id="cronjob-tz",
    ),
    # ---- autoscaling
    pytest.param(
        "autoscaling",
        obj(
            "HorizontalPodAutoscaler",
            "nginx",
            "autoscaling/v2",
            spec={"scaleTargetRef": HPA_REF, "minReplicas": 2, "maxReplicas": 10, "metrics": [cpu(80)]},
        ),
        ["nginx", "Deployment/nginx", "cpu: <unknown>/80%", "2", 10, 0, "5m"],
        id="hpa-unknown",
    ),
    pytest.param(
        "autoscaling",
        obj(
            "HorizontalPodAutoscaler",
            "nginx",
            "autoscaling/v2",
            spec={
                "scaleTargetRef": HPA_REF,
                "maxReplicas": 10,
                "metrics": [
                    cpu(80),
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "memory",
                            "target": {"type": "AverageValue", "averageValue": "100Mi"},
                        },
                    },
                ],
            },
            status={
                "currentReplicas": 3,
                "currentMetrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 12}}},
                    {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "50Mi"}}},
                ],
            },
        ),
        ["nginx", "Deployment/nginx", "cpu: 12%/80%, memory: 50Mi/100Mi", "<unset>", 10, 3, "5m"],
        id="hpa-current",
    ),
    pytest.param(
        "autoscaling",
        obj(
            "HorizontalPodAutoscaler",
            "nginx",
            "autoscaling/v2",
            spec={
                "scaleTargetRef": HPA_REF,
                "maxReplicas": 4,
                "metrics": [
                    cpu(50),
                    {
                        "type": "Pods",
                        "pods": {
                            "metric": {"name": "qps"},
                            "target": {"type": "AverageValue", "averageValue": "1k"},
                        },
                    },
                    {
                        "type": "External",
                        "external": {"metric": {"name": "queue"}, "target": {"type": "Value", "value": "30"}},
                    },
                ],
            },
        ),
        ["nginx", "Deployment/nginx", "cpu: <unknown>/50%, <unknown>/1k + 1 more...", "<unset>", 4, 0, "5m"],
        id="hpa-more",
    ),
    pytest.param(
        "autoscaling",
        obj(
            "HorizontalPodAutoscaler",
            "nginx",
            "autoscaling/v2",
            spec={"scaleTargetRef": HPA_REF, "maxReplicas": 4},
        ),
        ["nginx", "Deployment/nginx", "<none>", "<unset>", 4, 0, "5m"],
        id="hpa-no-metrics",
    ),
    pytest.param(
        "autoscaling",
        obj(
            "HorizontalPodAutoscaler",
            "nginx",
            "autoscaling/v1",
            spec={
                "scaleTargetRef": HPA_REF,
                "minReplicas": 1,
                "maxReplicas": 5,
                "targetCPUUtilizationPercentage": 70,
            },
            status={"currentReplicas": 1, "desiredReplicas": 1, "currentCPUUtilizationPercentage": 35},
        ),
        ["nginx", "Deployment/nginx", "cpu: 35%/70%", "1", 5, 1, "5m"],
        id="hpa-v1-object",
    ),
    # ---- other groups
    pytest.param(
        "coordination.k8s.io",
        obj("Lease", "kyb-scheduler", "coordination.k8s.io/v1", spec={"holderIdentity": "node-1_abc"}),
        ["kyb-scheduler", "node-1_abc", "5m"],
        id="lease",
    ),
    pytest.param(
        "discovery.k8s.io",
        obj(
            "EndpointSlice",
            "web-abc",
            "discovery.k8s.io/v1",
            addressType="IPv4",
            ports=[{"port": 80}, {"name": "metrics"}, {}, {"port": 9}],
            endpoints=[{"addresses": ["10.42.0.5"]}, {"addresses": ["10.42.0.6"]}],
        ),
        ["web-abc", "IPv4", "80,metrics,* + 1 more...", "10.42.0.5,10.42.0.6", "5m"],
        id="endpointslice",
    ),
    pytest.param(
        "discovery.k8s.io",
        obj("EndpointSlice", "web-abc", "discovery.k8s.io/v1", addressType="IPv4"),
        ["web-abc", "IPv4", "<unset>", "<unset>", "5m"],
        id="endpointslice-empty",
    ),
    # ---- no printer: default table
    pytest.param("", obj("LimitRange", "limits"), ["limits", CREATED], id="limitrange-default"),
    pytest.param(
        "apiextensions.k8s.io",
        obj(
            "CustomResourceDefinition",
            "widgets.example.com",
            "apiextensions.k8s.io/v1",
            metadata={"creationTimestamp": "2024-01-01T13:55:00+02:00"},
        ),
        ["widgets.example.com", "2024-01-01T11:55:00Z"],
        id="crd-default",
    ),
]


@pytest.mark.parametrize(("group", "item", "want"), CASES)
def test_printer_cells(group: str, item: dict[str, Any], want: list[Any]) -> None:
    table = build_table(group, item["kind"], [item], now=NOW)
    assert table["rows"][0]["cells"] == want
    assert len(table["columnDefinitions"]) == len(want)


EVENT_CORE = {
    "apiVersion": "v1",
    "kind": "Event",
    "metadata": {"name": "nginx.17a", "namespace": "default", "creationTimestamp": CREATED},
    "involvedObject": {
        "kind": "Pod",
        "name": "nginx",
        "namespace": "default",
        "fieldPath": "spec.containers{nginx}",
    },
    "reason": "Pulled",
    "message": "  Successfully pulled image\n",
    "type": "Normal",
    "source": {"component": "kubelet", "host": "node-1"},
    "firstTimestamp": "2024-01-01T11:50:00Z",
    "lastTimestamp": "2024-01-01T11:55:00Z",
    "count": 3,
}
EVENT_WANT = [
    "5m",
    "Normal",
    "Pulled",
    "pod/nginx",
    "spec.containers{nginx}",
    "kubelet, node-1",
    "Successfully pulled image",
    "10m",
    3,
    "nginx.17a",
]


@pytest.mark.parametrize(
    ("group", "event", "want"),
    [
        pytest.param("", EVENT_CORE, EVENT_WANT, id="core"),
        pytest.param(
            "events.k8s.io",
            {
                "apiVersion": "events.k8s.io/v1",
                "kind": "Event",
                "metadata": EVENT_CORE["metadata"],
                "regarding": EVENT_CORE["involvedObject"],
                "reason": "Pulled",
                "note": EVENT_CORE["message"],
                "type": "Normal",
                "deprecatedSource": {"component": "kubelet", "host": "node-1"},
                "deprecatedFirstTimestamp": "2024-01-01T11:50:00Z",
                "deprecatedLastTimestamp": "2024-01-01T11:55:00Z",
                "deprecatedCount": 3,
            },
            EVENT_WANT,
            id="events-k8s-io",
        ),
        pytest.param("events.k8s.io", EVENT_CORE, EVENT_WANT, id="events-k8s-io-stored-core-form"),
        pytest.param(
            "",
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": "e", "namespace": "default"},
                "involvedObject": {"kind": "Node", "name": "node-1"},
                "reason": "Scheduled",
                "message": "ok",
                "type": "Warning",
                "reportingComponent": "default-scheduler",
                "reportingInstance": "kyb-1",
                "eventTime": "2024-01-01T11:58:00.000000Z",
                "series": {"count": 4, "lastObservedTime": "2024-01-01T11:59:00.000000Z"},
            },
            [
                "60s",
                "Warning",
                "Scheduled",
                "node/node-1",
                "",
                "default-scheduler, kyb-1",
                "ok",
                "2m",
                4,
                "e",
            ],
            id="series-and-event-time",
        ),
        pytest.param(
            "",
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": "e"},
                "involvedObject": {"kind": "Namespace"},
                "reason": "R",
                "eventTime": "2024-01-01T11:59:30.000000Z",
                "reportingComponent": "c",
            },
            ["30s", "", "R", "namespace", "", "c", "", "30s", 1, "e"],
            id="singleton-no-name",
        ),
    ],
)
def test_event_cells(group: str, event: dict[str, Any], want: list[Any]) -> None:
    table = build_table(group, "Event", [event], now=NOW)
    assert table["rows"][0]["cells"] == want
    names = [(c["name"], c["priority"]) for c in table["columnDefinitions"]]
    assert names == [
        ("Last Seen", 0),
        ("Type", 0),
        ("Reason", 0),
        ("Object", 0),
        ("Subobject", 1),
        ("Source", 1),
        ("Message", 0),
        ("First Seen", 1),
        ("Count", 1),
        ("Name", 1),
    ]


@pytest.mark.parametrize(
    ("group", "kind", "want"),
    [
        pytest.param(
            "apps",
            "Deployment",
            [
                ("Name", 0),
                ("Ready", 0),
                ("Up-to-date", 0),
                ("Available", 0),
                ("Age", 0),
                ("Containers", 1),
                ("Images", 1),
                ("Selector", 1),
            ],
            id="deployment",
        ),
        pytest.param(
            "",
            "Service",
            [
                ("Name", 0),
                ("Type", 0),
                ("Cluster-IP", 0),
                ("External-IP", 0),
                ("Port(s)", 0),
                ("Age", 0),
                ("Selector", 1),
            ],
            id="service",
        ),
        pytest.param(
            "batch",
            "CronJob",
            [
                ("Name", 0),
                ("Schedule", 0),
                ("Timezone", 0),
                ("Suspend", 0),
                ("Active", 0),
                ("Last Schedule", 0),
                ("Age", 0),
                ("Containers", 1),
                ("Images", 1),
                ("Selector", 1),
            ],
            id="cronjob",
        ),
        pytest.param(
            "",
            "PersistentVolume",
            [
                ("Name", 0),
                ("Capacity", 0),
                ("Access Modes", 0),
                ("Reclaim Policy", 0),
                ("Status", 0),
                ("Claim", 0),
                ("StorageClass", 0),
                ("VolumeAttributesClass", 0),
                ("Reason", 0),
                ("Age", 0),
                ("VolumeMode", 1),
            ],
            id="pv",
        ),
        pytest.param("", "LimitRange", [("Name", 0), ("Created At", 0)], id="default"),
    ],
)
def test_column_names(group: str, kind: str, want: list[tuple[str, int]]) -> None:
    assert [(c["name"], c["priority"]) for c in column_definitions(group, kind)] == want


def test_every_registry_kind_prints() -> None:
    """Every served kind gets a table whose rows have one cell per column, even for a bare object."""
    for res in RESOURCES:
        bare = {"apiVersion": res.api_version, "kind": res.kind, "metadata": {"name": "n"}}
        table = build_table(res.group, res.kind, [bare], now=NOW)
        assert len(table["rows"][0]["cells"]) == len(table["columnDefinitions"]), res.kind
        assert table["columnDefinitions"][0]["name"] in ("Name", "Last Seen")
    assert not has_printer("", "LimitRange")
    assert has_printer("events.k8s.io", "Event")
