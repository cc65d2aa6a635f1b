"""The scheduling framework: one Protocol per extension point, ``Status`` with upstream's ``Code`` enum.

Contracts (as upstream's ``framework/interface.go``):

* ``None`` means success everywhere a ``Status | None`` is returned.
* PreFilter runs once per pod before filtering; it may store data in the ``CycleState`` for its Filter, return
  ``Code.SKIP`` (its Filter is then not called for this pod), or reject the pod outright (every node then carries
  that status).  ``PreFilterResult.node_names`` narrows the nodes to evaluate.
* Filter runs per node and must be pure: it reads the pod, the ``NodeInfo`` and the cycle state, never mutates.
  The first non-success status of a node stops evaluating the other filters for that node.
* PostFilter runs only when no node passed; it may nominate a node (preemption) and adds its message.
* PreScore/Score/normalize rank feasible nodes; each plugin's normalized score is in ``[0, MAX_NODE_SCORE]`` and
  multiplied by the plugin's weight.  A PreScore returning ``Code.SKIP`` disables that plugin's Score.
* Reserve/Unreserve run around the assume step; Permit may delay binding (optional); Bind writes the binding.
* A plugin that rejects pods lists in ``EVENTS`` the cluster events that may make them schedulable again; the
  queue moves a rejected pod back only on those (see :mod:`kybernetes.scheduler.queue`).

Batch forms (optional, for the hot path over hundreds of nodes): a Filter plugin may also offer
``filter_nodes(state, pod, nodes, statuses)`` returning the nodes that pass, in order, and recording each
rejection in ``statuses``; a Score plugin may offer ``score_nodes(state, pod, nodes)`` returning the raw scores in
order.  Both must give exactly what the per-node methods give (:func:`filter_nodes` and :func:`score_nodes` fall
back to those).

Plugins are synchronous except Bind: a scheduling cycle (snapshot → filter → score → assume) never awaits, so it
can read the cache's live ``NodeInfo`` objects as its snapshot without copying them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from kybernetes.scheduler.nodeinfo import NodeInfo, PodInfo

MAX_NODE_SCORE = 100
MIN_NODE_SCORE = 0

# Cluster events a rejected pod may be waiting for.
NODE_ADD = "NodeAdd"
NODE_UPDATE = "NodeUpdate"
NODE_DELETE = "NodeDelete"
POD_ADD = "AssignedPodAdd"
POD_UPDATE = "AssignedPodUpdate"
POD_DELETE = "AssignedPodDelete"
PVC_CHANGE = "PersistentVolumeClaimChange"
PV_CHANGE = "PersistentVolumeChange"
STORAGE_CLASS_CHANGE = "StorageClassChange"
NAMESPACE_CHANGE = "NamespaceChange"
ALL_EVENTS = frozenset({NODE_ADD, NODE_UPDATE, NODE_DELETE, POD_ADD, POD_UPDATE, POD_DELETE, PVC_CHANGE,
                        PV_CHANGE, STORAGE_CLASS_CHANGE, NAMESPACE_CHANGE})


class Code(enum.IntEnum):
    """Upstream's status codes, same order."""

    SUCCESS = 0
    ERROR = 1  # an internal error: the pod is retried with back-off, not marked unschedulable by plugins
    UNSCHEDULABLE = 2  # may become schedulable, e.g. after preemption
    UNSCHEDULABLE_AND_UNRESOLVABLE = 3  # preemption cannot help
    WAIT = 4  # Permit: wait
    SKIP = 5  # PreFilter/PreScore: skip this plugin's Filter/Score for the pod
    PENDING = 6


@dataclass(frozen=True, slots=True)
class Status:
    code: Code
    reasons: tuple[str, ...] = ()
    plugin: str = ""

    @classmethod
    def unschedulable(cls, *reasons: str, plugin: str = "") -> Status:
        return cls(Code.UNSCHEDULABLE, reasons, plugin)

    @classmethod
    def unresolvable(cls, *reasons: str, plugin: str = "") -> Status:
        return cls(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, reasons, plugin)

    @classmethod
    def error(cls, message: str, plugin: str = "") -> Status:
        return cls(Code.ERROR, (message,), plugin)

    def with_plugin(self, plugin: str) -> Status:
        return self if self.plugin == plugin else Status(self.code, self.reasons, plugin)

    @property
    def is_rejected(self) -> bool:
        return self.code in (Code.UNSCHEDULABLE, Code.UNSCHEDULABLE_AND_UNRESOLVABLE)

    @property
    def message(self) -> str:
        return ", ".join(self.reasons)


