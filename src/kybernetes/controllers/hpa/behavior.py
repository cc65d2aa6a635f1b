"""HPA normalization of a desired replica count (upstream's ``horizontal.go``), pure.

:class:`History` is what upstream keeps per HPA in memory: timestamped recommendations (for stabilization) and
scale events (for rate policies).  :func:`normalize` applies, in upstream's order, the stabilization window and then
min/max and rate limits, and returns the conditions it sets:

* without ``spec.behavior``: the recommendation is the highest of the last ``downscale_stabilization`` seconds,
  scale-up is limited to ``max(2 * current, 4)`` (``ScaleUpLimit``), then min/max (``TooFewReplicas``,
  ``TooManyReplicas``);
* with ``spec.behavior`` (defaults: scale up 0 s window, Max of 4 pods / 100 % per 15 s; scale down the
  controller's window — 300 s — and 100 % per 15 s): the recommendation is kept between the lowest of the scale-up
  window and the highest of the scale-down window, then limited by the selected policy over each policy's period.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
DEFAULT_DOWNSCALE_STABILIZATION = 300.0
SCALE_UP_LIMIT_FACTOR = 2.0
SCALE_UP_LIMIT_MINIMUM = 4.0
INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)


@dataclass
class ScaleEvent:
    change: int
    timestamp: float
    outdated: bool = False


@dataclass
class History:
    recommendations: list[tuple[int, float]] = field(default_factory=list)  # (replicas, timestamp)
    scale_up_events: list[ScaleEvent] = field(default_factory=list)
    scale_down_events: list[ScaleEvent] = field(default_factory=list)


@dataclass(frozen=True)
class Condition:
    type: str
    status: str
    reason: str
    message: str


def scale_up_rules(rules: Obj | None) -> Obj:
    """``GenerateHPAScaleUpRules``: fill what is unset with the defaults."""
    out = dict(rules or {})
    out.setdefault("stabilizationWindowSeconds", 0)
    out.setdefault("selectPolicy", "Max")
    if not out.get("policies"):
        out["policies"] = [{"type": "Pods", "value": 4, "periodSeconds": 15},
                           {"type": "Percent", "value": 100, "periodSeconds": 15}]
    return out


def scale_down_rules(rules: Obj | None, downscale_stabilization: float) -> Obj:
    """``GenerateHPAScaleDownRules`` plus the controller's window when the HPA sets none."""
    out = dict(rules or {})
    if out.get("stabilizationWindowSeconds") is None:
        out["stabilizationWindowSeconds"] = downscale_stabilization
    out.setdefault("selectPolicy", "Max")
    if not out.get("policies"):
        out["policies"] = [{"type": "Percent", "value": 100, "periodSeconds": 15}]
    return out


def _record(history: History, desired: int, now: float, cutoff: float) -> None:
    for i, (_rec, stamp) in enumerate(history.recommendations):
        if stamp < cutoff:
            history.recommendations[i] = (desired, now)
            return
    history.recommendations.append((desired, now))


def _changes_in_period(period: float, events: list[ScaleEvent], now: float) -> int:
    cutoff = now - period
    return sum(e.change for e in events if e.timestamp > cutoff and not e.outdated)


def scale_up_limit(current: int, history: History, rules: Obj, now: float) -> int:
    """``calculateScaleUpLimitWithScalingRules``."""
    policy_select = rules.get("selectPolicy", "Max")
    if policy_select == "Disabled":
        return current
    pick = min if policy_select == "Min" else max
    result = INT32_MAX if policy_select == "Min" else INT32_MIN
    for policy in rules.get("policies") or []:
        period = float(policy.get("periodSeconds", 15))
        start = (current - _changes_in_period(period, history.scale_up_events, now)
                 + _changes_in_period(period, history.scale_down_events, now))
        value = int(policy.get("value", 0))
        proposed = start + value if policy.get("type") == "Pods" else math.ceil(start * (1 + value / 100))
        result = pick(result, proposed)
    return result


def scale_down_limit(current: int, history: History, rules: Obj, now: float) -> int:
    """``calculateScaleDownLimitWithBehaviors``."""
    policy_select = rules.get("selectPolicy", "Max")
    if policy_select == "Disabled":
        return current
    pick = max if policy_select == "Min" else min
    result = INT32_MIN if policy_select == "Min" else INT32_MAX
    for policy in rules.get("policies") or []:
        period = float(policy.get("periodSeconds", 15))
        start = (current - _changes_in_period(period, history.scale_up_events, now)
                 + _changes_in_period(period, history.scale_down_events, now))
        value = int(policy.get("value", 0))
        proposed = start - value if policy.get("type") == "Pods" else int(start * (1 - value / 100))
        result = pick(result, proposed)
    return result


def _limited(desired: int, stabilized: int, reason: str, message: str) -> Condition:
    return Condition("ScalingLimited", "False" if desired == stabilized else "True", reason, message)


