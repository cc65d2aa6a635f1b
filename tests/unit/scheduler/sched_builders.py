"""Builders for crafted nodes and pods."""

from __future__ import annotations

from typing import Any

from kybernetes.scheduler.nodeinfo import NodeInfo, PodInfo

Obj = dict[str, Any]


def node(name: str, *, cpu: str = "4", memory: str = "8Gi", pods: str = "110", labels: Obj | None = None,
         taints: list[Obj] | None = None, unschedulable: bool = False) -> Obj:
    spec: Obj = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
            "spec": spec, "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods}}}


def pod(name: str, *, cpu: str | None = None, memory: str | None = None, labels: Obj | None = None,
        node_name: str = "", namespace: str = "default", **spec: Any) -> Obj:
    requests: Obj = {}
    if cpu:
        requests["cpu"] = cpu
    if memory:
        requests["memory"] = memory
    container: Obj = {"name": "c", "image": "nginx", "resources": {"requests": requests} if requests else {}}
    full: Obj = {"containers": [container], "schedulerName": "default-scheduler", **spec}
    if node_name:
        full["nodeName"] = node_name
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}, "uid": f"uid-{name}"},
            "spec": full}


def node_info(n: Obj, *pods: Obj) -> NodeInfo:
    info = NodeInfo(n)
    for p in pods:
        info.add_pod(PodInfo(p))
    return info