SKIP = Status(Code.SKIP)


class CycleState(dict[str, Any]):
    """Per-pod scratch space plugins share between their extension points (keyed by plugin name).

    The scheduler stores the cycle's :class:`Snapshot` under :data:`SNAPSHOT_KEY` for PreScore plugins that
    need every node, not only the feasible ones.
    """


SNAPSHOT_KEY = "__snapshot__"


@dataclass(slots=True)
class PreFilterResult:
    """``node_names`` narrows filtering to those nodes (``None`` = all)."""

    node_names: set[str] | None = None


class Snapshot:
    """The nodes one scheduling cycle sees, in a stable order, plus cluster facts plugins share.

    Built by the cache; the ``NodeInfo`` objects are the cache's own (read-only during the cycle).  The lists of
    nodes with affinity pods are computed on first use; the cache calls :meth:`affinity_changed` when a pod with
    affinity comes or goes (the only changes that alter them while the node list stays the same).
    """

    def __init__(self, nodes: Sequence[NodeInfo], namespace_labels: dict[str, dict[str, str]] | None = None) -> None:
        self.nodes: list[NodeInfo] = list(nodes)
        self.by_name = {n.name: n for n in nodes}
        self.namespace_labels = namespace_labels if namespace_labels is not None else {}
        self._with_affinity: list[NodeInfo] | None = None
        self._with_anti: list[NodeInfo] | None = None

    def affinity_changed(self) -> None:
        self._with_affinity = None
        self._with_anti = None

    def __len__(self) -> int:
        return len(self.nodes)

    def get(self, name: str) -> NodeInfo | None:
        return self.by_name.get(name)

    @property
    def have_pods_with_affinity(self) -> list[NodeInfo]:
        if self._with_affinity is None:
            self._with_affinity = [n for n in self.nodes if n.pods_with_affinity]
        return self._with_affinity

    @property
    def have_pods_with_required_anti_affinity(self) -> list[NodeInfo]:
        if self._with_anti is None:
            self._with_anti = [n for n in self.nodes if n.pods_with_required_anti_affinity]
        return self._with_anti

    def all_pods(self) -> Iterable[PodInfo]:
        for n in self.nodes:
            yield from n.pods.values()


# ----------------------------------------------------------------------------------------------- extension points


@runtime_checkable
class Plugin(Protocol):
    name: str


class EnqueueExtension(Protocol):
    """Cluster events after which pods this plugin rejected are worth retrying."""

    events: frozenset[str]


@runtime_checkable
class PreFilterPlugin(Plugin, Protocol):
    def pre_filter(self, state: CycleState, pod: PodInfo,
                   snapshot: Snapshot) -> tuple[PreFilterResult | None, Status | None]: ...


@runtime_checkable
class FilterPlugin(Plugin, Protocol):
    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None: ...


@runtime_checkable
class PostFilterPlugin(Plugin, Protocol):
    def post_filter(self, state: CycleState, pod: PodInfo, snapshot: Snapshot,
                    statuses: dict[str, Status]) -> tuple[str, Status]:
        """Return (nominated node name or "", status); the status' message joins the FailedScheduling text."""
        ...


@runtime_checkable
class PreScorePlugin(Plugin, Protocol):
    def pre_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status | None: ...


@runtime_checkable
class ScorePlugin(Plugin, Protocol):
    weight: int

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int: ...

    def normalize(self, state: CycleState, pod: PodInfo, scores: list[int]) -> None:
        """Rescale ``scores`` (parallel to the scored nodes) in place to [0, MAX_NODE_SCORE]; may do nothing."""
        ...


@runtime_checkable
class ReservePlugin(Plugin, Protocol):
    def reserve(self, state: CycleState, pod: PodInfo, node_name: str) -> Status | None: ...

    def unreserve(self, state: CycleState, pod: PodInfo, node_name: str) -> None: ...


