"""apps/v1 (Deployment, ReplicaSet, DaemonSet, StatefulSet, ControllerRevision) and core/v1
ReplicationController."""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from kybernetes.api import validation as v
from kybernetes.api.errors import FieldError, forbidden_field, invalid_value, not_supported, required
from kybernetes.api.strategies._util import Obj, child, default_ptr, default_str, is_int, lst, m
from kybernetes.api.strategies.base import BaseStrategy
from kybernetes.api.strategies.pod_defaults import default_pod_template
from kybernetes.api.strategies.pod_validation import validate_pod_template
from kybernetes.api.strategies.selectors import (
    restart_always,
    selector_matches,
    selector_mismatch_error,
    validate_label_selector,
    validate_required_selector,
    validate_template_for_replicas,
)


def validate_int_or_percent(value: Any, path: str) -> list[FieldError]:
    """``ValidatePositiveIntOrPercent`` (+ ``IsNotMoreThan100Percent`` when ``max100``)."""
    if isinstance(value, str):
        if not v.is_valid_percent(value):
            return [
                invalid_value(
                    path,
                    value,
                    "a valid percent string must be a numeric string followed by an "
                    "ending '%' (e.g. '1%',  or '93%', regex used for validation is "
                    "'[0-9]+%')",
                )
            ]
        return []
    return v.validate_nonnegative(value, path)


def int_or_percent_value(value: Any) -> tuple[int, bool]:
    if isinstance(value, str) and v.is_valid_percent(value):
        return int(value[:-1]), True
    return (value, False) if is_int(value) else (0, False)


def _not_more_than_100(value: Any, path: str) -> list[FieldError]:
    number, is_percent = int_or_percent_value(value)
    if is_percent and number > 100:
        return [invalid_value(path, value, "must not be greater than 100%")]
    return []


def selector_immutable(new: Obj, old: Obj) -> list[FieldError]:
    new_sel, old_sel = m(new, "spec").get("selector"), m(old, "spec").get("selector")
    if new_sel == old_sel:
        return []
    return [v.invalid_rendered("spec.selector", "&" + v.label_selector_repr(new_sel), "field is immutable")]


class _Workload(BaseStrategy):
    has_status_subresource = True
    tracks_generation: ClassVar[bool] = True

    def initial_status(self, obj: Obj) -> Obj | None:
        return {}


