"""The horizontal pod autoscaler controller (upstream's pkg/controller/podautoscaler, autoscaling/v2 semantics).

Every HPA is reconciled when it changes and every ``hpa_sync_period`` seconds (15): read the target's ``/scale``,
compute a proposal per metric from ``metrics.k8s.io`` PodMetrics (:mod:`.replicas`), take the highest, normalize it
(:mod:`.behavior`), write ``/scale`` when it differs, and write ``status`` (currentReplicas, desiredReplicas,
currentMetrics, conditions, lastScaleTime) when it changed.  Events and conditions carry upstream's reasons and
messages (``SuccessfulRescale`` ``New size: 3; reason: cpu resource utilization (percentage of request) above
target``).  Resource and ContainerResource metrics are supported; other metric types report
``FailedGetPodsMetric``-style errors as invalid metrics.

Options (``ctx.options``): ``hpa_sync_period`` (15 s), ``hpa_downscale_stabilization`` (300 s), ``hpa_tolerance``
(0.1), ``hpa_cpu_initialization_period`` (300 s), ``hpa_initial_readiness_delay`` (30 s), ``clock``.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
from typing import Any

from kybernetes.api.quantity import parse_quantity
from kybernetes.api.registry import RESOURCES, Resource
from kybernetes.api.selectors import parse_label_selector
from kybernetes.client.errors import ApiError, NotFoundError
from kybernetes.client.informer import split_key
from kybernetes.client.rest import resource
from kybernetes.controllers.base import Controller
from kybernetes.controllers.hpa import behavior, replicas
from kybernetes.controllers.job.controller import wall_clock
from kybernetes.controllers.manager import register

log = logging.getLogger(__name__)
Obj = dict[str, Any]
HPAS = resource("autoscaling", "v2", "horizontalpodautoscalers")
PODS = resource("", "v1", "pods")


def _rfc3339(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_condition(conditions: list[Obj], ctype: str, status: str, reason: str, message: str, now: float) -> None:
    """Upstream's ``setConditionInList``: lastTransitionTime changes only when the status does."""
    for cond in conditions:
        if cond.get("type") == ctype:
            if cond.get("status") != status:
                cond["lastTransitionTime"] = _rfc3339(now)
            cond.update(status=status, reason=reason, message=message)
            return
    conditions.append({"type": ctype, "status": status, "lastTransitionTime": _rfc3339(now), "reason": reason,
                       "message": message})


def metric_name(spec: Obj) -> str:
    """How upstream names a metric in messages: ``cpu resource utilization (percentage of request)``."""
    mtype = spec.get("type")
    if mtype == "Resource":
        src = spec.get("resource") or {}
        target = src.get("target") or {}
        name = src.get("name", "")
        if target.get("type") == "Utilization" or target.get("averageUtilization") is not None:
            return f"{name} resource utilization (percentage of request)"
        return f"{name} resource"
    if mtype == "ContainerResource":
        src = spec.get("containerResource") or {}
        target = src.get("target") or {}
        name = src.get("name", "")
        if target.get("type") == "Utilization" or target.get("averageUtilization") is not None:
            return f"{name} resource utilization (percentage of request)"
        return f"{name} resource"
    return f"{str(mtype).lower()} metric"


def pod_metrics(items: list[Obj], resource_name: str, container: str = "") -> dict[str, replicas.PodMetric]:
    """Per-pod milli-values of ``resource_name`` from PodMetrics (pods with a container lacking it are skipped)."""
    out: dict[str, replicas.PodMetric] = {}
    for item in items:
        total = 0
        missing = False
        for c in item.get("containers") or []:
            if container and c.get("name") != container:
                continue
            usage = (c.get("usage") or {}).get(resource_name)
            if usage is None:
                missing = True
                break
            total += parse_quantity(usage).milli_value()
        if missing:
            continue
        window = str(item.get("window") or "15s").rstrip("s")
        try:
            seconds = float(window)
        except ValueError:
            seconds = 15.0
        out[str((item.get("metadata") or {}).get("name", ""))] = replicas.PodMetric(
            total, replicas.parse_time(item.get("timestamp")) or 0.0, seconds)
    return out


