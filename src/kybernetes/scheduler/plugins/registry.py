"""Plugin names → factories, and the default profile in upstream's order and weights."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kybernetes.scheduler import framework as fw
from kybernetes.scheduler.plugins import (
    balancedallocation,
    defaultpreemption,
    interpodaffinity,
    nodeaffinity,
    nodename,
    nodeports,
    noderesources,
    nodeunschedulable,
    podtopologyspread,
    tainttoleration,
    volumebinding,
)

REGISTRY: dict[str, Callable[[], Any]] = {
    nodeunschedulable.NAME: nodeunschedulable.new,
    nodename.NAME: nodename.new,
    tainttoleration.NAME: tainttoleration.new,
    nodeaffinity.NAME: nodeaffinity.new,
    nodeports.NAME: nodeports.new,
    noderesources.NAME: noderesources.new,
    volumebinding.NAME: volumebinding.new,
    podtopologyspread.NAME: podtopologyspread.new,
    interpodaffinity.NAME: interpodaffinity.new,
    balancedallocation.NAME: balancedallocation.new,
    defaultpreemption.NAME: defaultpreemption.new,
}

# Upstream's default plugin order (filters stop at the first rejection per node, so order shows in messages).
FILTER_ORDER = (nodeunschedulable.NAME, nodename.NAME, tainttoleration.NAME, nodeaffinity.NAME, nodeports.NAME,
                noderesources.NAME, volumebinding.NAME, podtopologyspread.NAME, interpodaffinity.NAME)
SCORE_ORDER = (tainttoleration.NAME, nodeaffinity.NAME, noderesources.NAME, podtopologyspread.NAME,
               interpodaffinity.NAME, balancedallocation.NAME)


def default_profile(binder: fw.BindPlugin, *, volumes: volumebinding.VolumeLookup | None = None,
                    disabled: frozenset[str] = frozenset()) -> fw.Profile:
    """Instantiate every plugin once and slot it into its extension points."""
    plugins: dict[str, Any] = {}
    for name, factory in REGISTRY.items():
        if name in disabled:
            continue
        plugins[name] = volumebinding.new(volumes) if name == volumebinding.NAME else factory()
    profile = fw.Profile()
    for name in FILTER_ORDER:
        p = plugins.get(name)
        if p is None:
            continue
        if isinstance(p, fw.PreFilterPlugin):
            profile.pre_filter.append(p)
        profile.filter.append(p)
    for name in SCORE_ORDER:
        p = plugins.get(name)
        if p is None:
            continue
        if isinstance(p, fw.PreScorePlugin):
            profile.pre_score.append(p)
        profile.score.append(p)
    if defaultpreemption.NAME in plugins:
        profile.post_filter.append(plugins[defaultpreemption.NAME])
    profile.bind.append(binder)
    profile.events = {name: p.events for name, p in plugins.items() if hasattr(p, "events")}
    return profile
