"""A table of realistic objects (built-in kinds with the generated schema, and a custom resource without one)
shared by the fast-path tests."""

from __future__ import annotations

import copy
from typing import Any

from kybernetes.api.schema import TypeDef, definition_for_gvk

Obj = dict[str, Any]

META: Obj = {"name": "web", "namespace": "default", "uid": "0d3f1c84", "creationTimestamp": "2025-01-01T00:00:00Z",
             "labels": {"app": "web", "tier": "frontend"}, "annotations": {"example.com/owner": "team-a"}}


def _container(name: str, port: int) -> Obj:
    return {"name": name, "image": f"nginx:{port}", "imagePullPolicy": "IfNotPresent",
            "ports": [{"containerPort": port, "protocol": "TCP", "name": "http"},
                      {"containerPort": port + 1000, "protocol": "UDP"}, {"containerPort": port + 2000}],
            "env": [{"name": "MODE", "value": "prod"}, {"name": "LEVEL", "value": "info"},
                    {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            "args": ["--a", "--b", "--a"],
            "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {}},
            "volumeMounts": [{"name": "data", "mountPath": "/data"}]}


def _pod_spec(n: int) -> Obj:
    return {"containers": [_container(f"c{i}", 8080 + i) for i in range(n)],
            "volumes": [{"name": "data", "emptyDir": {}}], "nodeSelector": None,
            "tolerations": [], "terminationGracePeriodSeconds": 30, "hostNetwork": False}


OBJECTS: dict[str, Obj] = {
    "configmap": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {**META, "name": "cm"},
                  "data": {"a": "1", "b": "two", "é": "x\ny"}, "binaryData": {}},
    "deployment": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": copy.deepcopy(META),
                   "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}},
                            "template": {"metadata": {"labels": {"app": "web"}}, "spec": _pod_spec(1)}},
                   "status": {"replicas": 3}},
    "service": {"apiVersion": "v1", "kind": "Service", "metadata": {**META, "name": "svc"},
                "spec": {"selector": {"app": "web"}, "clusterIP": "10.43.0.20", "clusterIPs": ["10.43.0.20"],
                         "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                                   {"name": "dns", "port": 53, "targetPort": "dns", "protocol": "UDP"},
                                   {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]}},
    "pod": {"apiVersion": "v1", "kind": "Pod", "metadata": {**META, "name": "pod", "finalizers": ["a/b", "c/d"]},
            "spec": _pod_spec(3), "status": {"phase": "Pending"}},
    "custom": {"apiVersion": "example.com/v1", "kind": "Widget",
               "metadata": {**META, "name": "w", "finalizers": ["x"]},
               "spec": {"size": 3, "ratio": 1.5, "on": True, "items": [{"name": "a"}, {"name": "b"}],
                        "nested": {"x": {"y": "z"}, "empty": {}, "none": None}, "list": []},
               "status": {"ok": True}},
}


def type_def(name: str) -> TypeDef | None:
    obj = OBJECTS[name]
    group, _, version = obj["apiVersion"].rpartition("/")
    if group == "example.com":
        return None
    return definition_for_gvk(group, version, obj["kind"])


def _numbers(obj: Obj, value: Any) -> Obj:
    out = copy.deepcopy(obj)
    target = out["spec"] if isinstance(out.get("spec"), dict) else out["data"]
    target["replicas"] = value
    target["extra"] = {"n": [value, {"v": value}]}
    return out


def pair(obj: Obj, how: str) -> tuple[Obj, Obj]:
    """(old, new): ``obj`` and a copy with one kind of change (every change applies to every object)."""
    if how == "int-to-float":
        return _numbers(obj, 1), _numbers(obj, 1.0)
    if how == "int-to-bool":
        return _numbers(obj, 1), _numbers(obj, True)
    if how == "same-numbers":
        return _numbers(obj, 1.0), _numbers(obj, 1.0)
    out = copy.deepcopy(obj)
    spec = out.get("spec")
    if how == "label":
        out["metadata"]["labels"]["tier"] = "backend"
    elif how == "add-label":
        out["metadata"]["labels"]["new"] = "yes"
    elif how == "drop-labels":
        del out["metadata"]["labels"]
    elif how == "status":
        out["status"] = {"phase": "Running", "replicas": 5}
    elif how == "reorder-keys":
        out = {k: out[k] for k in reversed(list(out))}
        out["metadata"] = {k: out["metadata"][k] for k in reversed(list(out["metadata"]))}
    elif how == "list-item":
        if isinstance(spec, dict) and "containers" in spec:
            spec["containers"][0]["env"].append({"name": "NEW", "value": "1"})
            spec["containers"][-1]["ports"].pop()
        elif isinstance(spec, dict) and "template" in spec:
            spec["template"]["spec"]["containers"][0]["image"] = "nginx:2"
        elif isinstance(spec, dict) and "ports" in spec:
            spec["ports"].reverse()
        elif isinstance(spec, dict):
            spec["items"].append({"name": "c"})
        else:
            out["data"]["c"] = "3"
    elif how == "null":
        out["metadata"]["annotations"] = None
    elif how == "finalizers":
        out["metadata"]["finalizers"] = ["z", "a/b"]
    elif how != "nothing":
        raise ValueError(how)
    return copy.deepcopy(obj), out


CHANGES = ["nothing", "label", "add-label", "drop-labels", "int-to-float", "int-to-bool", "same-numbers", "status",
           "reorder-keys", "list-item", "null", "finalizers"]