def _milli_quantity(milli: int) -> str:
    if milli % 1000 == 0:
        return str(milli // 1000)
    return f"{milli}m"


def scale_resource(api_version: str, kind: str) -> Resource | None:
    group, _, version = api_version.rpartition("/")
    for res in RESOURCES:
        if res.group == group and res.version == version and res.kind == kind and res.subresource("scale"):
            return res
    return None


@register
class HorizontalPodAutoscalerController(Controller):
    name = "horizontalpodautoscaling"
    component = "horizontal-pod-autoscaler"
    workers = 2

    def setup(self) -> None:
        opts = self.ctx.options
        self.clock = wall_clock(opts)
        self.sync_period = float(opts.get("hpa_sync_period", 15.0))
        self.downscale_stabilization = float(opts.get("hpa_downscale_stabilization",
                                                      behavior.DEFAULT_DOWNSCALE_STABILIZATION))
        self.tolerance = float(opts.get("hpa_tolerance", replicas.DEFAULT_TOLERANCE))
        self.cpu_init = float(opts.get("hpa_cpu_initialization_period", replicas.CPU_INITIALIZATION_PERIOD))
        self.readiness_delay = float(opts.get("hpa_initial_readiness_delay", replicas.DELAY_OF_INITIAL_READINESS))
        hpas = self.ctx.informers.informer(HPAS)
        self.hpas = hpas.lister
        hpas.add_handlers(self.enqueue, self._updated, self._deleted)
        self.pods = self.ctx.informers.informer(PODS).lister
        self.history: dict[str, behavior.History] = {}

    def _updated(self, old: Obj, new: Obj) -> None:
        if old.get("spec") != new.get("spec"):
            self.enqueue(new)

    def _deleted(self, obj: Obj) -> None:
        ns = (obj.get("metadata") or {}).get("namespace", "")
        self.history.pop(f"{ns}/{(obj.get('metadata') or {}).get('name', '')}", None)

    async def sync(self, key: str) -> None:
        ns, name = split_key(key)
        cached = self.hpas.get(ns, name)
        if cached is None:
            self.history.pop(key, None)
            return
        try:
            await self.reconcile(key, copy.deepcopy(cached))
        finally:
            if self.hpas.get(ns, name) is not None:
                self.queue.add_after(key, self.sync_period)

    # ------------------------------------------------------------------------------------------------ scale

    async def _get_scale(self, ns: str, ref: Obj) -> tuple[Resource, Obj]:
        res = scale_resource(str(ref.get("apiVersion", "")), str(ref.get("kind", "")))
        if res is None:
            res = await self._discover(str(ref.get("apiVersion", "")), str(ref.get("kind", "")))
        scale = await self.client.get(res, ns, str(ref.get("name", "")), subresource="scale")
        return res, scale

    async def _discover(self, api_version: str, kind: str) -> Resource:
        group, _, version = api_version.rpartition("/")
        url = f"/apis/{group}/{version}" if group else f"/api/{version}"
        try:
            doc = await self.client.request("GET", url)
        except ApiError as exc:
            raise LookupError(f'no matches for kind "{kind}" in group "{group}"') from exc
        for entry in doc.get("resources") or []:
            if entry.get("kind") == kind and "/" not in entry.get("name", ""):
                plural = str(entry["name"])
                if any(e.get("name") == f"{plural}/scale" for e in doc.get("resources") or []):
                    return resource(group, version, plural)
        raise LookupError(f'no matches for kind "{kind}" in group "{group}"')

    # ------------------------------------------------------------------------------------------------ metrics

    async def _metric(self, hpa: Obj, spec: Obj, current: int, selector: str,
                      now: float) -> tuple[int, Obj]:
        """(proposal, MetricStatus) for one metric; raises MetricsError / _Invalid."""
        mtype = spec.get("type")
        if mtype not in ("Resource", "ContainerResource"):
            raise _Invalid("FailedGetExternalMetric" if mtype == "External" else f"FailedGet{mtype}Metric",
                           f"{str(mtype).lower()} metrics are not supported by this controller")
        field_name = "resource" if mtype == "Resource" else "containerResource"
        src = spec.get(field_name) or {}
        res_name = str(src.get("name", ""))
        container = str(src.get("container", "")) if mtype == "ContainerResource" else ""
        target = src.get("target") or {}
        ns = (hpa.get("metadata") or {}).get("namespace", "")
        reason = "FailedGetResourceMetric" if mtype == "Resource" else "FailedGetContainerResourceMetric"
        try:
            items = await self._pod_metrics(ns, selector, res_name)
            pods = self.pods.list(ns, parse_label_selector(selector))
            metrics = pod_metrics(items, res_name, container)
            if target.get("averageValue") is not None and target.get("averageUtilization") is None:
                wanted = parse_quantity(target["averageValue"]).milli_value()
                result = replicas.raw_resource_replicas(
                    current, wanted, res_name, pods, metrics, now, tolerance=self.tolerance,
                    cpu_initialization_period=self.cpu_init, delay_of_initial_readiness=self.readiness_delay)
                status_current: Obj = {"averageValue": _milli_quantity(result.utilization)}
            else:
                if target.get("averageUtilization") is None:
                    raise replicas.MetricsError("invalid resource metric source: neither a utilization target "
                                                "nor a value target was set")
                result = replicas.resource_replicas(
                    current, int(target["averageUtilization"]), res_name, pods, metrics, now, container=container,
                    tolerance=self.tolerance, cpu_initialization_period=self.cpu_init,
                    delay_of_initial_readiness=self.readiness_delay)
                status_current = {"averageValue": _milli_quantity(result.raw_average),
                                  "averageUtilization": result.utilization}
        except replicas.MetricsError as exc:
            what = "utilization" if target.get("averageUtilization") is not None else "usage"
            raise _Invalid(reason, f"failed to get {res_name} {what}: {exc}") from exc
        status_src: Obj = {"name": res_name, "current": status_current}
        if container:
            status_src["container"] = container
        return result.replicas, {"type": mtype, field_name: status_src}

    async def _pod_metrics(self, ns: str, selector: str, res_name: str) -> list[Obj]:
        try:
            body = await self.client.request("GET", f"/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods",
                                             params={"labelSelector": selector})
        except ApiError as exc:
            raise replicas.MetricsError(
                f"unable to get metrics for resource {res_name}: unable to fetch metrics from resource metrics "
                f"API: {exc}") from exc
        return list(body.get("items") or []) if isinstance(body, dict) else []

    # ------------------------------------------------------------------------------------------------ reconcile

    async def reconcile(self, key: str, hpa: Obj) -> None:
        now = self.clock()
        ns = (hpa.get("metadata") or {}).get("namespace", "")
        spec = hpa.get("spec") or {}
        original_status = copy.deepcopy(hpa.get("status") or {})
        status = hpa.setdefault("status", {})
        conditions: list[Obj] = status.setdefault("conditions", [])
        ref = spec.get("scaleTargetRef") or {}
        reference = f"{ref.get('kind')}/{ns}/{ref.get('name')}"
        try:
            scale_res, scale = await self._get_scale(ns, ref)
        except (ApiError, LookupError) as exc:
            message = str(exc)
            self.recorder.record(hpa, "Warning", "FailedGetScale", message)
            set_condition(conditions, "AbleToScale", "False", "FailedGetScale",
                          f"the HPA controller was unable to get the target's current scale: {message}", now)
            await self._write_status(hpa, original_status)
            raise RuntimeError(f"failed to query scale subresource for {reference}: {message}") from exc
        set_condition(conditions, "AbleToScale", "True", "SucceededGetScale",
                      "the HPA controller was able to get the target's current scale", now)
        current = int((scale.get("spec") or {}).get("replicas") or 0)
        history = self.history.setdefault(key, behavior.History())
        if not history.recommendations:
            history.recommendations.append((current, now))
        min_spec = spec.get("minReplicas")
        min_replicas = int(min_spec) if min_spec is not None else 1
        max_replicas = int(spec.get("maxReplicas", 1))
        desired = 0
        reason = ""
        rescale = True
        metric_statuses: list[Obj] = []
        if current == 0 and min_replicas != 0:
            rescale = False
            set_condition(conditions, "ScalingActive", "False", "ScalingDisabled",
                          "scaling is disabled since the replica count of the target is zero", now)
        elif current > max_replicas:
            reason, desired = "Current number of replicas above Spec.MaxReplicas", max_replicas
        elif current < min_replicas:
            reason, desired = "Current number of replicas below Spec.MinReplicas", min_replicas
        else:
            selector = str((scale.get("status") or {}).get("selector") or "")
            proposal, name, metric_statuses, error = await self._compute(hpa, spec, current, selector, conditions,
                                                                         now)
            if proposal == -1:
                status.update(currentReplicas=current, currentMetrics=metric_statuses or None)
                await self._write_status(hpa, original_status)
                self.recorder.record(hpa, "Warning", "FailedComputeMetricsReplicas", error)
                log.info("hpa %s: %s", key, error)
                return
            desired = proposal
            if desired > current:
                reason = f"{name} above target"
            elif desired < current:
                reason = "All metrics below target"
            desired, conds = behavior.normalize(spec, history, current, desired, min_replicas, now,
                                                self.downscale_stabilization)
            for cond in conds:
                set_condition(conditions, cond.type, cond.status, cond.reason, cond.message, now)
            rescale = desired != current
        if rescale:
            new_scale = copy.deepcopy(scale)
            new_scale.setdefault("spec", {})["replicas"] = desired
            try:
                await self.client.update(scale_res, ns, str(ref.get("name", "")), new_scale, subresource="scale")
            except ApiError as exc:
                self.recorder.record(hpa, "Warning", "FailedRescale",
                                     f"New size: {desired}; reason: {reason}; error: {exc}")
                set_condition(conditions, "AbleToScale", "False", "FailedUpdateScale",
                              f"the HPA controller was unable to update the target scale: {exc}", now)
                status.update(currentReplicas=current, currentMetrics=metric_statuses or None)
                await self._write_status(hpa, original_status)
                raise
            set_condition(conditions, "AbleToScale", "True", "SucceededRescale",
                          f"the HPA controller was able to update the target scale to {desired}", now)
            self.recorder.record(hpa, "Normal", "SuccessfulRescale", f"New size: {desired}; reason: {reason}")
            log.info("hpa %s: New size: %d; reason: %s", key, desired, reason)
            behavior.store_scale_event(spec, history, current, desired, now)
            status["lastScaleTime"] = _rfc3339(now)
        else:
            desired = current
        status.update(currentReplicas=current, desiredReplicas=desired, currentMetrics=metric_statuses or None)
        await self._write_status(hpa, original_status)

    async def _compute(self, hpa: Obj, spec: Obj, current: int, selector: str, conditions: list[Obj],
                       now: float) -> tuple[int, str, list[Obj], str]:
        """``computeReplicasForMetrics``: (replicas or -1, metric name, statuses, error message)."""
        metrics = list(spec.get("metrics") or [])
        if not selector:
            message = "selector is required"
            self.recorder.record(hpa, "Warning", "SelectorRequired", message)
            set_condition(conditions, "ScalingActive", "False", "InvalidSelector",
                          "the HPA target's scale is missing a selector", now)
            return -1, "", [], message
        statuses: list[Obj] = [{"type": ""} for _ in metrics]
        best, best_name = 0, ""
        invalid = 0
        first: tuple[str, str] | None = None
        for i, mspec in enumerate(metrics):
            try:
                proposal, statuses[i] = await self._metric(hpa, mspec, current, selector, now)
            except _Invalid as exc:
                self.recorder.record(hpa, "Warning", exc.reason, exc.message)
                if first is None:
                    first = (exc.reason, exc.message)
                invalid += 1
                continue
            if best == 0 or proposal > best:
                best, best_name = proposal, metric_name(mspec)
        error = ""
        if first is not None:
            error = f"invalid metrics ({invalid} invalid out of {len(metrics)}), first error is: {first[1]}"
        if metrics and (invalid >= len(metrics) or (invalid > 0 and best < current)):
            assert first is not None
            set_condition(conditions, "ScalingActive", "False", first[0],
                          f"the HPA was unable to compute the replica count: {first[1]}", now)
            return -1, "", [s for s in statuses if s.get("type")], error
        set_condition(conditions, "ScalingActive", "True", "ValidMetricFound",
                      f"the HPA was able to successfully calculate a replica count from {best_name}", now)
        return best, best_name, [s for s in statuses if s.get("type")], error

    async def _write_status(self, hpa: Obj, original: Obj) -> None:
        status = {k: v for k, v in (hpa.get("status") or {}).items() if v is not None}
        hpa["status"] = status
        if status == original:
            return
        meta = hpa.get("metadata") or {}
        try:
            await self.client.update(HPAS, meta.get("namespace", ""), meta.get("name", ""), hpa,
                                     subresource="status")
        except NotFoundError:
            return


class _Invalid(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