class DeploymentStrategy(_Workload):
    def _default(self, obj: Obj) -> None:
        spec = child(obj, "spec")
        default_ptr(spec, "replicas", 1)
        strategy = child(spec, "strategy")
        default_str(strategy, "type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = child(strategy, "rollingUpdate")
            default_ptr(rolling, "maxUnavailable", "25%")
            default_ptr(rolling, "maxSurge", "25%")
        default_ptr(spec, "revisionHistoryLimit", 10)
        default_ptr(spec, "progressDeadlineSeconds", 600)
        default_pod_template(child(spec, "template"))

    def _validate(self, obj: Obj) -> list[FieldError]:
        spec = m(obj, "spec")
        errs = v.validate_nonnegative(spec.get("replicas"), "spec.replicas")
        errs.extend(validate_required_selector(spec, "spec", "deployment"))
        errs.extend(validate_template_for_replicas(spec, "spec", "ReplicaSet"))
        errs.extend(self._validate_strategy(m(spec, "strategy"), "spec.strategy"))
        errs.extend(v.validate_nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds"))
        errs.extend(v.validate_nonnegative(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit"))
        pds = spec.get("progressDeadlineSeconds")
        if is_int(pds):
            errs.extend(v.validate_nonnegative(pds, "spec.progressDeadlineSeconds"))
            if pds <= (spec.get("minReadySeconds") or 0):
                errs.append(
                    invalid_value("spec.progressDeadlineSeconds", pds, "must be greater than minReadySeconds")
                )
        return errs

    @staticmethod
    def _validate_strategy(strategy: Obj, path: str) -> list[FieldError]:
        kind = strategy.get("type")
        if kind == "Recreate":
            if strategy.get("rollingUpdate") is not None:
                return [
                    forbidden_field(
                        f"{path}.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"
                    )
                ]
            return []
        if kind == "RollingUpdate":
            rolling = strategy.get("rollingUpdate")
            if not isinstance(rolling, dict):
                return [required(f"{path}.rollingUpdate", "this should be defaulted and never be nil")]
            rp = f"{path}.rollingUpdate"
            errs = validate_int_or_percent(rolling.get("maxUnavailable"), f"{rp}.maxUnavailable")
            errs.extend(validate_int_or_percent(rolling.get("maxSurge"), f"{rp}.maxSurge"))
            if (
                int_or_percent_value(rolling.get("maxUnavailable"))[0] == 0
                and int_or_percent_value(rolling.get("maxSurge"))[0] == 0
            ):
                errs.append(
                    invalid_value(
                        f"{rp}.maxUnavailable",
                        rolling.get("maxUnavailable"),
                        "may not be 0 when `maxSurge` is 0",
                    )
                )
            errs.extend(_not_more_than_100(rolling.get("maxUnavailable"), f"{rp}.maxUnavailable"))
            return errs
        rendered = (
            f"apps.DeploymentStrategy{{Type:{v.go_repr(kind or '')}, "
            "RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}"
        )
        return [
            FieldError(
                "FieldValueNotSupported", path, f'{rendered}: supported values: "Recreate", "RollingUpdate"'
            )
        ]

    def _validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return selector_immutable(new, old)

    def generation_changes(self, new: Obj, old: Obj) -> bool:
        """Spec changes and annotation changes (annotations are copied to the ReplicaSets)."""
        return bool(
            new.get("spec") != old.get("spec")
            or m(new, "metadata").get("annotations") != m(old, "metadata").get("annotations")
        )


class ReplicaSetStrategy(_Workload):
    def _default(self, obj: Obj) -> None:
        spec = child(obj, "spec")
        default_ptr(spec, "replicas", 1)
        default_pod_template(child(spec, "template"))

    def _validate(self, obj: Obj) -> list[FieldError]:
        spec = m(obj, "spec")
        errs = v.validate_nonnegative(spec.get("replicas"), "spec.replicas")
        errs.extend(v.validate_nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds"))
        errs.extend(validate_required_selector(spec, "spec", "deployment"))
        errs.extend(validate_template_for_replicas(spec, "spec", "ReplicaSet"))
        return errs

    def _validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return selector_immutable(new, old)


class ReplicationControllerStrategy(_Workload):
    """core/v1 RC: a map selector; selector and labels default from the template's labels."""

    def _default(self, obj: Obj) -> None:
        spec = child(obj, "spec")
        template = spec.get("template")
        labels = m(m(template, "metadata"), "labels")
        if labels:
            if not m(spec, "selector"):
                spec["selector"] = copy.deepcopy(labels)
            meta = child(obj, "metadata")
            if not m(meta, "labels"):
                meta["labels"] = copy.deepcopy(labels)
        default_ptr(spec, "replicas", 1)
        if isinstance(template, dict):
            default_pod_template(template)

    def _validate(self, obj: Obj) -> list[FieldError]:
        spec = m(obj, "spec")
        errs = v.validate_nonnegative(spec.get("replicas"), "spec.replicas")
        errs.extend(v.validate_nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds"))
        selector = m(spec, "selector")
        if not selector:
            errs.append(required("spec.selector"))
        else:
            errs.extend(v.validate_labels(selector, "spec.selector"))
        template = spec.get("template")
        if not isinstance(template, dict):
            errs.append(required("spec.template"))
            return errs
        labels = m(template, "metadata").get("labels")
        if selector and not selector_matches({"matchLabels": selector}, labels):
            errs.append(selector_mismatch_error("spec.template.metadata.labels", labels))
        errs.extend(validate_pod_template(template, "spec.template"))
        errs.extend(restart_always(template, "spec.template"))
        if m(template, "spec").get("activeDeadlineSeconds") is not None:
            errs.append(
                forbidden_field(
                    "spec.template.spec.activeDeadlineSeconds",
                    "activeDeadlineSeconds in ReplicationController is not Supported",
                )
            )
        return errs


class DaemonSetStrategy(_Workload):
    def _default(self, obj: Obj) -> None:
        spec = child(obj, "spec")
        strategy = child(spec, "updateStrategy")
        default_str(strategy, "type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = child(strategy, "rollingUpdate")
            default_ptr(rolling, "maxUnavailable", 1)
            default_ptr(rolling, "maxSurge", 0)
        default_ptr(spec, "revisionHistoryLimit", 10)
        default_pod_template(child(spec, "template"))

    def _validate(self, obj: Obj) -> list[FieldError]:
        spec = m(obj, "spec")
        selector = spec.get("selector")
        errs = validate_label_selector(selector, "spec.selector")
        template = m(spec, "template")
        labels = m(template, "metadata").get("labels")
        if not selector_matches(selector, labels):
            errs.append(selector_mismatch_error("spec.template.metadata.labels", labels))
        if selector is None:
            errs.append(required("spec.selector"))
        elif not m(selector, "matchLabels") and not lst(selector, "matchExpressions"):
            errs.append(
                v.invalid_rendered(
                    "spec.selector",
                    "&" + v.label_selector_repr(selector),
                    "empty selector is invalid for daemonset",
                )
            )
        errs.extend(validate_pod_template(template, "spec.template"))
        errs.extend(restart_always(template, "spec.template"))
        ads = m(template, "spec").get("activeDeadlineSeconds")
        if ads is not None:
            errs.append(
                invalid_value(
                    "spec.template.spec.activeDeadlineSeconds",
                    ads,
                    "activeDeadlineSeconds in DaemonSet is not Supported",
                )
            )
        errs.extend(v.validate_nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds"))
        errs.extend(v.validate_nonnegative(spec.get("templateGeneration"), "spec.templateGeneration"))
        strategy = m(spec, "updateStrategy")
        kind = strategy.get("type")
        if kind in (None, ""):
            errs.append(required("spec.updateStrategy.type"))
        elif kind not in ("OnDelete", "RollingUpdate"):
            errs.append(not_supported("spec.updateStrategy.type", kind, ["OnDelete", "RollingUpdate"]))
        elif kind == "RollingUpdate":
            rolling = m(strategy, "rollingUpdate")
            rp = "spec.updateStrategy.rollingUpdate"
            errs.extend(validate_int_or_percent(rolling.get("maxUnavailable"), f"{rp}.maxUnavailable"))
            errs.extend(validate_int_or_percent(rolling.get("maxSurge"), f"{rp}.maxSurge"))
            unavailable = int_or_percent_value(rolling.get("maxUnavailable"))[0]
            surge = int_or_percent_value(rolling.get("maxSurge"))[0]
            if unavailable == 0 and surge == 0:
                errs.append(
                    invalid_value(
                        f"{rp}.maxUnavailable",
                        rolling.get("maxUnavailable"),
                        "may not be 0 when `maxSurge` is 0",
                    )
                )
            errs.extend(_not_more_than_100(rolling.get("maxUnavailable"), f"{rp}.maxUnavailable"))
        errs.extend(v.validate_nonnegative(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit"))
        return errs

    def _validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return selector_immutable(new, old)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        new_spec, old_spec = m(new, "spec"), m(old, "spec")
        if new_spec.get("template") != old_spec.get("template") and "templateGeneration" in old_spec:
            new_spec["templateGeneration"] = (old_spec.get("templateGeneration") or 0) + 1


_STS_MUTABLE = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)


class StatefulSetStrategy(_Workload):
    def _default(self, obj: Obj) -> None:
        from kybernetes.api.strategies.storage import default_pvc

        spec = child(obj, "spec")
        default_str(spec, "podManagementPolicy", "OrderedReady")
        strategy = child(spec, "updateStrategy")
        if strategy.get("type") in (None, ""):
            strategy["type"] = "RollingUpdate"
            child(strategy, "rollingUpdate")
        if strategy["type"] == "RollingUpdate" and isinstance(strategy.get("rollingUpdate"), dict):
            default_ptr(strategy["rollingUpdate"], "partition", 0)
        policy = child(spec, "persistentVolumeClaimRetentionPolicy")
        default_str(policy, "whenDeleted", "Retain")
        default_str(policy, "whenScaled", "Retain")
        default_ptr(spec, "replicas", 1)
        default_ptr(spec, "revisionHistoryLimit", 10)
        default_pod_template(child(spec, "template"))
        for claim in lst(spec, "volumeClaimTemplates"):
            if isinstance(claim, dict):
                default_pvc(claim)

    def _validate(self, obj: Obj) -> list[FieldError]:
        spec = m(obj, "spec")
        errs: list[FieldError] = []
        policy = spec.get("podManagementPolicy")
        if policy in (None, ""):
            errs.append(required("spec.podManagementPolicy"))
        elif policy not in ("OrderedReady", "Parallel"):
            errs.append(
                invalid_value("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'")
            )
        strategy = m(spec, "updateStrategy")
        kind = strategy.get("type")
        if kind in (None, ""):
            errs.append(required("spec.updateStrategy"))
        elif kind == "OnDelete":
            if strategy.get("rollingUpdate") is not None:
                errs.append(
                    invalid_value(
                        "spec.updateStrategy.rollingUpdate",
                        strategy["rollingUpdate"],
                        "only allowed for updateStrategy 'RollingUpdate'",
                    )
                )
        elif kind == "RollingUpdate":
            errs.extend(
                v.validate_nonnegative(
                    m(strategy, "rollingUpdate").get("partition"),
                    "spec.updateStrategy.rollingUpdate.partition",
                )
            )
        else:
            errs.append(
                invalid_value("spec.updateStrategy", strategy, "must be 'RollingUpdate' or 'OnDelete'")
            )
        retention = m(spec, "persistentVolumeClaimRetentionPolicy")
        for key in ("whenDeleted", "whenScaled"):
            val = retention.get(key)
            if val is not None and val not in ("Retain", "Delete"):
                errs.append(
                    not_supported(
                        f"spec.persistentVolumeClaimRetentionPolicy.{key}", val, ["Retain", "Delete"]
                    )
                )
        errs.extend(v.validate_nonnegative(spec.get("replicas"), "spec.replicas"))
        errs.extend(v.validate_nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds"))
        errs.extend(validate_required_selector(spec, "spec", "statefulset"))
        template = m(spec, "template")
        selector = spec.get("selector")
        labels = m(template, "metadata").get("labels")
        if selector is not None and not selector_is_empty_or_matches(selector, labels):
            errs.append(selector_mismatch_error("spec.template.metadata.labels", labels))
        errs.extend(validate_pod_template(template, "spec.template"))
        errs.extend(restart_always(template, "spec.template"))
        if m(template, "spec").get("activeDeadlineSeconds") is not None:
            errs.append(
                forbidden_field(
                    "spec.template.spec.activeDeadlineSeconds",
                    "activeDeadlineSeconds in StatefulSet is not Supported",
                )
            )
        return errs

    def _validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        new_rest = {k: val for k, val in m(new, "spec").items() if k not in _STS_MUTABLE}
        old_rest = {k: val for k, val in m(old, "spec").items() if k not in _STS_MUTABLE}
        if new_rest != old_rest:
            return [
                forbidden_field(
                    "spec",
                    "updates to statefulset spec for fields other than 'replicas', "
                    "'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', "
                    "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are "
                    "forbidden",
                )
            ]
        return []


def selector_is_empty_or_matches(selector: Any, labels: Any) -> bool:
    if (
        isinstance(selector, dict)
        and not m(selector, "matchLabels")
        and not lst(selector, "matchExpressions")
    ):
        return True
    return selector_matches(selector, labels)


class ControllerRevisionStrategy(BaseStrategy):
    def _validate(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        if obj.get("data") is None:
            errs.append(required("data", "data is mandatory"))
        errs.extend(v.validate_nonnegative(obj.get("revision"), "revision"))
        return errs

    def _validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return v.validate_immutable(new.get("data"), old.get("data"), "data")


__all__ = [
    "ControllerRevisionStrategy",
    "DaemonSetStrategy",
    "DeploymentStrategy",
    "ReplicaSetStrategy",
    "ReplicationControllerStrategy",
    "StatefulSetStrategy",
]
