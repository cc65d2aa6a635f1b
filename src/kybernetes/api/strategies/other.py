"""HorizontalPodAutoscaler (stored as autoscaling/v2), Lease, EndpointSlice and CustomResourceDefinition."""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from kybernetes.api import validation as v
from kybernetes.api.errors import FieldError, invalid_value, not_supported, required
from kybernetes.api.strategies._util import Obj, child, default_ptr, g, is_int, lst, m, quantity_errors, s
from kybernetes.api.strategies.base import BaseStrategy

_SCALE_UP_DEFAULT: Obj = {
    "stabilizationWindowSeconds": 0,
    "selectPolicy": "Max",
    "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15},
    ],
}
_SCALE_DOWN_DEFAULT: Obj = {
    "selectPolicy": "Max",
    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
}
_METRIC_TYPES = ["ContainerResource", "External", "Object", "Pods", "Resource"]


def _scaling_rules(given: Any, defaults: Obj) -> Obj:
    """Upstream's ``copyHPAScalingRules``: the defaults, overridden by what the user set."""
    out = copy.deepcopy(defaults)
    if isinstance(given, dict):
        for key in ("selectPolicy", "stabilizationWindowSeconds", "policies", "tolerance"):
            if given.get(key) is not None:
                out[key] = copy.deepcopy(given[key])
    return out


class HorizontalPodAutoscalerStrategy(BaseStrategy):
    """autoscaling/v2 form (v1 requests are converted before they reach the strategy)."""

    has_status_subresource = True

    def initial_status(self, obj: Obj) -> Obj | None:
        return {"currentReplicas": 0, "desiredReplicas": 0}

    def _default(self, obj: Obj) -> None:
        spec = child(obj, "spec")
        default_ptr(spec, "minReplicas", 1)
        if not lst(spec, "metrics"):
            spec["metrics"] = [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
                }
            ]
        behavior = spec.get("behavior")
        if isinstance(behavior, dict):
            behavior["scaleUp"] = _scaling_rules(behavior.get("scaleUp"), _SCALE_UP_DEFAULT)
            behavior["scaleDown"] = _scaling_rules(behavior.get("scaleDown"), _SCALE_DOWN_DEFAULT)

    def _validate(self, obj: Obj) -> list[FieldError]:
        spec = m(obj, "spec")
        errs: list[FieldError] = []
        ref = m(spec, "scaleTargetRef")
        for key in ("kind", "name"):
            value = s(ref, key)
            if not value:
                errs.append(required(f"spec.scaleTargetRef.{key}"))
            else:
                errs.extend(
                    invalid_value(f"spec.scaleTargetRef.{key}", value, msg)
                    for msg in v.validate_path_segment_name(value, False)
                )
        min_r, max_r = spec.get("minReplicas"), spec.get("maxReplicas")
        if is_int(min_r) and min_r < 1:
            errs.append(invalid_value("spec.minReplicas", min_r, "must be greater than or equal to 1"))
        if not is_int(max_r) or max_r < 1:
            errs.append(invalid_value("spec.maxReplicas", max_r, "must be greater than 0"))
        if is_int(min_r) and is_int(max_r) and max_r < min_r:
            errs.append(
                invalid_value("spec.maxReplicas", max_r, "must be greater than or equal to `minReplicas`")
            )
        for i, metric in enumerate(lst(spec, "metrics")):
            errs.extend(self._validate_metric(metric, f"spec.metrics[{i}]"))
        behavior = m(spec, "behavior")
        for direction in ("scaleUp", "scaleDown"):
            rules = m(behavior, direction)
            bp = f"spec.behavior.{direction}"
            window = rules.get("stabilizationWindowSeconds")
            if is_int(window) and not 0 <= window <= 3600:
                errs.append(
                    invalid_value(
                        f"{bp}.stabilizationWindowSeconds",
                        window,
                        "must be less than or equal to 3600"
                        if window > 0
                        else "must be greater than or equal to zero",
                    )
                )
            select = rules.get("selectPolicy")
            if select is not None and select not in ("Max", "Min", "Disabled"):
                errs.append(not_supported(f"{bp}.selectPolicy", select, ["Disabled", "Max", "Min"]))
            for j, policy in enumerate(lst(rules, "policies")):
                pp = f"{bp}.policies[{j}]"
                if g(policy, "type") not in ("Pods", "Percent"):
                    errs.append(not_supported(f"{pp}.type", g(policy, "type"), ["Percent", "Pods"]))
                if not is_int(g(policy, "value")) or policy["value"] <= 0:
                    errs.append(invalid_value(f"{pp}.value", g(policy, "value"), "must be greater than zero"))
                period = g(policy, "periodSeconds")
                if not is_int(period) or period <= 0:
                    errs.append(invalid_value(f"{pp}.periodSeconds", period, "must be greater than zero"))
                elif period > 1800:
                    errs.append(
                        invalid_value(f"{pp}.periodSeconds", period, "must be less than or equal to 1800")
                    )
        return errs

    @staticmethod
    def _validate_metric(metric: Any, path: str) -> list[FieldError]:
        kind = g(metric, "type")
        if not kind:
            return [required(f"{path}.type")]
        if kind not in _METRIC_TYPES:
            return [not_supported(f"{path}.type", kind, _METRIC_TYPES)]
        key = kind[0].lower() + kind[1:]
        source = g(metric, key)
        if not isinstance(source, dict):
            return [required(f"{path}.{key}", "must populate information for the given metric source")]
        errs: list[FieldError] = []
        if kind in ("Resource", "ContainerResource") and not s(source, "name"):
            errs.append(required(f"{path}.{key}.name"))
        target = m(source, "target")
        tp = f"{path}.{key}.target"
        ttype = target.get("type")
        if ttype not in ("Utilization", "Value", "AverageValue"):
            errs.append(
                required(f"{tp}.type")
                if not ttype
                else not_supported(f"{tp}.type", ttype, ["AverageValue", "Utilization", "Value"])
            )
        util = target.get("averageUtilization")
        if is_int(util) and util <= 0:
            errs.append(invalid_value(f"{tp}.averageUtilization", util, "must be greater than 0"))
        for qkey in ("value", "averageValue"):
            if target.get(qkey) is not None:
                qerrs, q = quantity_errors(target[qkey], f"{tp}.{qkey}")
                errs.extend(qerrs)
                if q is not None and q.sign() <= 0:
                    errs.append(invalid_value(f"{tp}.{qkey}", q.canonical(), "must be positive"))
        if ttype and util is None and target.get("value") is None and target.get("averageValue") is None:
            errs.append(required(tp, "must set either a target raw value or a target utilization"))
        return errs


