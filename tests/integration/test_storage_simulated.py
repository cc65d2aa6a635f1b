"""Persistent volumes on a whole ``kyb server`` with simulated nodes (no real containers), real kubectl: static
binding and phases, the default class, WaitForFirstConsumer with node-affine local PVs and the selected-node
annotation, ReadWriteOnce pinning in the scheduler, pvc/pv protection."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

from harness import Cluster

KUBECTL = "1.33"


def eventually(check: Callable[[], object], timeout: float = 60.0) -> object:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except (AssertionError, KeyError, IndexError) as exc:
            last = exc
        time.sleep(0.5)
    raise AssertionError(f"never true: {last!r}")


def k(cluster: Cluster, *args: str, input: str | None = None) -> str:
    return str(cluster.kubectl(*args, version=KUBECTL, input=input).stdout)


def obj(cluster: Cluster, *args: str) -> dict:  # type: ignore[type-arg]
    return dict(json.loads(k(cluster, "get", *args, "-o", "json")))


def pv(name: str, size: str, cls: str, node: str = "", modes: str = "ReadWriteOnce") -> str:
    affinity = ""
    if node:
        affinity = (f"  nodeAffinity:\n    required:\n      nodeSelectorTerms:\n      - matchExpressions:\n"
                    f"        - {{key: kubernetes.io/hostname, operator: In, values: [{node}]}}\n")
    source = f"  local: {{path: /mnt/{name}}}\n" if node else f"  hostPath: {{path: /tmp/{name}}}\n"
    return (f"apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: {name}\nspec:\n  storageClassName: {cls}\n"
            f"  capacity: {{storage: {size}}}\n  accessModes: [{modes}]\n{source}{affinity}")


def pvc(name: str, size: str, cls: str | None, modes: str = "ReadWriteOnce") -> str:
    cls_line = f"  storageClassName: {cls}\n" if cls is not None else ""
    return (f"apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {name}\nspec:\n{cls_line}"
            f"  accessModes: [{modes}]\n  resources: {{requests: {{storage: {size}}}}}\n")


def pod(name: str, claim: str) -> str:
    return (f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n"
            f"  - {{name: c, image: busybox}}\n  volumes:\n  - name: d\n"
            f"    persistentVolumeClaim: {{claimName: {claim}}}\n")


def phase(cluster: Cluster, kind: str, name: str) -> str:
    return str(obj(cluster, kind, name).get("status", {}).get("phase", ""))


def test_static_binding_smallest_fit_and_protection(cluster: Cluster) -> None:
    k(cluster, "apply", "-f", "-", input=pv("st-big", "5Gi", "static") + "---\n" + pv("st-fit", "2Gi", "static")
      + "---\n" + pv("st-small", "1Gi", "static") + "---\n" + pv("st-rox", "2Gi", "static", modes="ReadOnlyMany"))
    k(cluster, "apply", "-f", "-", input=pvc("st-claim", "1500Mi", "static"))
    eventually(lambda: phase(cluster, "pvc", "st-claim") == "Bound")
    assert obj(cluster, "pvc", "st-claim")["spec"]["volumeName"] == "st-fit"
    out = k(cluster, "get", "pv", "st-fit")
    assert re.search(r"st-fit +2Gi +RWO +Retain +Bound +default/st-claim +static", out), out
    assert phase(cluster, "pv", "st-small") == "Available"
    claim = obj(cluster, "pvc", "st-claim")
    assert "kubernetes.io/pvc-protection" in claim["metadata"]["finalizers"]
    assert "kubernetes.io/pv-protection" in obj(cluster, "pv", "st-fit")["metadata"]["finalizers"]
    # a claim in use by a pod stays Terminating until the pod is gone
    k(cluster, "apply", "-f", "-", input=pod("st-user", "st-claim"))
    eventually(lambda: obj(cluster, "pod", "st-user")["spec"].get("nodeName"))
    k(cluster, "delete", "pvc", "st-claim", "--wait=false")
    time.sleep(2)
    assert "Terminating" in k(cluster, "get", "pvc", "st-claim")
    k(cluster, "delete", "pod", "st-user", "--grace-period=0", "--force")
    eventually(lambda: "st-claim" not in k(cluster, "get", "pvc"))
    eventually(lambda: phase(cluster, "pv", "st-fit") == "Released")
    k(cluster, "delete", "pv", "st-big", "st-fit", "st-small", "st-rox")
    eventually(lambda: "st-" not in k(cluster, "get", "pv"))


def test_default_class_and_wait_for_first_consumer(cluster: Cluster) -> None:
    out = k(cluster, "get", "storageclass")
    assert re.search(r"local-path \(default\) +rancher.io/local-path +Delete +WaitForFirstConsumer +false", out)
    k(cluster, "apply", "-f", "-", input=pvc("wf-claim", "1Gi", None))
    claim = obj(cluster, "pvc", "wf-claim")
    assert claim["spec"]["storageClassName"] == "local-path"
    time.sleep(2)
    assert phase(cluster, "pvc", "wf-claim") == "Pending"
    assert "waiting for first consumer to be created before binding" in k(cluster, "describe", "pvc", "wf-claim")
    k(cluster, "apply", "-f", "-", input=pod("wf-user", "wf-claim"))
    node = eventually(lambda: obj(cluster, "pod", "wf-user")["spec"].get("nodeName"))
    ann = eventually(lambda: obj(cluster, "pvc", "wf-claim")["metadata"].get("annotations", {}))
    assert isinstance(ann, dict)
    eventually(lambda: obj(cluster, "pvc", "wf-claim")["metadata"]["annotations"].get(
        "volume.kubernetes.io/selected-node") == node)
    ann = obj(cluster, "pvc", "wf-claim")["metadata"]["annotations"]
    assert ann["volume.kubernetes.io/storage-provisioner"] == "rancher.io/local-path"
    k(cluster, "delete", "pod", "wf-user", "--grace-period=0", "--force")
    k(cluster, "delete", "pvc", "wf-claim")


def test_wffc_local_pv_node_affinity_and_rwo_pinning(cluster: Cluster) -> None:
    nodes = sorted(n["metadata"]["name"] for n in obj(cluster, "nodes")["items"])
    target = nodes[-1]
    k(cluster, "apply", "-f", "-", input="apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n"
      "  name: local-static\nprovisioner: kubernetes.io/no-provisioner\nvolumeBindingMode: WaitForFirstConsumer\n")
    k(cluster, "apply", "-f", "-", input=pv("lo-pv", "1Gi", "local-static", node=target))
    k(cluster, "apply", "-f", "-", input=pvc("lo-claim", "1Gi", "local-static"))
    time.sleep(2)
    assert phase(cluster, "pvc", "lo-claim") == "Pending"  # no consumer yet
    k(cluster, "apply", "-f", "-", input=pod("lo-a", "lo-claim"))
    assert eventually(lambda: obj(cluster, "pod", "lo-a")["spec"].get("nodeName")) == target
    eventually(lambda: phase(cluster, "pvc", "lo-claim") == "Bound")
    assert obj(cluster, "pvc", "lo-claim")["spec"]["volumeName"] == "lo-pv"
    # every further user of the RWO claim lands on the same node
    for i in range(3):
        k(cluster, "apply", "-f", "-", input=pod(f"lo-b{i}", "lo-claim"))
    for i in range(3):
        assert eventually(lambda i=i: obj(cluster, "pod", f"lo-b{i}")["spec"].get("nodeName")) == target
    # a second claim finds no volume on any node: unschedulable with the upstream message
    k(cluster, "apply", "-f", "-", input=pvc("lo-claim2", "1Gi", "local-static"))
    k(cluster, "apply", "-f", "-", input=pod("lo-c", "lo-claim2"))
    eventually(lambda: "didn't find available persistent volumes to bind" in k(cluster, "describe", "pod", "lo-c"))
    k(cluster, "delete", "pod", "lo-a", "lo-b0", "lo-b1", "lo-b2", "lo-c", "--grace-period=0", "--force")
    k(cluster, "delete", "pvc", "lo-claim", "lo-claim2")
    k(cluster, "delete", "pv", "lo-pv")
    k(cluster, "delete", "storageclass", "local-static")
