"""batch/v1: Job and CronJob."""

from __future__ import annotations

import copy
import re
from typing import ClassVar

from kybernetes.api import validation as v
from kybernetes.api.errors import FieldError, invalid_value, not_supported, required
from kybernetes.api.strategies._util import Obj, child, default_ptr, default_str, lst, m, s
from kybernetes.api.strategies.base import BaseStrategy
from kybernetes.api.strategies.pod_defaults import default_pod_template
from kybernetes.api.strategies.pod_validation import validate_pod_template
from kybernetes.api.strategies.selectors import (
    selector_matches,
    selector_mismatch_error,
    validate_label_selector,
)

CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
LEGACY_CONTROLLER_UID = "controller-uid"
JOB_NAME = "batch.kubernetes.io/job-name"
LEGACY_JOB_NAME = "job-name"
_MAX_INT32 = 2**31 - 1


def _validate_job_template(template: object, tp: str) -> list[FieldError]:
    errs = validate_pod_template(template, tp)
    policy = m(template, "spec").get("restartPolicy")
    if policy not in ("OnFailure", "Never"):
        errs.append(not_supported(f"{tp}.spec.restartPolicy", policy, ["OnFailure", "Never"]))
    return errs


def _validate_job_spec_common(spec: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for key in (
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
    ):
        errs.extend(v.validate_nonnegative(spec.get(key), f"{path}.{key}"))
    mode = spec.get("completionMode")
    if mode is not None:
        if mode not in ("NonIndexed", "Indexed"):
            errs.append(not_supported(f"{path}.completionMode", mode, ["NonIndexed", "Indexed"]))
        if mode == "Indexed" and spec.get("completions") is None:
            errs.append(required(f"{path}.completions", "when completion mode is Indexed"))
    policy = spec.get("podReplacementPolicy")
    if policy is not None and policy not in ("TerminatingOrFailed", "Failed"):
        errs.append(not_supported(f"{path}.podReplacementPolicy", policy, ["Failed", "TerminatingOrFailed"]))
    errs.extend(_validate_job_template(spec.get("template"), f"{path}.template"))
    return errs


class JobStrategy(BaseStrategy):
    has_status_subresource = True
    tracks_generation: ClassVar[bool] = True

    def initial_status(self, obj: Obj) -> Obj | None:
        return {}

    def prepare_for_create(self, obj: Obj) -> None:
        """Reset status and generate the selector and template labels from ``metadata.uid`` (set by the server
        before this call) unless ``spec.manualSelector`` is true."""
        super().prepare_for_create(obj)
        spec = child(obj, "spec")
        if spec.get("manualSelector") is True:
            return
        meta = m(obj, "metadata")
        name, uid = s(meta, "name"), s(meta, "uid")
        template = child(spec, "template")
        labels = child(child(template, "metadata"), "labels")
        for key in (LEGACY_JOB_NAME, JOB_NAME):
            labels.setdefault(key, name)
        for key in (LEGACY_CONTROLLER_UID, CONTROLLER_UID):
            labels.setdefault(key, uid)
        selector = child(spec, "selector")
        child(selector, "matchLabels").setdefault(CONTROLLER_UID, uid)

    def _default(self, obj: Obj) -> None:
        spec = child(obj, "spec")
        if spec.get("completions") is None and spec.get("parallelism") is None:
            spec["completions"] = 1
            spec["parallelism"] = 1
        default_ptr(spec, "parallelism", 1)
        if spec.get("backoffLimit") is None:
            spec["backoffLimit"] = _MAX_INT32 if spec.get("backoffLimitPerIndex") is not None else 6
        template = child(spec, "template")
        labels = m(template, "metadata").get("labels")
        meta = child(obj, "metadata")
        if isinstance(labels, dict) and not m(meta, "labels"):
            meta["labels"] = copy.deepcopy(labels)
        default_ptr(spec, "completionMode", "NonIndexed")
        default_ptr(spec, "suspend", False)
        failure_policy = spec.get("podFailurePolicy")
        for rule in lst(failure_policy, "rules"):
            for pattern in lst(rule, "onPodConditions"):
                if isinstance(pattern, dict):
                    default_str(pattern, "status", "True")
        default_ptr(
            spec, "podReplacementPolicy", "Failed" if failure_policy is not None else "TerminatingOrFailed"
        )
        default_pod_template(template)

    def _validate(self, obj: Obj) -> list[FieldError]:
        spec = m(obj, "spec")
        errs = self._validate_generated_selector(obj)
        errs.extend(_validate_job_spec_common(spec, "spec"))
        selector = spec.get("selector")
        if selector is None:
            errs.append(required("spec.selector"))
        else:
            errs.extend(validate_label_selector(selector, "spec.selector"))
        labels = m(m(spec, "template"), "metadata").get("labels")
        if selector is not None and not selector_matches(selector, labels):
            errs.append(selector_mismatch_error("spec.template.metadata.labels", labels))
        return errs

    @staticmethod
    def _validate_generated_selector(obj: Obj) -> list[FieldError]:
        spec = m(obj, "spec")
        meta = m(obj, "metadata")
        if spec.get("manualSelector") is True or spec.get("selector") is None:
            return []
        errs: list[FieldError] = []
        uid = s(meta, "uid")
        if not uid:
            errs.append(required("metadata.uid"))
        labels = m(m(m(spec, "template"), "metadata"), "labels")
        for key, want in ((LEGACY_CONTROLLER_UID, uid), (LEGACY_JOB_NAME, s(meta, "name"))):
            path = f"spec.template.metadata.labels[{key}]"
            if key not in labels:
                errs.append(required(path))
            elif labels[key] != want:
                errs.append(invalid_value(path, labels[key], f"must be '{want}'"))
        if spec.get("selector") != {"matchLabels": {CONTROLLER_UID: uid}}:
            errs.append(
                v.invalid_rendered(
                    "spec.selector",
                    "&" + v.label_selector_repr(spec.get("selector")),
                    "`selector` not auto-generated",
                )
            )
        return errs

    def _validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        new_spec, old_spec = m(new, "spec"), m(old, "spec")
        errs: list[FieldError] = []
        if new_spec.get("selector") != old_spec.get("selector"):
            errs.append(
                v.invalid_rendered(
                    "spec.selector",
                    "&" + v.label_selector_repr(new_spec.get("selector")),
                    "field is immutable",
                )
            )
        for key in ("template", "completionMode", "podFailurePolicy", "completions"):
            if new_spec.get(key) != old_spec.get(key):
                errs.append(
                    v.invalid_rendered(f"spec.{key}", v.go_repr(new_spec.get(key)), "field is immutable")
                )
        return errs


_CRON_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_CRON_FIELD = re.compile(
    r"^(\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?(,(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?)*$"
)


def cron_errors(schedule: str) -> list[str]:
    """A light check of the standard five-field cron syntax (robfig/cron's error wording)."""
    text = schedule.strip()
    if "TZ=" in text:
        return ["cannot use TZ or CRON_TZ in schedule, use timeZone field instead"]
    if text.startswith("@"):
        if text in _CRON_DESCRIPTORS or text.startswith("@every "):
            return []
        return [f"unrecognized descriptor: {text}"]
    fields = text.split()
    if len(fields) != 5:
        return [f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]"]
    for item in fields:
        if not _CRON_FIELD.match(item):
            return [f'failed to parse int from {item}: strconv.Atoi: parsing "{item}": invalid syntax']
    return []


class CronJobStrategy(BaseStrategy):
    has_status_subresource = True
    tracks_generation: ClassVar[bool] = True

    def initial_status(self, obj: Obj) -> Obj | None:
        return {}

    def _default(self, obj: Obj) -> None:
        spec = child(obj, "spec")
        default_str(spec, "concurrencyPolicy", "Allow")
        default_ptr(spec, "suspend", False)
        default_ptr(spec, "successfulJobsHistoryLimit", 3)
        default_ptr(spec, "failedJobsHistoryLimit", 1)
        default_pod_template(child(child(child(spec, "jobTemplate"), "spec"), "template"))

    def _validate(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        name = s(m(obj, "metadata"), "name")
        if len(name) > 52:
            errs.append(invalid_value("metadata.name", name, "must be no more than 52 characters"))
        spec = m(obj, "spec")
        schedule = spec.get("schedule")
        if not schedule:
            errs.append(required("spec.schedule"))
        elif isinstance(schedule, str):
            errs.extend(invalid_value("spec.schedule", schedule, msg) for msg in cron_errors(schedule))
        policy = spec.get("concurrencyPolicy")
        if policy in (None, ""):
            errs.append(required("spec.concurrencyPolicy"))
        elif policy not in ("Allow", "Forbid", "Replace"):
            errs.append(not_supported("spec.concurrencyPolicy", policy, ["Allow", "Forbid", "Replace"]))
        for key in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
            errs.extend(v.validate_nonnegative(spec.get(key), f"spec.{key}"))
        job_template = m(spec, "jobTemplate")
        jt_meta = m(job_template, "metadata")
        errs.extend(v.validate_labels(jt_meta.get("labels"), "spec.jobTemplate.metadata.labels"))
        errs.extend(
            v.validate_annotations(jt_meta.get("annotations"), "spec.jobTemplate.metadata.annotations")
        )
        jspec = m(job_template, "spec")
        errs.extend(_validate_job_spec_common(jspec, "spec.jobTemplate.spec"))
        if jspec.get("manualSelector") is True or jspec.get("selector") is not None:
            selector = jspec.get("selector")
            errs.extend(validate_label_selector(selector, "spec.jobTemplate.spec.selector"))
        tz = spec.get("timeZone")
        if isinstance(tz, str) and (not tz or " " in tz):
            errs.append(invalid_value("spec.timeZone", tz, "unknown time zone " + tz))
        return errs