class LeaseStrategy(BaseStrategy):
    def _validate(self, obj: Obj) -> list[FieldError]:
        spec = m(obj, "spec")
        errs: list[FieldError] = []
        duration = spec.get("leaseDurationSeconds")
        if is_int(duration) and duration <= 0:
            errs.append(invalid_value("spec.leaseDurationSeconds", duration, "must be greater than 0"))
        errs.extend(v.validate_nonnegative(spec.get("leaseTransitions"), "spec.leaseTransitions"))
        return errs


_ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"]


class EndpointSliceStrategy(BaseStrategy):
    tracks_generation: ClassVar[bool] = True

    def _default(self, obj: Obj) -> None:
        for port in lst(obj, "ports"):
            if isinstance(port, dict):
                default_ptr(port, "name", "")
                default_ptr(port, "protocol", "TCP")

    def _validate(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        address_type = obj.get("addressType")
        if address_type not in _ADDRESS_TYPES:
            errs.append(not_supported("addressType", address_type, _ADDRESS_TYPES))
        endpoints = lst(obj, "endpoints")
        if len(endpoints) > 1000:
            errs.append(
                FieldError(
                    "FieldValueTooMany", "endpoints", "must have at most 1000 items", len(endpoints), True
                )
            )
        for i, ep in enumerate(endpoints):
            ap = f"endpoints[{i}].addresses"
            addresses = lst(ep, "addresses")
            if not addresses:
                errs.append(required(ap, "must contain at least 1 address"))
            for j, addr in enumerate(addresses):
                if not isinstance(addr, str):
                    continue
                if address_type in ("IPv4", "IPv6"):
                    errs.extend(invalid_value(f"{ap}[{j}]", addr, msg) for msg in v.is_valid_ip(addr))
                elif address_type == "FQDN":
                    errs.extend(
                        invalid_value(f"{ap}[{j}]", addr, msg) for msg in v.is_dns1123_subdomain(addr)
                    )
            hostname = g(ep, "hostname")
            if isinstance(hostname, str):
                errs.extend(
                    invalid_value(f"endpoints[{i}].hostname", hostname, msg)
                    for msg in v.is_dns1123_label(hostname)
                )
        for i, port in enumerate(lst(obj, "ports")):
            pp = f"ports[{i}]"
            name = s(port, "name")
            if name:
                errs.extend(invalid_value(f"{pp}.name", name, msg) for msg in v.is_dns1123_label(name))
            number = g(port, "port")
            if is_int(number):
                errs.extend(invalid_value(f"{pp}.port", number, msg) for msg in v.is_valid_port_num(number))
            proto = g(port, "protocol")
            if proto not in ("SCTP", "TCP", "UDP"):
                errs.append(not_supported(f"{pp}.protocol", proto, ["SCTP", "TCP", "UDP"]))
        return errs

    def _validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return v.validate_immutable(new.get("addressType"), old.get("addressType"), "addressType")

    def generation_changes(self, new: Obj, old: Obj) -> bool:
        keys = ("addressType", "endpoints", "ports")
        return any(new.get(k) != old.get(k) for k in keys)


class CustomResourceDefinitionStrategy(BaseStrategy):
    has_status_subresource = True
    tracks_generation: ClassVar[bool] = True

    def initial_status(self, obj: Obj) -> Obj | None:
        stored = [s(ver, "name") for ver in lst(m(obj, "spec"), "versions") if g(ver, "storage") is True][:1]
        return {"acceptedNames": {"kind": "", "plural": ""}, "storedVersions": stored}

    def _default(self, obj: Obj) -> None:
        spec = child(obj, "spec")
        names = child(spec, "names")
        if not s(names, "singular") and s(names, "kind"):
            names["singular"] = names["kind"].lower()
        if not s(names, "listKind") and s(names, "kind"):
            names["listKind"] = names["kind"] + "List"
        default_ptr(spec, "conversion", {"strategy": "None"})
        webhook = m(m(spec, "conversion"), "webhook")
        service = m(m(webhook, "clientConfig"), "service")
        if service:
            default_ptr(service, "port", 443)
        status = obj.get("status")
        if isinstance(status, dict) and not lst(status, "storedVersions"):
            stored = [s(ver, "name") for ver in lst(spec, "versions") if g(ver, "storage") is True][:1]
            if stored:
                status["storedVersions"] = stored

    def _validate(self, obj: Obj) -> list[FieldError]:
        spec = m(obj, "spec")
        names = m(spec, "names")
        errs: list[FieldError] = []
        group, plural = s(spec, "group"), s(names, "plural")
        name = s(m(obj, "metadata"), "name")
        if name and name != f"{plural}.{group}":
            errs.append(invalid_value("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
        if not group:
            errs.append(required("spec.group"))
        else:
            errs.extend(invalid_value("spec.group", group, msg) for msg in v.is_dns1123_subdomain(group))
            if "." not in group:
                errs.append(invalid_value("spec.group", group, "should be a domain with at least one dot"))
        scope = spec.get("scope")
        if not scope:
            errs.append(required("spec.scope"))
        elif scope not in ("Cluster", "Namespaced"):
            errs.append(not_supported("spec.scope", scope, ["Cluster", "Namespaced"]))
        for key in ("plural", "singular"):
            value = s(names, key)
            if not value and key == "plural":
                errs.append(required(f"spec.names.{key}"))
            elif value:
                errs.extend(
                    invalid_value(f"spec.names.{key}", value, msg) for msg in v.is_dns1123_label(value)
                )
        for key in ("kind", "listKind"):
            value = s(names, key)
            if not value:
                errs.append(required(f"spec.names.{key}"))
            else:
                errs.extend(
                    invalid_value(
                        f"spec.names.{key}", value, "may have mixed case, but should otherwise match: " + msg
                    )
                    for msg in v.is_dns1035_label(value.lower())
                )
        for i, short in enumerate(lst(names, "shortNames")):
            if isinstance(short, str):
                errs.extend(
                    invalid_value(f"spec.names.shortNames[{i}]", short, msg)
                    for msg in v.is_dns1123_label(short)
                )
        versions = lst(spec, "versions")
        if sum(1 for ver in versions if g(ver, "storage") is True) != 1:
            errs.append(
                invalid_value(
                    "spec.versions", versions, "must have exactly one version marked as storage version"
                )
            )
        seen: set[str] = set()
        for i, ver in enumerate(versions):
            vp = f"spec.versions[{i}]"
            vname = s(ver, "name")
            errs.extend(invalid_value(f"{vp}.name", vname, msg) for msg in v.is_dns1035_label(vname))
            if vname in seen:
                errs.append(invalid_value("spec.versions", versions, "must contain unique version names"))
            seen.add(vname)
            if m(m(ver, "schema"), "openAPIV3Schema") == {} and "schema" not in ver:
                errs.append(required(f"{vp}.schema.openAPIV3Schema", "schemas are required"))
        conversion = m(spec, "conversion")
        strategy = conversion.get("strategy")
        if strategy not in ("None", "Webhook"):
            errs.append(not_supported("spec.conversion.strategy", strategy, ["None", "Webhook"]))
        return errs

    def _validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        new_spec, old_spec = m(new, "spec"), m(old, "spec")
        if new_spec.get("scope") != old_spec.get("scope"):
            errs.extend(v.validate_immutable(new_spec.get("scope"), old_spec.get("scope"), "spec.scope"))
        stored = lst(m(new, "status"), "storedVersions")
        served = {s(ver, "name") for ver in lst(new_spec, "versions")}
        for i, name in enumerate(stored):
            if name not in served:
                errs.append(
                    invalid_value(f"status.storedVersions[{i}]", name, "must appear in spec.versions")
                )
        return errs
