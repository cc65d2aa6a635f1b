"""The scheduler's cache: a :class:`NodeInfo` per node, built from node and (assigned) pod informer events, plus
*assumed* pods — pods the scheduler decided on but whose binding the informer has not confirmed yet — so a burst
of pods does not over-commit a node.

* ``assume(pod, node)`` adds the pod to the node at once; the informer's later add/update of the bound pod
  confirms it (no double counting); ``forget`` undoes a failed binding.
* Pods on nodes the cache does not know yet are kept on a placeholder NodeInfo (upstream does the same) and
  counted once the node appears.
* ``snapshot()`` is O(1) when no node was added or removed: the node list is cached and the NodeInfo objects
  are shared, not copied; its lists of nodes with affinity pods are recomputed only after such pods change.
  This is safe because a scheduling cycle never awaits (see ``framework``).
"""

from __future__ import annotations

from typing import Any

from kybernetes.scheduler.framework import Snapshot
from kybernetes.scheduler.nodeinfo import NodeInfo, PodInfo

Obj = dict[str, Any]


class SchedulerCache:
    def __init__(self) -> None:
        self.nodes: dict[str, NodeInfo] = {}  # includes placeholders (node is {})
        self._pods: dict[str, tuple[PodInfo, str]] = {}  # key → (info, node name)
        self._assumed: set[str] = set()
        self._snapshot: Snapshot | None = None
        self.namespace_labels: dict[str, dict[str, str]] = {}

    # -- nodes ----------------------------------------------------------------------------------------------

    def set_node(self, node: Obj) -> NodeInfo:
        name = (node.get("metadata") or {}).get("name", "")
        info = self.nodes.get(name)
        if info is None:
            info = self.nodes[name] = NodeInfo(node)
            self._snapshot = None
        else:
            was_placeholder = not info.node
            info.set_node(node)
            if was_placeholder:
                self._snapshot = None
        return info

    def remove_node(self, name: str) -> None:
        info = self.nodes.get(name)
        if info is None:
            return
        if info.pods:
            info.node = {}  # keep the pods until their deletes arrive, like upstream
        else:
            del self.nodes[name]
        self._snapshot = None

    # -- pods -----------------------------------------------------------------------------------------------

    def _node(self, name: str) -> NodeInfo:
        info = self.nodes.get(name)
        if info is None:
            info = self.nodes[name] = NodeInfo(name=name)  # placeholder until the node arrives
        return info

    def is_assumed(self, key: str) -> bool:
        return key in self._assumed

    def node_of(self, key: str) -> str | None:
        entry = self._pods.get(key)
        return entry[1] if entry else None

    def _affinity_changed(self, pi: PodInfo) -> None:
        if pi.has_affinity and self._snapshot is not None:
            self._snapshot.affinity_changed()

    def assume(self, pi: PodInfo, node_name: str) -> None:
        self.remove_pod(pi.key)
        self._node(node_name).add_pod(pi)
        self._affinity_changed(pi)
        self._pods[pi.key] = (pi, node_name)
        self._assumed.add(pi.key)

    def forget(self, key: str) -> None:
        """Undo ``assume`` (binding failed)."""
        if key in self._assumed:
            self.remove_pod(key)

    def add_pod(self, pod: Obj) -> None:
        """An assigned pod from the informer (add or update): confirms an assumed pod, or replaces the entry.

        An update that leaves everything a :class:`PodInfo` is parsed from unchanged (the usual status-only
        update) only swaps the object: no re-parse, no node change."""
        meta = pod.get("metadata") or {}
        entry = self._pods.get(f"{meta.get('namespace', '')}/{meta.get('name', '')}")
        if entry is not None and entry[0].key not in self._assumed:
            old = entry[0].pod
            old_meta = old.get("metadata") or {}
            if (old.get("spec") == pod.get("spec") and old_meta.get("uid") == meta.get("uid")
                    and old_meta.get("labels") == meta.get("labels")
                    and old_meta.get("deletionTimestamp") == meta.get("deletionTimestamp")):
                entry[0].pod = pod
                return
        pi = PodInfo(pod)
        if not pi.node_name:
            return
        self.remove_pod(pi.key)
        self._node(pi.node_name).add_pod(pi)
        self._affinity_changed(pi)
        self._pods[pi.key] = (pi, pi.node_name)

    def remove_pod(self, key: str) -> None:
        entry = self._pods.pop(key, None)
        self._assumed.discard(key)
        if entry is None:
            return
        self._affinity_changed(entry[0])
        info = self.nodes.get(entry[1])
        if info is not None:
            info.remove_pod(key)
            if not info.node and not info.pods:
                del self.nodes[entry[1]]

    # -- snapshot -------------------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The real nodes (placeholders excluded), sorted by name; shared objects, see the module docstring."""
        if self._snapshot is None:
            nodes = [self.nodes[n] for n in sorted(self.nodes) if self.nodes[n].node]
            self._snapshot = Snapshot(nodes, self.namespace_labels)
        return self._snapshot
