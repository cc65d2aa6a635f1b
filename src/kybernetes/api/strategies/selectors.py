"""``metav1.LabelSelector`` validation and matching, and the replica-set-style template checks."""

from __future__ import annotations

from typing import Any

from kybernetes.api import validation as v
from kybernetes.api.errors import FieldError, forbidden_field, invalid_value, not_supported, required
from kybernetes.api.strategies._util import Obj, lst, m, s
from kybernetes.api.strategies.pod_validation import validate_pod_template

SELECTOR_MISMATCH = "`selector` does not match template `labels`"


def validate_label_selector(selector: Any, path: str) -> list[FieldError]:
    if not isinstance(selector, dict):
        return []
    errs = v.validate_labels(selector.get("matchLabels"), f"{path}.matchLabels")
    for i, expr in enumerate(lst(selector, "matchExpressions")):
        ep = f"{path}.matchExpressions[{i}]"
        op = s(expr, "operator")
        values = lst(expr, "values")
        if op in ("In", "NotIn"):
            if not values:
                errs.append(required(f"{ep}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                errs.append(
                    forbidden_field(
                        f"{ep}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
                    )
                )
        else:
            errs.append(invalid_value(f"{ep}.operator", op, "not a valid selector operator"))
        key = s(expr, "key")
        errs.extend(invalid_value(f"{ep}.key", key, msg) for msg in v.is_qualified_name(key))
        for j, val in enumerate(values):
            if isinstance(val, str):
                errs.extend(
                    invalid_value(f"{ep}.values[{j}]", val, msg) for msg in v.is_valid_label_value(val)
                )
    return errs


def selector_matches(selector: Any, labels: Any) -> bool:
    """Whether a LabelSelector selects a label set; a null selector selects nothing, ``{}`` everything."""
    if not isinstance(selector, dict):
        return False
    labels = labels if isinstance(labels, dict) else {}
    for key, val in m(selector, "matchLabels").items():
        if labels.get(key) != val:
            return False
    for expr in lst(selector, "matchExpressions"):
        key, op, values = s(expr, "key"), s(expr, "operator"), lst(expr, "values")
        present = key in labels
        if (
            (op == "In" and (not present or labels[key] not in values))
            or (op == "NotIn" and present and labels[key] in values)
            or (op == "Exists" and not present)
            or (op == "DoesNotExist" and present)
            or op not in ("In", "NotIn", "Exists", "DoesNotExist")
        ):
            return False
    return True


def selector_is_empty(selector: Any) -> bool:
    return (
        isinstance(selector, dict)
        and not m(selector, "matchLabels")
        and not lst(selector, "matchExpressions")
    )


def selector_mismatch_error(path: str, labels: Any) -> FieldError:
    rendered = v.go_repr(labels) if isinstance(labels, dict) and labels else "map[string]string(nil)"
    return v.invalid_rendered(path, rendered, SELECTOR_MISMATCH)


def validate_required_selector(spec: Obj, path: str, kind_word: str) -> list[FieldError]:
    """Selector present, well formed and non-empty (``empty selector is invalid for <kind_word>``)."""
    selector = spec.get("selector")
    if selector is None:
        return [required(f"{path}.selector")]
    errs = validate_label_selector(selector, f"{path}.selector")
    if selector_is_empty(selector):
        errs.append(
            v.invalid_rendered(
                f"{path}.selector",
                "&" + v.label_selector_repr(selector),
                f"empty selector is invalid for {kind_word}",
            )
        )
    return errs


def validate_template_for_replicas(spec: Obj, path: str, owner: str) -> list[FieldError]:
    """``ValidatePodTemplateSpecForReplicaSet``: selector matches labels, template valid, restartPolicy
    Always, no activeDeadlineSeconds."""
    template = spec.get("template")
    tp = f"{path}.template"
    if not isinstance(template, dict):
        return [required(tp)]
    errs: list[FieldError] = []
    selector = spec.get("selector")
    labels = m(template, "metadata").get("labels")
    if not selector_is_empty(selector) and not selector_matches(selector, labels):
        errs.append(selector_mismatch_error(f"{tp}.metadata.labels", labels))
    errs.extend(validate_pod_template(template, tp))
    errs.extend(restart_always(template, tp))
    if m(template, "spec").get("activeDeadlineSeconds") is not None:
        errs.append(
            forbidden_field(
                f"{tp}.spec.activeDeadlineSeconds", f"activeDeadlineSeconds in {owner} is not Supported"
            )
        )
    return errs


def restart_always(template: Obj, tp: str) -> list[FieldError]:
    policy = m(template, "spec").get("restartPolicy")
    if policy not in (None, "", "Always"):
        return [not_supported(f"{tp}.spec.restartPolicy", policy, ["Always"])]
    return []
