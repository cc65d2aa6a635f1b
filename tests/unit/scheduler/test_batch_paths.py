"""The batch fast paths (``filter_nodes``/``score_nodes``, the chunked feasible-node search, memoized resource
scores) give exactly what node-by-node evaluation gives."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sched_builders import node, pod

from kybernetes.scheduler import framework as fw
from kybernetes.scheduler.binder import FakeBinder, FakeStatusWriter
from kybernetes.scheduler.cache import SchedulerCache
from kybernetes.scheduler.nodeinfo import NodeInfo, PodInfo
from kybernetes.scheduler.plugins.noderesources import memo_scores
from kybernetes.scheduler.plugins.registry import default_profile
from kybernetes.scheduler.queue import SchedulingQueue
from kybernetes.scheduler.scheduler import Scheduler, num_feasible_nodes_to_find, select_index

Obj = dict[str, Any]
ZONES = ("a", "b", "c")


class NoEvents:
    def record(self, obj: Obj, event_type: str, reason: str, message: str) -> None:
        return None


def random_cluster(rng: random.Random, n_nodes: int, n_pods: int) -> SchedulerCache:
    """Nodes of a few sizes, some tainted or cordoned, some nearly full; pods already bound to them."""
    cache = SchedulerCache()
    for i in range(n_nodes):
        taints = [{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}] if rng.random() < 0.1 else None
        cache.set_node(node(f"n{i:03d}", cpu=rng.choice(["1", "2", "4"]), memory=rng.choice(["1Gi", "4Gi"]),
                            pods=rng.choice(["3", "110"]), labels={"zone": rng.choice(ZONES)}, taints=taints,
                            unschedulable=rng.random() < 0.05))
    for j in range(n_pods):
        cache.add_pod(pod(f"e{j}", cpu=rng.choice(["100m", "500m", "1"]), memory=rng.choice(["64Mi", "1Gi"]),
                          node_name=f"n{rng.randrange(n_nodes):03d}", labels={"app": rng.choice("xy")}))
    return cache


def random_pod(rng: random.Random, i: int) -> Obj:
    spec: Obj = {}
    r = rng.random()
    if r < 0.2:
        spec["nodeSelector"] = {"zone": rng.choice(ZONES)}
    elif r < 0.3:
        spec["tolerations"] = [{"key": "dedicated", "operator": "Exists"}]
    elif r < 0.4:
        spec["topologySpreadConstraints"] = [{"maxSkew": 1, "topologyKey": "zone",
                                              "whenUnsatisfiable": rng.choice(["DoNotSchedule", "ScheduleAnyway"]),
                                              "labelSelector": {"matchLabels": {"app": "x"}}}]
    requests = rng.choice([(None, None), ("200m", None), ("1", "512Mi"), ("3", "3Gi")])
    return pod(f"p{i}", cpu=requests[0], memory=requests[1], labels={"app": "x"}, **spec)


def reference_find_feasible(sched: Scheduler, state: fw.CycleState, pi: PodInfo, nodes: list[NodeInfo],
                            filters: list[fw.FilterPlugin], start: int
                            ) -> tuple[list[NodeInfo], dict[str, fw.Status], int]:
    """Upstream's node-by-node search with per-node Filter calls (what the chunked search must equal)."""
    n = len(nodes)
    want = num_feasible_nodes_to_find(n, sched.percentage)
    feasible: list[NodeInfo] = []
    statuses: dict[str, fw.Status] = {}
    processed = 0
    for i in range(n):
        info = nodes[(start + i) % n]
        processed += 1
        for f in filters:
            st = f.filter(state, pi, info)
            if st is not None:
                statuses[info.name] = st
                break
        else:
            feasible.append(info)
            if len(feasible) >= want:
                break
    return feasible, statuses, (start + processed) % n


def prefiltered(sched: Scheduler, pi: PodInfo) -> tuple[fw.CycleState, list[fw.FilterPlugin]]:
    snapshot = sched.cache.snapshot()
    state = fw.CycleState()
    state[fw.SNAPSHOT_KEY] = snapshot
    skip = set()
    for p in sched.profile.pre_filter:
        _, st = p.pre_filter(state, pi, snapshot)
        if st is not None and st.code == fw.Code.SKIP:
            skip.add(p.name)
    return state, [f for f in sched.profile.filter if f.name not in skip]


