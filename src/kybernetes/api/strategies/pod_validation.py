"""PodSpec / PodTemplateSpec / Pod-update validation with upstream's paths and messages."""

from __future__ import annotations

import difflib
from typing import Any

import orjson

from kybernetes.api import validation as v
from kybernetes.api.errors import (
    FieldError,
    duplicate,
    forbidden_field,
    invalid_value,
    not_supported,
    required,
)
from kybernetes.api.patch.common import clone
from kybernetes.api.strategies._util import Obj, g, is_int, lst, m, not_found, quantity_errors, s

_PROTOCOLS = ["SCTP", "TCP", "UDP"]
_RESTART = ["Always", "OnFailure", "Never"]
_DNS = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
_PULL = ["Always", "IfNotPresent", "Never"]
_STANDARD_CONTAINER_RESOURCES = {"cpu", "memory", "ephemeral-storage"}
_MAX_INT32 = 2**31 - 1


def _enum(value: Any, path: str, valid: list[str]) -> list[FieldError]:
    if value in (None, ""):
        return [required(path)]
    if value not in valid:
        return [not_supported(path, value, valid)]
    return []


def _label_errs(value: str, path: str) -> list[FieldError]:
    return [invalid_value(path, value, msg) for msg in v.is_dns1123_label(value)]


def validate_volumes(volumes: list[Any], path: str) -> tuple[set[str], list[FieldError]]:
    from kybernetes.api.strategies.pod_defaults import _VOLUME_SOURCES

    errs: list[FieldError] = []
    names: set[str] = set()
    for i, vol in enumerate(volumes):
        ip = f"{path}[{i}]"
        if not isinstance(vol, dict):
            errs.append(invalid_value(ip, vol, "must be an object"))
            continue
        sources = [src for src in _VOLUME_SOURCES if vol.get(src) is not None]
        if not sources:
            errs.append(required(ip, "must specify a volume type"))
        for extra in sources[1:]:
            errs.append(forbidden_field(f"{ip}.{extra}", "may not specify more than 1 volume type"))
        if sources:
            errs.extend(_validate_volume_source(sources[0], m(vol, sources[0]), f"{ip}.{sources[0]}"))
        name = s(vol, "name")
        if not name:
            errs.append(required(f"{ip}.name"))
        else:
            errs.extend(_label_errs(name, f"{ip}.name"))
        if name in names:
            errs.append(duplicate(f"{ip}.name", name))
        names.add(name)
    return names, errs


def _mode_errs(mode: Any, path: str) -> list[FieldError]:
    if mode is not None and (not is_int(mode) or not 0 <= mode <= 0o777):
        return [invalid_value(path, mode, "must be a number between 0 and 0777 (octal), both inclusive")]
    return []