def normalize(spec: Obj, history: History, current: int, desired: int, min_replicas: int, now: float,
              downscale_stabilization: float = DEFAULT_DOWNSCALE_STABILIZATION) -> tuple[int, list[Condition]]:
    """The normalized desired count and the AbleToScale and ScalingLimited conditions; records the
    recommendation in ``history``."""
    max_replicas = int(spec.get("maxReplicas", 1))
    behavior = spec.get("behavior")
    if behavior is None:
        cutoff = now - downscale_stabilization
        stabilized = desired
        for rec, stamp in history.recommendations:
            if stamp >= cutoff and rec > stabilized:
                stabilized = rec
        _record(history, desired, now, cutoff)
        if stabilized != desired:
            able = Condition("AbleToScale", "True", "ScaleDownStabilized",
                             "recent recommendations were higher than current one, applying the highest recent "
                             "recommendation")
        else:
            able = Condition("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size")
        up_limit = int(max(SCALE_UP_LIMIT_FACTOR * current, SCALE_UP_LIMIT_MINIMUM))
        if max_replicas > up_limit:
            maximum, reason, message = (up_limit, "ScaleUpLimit",
                                        "the desired replica count is increasing faster than the maximum scale rate")
        else:
            maximum, reason, message = (max_replicas, "TooManyReplicas",
                                        "the desired replica count is more than the maximum replica count")
        if stabilized < min_replicas:
            final = min_replicas
            reason, message = "TooFewReplicas", "the desired replica count is less than the minimum replica count"
        elif stabilized > maximum:
            final = maximum
        else:
            final = stabilized
            reason, message = "DesiredWithinRange", "the desired count is within the acceptable range"
        return final, [able, _limited(final, stabilized, reason, message)]

    up = scale_up_rules(behavior.get("scaleUp"))
    down = scale_down_rules(behavior.get("scaleDown"), downscale_stabilization)
    up_cutoff = now - float(up["stabilizationWindowSeconds"])
    down_cutoff = now - float(down["stabilizationWindowSeconds"])
    up_rec = down_rec = desired
    old_index = -1
    for i, (rec, stamp) in enumerate(history.recommendations):
        if stamp > up_cutoff:
            up_rec = min(rec, up_rec)
        if stamp > down_cutoff:
            down_rec = max(rec, down_rec)
        if stamp < up_cutoff and stamp < down_cutoff:
            old_index = i
    stabilized = max(current, up_rec)
    stabilized = min(stabilized, down_rec)
    if old_index >= 0:
        history.recommendations[old_index] = (desired, now)
    else:
        history.recommendations.append((desired, now))
    if stabilized != desired:
        if desired >= current:
            able = Condition("AbleToScale", "True", "ScaleUpStabilized",
                             "recent recommendations were lower than current one, applying the lowest recent "
                             "recommendation")
        else:
            able = Condition("AbleToScale", "True", "ScaleDownStabilized",
                             "recent recommendations were higher than current one, applying the highest recent "
                             "recommendation")
    else:
        able = Condition("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size")
    final, reason, message = stabilized, "DesiredWithinRange", "the desired count is within the acceptable range"
    if stabilized > current:
        limit = max(scale_up_limit(current, history, up, now), current)
        if max_replicas > limit:
            maximum, r, m = limit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum " \
                                                   "scale rate"
        else:
            maximum, r, m = max_replicas, "TooManyReplicas", "the desired replica count is more than the maximum " \
                                                             "replica count"
        if stabilized > maximum:
            final, reason, message = maximum, r, m
    elif stabilized < current:
        limit = min(scale_down_limit(current, history, down, now), current)
        if min_replicas < limit:
            minimum, r, m = limit, "ScaleDownLimit", "the desired replica count is decreasing faster than the " \
                                                     "maximum scale rate"
        else:
            minimum, r, m = min_replicas, "TooFewReplicas", "the desired replica count is less than the minimum " \
                                                            "replica count"
        if stabilized < minimum:
            final, reason, message = minimum, r, m
    return final, [able, _limited(final, stabilized, reason, message)]


def store_scale_event(spec: Obj, history: History, previous: int, new: int, now: float) -> None:
    """Remember a rescale for the rate policies (``storeScaleEvent``); events older than the longest policy
    period are reused."""
    behavior = spec.get("behavior")
    if behavior is None:
        return
    if new > previous:
        rules, events, change = scale_up_rules(behavior.get("scaleUp")), history.scale_up_events, new - previous
    else:
        rules, events, change = (scale_down_rules(behavior.get("scaleDown"), 0), history.scale_down_events,
                                 previous - new)
    longest = max((float(p.get("periodSeconds", 15)) for p in rules.get("policies") or []), default=0.0)
    for event in events:
        if event.timestamp < now - longest:
            event.outdated = True
    for i, event in enumerate(events):
        if event.outdated:
            events[i] = ScaleEvent(change, now)
            return
    events.append(ScaleEvent(change, now))
