"""Pod, PodSpec and PodTemplateSpec defaulting as upstream's ``core/v1`` defaults (and QoS class)."""

from __future__ import annotations

from typing import Any

from kybernetes.api.quantity import QuantityError
from kybernetes.api.strategies._util import (
    Obj,
    canonical_quantities,
    child,
    default_ptr,
    default_str,
    default_zero,
    lst,
    m,
    parse_quantity_memo,
)

_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
_VOLUME_SOURCES = (
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
)
DEFAULT_MODE = 0o644  # 420


def image_tag(image: str) -> tuple[str, str]:
    """(tag, digest) of an image reference; no tag and no digest means ``latest``."""
    digest = ""
    if "@" in image:
        image, digest = image.split("@", 1)
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    if not tag and not digest:
        tag = "latest"
    return tag, digest


def default_container(ctr: Obj) -> None:
    if ctr.get("imagePullPolicy") in (None, ""):
        tag, _ = image_tag(ctr.get("image") or "")
        ctr["imagePullPolicy"] = "Always" if tag == "latest" else "IfNotPresent"
    default_str(ctr, "terminationMessagePath", "/dev/termination-log")
    default_str(ctr, "terminationMessagePolicy", "File")
    for port in lst(ctr, "ports"):
        if isinstance(port, dict):
            default_str(port, "protocol", "TCP")
    for env in lst(ctr, "env"):
        field_ref = m(m(env, "valueFrom"), "fieldRef")
        if field_ref:
            default_str(field_ref, "apiVersion", "v1")
        resource_ref = m(m(env, "valueFrom"), "resourceFieldRef")
        if resource_ref:
            default_ptr(resource_ref, "divisor", "0")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(ctr.get(probe), dict):
            default_probe(ctr[probe])
    lifecycle = m(ctr, "lifecycle")
    for hook in ("postStart", "preStop"):
        handler = m(lifecycle, hook)
        if handler:
            _default_handler(handler)
    resources = m(ctr, "resources")
    canonical_quantities(resources.get("limits"))
    canonical_quantities(resources.get("requests"))


def _default_handler(handler: Obj) -> None:
    http = m(handler, "httpGet")
    if http:
        default_str(http, "path", "/")
        default_str(http, "scheme", "HTTP")
    grpc = m(handler, "grpc")
    if grpc:
        default_ptr(grpc, "service", "")


def default_probe(probe: Obj) -> None:
    default_zero(probe, "timeoutSeconds", 1)
    default_zero(probe, "periodSeconds", 10)
    default_zero(probe, "successThreshold", 1)
    default_zero(probe, "failureThreshold", 3)
    _default_handler(probe)


def default_volume(vol: Obj) -> None:
    if not any(vol.get(src) is not None for src in _VOLUME_SOURCES):
        vol["emptyDir"] = {}
    for src in ("secret", "configMap", "downwardAPI", "projected"):
        if isinstance(vol.get(src), dict):
            default_ptr(vol[src], "defaultMode", DEFAULT_MODE)
    if isinstance(vol.get("hostPath"), dict):
        default_ptr(vol["hostPath"], "type", "")
    for item in lst(m(vol, "downwardAPI"), "items"):
        if m(item, "fieldRef"):
            default_str(item["fieldRef"], "apiVersion", "v1")
    for source in lst(m(vol, "projected"), "sources"):
        for item in lst(m(source, "downwardAPI"), "items"):
            if m(item, "fieldRef"):
                default_str(item["fieldRef"], "apiVersion", "v1")
        token = m(source, "serviceAccountToken")
        if token:
            default_ptr(token, "expirationSeconds", 3600)
    iscsi = m(vol, "iscsi")
    if iscsi:
        default_str(iscsi, "iscsiInterface", "default")


def default_pod_spec(spec: Obj) -> None:
    """``SetDefaults_PodSpec`` plus the generated defaults of everything a PodSpec contains."""
    default_str(spec, "dnsPolicy", "ClusterFirst")
    default_str(spec, "restartPolicy", "Always")
    default_ptr(spec, "securityContext", {})
    default_ptr(spec, "terminationGracePeriodSeconds", 30)
    default_str(spec, "schedulerName", "default-scheduler")
    for key in _CONTAINER_LISTS:
        for ctr in lst(spec, key):
            if isinstance(ctr, dict):
                default_container(ctr)
    for vol in lst(spec, "volumes"):
        if isinstance(vol, dict):
            default_volume(vol)
    if spec.get("hostNetwork") is True:
        for key in _CONTAINER_LISTS:
            for ctr in lst(spec, key):
                for port in lst(ctr, "ports"):
                    if isinstance(port, dict) and port.get("hostPort") in (None, 0):
                        port["hostPort"] = port.get("containerPort", 0)


def default_pod_template(template: Obj) -> None:
    default_pod_spec(child(template, "spec"))


def default_pod(pod: Obj) -> None:
    """``SetDefaults_Pod``: the PodSpec defaults, requests from limits, ``enableServiceLinks``."""
    spec = child(pod, "spec")
    for key in ("initContainers", "containers"):
        for ctr in lst(spec, key):
            resources = m(ctr, "resources")
            limits = m(resources, "limits")
            if limits:
                requests = child(resources, "requests")
                for name, value in limits.items():
                    requests.setdefault(name, value)
    default_pod_spec(spec)
    default_ptr(spec, "enableServiceLinks", True)


def pod_qos(pod: Obj) -> str:
    """``BestEffort``, ``Burstable`` or ``Guaranteed`` from cpu/memory requests and limits (requests fall back
    to limits, as defaulting would set them)."""
    spec = m(pod, "spec")
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    guaranteed = True
    for ctr in lst(spec, "initContainers") + lst(spec, "containers"):
        res = m(ctr, "resources")
        ctr_limits = m(res, "limits")
        ctr_requests = dict(ctr_limits)
        ctr_requests.update(m(res, "requests"))
        for source, total in ((ctr_requests, requests), (ctr_limits, limits)):
            for name in ("cpu", "memory"):
                if name not in source:
                    continue
                try:
                    q = parse_quantity_memo(source[name])
                except QuantityError:
                    continue
                if q.sign() > 0:
                    total[name] = total[name].add(q) if name in total else q
        found = {n for n in ("cpu", "memory") if n in ctr_limits and _positive(ctr_limits[n])}
        if found != {"cpu", "memory"}:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if (
        guaranteed
        and all(n in limits and limits[n].cmp(q) == 0 for n, q in requests.items())
        and len(requests) == len(limits)
    ):
        return "Guaranteed"
    return "Burstable"


def _positive(value: Any) -> bool:
    try:
        return parse_quantity_memo(value).sign() > 0
    except QuantityError:
        return False
