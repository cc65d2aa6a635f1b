"""core/v1 kinds other than Pod and storage: Service, Namespace, Secret, ConfigMap, ServiceAccount, Endpoints,
Event, Node, LimitRange, ResourceQuota."""

from __future__ import annotations

import base64
import contextlib
import copy
import ipaddress
from typing import Any, ClassVar

from kybernetes.api import validation as v
from kybernetes.api.errors import (
    FieldError,
    duplicate,
    forbidden_field,
    invalid_value,
    not_supported,
    required,
)
from kybernetes.api.strategies._util import (
    Obj,
    canonical_quantities,
    child,
    default_ptr,
    default_str,
    g,
    is_int,
    lst,
    m,
    quantity_errors,
    s,
)
from kybernetes.api.strategies.base import BaseStrategy

MAX_SECRET_SIZE = 1024 * 1024
_SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
_PROTOCOLS = ["SCTP", "TCP", "UDP"]


def _externally_accessible(spec: Obj) -> bool:
    kind = spec.get("type")
    return kind in ("LoadBalancer", "NodePort") or (kind == "ClusterIP" and bool(lst(spec, "externalIPs")))


def _headless(spec: Obj) -> bool:
    return spec.get("clusterIP") == "None"


class ServiceStrategy(BaseStrategy):
    """Defaults and validation only: cluster IPs and node ports are allocated by the server."""

    has_status_subresource = True
    name_rule: ClassVar[str] = "dns1035"

    def initial_status(self, obj: Obj) -> Obj | None:
        return {"loadBalancer": {}}

    def _default(self, obj: Obj) -> None:
        spec = child(obj, "spec")
        default_str(spec, "sessionAffinity", "None")
        if spec["sessionAffinity"] == "None":
            spec.pop("sessionAffinityConfig", None)
        elif spec["sessionAffinity"] == "ClientIP":
            timeout = g(g(spec.get("sessionAffinityConfig"), "clientIP"), "timeoutSeconds")
            if timeout is None:
                spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 10800}}
        default_str(spec, "type", "ClusterIP")
        for port in lst(spec, "ports"):
            if not isinstance(port, dict):
                continue
            default_str(port, "protocol", "TCP")
            if port.get("targetPort") in (None, 0, ""):
                port["targetPort"] = port.get("port", 0)
        if _externally_accessible(spec):
            default_str(spec, "externalTrafficPolicy", "Cluster")
        if spec["type"] in ("NodePort", "LoadBalancer", "ClusterIP"):
            default_ptr(spec, "internalTrafficPolicy", "Cluster")
        if spec["type"] == "LoadBalancer":
            default_ptr(spec, "allocateLoadBalancerNodePorts", True)
        if spec["type"] != "ExternalName":
            family = "IPv4"
            cluster_ip = s(spec, "clusterIP")
            if cluster_ip and cluster_ip != "None":
                with contextlib.suppress(ValueError):
                    family = "IPv6" if ipaddress.ip_address(cluster_ip).version == 6 else "IPv4"
            default_ptr(spec, "ipFamilyPolicy", "SingleStack")
            if not lst(spec, "ipFamilies"):
                spec["ipFamilies"] = [family]

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        """Keep old status and the allocated values (clusterIP(s), node ports) a client left empty."""
        super().prepare_for_update(new, old)
        new_spec, old_spec = child(new, "spec"), m(old, "spec")
        external_name = "ExternalName" in (new_spec.get("type", "ClusterIP"), old_spec.get("type"))
        if not external_name and not s(new_spec, "clusterIP") and s(old_spec, "clusterIP"):
            new_spec["clusterIP"] = old_spec["clusterIP"]
            if not lst(new_spec, "clusterIPs") and lst(old_spec, "clusterIPs"):
                new_spec["clusterIPs"] = copy.deepcopy(old_spec["clusterIPs"])
        if new_spec.get("type") in ("NodePort", "LoadBalancer") and old_spec.get("type") in (
            "NodePort",
            "LoadBalancer",
        ):
            old_ports = {
                (g(p, "port"), g(p, "protocol") or "TCP"): g(p, "nodePort") for p in lst(old_spec, "ports")
            }
            for port in lst(new_spec, "ports"):
                if isinstance(port, dict) and not port.get("nodePort"):
                    allocated = old_ports.get((port.get("port"), port.get("protocol") or "TCP"))
                    if allocated:
                        port["nodePort"] = allocated
            if (
                not new_spec.get("healthCheckNodePort")
                and old_spec.get("healthCheckNodePort")
                and new_spec.get("externalTrafficPolicy") == "Local"
            ):
                new_spec["healthCheckNodePort"] = old_spec["healthCheckNodePort"]

    def _validate(self, obj: Obj) -> list[FieldError]:
        spec = m(obj, "spec")
        errs: list[FieldError] = []
        kind = spec.get("type")
        ports = lst(spec, "ports")
        if not ports and not _headless(spec) and kind != "ExternalName":
            errs.append(required("spec.ports"))
        if kind == "ExternalName":
            name = s(spec, "externalName")
            if not name:
                errs.append(required("spec.externalName"))
            else:
                errs.extend(
                    invalid_value("spec.externalName", name, msg)
                    for msg in v.is_dns1123_subdomain(name.rstrip("."))
                )
        names: set[str] = set()
        seen: set[tuple[Any, Any]] = set()
        for i, port in enumerate(ports):
            errs.extend(self._validate_port(port, len(ports) > 1, names, f"spec.ports[{i}]"))
            key = (g(port, "port"), g(port, "protocol"))
            if key in seen:
                errs.append(duplicate(f"spec.ports[{i}]", {"port": key[0], "protocol": key[1]}))
            seen.add(key)
            if kind == "ClusterIP" and g(port, "nodePort"):
                errs.append(
                    forbidden_field(f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'")
                )
        if kind in (None, ""):
            errs.append(required("spec.type"))
        elif kind not in _SERVICE_TYPES:
            errs.append(not_supported("spec.type", kind, _SERVICE_TYPES))
        affinity = spec.get("sessionAffinity")
        if affinity in (None, ""):
            errs.append(required("spec.sessionAffinity"))
        elif affinity not in ("ClientIP", "None"):
            errs.append(not_supported("spec.sessionAffinity", affinity, ["ClientIP", "None"]))
        elif affinity == "ClientIP":
            timeout = g(g(spec.get("sessionAffinityConfig"), "clientIP"), "timeoutSeconds")
            if is_int(timeout) and not 0 < timeout <= 86400:
                errs.append(
                    invalid_value(
                        "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                        timeout,
                        v.inclusive_range_error(1, 86400),
                    )
                )
        errs.extend(v.validate_labels(spec.get("selector"), "spec.selector"))
        cluster_ip = s(spec, "clusterIP")
        if cluster_ip and cluster_ip != "None":
            errs.extend(
                invalid_value("spec.clusterIPs[0]", cluster_ip, msg) for msg in v.is_valid_ip(cluster_ip)
            )
        for i, ip in enumerate(lst(spec, "externalIPs")):
            if isinstance(ip, str):
                errs.extend(invalid_value(f"spec.externalIPs[{i}]", ip, msg) for msg in v.is_valid_ip(ip))
        etp = spec.get("externalTrafficPolicy")
        if not _externally_accessible(spec):
            if etp:
                errs.append(
                    invalid_value(
                        "spec.externalTrafficPolicy",
                        etp,
                        "may only be set for externally-accessible services",
                    )
                )
        elif not etp:
            errs.append(required("spec.externalTrafficPolicy"))
        elif etp not in ("Cluster", "Local"):
            errs.append(not_supported("spec.externalTrafficPolicy", etp, ["Cluster", "Local"]))
        itp = spec.get("internalTrafficPolicy")
        if itp is not None and itp not in ("Cluster", "Local"):
            errs.append(not_supported("spec.internalTrafficPolicy", itp, ["Cluster", "Local"]))
        policy = spec.get("ipFamilyPolicy")
        valid_policies = ["PreferDualStack", "RequireDualStack", "SingleStack"]
        if policy is not None and policy not in valid_policies:
            errs.append(not_supported("spec.ipFamilyPolicy", policy, valid_policies))
        for i, fam in enumerate(lst(spec, "ipFamilies")):
            if fam not in ("IPv4", "IPv6"):
                errs.append(not_supported(f"spec.ipFamilies[{i}]", fam, ["IPv4", "IPv6"]))
        return errs

    @staticmethod
    def _validate_port(port: Any, name_required: bool, names: set[str], path: str) -> list[FieldError]:
        errs: list[FieldError] = []
        name = s(port, "name")
        if name_required and not name:
            errs.append(required(f"{path}.name"))
        elif name:
            errs.extend(invalid_value(f"{path}.name", name, msg) for msg in v.is_dns1123_label(name))
            if name in names:
                errs.append(duplicate(f"{path}.name", name))
            names.add(name)
        number = g(port, "port")
        if is_int(number):
            errs.extend(invalid_value(f"{path}.port", number, msg) for msg in v.is_valid_port_num(number))
        else:
            errs.append(required(f"{path}.port"))
        proto = s(port, "protocol")
        if not proto:
            errs.append(required(f"{path}.protocol"))
        elif proto not in _PROTOCOLS:
            errs.append(not_supported(f"{path}.protocol", proto, _PROTOCOLS))
        target = g(port, "targetPort")
        if is_int(target):
            errs.extend(
                invalid_value(f"{path}.targetPort", target, msg) for msg in v.is_valid_port_num(target)
            )
        elif isinstance(target, str):
            errs.extend(
                invalid_value(f"{path}.targetPort", target, msg) for msg in v.is_valid_port_name(target)
            )
        node_port = g(port, "nodePort")
        if is_int(node_port) and node_port != 0:
            errs.extend(
                invalid_value(f"{path}.nodePort", node_port, msg) for msg in v.is_valid_port_num(node_port)
            )
        proto_name = s(port, "appProtocol")
        if proto_name:
            errs.extend(
                invalid_value(f"{path}.appProtocol", proto_name, msg)
                for msg in v.is_qualified_name(proto_name)
            )
        return errs

    def _validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        new_spec, old_spec = m(new, "spec"), m(old, "spec")
        if old_spec.get("type") == "ExternalName" or new_spec.get("type") == "ExternalName":
            return []
        old_ips = lst(old_spec, "clusterIPs") or ([old_spec["clusterIP"]] if s(old_spec, "clusterIP") else [])
        new_ips = lst(new_spec, "clusterIPs") or ([new_spec["clusterIP"]] if s(new_spec, "clusterIP") else [])
        if old_ips and new_ips and new_ips[0] != old_ips[0]:
            rendered = "[]string{" + ", ".join(v.go_repr(ip) for ip in new_ips) + "}"
            return [v.invalid_rendered("spec.clusterIPs[0]", rendered, "may not change once set")]
        return []


class NamespaceStrategy(BaseStrategy):
    has_status_subresource = True
    name_rule: ClassVar[str] = "label"

    def initial_status(self, obj: Obj) -> Obj | None:
        return {"phase": "Active"}

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        spec = child(obj, "spec")
        finalizers = lst(spec, "finalizers")
        if "kubernetes" not in finalizers:
            spec["finalizers"] = [*finalizers, "kubernetes"]

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        """Finalizers change only through ``/finalize``; status only through ``/status``."""
        super().prepare_for_update(new, old)
        old_finalizers = m(old, "spec").get("finalizers")
        spec = child(new, "spec")
        if old_finalizers is None:
            spec.pop("finalizers", None)
        else:
            spec["finalizers"] = copy.deepcopy(old_finalizers)

    def _default(self, obj: Obj) -> None:
        meta = child(obj, "metadata")
        if s(meta, "name"):
            child(meta, "labels")["kubernetes.io/metadata.name"] = meta["name"]

    def _validate(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        for fin in lst(m(obj, "spec"), "finalizers"):
            if isinstance(fin, str):
                errs.extend(invalid_value("spec.finalizers", fin, msg) for msg in v.is_qualified_name(fin))
                if "/" not in fin and fin != "kubernetes":
                    errs.append(
                        invalid_value(
                            "spec.finalizers",
                            fin,
                            "name is neither a standard finalizer name nor is it fully qualified",
                        )
                    )
        return errs

    def _validate_status(self, obj: Obj) -> list[FieldError]:
        phase = m(obj, "status").get("phase")
        if phase is not None and phase not in ("Active", "Terminating"):
            return [not_supported("status.phase", phase, ["Active", "Terminating"])]
        return []


def _immutable_data(new: Obj, old: Obj, keys: tuple[str, ...]) -> list[FieldError]:
    if old.get("immutable") is not True:
        return []
    errs: list[FieldError] = []
    if new.get("immutable") is not True:
        errs.append(forbidden_field("immutable", "field is immutable when `immutable` is set"))
    for key in keys:
        if (new.get(key) or {}) != (old.get(key) or {}):
            errs.append(forbidden_field(key, "field is immutable when `immutable` is set"))
    return errs


class SecretStrategy(BaseStrategy):
    def _default(self, obj: Obj) -> None:
        """Type ``Opaque``; ``stringData`` is write-only: merged into ``data`` (base64) and dropped."""
        default_str(obj, "type", "Opaque")
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict) and string_data:
            data = child(obj, "data")
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()

    def _validate(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        data = m(obj, "data")
        total = 0
        for key, value in data.items():
            errs.extend(invalid_value(f"data[{key}]", key, msg) for msg in v.is_config_map_key(key))
            total += len(value) * 3 // 4 if isinstance(value, str) else 0
        if total > MAX_SECRET_SIZE:
            errs.append(FieldError("FieldValueTooLong", "data", f"must have at most {MAX_SECRET_SIZE} bytes"))
        kind = obj.get("type")
        annotations = m(m(obj, "metadata"), "annotations")
        if kind == "kubernetes.io/service-account-token":
            if not annotations.get("kubernetes.io/service-account.name"):
                errs.append(required("metadata.annotations[kubernetes.io/service-account.name]"))
        elif kind == "kubernetes.io/dockercfg":
            if ".dockercfg" not in data:
                errs.append(required("data[.dockercfg]"))
        elif kind == "kubernetes.io/dockerconfigjson":
            if ".dockerconfigjson" not in data:
                errs.append(required("data[.dockerconfigjson]"))
        elif kind == "kubernetes.io/basic-auth":
            if "username" not in data and "password" not in data:
                errs.append(required("data[username]"))
                errs.append(required("data[password]"))
        elif kind == "kubernetes.io/ssh-auth":
            if not data.get("ssh-privatekey"):
                errs.append(required("data[ssh-privatekey]"))
        elif kind == "kubernetes.io/tls":
            for key in ("tls.crt", "tls.key"):
                if key not in data:
                    errs.append(required(f"data[{key}]"))
        return errs

    def _validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = v.validate_immutable(new.get("type"), old.get("type"), "type")
        errs.extend(_immutable_data(new, old, ("data",)))
        return errs


class ConfigMapStrategy(BaseStrategy):
    def _validate(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        total = 0
        data = m(obj, "data")
        for key, value in data.items():
            errs.extend(invalid_value(f"data[{key}]", key, msg) for msg in v.is_config_map_key(key))
            total += len(value) if isinstance(value, str) else 0
        for key, value in m(obj, "binaryData").items():
            errs.extend(invalid_value(f"binaryData[{key}]", key, msg) for msg in v.is_config_map_key(key))
            if key in data:
                errs.append(invalid_value(f"binaryData[{key}]", key, "duplicate of key present in data"))
            total += len(value) * 3 // 4 if isinstance(value, str) else 0
        if total > MAX_SECRET_SIZE:
            errs.append(FieldError("FieldValueTooLong", "", f"must have at most {MAX_SECRET_SIZE} bytes"))
        return errs

    def _validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return _immutable_data(new, old, ("data", "binaryData"))


class ServiceAccountStrategy(BaseStrategy):
    def _validate(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        for i, ref in enumerate(lst(obj, "imagePullSecrets")):
            if not s(ref, "name"):
                errs.append(required(f"imagePullSecrets[{i}].name"))
        return errs


class EndpointsStrategy(BaseStrategy):
    def _default(self, obj: Obj) -> None:
        for subset in lst(obj, "subsets"):
            for port in lst(subset, "ports"):
                if isinstance(port, dict):
                    default_str(port, "protocol", "TCP")

    def _validate(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        for i, subset in enumerate(lst(obj, "subsets")):
            sp = f"subsets[{i}]"
            for key in ("addresses", "notReadyAddresses"):
                for j, addr in enumerate(lst(subset, key)):
                    ip = s(addr, "ip")
                    errs.extend(invalid_value(f"{sp}.{key}[{j}].ip", ip, msg) for msg in v.is_valid_ip(ip))
            for j, port in enumerate(lst(subset, "ports")):
                number = g(port, "port")
                if is_int(number):
                    errs.extend(
                        invalid_value(f"{sp}.ports[{j}].port", number, msg)
                        for msg in v.is_valid_port_num(number)
                    )
                proto = s(port, "protocol")
                if proto not in _PROTOCOLS:
                    errs.append(not_supported(f"{sp}.ports[{j}].protocol", proto, _PROTOCOLS))
        return errs


class EventStrategy(BaseStrategy):
    """core/v1 Events (events.k8s.io/v1 is the same stored object); names are free-form path segments.

    Objects reach the strategy in their stored core/v1 form, whichever version was served: the reporting
    controller is ``reportingComponent`` there.  ``reporting_field`` is the name errors use for it
    (``reportingController`` when serving events.k8s.io/v1, as upstream reports it).
    """

    name_rule: ClassVar[str] = "subdomain"

    def __init__(self, reporting_field: str = "reportingComponent") -> None:
        super().__init__()
        self.reporting_field = reporting_field

    def _validate(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        kind = obj.get("type")
        if kind not in (None, "", "Normal", "Warning"):
            errs.append(not_supported("type", kind, ["Normal", "Warning"]))
        if "regarding" in obj or ("eventTime" in obj and obj.get("eventTime")):
            if not (s(obj, "reportingComponent") or s(obj, "reportingController")):
                errs.append(required(self.reporting_field))
            if not s(obj, "reportingInstance"):
                errs.append(required("reportingInstance"))
            if not s(obj, "action"):
                errs.append(required("action"))
            if not s(obj, "reason"):
                errs.append(required("reason"))
        note = s(obj, "message") or s(obj, "note")
        if len(note) > 1024:
            errs.append(
                FieldError(
                    "FieldValueTooLong",
                    "note" if "note" in obj else "message",
                    "must have at most 1024 bytes",
                )
            )
        return errs


class NodeStrategy(BaseStrategy):
    has_status_subresource = True

    def initial_status(self, obj: Obj) -> Obj | None:
        status = obj.get("status")
        return copy.deepcopy(status) if isinstance(status, dict) else None

    def prepare_for_create(self, obj: Obj) -> None:
        """Nodes register with their status (the kubelet creates them): create keeps it."""

    def _default(self, obj: Obj) -> None:
        status = obj.get("status")
        if isinstance(status, dict):
            canonical_quantities(status.get("capacity"))
            canonical_quantities(status.get("allocatable"))
            if "capacity" in status and "allocatable" not in status:
                status["allocatable"] = copy.deepcopy(status["capacity"])

    def _validate(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        spec = m(obj, "spec")
        for key in ("podCIDR",):
            if s(spec, key):
                errs.extend(
                    invalid_value(f"spec.{key}", spec[key], msg) for msg in v.is_valid_cidr(spec[key])
                )
        for i, cidr in enumerate(lst(spec, "podCIDRs")):
            if isinstance(cidr, str):
                errs.extend(invalid_value(f"spec.podCIDRs[{i}]", cidr, msg) for msg in v.is_valid_cidr(cidr))
        for i, taint in enumerate(lst(spec, "taints")):
            tp = f"spec.taints[{i}]"
            key = s(taint, "key")
            if not key:
                errs.append(required(f"{tp}.key"))
            else:
                errs.extend(invalid_value(f"{tp}.key", key, msg) for msg in v.is_qualified_name(key))
            value = s(taint, "value")
            errs.extend(invalid_value(f"{tp}.value", value, msg) for msg in v.is_valid_label_value(value))
            effect = s(taint, "effect")
            valid = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
            if not effect:
                errs.append(required(f"{tp}.effect"))
            elif effect not in valid:
                errs.append(not_supported(f"{tp}.effect", effect, valid))
        for which in ("capacity", "allocatable"):
            for name, value in m(m(obj, "status"), which).items():
                qerrs, _ = quantity_errors(value, f"status.{which}[{name}]")
                errs.extend(qerrs)
        return errs

    def _validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        old_cidrs = lst(m(old, "spec"), "podCIDRs")
        new_cidrs = lst(m(new, "spec"), "podCIDRs")
        if old_cidrs and new_cidrs != old_cidrs:
            return [
                forbidden_field(
                    "spec.podCIDRs", 'node updates may not change podCIDR except from "" to valid'
                )
            ]
        return []


_LIMIT_TYPES = ["Container", "PersistentVolumeClaim", "Pod"]


class LimitRangeStrategy(BaseStrategy):
    def _default(self, obj: Obj) -> None:
        """``SetDefaults_LimitRangeItem``: container default(Request) fall back to max/default."""
        for item in lst(m(obj, "spec"), "limits"):
            if not isinstance(item, dict):
                continue
            for key in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
                canonical_quantities(item.get(key))
            if item.get("type") != "Container":
                continue
            for name, value in m(item, "max").items():
                child(item, "default").setdefault(name, value)
            for name, value in m(item, "default").items():
                child(item, "defaultRequest").setdefault(name, value)
            for name, value in m(item, "min").items():
                child(item, "defaultRequest").setdefault(name, value)

    def _validate(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        for i, item in enumerate(lst(m(obj, "spec"), "limits")):
            ip = f"spec.limits[{i}]"
            kind = s(item, "type")
            if kind not in _LIMIT_TYPES:
                errs.append(not_supported(f"{ip}.type", kind, _LIMIT_TYPES))
            for key in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
                for name, value in m(item, key).items():
                    qerrs, _ = quantity_errors(value, f"{ip}.{key}[{name}]")
                    errs.extend(qerrs)
        return errs


class ResourceQuotaStrategy(BaseStrategy):
    has_status_subresource = True

    def initial_status(self, obj: Obj) -> Obj | None:
        return None

    def _default(self, obj: Obj) -> None:
        canonical_quantities(m(obj, "spec").get("hard"))

    def _validate(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        for name, value in m(m(obj, "spec"), "hard").items():
            path = f"spec.hard[{name}]"
            errs.extend(invalid_value(path, name, msg) for msg in v.is_qualified_name(name))
            qerrs, q = quantity_errors(value, path)
            errs.extend(qerrs)
            if q is not None and q.sign() < 0:
                errs.append(invalid_value(path, q.canonical(), "must be greater than or equal to 0"))
        scopes = [
            "BestEffort",
            "CrossNamespacePodAffinity",
            "NotBestEffort",
            "NotTerminating",
            "PriorityClass",
            "Terminating",
            "VolumeAttributesClass",
        ]
        for i, scope in enumerate(lst(m(obj, "spec"), "scopes")):
            if scope not in scopes:
                errs.append(not_supported(f"spec.scopes[{i}]", scope, scopes))
        return errs


class ComponentStatusStrategy(BaseStrategy):
    """Read-only kind; nothing to prepare or validate beyond metadata."""