def _validate_volume_source(kind: str, src: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if kind == "configMap":
        if not s(src, "name"):
            errs.append(required(f"{path}.name"))
        errs.extend(_mode_errs(src.get("defaultMode"), f"{path}.defaultMode"))
        errs.extend(_key_to_path_errs(lst(src, "items"), f"{path}.items"))
    elif kind == "secret":
        if not s(src, "secretName"):
            errs.append(required(f"{path}.secretName"))
        errs.extend(_mode_errs(src.get("defaultMode"), f"{path}.defaultMode"))
        errs.extend(_key_to_path_errs(lst(src, "items"), f"{path}.items"))
    elif kind == "hostPath":
        if not s(src, "path"):
            errs.append(required(f"{path}.path"))
        valid = [
            "",
            "DirectoryOrCreate",
            "Directory",
            "FileOrCreate",
            "File",
            "Socket",
            "CharDevice",
            "BlockDevice",
        ]
        if src.get("type") is not None and src.get("type") not in valid:
            errs.append(not_supported(f"{path}.type", src.get("type"), valid))
    elif kind == "persistentVolumeClaim":
        if not s(src, "claimName"):
            errs.append(required(f"{path}.claimName"))
    elif kind == "emptyDir":
        limit = src.get("sizeLimit")
        if limit is not None:
            qerrs, _ = quantity_errors(limit, f"{path}.sizeLimit")
            errs.extend(qerrs)
    elif kind == "nfs":
        if not s(src, "server"):
            errs.append(required(f"{path}.server"))
        if not s(src, "path"):
            errs.append(required(f"{path}.path"))
    return errs


def _key_to_path_errs(items: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, item in enumerate(items):
        ip = f"{path}[{i}]"
        if not s(item, "key"):
            errs.append(required(f"{ip}.key"))
        p = s(item, "path")
        if not p:
            errs.append(required(f"{ip}.path"))
        elif p.startswith("/"):
            errs.append(invalid_value(f"{ip}.path", p, "must be a relative path"))
        elif ".." in p.split("/"):
            errs.append(invalid_value(f"{ip}.path", p, "must not contain '..'"))
        errs.extend(_mode_errs(g(item, "mode"), f"{ip}.mode"))
    return errs


def _validate_ports(ports: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        ip = f"{path}[{i}]"
        name = s(port, "name")
        if name:
            msgs = v.is_valid_port_name(name)
            if msgs:
                errs.extend(invalid_value(f"{ip}.name", name, msg) for msg in msgs)
            elif name in names:
                errs.append(duplicate(f"{ip}.name", name))
            else:
                names.add(name)
        cport = g(port, "containerPort")
        if not cport:
            errs.append(required(f"{ip}.containerPort"))
        elif is_int(cport):
            errs.extend(
                invalid_value(f"{ip}.containerPort", cport, msg) for msg in v.is_valid_port_num(cport)
            )
        hport = g(port, "hostPort")
        if is_int(hport) and hport != 0:
            errs.extend(invalid_value(f"{ip}.hostPort", hport, msg) for msg in v.is_valid_port_num(hport))
        proto = s(port, "protocol")
        if not proto:
            errs.append(required(f"{ip}.protocol"))
        elif proto not in _PROTOCOLS:
            errs.append(not_supported(f"{ip}.protocol", proto, _PROTOCOLS))
    return errs


def _validate_env(env: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, ev in enumerate(env):
        ip = f"{path}[{i}]"
        name = s(ev, "name")
        if not name:
            errs.append(required(f"{ip}.name"))
        else:
            errs.extend(invalid_value(f"{ip}.name", name, msg) for msg in v.is_env_var_name(name))
        value_from = m(ev, "valueFrom")
        if isinstance(ev, dict) and ev.get("valueFrom") is not None:
            refs = [
                k
                for k in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef", "fileKeyRef")
                if value_from.get(k) is not None
            ]
            vp = f"{ip}.valueFrom"
            if not refs:
                errs.append(
                    invalid_value(
                        vp,
                        "",
                        "must specify one of: `fieldRef`, `resourceFieldRef`, "
                        "`configMapKeyRef` or `secretKeyRef`",
                    )
                )
            elif len(refs) > 1:
                errs.append(invalid_value(vp, "", "may not have more than one field specified at a time"))
            if refs and s(ev, "value"):
                errs.append(invalid_value(vp, "", "may not be specified when `value` is not empty"))
            for ref in ("configMapKeyRef", "secretKeyRef"):
                if ref in refs and not s(value_from[ref], "key"):
                    errs.append(required(f"{vp}.{ref}.key"))
            if "fieldRef" in refs and not s(value_from["fieldRef"], "fieldPath"):
                errs.append(required(f"{vp}.fieldRef.fieldPath"))
    return errs


def _validate_mounts(mounts: list[Any], volumes: set[str], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, mnt in enumerate(mounts):
        ip = f"{path}[{i}]"
        name = s(mnt, "name")
        if not name:
            errs.append(required(f"{ip}.name"))
        if name not in volumes:
            errs.append(not_found(f"{ip}.name", name))
        mount_path = s(mnt, "mountPath")
        if not mount_path:
            errs.append(required(f"{ip}.mountPath"))
        if mount_path in seen:
            errs.append(invalid_value(f"{ip}.mountPath", mount_path, "must be unique"))
        seen.add(mount_path)
        sub = s(mnt, "subPath")
        if sub.startswith("/"):
            errs.append(invalid_value(f"{path}.subPath", sub, "must be a relative path"))
        elif ".." in sub.split("/"):
            errs.append(invalid_value(f"{path}.subPath", sub, "must not contain '..'"))
    return errs


def _is_native(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def validate_resources(res: Obj, path: str) -> list[FieldError]:
    """Container resource requirements: names, quantities, requests ≤ limits."""
    errs: list[FieldError] = []
    parsed_limits: dict[str, Any] = {}
    for which in ("limits", "requests"):
        for name, value in m(res, which).items():
            fp = f"{path}.{which}[{name}]"
            errs.extend(invalid_value(fp, name, msg) for msg in v.is_qualified_name(name))
            if (
                _is_native(name)
                and name not in _STANDARD_CONTAINER_RESOURCES
                and not name.startswith("hugepages-")
            ):
                errs.append(invalid_value(fp, name, "must be a standard resource for containers"))
            qerrs, q = quantity_errors(value, fp)
            errs.extend(qerrs)
            if q is None:
                continue
            if q.sign() < 0:
                errs.append(invalid_value(fp, q.canonical(), "must be greater than or equal to 0"))
            if not _is_native(name) and q.milli_value() % 1000:
                errs.append(invalid_value(fp, q.canonical(), "must be an integer"))
            if which == "limits":
                parsed_limits[name] = q
                continue
            limit = parsed_limits.get(name)
            overcommit = _is_native(name) and not name.startswith("hugepages-")
            if limit is not None:
                if q.cmp(limit) != 0 and not overcommit:
                    errs.append(
                        invalid_value(
                            f"{path}.requests",
                            q.canonical(),
                            f"must be equal to {name} limit of {limit.canonical()}",
                        )
                    )
                elif q.cmp(limit) > 0:
                    errs.append(
                        invalid_value(
                            f"{path}.requests",
                            q.canonical(),
                            f"must be less than or equal to {name} limit of {limit.canonical()}",
                        )
                    )
            elif not overcommit:
                errs.append(required(f"{path}.limits", "Limit must be set for non overcommitable resources"))
    return errs


def _port_num_or_name(port: Any, path: str) -> list[FieldError]:
    if is_int(port):
        return [invalid_value(path, port, msg) for msg in v.is_valid_port_num(port)]
    if isinstance(port, str):
        if port.isdigit():
            return [invalid_value(path, port, msg) for msg in v.is_valid_port_num(int(port))]
        return [invalid_value(path, port, msg) for msg in v.is_valid_port_name(port)]
    return [required(path)]


def _validate_handler(handler: Obj, path: str, kinds: tuple[str, ...]) -> list[FieldError]:
    errs: list[FieldError] = []
    present = [k for k in kinds if handler.get(k) is not None]
    if not present:
        errs.append(required(path, "must specify a handler type"))
    for extra in present[1:]:
        errs.append(forbidden_field(f"{path}.{extra}", "may not specify more than 1 handler type"))
    if "httpGet" in present:
        http = m(handler, "httpGet")
        if not s(http, "path"):
            errs.append(required(f"{path}.httpGet.path"))
        errs.extend(_port_num_or_name(http.get("port"), f"{path}.httpGet.port"))
        if http.get("scheme") not in ("HTTP", "HTTPS"):
            errs.append(not_supported(f"{path}.httpGet.scheme", http.get("scheme"), ["HTTP", "HTTPS"]))
    if "tcpSocket" in present:
        errs.extend(_port_num_or_name(m(handler, "tcpSocket").get("port"), f"{path}.tcpSocket.port"))
    if "exec" in present and not lst(m(handler, "exec"), "command"):
        errs.append(required(f"{path}.exec.command"))
    if "grpc" in present:
        port = m(handler, "grpc").get("port")
        if is_int(port):
            errs.extend(invalid_value(f"{path}.grpc.port", port, msg) for msg in v.is_valid_port_num(port))
    return errs


_PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")


def _validate_probe(probe: Any, path: str, liveness_like: bool) -> list[FieldError]:
    if not isinstance(probe, dict):
        return []
    errs = _validate_handler(probe, path, _PROBE_HANDLERS)
    for key in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        errs.extend(v.validate_nonnegative(probe.get(key), f"{path}.{key}"))
    if liveness_like and probe.get("successThreshold") not in (None, 1):
        errs.append(invalid_value(f"{path}.successThreshold", probe["successThreshold"], "must be 1"))
    return errs


def _validate_container(ctr: Any, volumes: set[str], path: str) -> list[FieldError]:
    if not isinstance(ctr, dict):
        return [invalid_value(path, ctr, "must be an object")]
    errs: list[FieldError] = []
    name = s(ctr, "name")
    if not name:
        errs.append(required(f"{path}.name"))
    else:
        errs.extend(_label_errs(name, f"{path}.name"))
    if not s(ctr, "image"):
        errs.append(required(f"{path}.image"))
    errs.extend(
        _enum(
            ctr.get("terminationMessagePolicy"),
            f"{path}.terminationMessagePolicy",
            ["File", "FallbackToLogsOnError"],
        )
    )
    errs.extend(_validate_ports(lst(ctr, "ports"), f"{path}.ports"))
    errs.extend(_validate_env(lst(ctr, "env"), f"{path}.env"))
    errs.extend(_validate_mounts(lst(ctr, "volumeMounts"), volumes, f"{path}.volumeMounts"))
    errs.extend(_enum(ctr.get("imagePullPolicy"), f"{path}.imagePullPolicy", _PULL))
    errs.extend(validate_resources(m(ctr, "resources"), f"{path}.resources"))
    lifecycle = m(ctr, "lifecycle")
    for hook in ("postStart", "preStop"):
        if isinstance(lifecycle.get(hook), dict):
            errs.extend(
                _validate_handler(
                    lifecycle[hook], f"{path}.lifecycle.{hook}", ("exec", "httpGet", "tcpSocket", "sleep")
                )
            )
    return errs


def _validate_containers(spec: Obj, volumes: set[str], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    containers = lst(spec, "containers")
    if not containers:
        errs.append(required(f"{path}.containers"))
    names: set[str] = set()
    for i, ctr in enumerate(containers):
        cp = f"{path}.containers[{i}]"
        errs.extend(_validate_container(ctr, volumes, cp))
        name = s(ctr, "name")
        if name in names:
            errs.append(duplicate(f"{cp}.name", name))
        names.add(name)
        errs.extend(_validate_probe(g(ctr, "livenessProbe"), f"{cp}.livenessProbe", True))
        errs.extend(_validate_probe(g(ctr, "readinessProbe"), f"{cp}.readinessProbe", False))
        errs.extend(_validate_probe(g(ctr, "startupProbe"), f"{cp}.startupProbe", True))
        if isinstance(ctr, dict) and ctr.get("restartPolicy") is not None:
            errs.append(forbidden_field(f"{cp}.restartPolicy", "may not be set for non-init containers"))
    for i, ctr in enumerate(lst(spec, "initContainers")):
        ip = f"{path}.initContainers[{i}]"
        errs.extend(_validate_container(ctr, volumes, ip))
        name = s(ctr, "name")
        if name in names:
            errs.append(duplicate(f"{ip}.name", name))
        names.add(name)
    return errs


def validate_tolerations(tolerations: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, tol in enumerate(tolerations):
        ip = f"{path}[{i}]"
        key = s(tol, "key")
        op = s(tol, "operator")
        if key:
            errs.extend(invalid_value(f"{ip}.key", key, msg) for msg in v.is_qualified_name(key))
        elif op != "Exists":
            errs.append(
                invalid_value(
                    f"{ip}.operator",
                    op,
                    "operator must be Exists when `key` is empty, which "
                    'means "match all values and all keys"',
                )
            )
        tol_seconds = g(tol, "tolerationSeconds")
        if tol_seconds is not None and s(tol, "effect") != "NoExecute":
            errs.append(
                invalid_value(
                    f"{ip}.effect",
                    s(tol, "effect"),
                    "effect must be 'NoExecute' when `tolerationSeconds` is set",
                )
            )
        if op in ("", "Equal"):
            value = s(tol, "value")
            errs.extend(invalid_value(f"{ip}.value", value, msg) for msg in v.is_valid_label_value(value))
        elif op == "Exists":
            if s(tol, "value"):
                errs.append(
                    invalid_value(
                        f"{ip}.operator", tol["value"], "value must be empty when `operator` is 'Exists'"
                    )
                )
        else:
            errs.append(not_supported(f"{ip}.operator", op, ["Equal", "Exists"]))
        effect = s(tol, "effect")
        if effect and effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            errs.append(
                not_supported(f"{ip}.effect", effect, ["NoSchedule", "PreferNoSchedule", "NoExecute"])
            )
    return errs


def validate_pod_spec(spec: Obj, path: str) -> list[FieldError]:
    """``ValidatePodSpec``: volumes, containers, policies, names, tolerations (in upstream's order)."""
    volumes, errs = validate_volumes(lst(spec, "volumes"), f"{path}.volumes")
    errs.extend(_validate_containers(spec, volumes, path))
    errs.extend(_enum(spec.get("restartPolicy"), f"{path}.restartPolicy", _RESTART))
    errs.extend(_enum(spec.get("dnsPolicy"), f"{path}.dnsPolicy", _DNS))
    errs.extend(v.validate_labels(spec.get("nodeSelector"), f"{path}.nodeSelector"))
    for i, secret in enumerate(lst(spec, "imagePullSecrets")):
        if not s(secret, "name"):
            errs.append(required(f"{path}.imagePullSecrets[{i}].name"))
    sa = s(spec, "serviceAccountName")
    if sa:
        errs.extend(
            invalid_value(f"{path}.serviceAccountName", sa, msg) for msg in v.is_dns1123_subdomain(sa)
        )
    node = s(spec, "nodeName")
    if node:
        errs.extend(invalid_value(f"{path}.nodeName", node, msg) for msg in v.is_dns1123_subdomain(node))
    ads = spec.get("activeDeadlineSeconds")
    if is_int(ads) and not 1 <= ads <= _MAX_INT32:
        errs.append(
            invalid_value(f"{path}.activeDeadlineSeconds", ads, v.inclusive_range_error(1, _MAX_INT32))
        )
    for key in ("hostname", "subdomain"):
        if s(spec, key):
            errs.extend(_label_errs(spec[key], f"{path}.{key}"))
    errs.extend(validate_tolerations(lst(spec, "tolerations"), f"{path}.tolerations"))
    return errs


def validate_pod_template(template: Any, path: str) -> list[FieldError]:
    """``ValidatePodTemplateSpec``; note upstream reports template labels on ``<path>.labels``."""
    if not isinstance(template, dict):
        return [required(path)]
    meta = m(template, "metadata")
    errs = v.validate_labels(meta.get("labels"), f"{path}.labels")
    errs.extend(v.validate_annotations(meta.get("annotations"), f"{path}.annotations"))
    errs.extend(validate_pod_spec(m(template, "spec"), f"{path}.spec"))
    if lst(m(template, "spec"), "ephemeralContainers"):
        errs.append(
            forbidden_field(
                f"{path}.spec.ephemeralContainers", "ephemeral containers not allowed in pod template"
            )
        )
    return errs


POD_UPDATE_FORBIDDEN = (
    "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,"
    "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
)


def validate_pod_spec_update(new_spec: Obj, old_spec: Obj) -> list[FieldError]:
    """The pod spec is immutable except images, activeDeadlineSeconds, toleration additions, grace period
    (negative → 1) and removal of scheduling gates."""
    errs: list[FieldError] = []
    old_ads, new_ads = old_spec.get("activeDeadlineSeconds"), new_spec.get("activeDeadlineSeconds")
    if old_ads is not None and (new_ads is None or (is_int(new_ads) and new_ads > old_ads)):
        errs.append(
            invalid_value(
                "spec.activeDeadlineSeconds", new_ads, "must be less than or equal to previous value"
            )
        )
    old_tols = lst(old_spec, "tolerations")
    new_tols = lst(new_spec, "tolerations")
    for i, tol in enumerate(old_tols):
        if tol not in new_tols:
            errs.append(
                forbidden_field(
                    f"spec.tolerations[{i}]",
                    "existing toleration can not be modified except its tolerationSeconds",
                )
            )
            break
    munged = clone(new_spec)
    for key in ("containers", "initContainers"):
        old_ctrs = lst(old_spec, key)
        new_ctrs = lst(munged, key)
        if len(old_ctrs) == len(new_ctrs):
            for old_c, new_c in zip(old_ctrs, new_ctrs, strict=True):
                if isinstance(new_c, dict) and isinstance(old_c, dict):
                    if "image" in old_c:
                        new_c["image"] = old_c["image"]
                    else:
                        new_c.pop("image", None)
    for key in ("activeDeadlineSeconds", "tolerations"):
        if key in old_spec:
            munged[key] = clone(old_spec[key])
        else:
            munged.pop(key, None)
    old_grace = old_spec.get("terminationGracePeriodSeconds")
    if is_int(old_grace) and old_grace < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    if not lst(munged, "schedulingGates") and lst(old_spec, "schedulingGates"):
        munged["schedulingGates"] = clone(old_spec["schedulingGates"])
    if munged != old_spec:
        errs.append(forbidden_field("spec", POD_UPDATE_FORBIDDEN + "\n" + _diff(old_spec, munged)))
    return errs


def _diff(old: Any, new: Any) -> str:
    a = orjson.dumps(old, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode().splitlines()
    b = orjson.dumps(new, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode().splitlines()
    return "\n".join(
        line
        for line in difflib.unified_diff(a, b, "old", "new", lineterm="", n=1)
        if not line.startswith(("---", "+++"))
    )
