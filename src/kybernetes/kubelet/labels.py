"""CRI labels and annotations the kubelet puts on sandboxes and containers, and reads back after a restart.

The names are upstream's (``io.kubernetes.*``), so ``crictl`` output looks familiar and a restarted kubelet can
adopt what it finds: the pod identity comes from labels, the restart count and spec hash from annotations.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

Obj = dict[str, Any]

POD_NAME = "io.kubernetes.pod.name"
POD_NAMESPACE = "io.kubernetes.pod.namespace"
POD_UID = "io.kubernetes.pod.uid"
CONTAINER_NAME = "io.kubernetes.container.name"
CONTAINER_TYPE = "io.kubernetes.container.type"  # not upstream's key; marks init containers
RESTART_COUNT = "io.kubernetes.container.restartCount"
HASH = "io.kubernetes.container.hash"
TERMINATION_MESSAGE_PATH = "io.kubernetes.container.terminationMessagePath"
TERMINATION_MESSAGE_POLICY = "io.kubernetes.container.terminationMessagePolicy"
GRACE_PERIOD = "io.kubernetes.pod.terminationGracePeriod"
PRESTOP = "io.kubernetes.container.preStopHandler"
KUBELET_MANAGED = "io.cri-containerd.kind"  # set by containerd itself: "sandbox" / "container"

INIT = "init"
REGULAR = "regular"


def pod_labels(pod: Obj) -> dict[str, str]:
    meta = pod.get("metadata") or {}
    return {POD_NAME: meta.get("name", ""), POD_NAMESPACE: meta.get("namespace", ""), POD_UID: meta.get("uid", "")}


def sandbox_labels(pod: Obj) -> dict[str, str]:
    """The pod's own labels plus the identity labels (identity wins)."""
    labels = {str(k): str(v) for k, v in ((pod.get("metadata") or {}).get("labels") or {}).items()}
    labels.update(pod_labels(pod))
    return labels


def container_labels(pod: Obj, name: str, init: bool = False) -> dict[str, str]:
    labels = pod_labels(pod)
    labels[CONTAINER_NAME] = name
    labels[CONTAINER_TYPE] = INIT if init else REGULAR
    return labels


def container_hash(container: Obj) -> str:
    """A stable hash of a container spec: a change (e.g. a new image) makes the kubelet restart the container."""
    digest = hashlib.sha256(orjson.dumps(container, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return str(int(digest[:8], 16))


def container_annotations(pod: Obj, container: Obj, restart_count: int) -> dict[str, str]:
    spec = pod.get("spec") or {}
    out = {
        HASH: container_hash(container),
        RESTART_COUNT: str(restart_count),
        TERMINATION_MESSAGE_PATH: container.get("terminationMessagePath") or "/dev/termination-log",
        TERMINATION_MESSAGE_POLICY: container.get("terminationMessagePolicy") or "File",
        GRACE_PERIOD: str(spec.get("terminationGracePeriodSeconds", 30)),
    }
    pre_stop = (container.get("lifecycle") or {}).get("preStop")
    if pre_stop:
        out[PRESTOP] = orjson.dumps(pre_stop).decode()
    return out


def restart_count(annotations: dict[str, str]) -> int:
    try:
        return int(annotations.get(RESTART_COUNT, "0"))
    except ValueError:
        return 0