@pytest.mark.parametrize(("seed", "n_nodes", "percentage"), [
    pytest.param(1, 7, 0, id="few-nodes"),
    pytest.param(2, 150, 0, id="adaptive-150"),
    pytest.param(3, 300, 0, id="adaptive-300"),
    pytest.param(4, 300, 10, id="ten-percent"),
    pytest.param(5, 120, 100, id="all-nodes"),
])
def test_chunked_search_equals_node_by_node(seed: int, n_nodes: int, percentage: int) -> None:
    rng = random.Random(seed)
    cache = random_cluster(rng, n_nodes, n_nodes * 2)
    profile = default_profile(FakeBinder())
    sched = Scheduler(cache, SchedulingQueue(), profile, events=NoEvents(), status_writer=FakeStatusWriter(),
                      percentage_of_nodes_to_score=percentage)
    nodes = cache.snapshot().nodes
    for i in range(40):
        pi = PodInfo(random_pod(rng, i))
        state, filters = prefiltered(sched, pi)
        start = rng.randrange(n_nodes)
        sched.next_start_node_index = start
        got, got_statuses = sched._find_feasible(state, pi, nodes, filters)
        want, want_statuses, want_next = reference_find_feasible(sched, state, pi, nodes, filters, start)
        assert [n.name for n in got] == [n.name for n in want]
        assert got_statuses == want_statuses
        assert sched.next_start_node_index == want_next


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_batch_filters_and_scores_equal_per_node(seed: int) -> None:
    rng = random.Random(seed)
    cache = random_cluster(rng, 60, 150)
    profile = default_profile(FakeBinder())
    sched = Scheduler(cache, SchedulingQueue(), profile, events=NoEvents(), status_writer=FakeStatusWriter())
    nodes = cache.snapshot().nodes
    for i in range(30):
        pi = PodInfo(random_pod(rng, i))
        state, filters = prefiltered(sched, pi)
        for f in filters:
            statuses: dict[str, fw.Status] = {}
            passed = fw.filter_nodes(f, state, pi, list(nodes), statuses)
            per_node = {n.name: f.filter(state, pi, n) for n in nodes}
            assert [n.name for n in passed] == [name for name, st in per_node.items() if st is None], f.name
            assert statuses == {name: st for name, st in per_node.items() if st is not None}, f.name
        for p in profile.score:
            pre = getattr(p, "pre_score", None)
            if pre is not None and pre(state, pi, nodes) is not None:
                continue
            if p.name == "PodTopologySpread":  # its per-node score appends to the cycle state: one pass only
                continue
            assert fw.score_nodes(p, state, pi, nodes) == [p.score(state, pi, n) for n in nodes], p.name


@pytest.mark.parametrize(("keys", "want_calls"), [
    pytest.param([1, 1, 1, 1], 1, id="homogeneous"),
    pytest.param([1, 2, 1, 2, 3], 3, id="few-distinct"),
    pytest.param(list(range(20)) * 2, 20, id="many-distinct"),
    pytest.param([], 0, id="empty"),
])
def test_memo_scores_computes_once_per_key(keys: list[int], want_calls: int) -> None:
    infos = []
    for k in keys:
        info = NodeInfo(node(f"n{len(infos)}", cpu=str(k + 1)))  # the cpu decides the resource key
        infos.append(info)
    calls: list[tuple[int, ...]] = []

    def score_of(key: tuple[int, int, int, int, int, int]) -> int:
        calls.append(key)
        return key[0]

    assert memo_scores(infos, score_of) == [(k + 1) * 1000 for k in keys]
    assert len(calls) == want_calls


def test_equal_nodes_share_a_resource_id() -> None:
    a, b, c = NodeInfo(node("a")), NodeInfo(node("b")), NodeInfo(node("c", cpu="8"))
    assert a.resource_id == b.resource_id != c.resource_id
    a.add_pod(PodInfo(pod("p", cpu="1")))
    assert a.resource_id != b.resource_id
    a.remove_pod("default/p")
    assert a.resource_key == b.resource_key


@pytest.mark.parametrize(("scores", "allowed"), [
    pytest.param([5], {0}, id="single"),
    pytest.param([1, 9, 3], {1}, id="unique-best"),
    pytest.param([9, 1, 9, 9], {0, 2, 3}, id="ties"),
])
def test_select_index(scores: list[int], allowed: set[int]) -> None:
    rng = random.Random(0)
    seen = {select_index(scores, rng) for _ in range(200)}
    assert seen == allowed