@runtime_checkable
class PermitPlugin(Plugin, Protocol):
    def permit(self, state: CycleState, pod: PodInfo, node_name: str) -> tuple[Status | None, float]:
        """(status, timeout seconds): ``Code.WAIT`` delays binding up to the timeout (optional extension)."""
        ...


@runtime_checkable
class BindPlugin(Plugin, Protocol):
    async def bind(self, pod: PodInfo, node_name: str) -> Status | None: ...


class BatchFilterPlugin(FilterPlugin, Protocol):
    def filter_nodes(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo],
                     statuses: dict[str, Status]) -> list[NodeInfo]: ...


class BatchScorePlugin(ScorePlugin, Protocol):
    def score_nodes(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]: ...


def filter_nodes(plugin: FilterPlugin, state: CycleState, pod: PodInfo, nodes: list[NodeInfo],
                 statuses: dict[str, Status]) -> list[NodeInfo]:
    """The nodes of ``nodes`` that ``plugin`` accepts (order kept); each rejection goes into ``statuses``."""
    batch = getattr(plugin, "filter_nodes", None)
    if batch is not None:
        passed: list[NodeInfo] = batch(state, pod, nodes, statuses)
        return passed
    return filter_rest(plugin, state, pod, nodes, statuses)


def filter_rest(plugin: FilterPlugin, state: CycleState, pod: PodInfo, nodes: list[NodeInfo],
                statuses: dict[str, Status]) -> list[NodeInfo]:
    """Per-node filtering, for batch implementations to hand their uncommon nodes to."""
    filter_one = plugin.filter
    out = []
    for node in nodes:
        st = filter_one(state, pod, node)
        if st is None:
            out.append(node)
        else:
            statuses[node.name] = st
    return out


def reject_some(plugin: FilterPlugin, state: CycleState, pod: PodInfo, nodes: list[NodeInfo],
                suspects: list[NodeInfo], statuses: dict[str, Status]) -> list[NodeInfo]:
    """``nodes`` minus those of ``suspects`` (a subset) that the per-node filter rejects, order kept.

    For batch filters: a cheap scan finds the few nodes that might fail; only those take the per-node path."""
    if not suspects:
        return nodes
    filter_one = plugin.filter
    rejected: set[NodeInfo] = set()
    for node in suspects:
        st = filter_one(state, pod, node)
        if st is not None:
            statuses[node.name] = st
            rejected.add(node)
    if not rejected:
        return nodes
    return [n for n in nodes if n not in rejected]


def score_nodes(plugin: ScorePlugin, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
    """Raw (not normalized) scores of ``plugin`` for ``nodes``, in order."""
    batch = getattr(plugin, "score_nodes", None)
    if batch is not None:
        scores: list[int] = batch(state, pod, nodes)
        return scores
    score = plugin.score
    return [score(state, pod, node) for node in nodes]


# ----------------------------------------------------------------------------------------------- normalizing


def default_normalize(scores: list[int], *, reverse: bool = False) -> None:
    """Upstream's ``DefaultNormalizeScore``: scale to [0, 100] by the maximum; ``reverse`` flips it."""
    top = max(scores, default=0)
    if top == 0:
        if reverse:
            scores[:] = [MAX_NODE_SCORE] * len(scores)
        return
    for i, s in enumerate(scores):
        s = MAX_NODE_SCORE * s // top
        scores[i] = MAX_NODE_SCORE - s if reverse else s


@dataclass(slots=True)
class Profile:
    """The plugins of one scheduler profile, by extension point, in upstream's default order."""

    scheduler_name: str = "default-scheduler"
    pre_filter: list[PreFilterPlugin] = field(default_factory=list)
    filter: list[FilterPlugin] = field(default_factory=list)
    post_filter: list[PostFilterPlugin] = field(default_factory=list)
    pre_score: list[PreScorePlugin] = field(default_factory=list)
    score: list[ScorePlugin] = field(default_factory=list)
    reserve: list[ReservePlugin] = field(default_factory=list)
    permit: list[PermitPlugin] = field(default_factory=list)
    bind: list[BindPlugin] = field(default_factory=list)
    events: dict[str, frozenset[str]] = field(default_factory=dict)  # plugin name → events it waits for
