"""The scheduling cycle over a crafted cache: decisions, FailedScheduling messages, assume, bind, events."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from sched_builders import node, pod

from kybernetes.scheduler import framework as fw
from kybernetes.scheduler.binder import FakeBinder, FakeStatusWriter
from kybernetes.scheduler.cache import SchedulerCache
from kybernetes.scheduler.handlers import Handlers
from kybernetes.scheduler.nodeinfo import PodInfo
from kybernetes.scheduler.plugins.registry import default_profile
from kybernetes.scheduler.queue import SchedulingQueue
from kybernetes.scheduler.scheduler import FitError, Scheduler, fit_error_message, num_feasible_nodes_to_find

Obj = dict[str, Any]
CONTROL_PLANE = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


class Events:
    def __init__(self) -> None:
        self.recorded: list[tuple[str, str, str, str]] = []

    def record(self, obj: Obj, event_type: str, reason: str, message: str) -> None:
        self.recorded.append((obj["metadata"]["name"], event_type, reason, message))


def build(*nodes: Obj, binder: FakeBinder | None = None) -> tuple[Scheduler, Events, FakeBinder, FakeStatusWriter]:
    cache = SchedulerCache()
    for n in nodes:
        cache.set_node(n)
    binder = binder or FakeBinder()
    profile = default_profile(binder)
    queue = SchedulingQueue(plugin_events=profile.events)
    events, writer = Events(), FakeStatusWriter()
    sched = Scheduler(cache, queue, profile, events=events, status_writer=writer, rng=random.Random(0))
    return sched, events, binder, writer


@pytest.mark.parametrize(("statuses", "post", "want"), [
    pytest.param({"a": fw.Status.unresolvable(
                      "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"),
                  "b": fw.Status.unschedulable("Insufficient cpu"), "c": fw.Status.unschedulable("Insufficient cpu")},
                 "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
                 "2 No preemption victims found for incoming pod.",
                 "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
                 "2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for "
                 "scheduling, 2 No preemption victims found for incoming pod.", id="upstream-example"),
    pytest.param({"a": fw.Status.unschedulable("Insufficient cpu", "Insufficient memory")}, "",
                 "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.", id="multiple-reasons"),
])
def test_fit_error_message(statuses: dict[str, fw.Status], post: str, want: str) -> None:
    assert fit_error_message(len(statuses), statuses, post_filter_msg=post) == want


@pytest.mark.parametrize(("n", "want"), [
    pytest.param(50, 50, id="small"), pytest.param(1000, 420, id="1000"), pytest.param(5000, 500, id="5000"),
    pytest.param(100_000, 5000, id="min-5-percent"),
])
def test_num_feasible_nodes(n: int, want: int) -> None:
    assert num_feasible_nodes_to_find(n) == want


def test_failed_scheduling_message_end_to_end() -> None:
    sched, *_ = build(node("cp", taints=[CONTROL_PLANE]), node("w1", cpu="1"), node("w2", cpu="1"))
    with pytest.raises(FitError) as err:
        sched.schedule(PodInfo(pod("p", cpu="2")))
    assert str(err.value) == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
        "2 No preemption victims found for incoming pod.")
    assert err.value.plugins == {"TaintToleration", "NodeResourcesFit"}


def test_preemption_policy_never_message() -> None:
    sched, *_ = build(node("w1", cpu="1"))
    with pytest.raises(FitError) as err:
        sched.schedule(PodInfo(pod("p", cpu="2", preemptionPolicy="Never")))
    assert str(err.value) == ("0/1 nodes are available: 1 Insufficient cpu. "
                              "preemption: not eligible due to preemptionPolicy=Never.")


def test_prefilter_rejection_message() -> None:
    sched, *_ = build(node("w1"))
    with pytest.raises(FitError) as err:
        sched.schedule(PodInfo(pod("p", volumes=[{"name": "d", "persistentVolumeClaim": {"claimName": "c"}}])))
    assert str(err.value) == ('0/1 nodes are available: persistentvolumeclaim "c" not found. preemption: 0/1 nodes '
                              'are available: 1 Preemption is not helpful for scheduling.')


def test_choices_respect_selector_taints_and_resources() -> None:
    sched, *_ = build(node("cp", taints=[CONTROL_PLANE], labels={"disk": "ssd"}),
                      node("small", cpu="1", labels={"disk": "ssd"}), node("big", cpu="8", labels={"disk": "ssd"}),
                      node("hdd", cpu="8"))
    assert sched.schedule(PodInfo(pod("p", cpu="2", nodeSelector={"disk": "ssd"}))) == "big"


def test_assumed_pods_prevent_overcommit() -> None:
    sched, *_ = build(node("a", cpu="2"), node("b", cpu="2"))
    placed = []
    for i in range(4):
        pi = PodInfo(pod(f"p{i}", cpu="1"))
        name = sched.schedule(pi)
        sched.cache.assume(pi, name)
        placed.append(name)
    assert sorted(placed) == ["a", "a", "b", "b"]
    with pytest.raises(FitError):
        sched.schedule(PodInfo(pod("p5", cpu="1")))


def test_spreads_over_equal_nodes() -> None:
    sched, *_ = build(*(node(f"n{i}") for i in range(3)))
    chosen = set()
    for i in range(6):
        pi = PodInfo(pod(f"p{i}", cpu="100m"))
        name = sched.schedule(pi)
        sched.cache.assume(pi, name)
        chosen.add(name)
    assert chosen == {"n0", "n1", "n2"}


async def run_until_idle(sched: Scheduler) -> None:
    async with asyncio.TaskGroup() as tg:
        while (qp := sched.queue.pop_nowait()) is not None:
            sched.schedule_one(qp, tg)


async def test_bind_events_and_status() -> None:
    sched, events, binder, writer = build(node("w1", cpu="1"))
    sched.queue.add(pod("ok", cpu="500m"))
    sched.queue.add(pod("big", cpu="2"))
    await run_until_idle(sched)
    assert binder.bound == [("default/ok", "w1")]
    assert ("ok", "Normal", "Scheduled", "Successfully assigned default/ok to w1") in events.recorded
    failed = [e for e in events.recorded if e[0] == "big"]
    assert failed == [("big", "Warning", "FailedScheduling",
                       "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: "
                       "1 No preemption victims found for incoming pod.")]
    assert writer.written == [("default/big", failed[0][3])]
    assert sched.queue.location("default/big") == "unschedulable"
    assert sched.queue.location("default/ok") is None


async def test_no_nodes_message() -> None:
    sched, events, *_ = build()
    sched.queue.add(pod("p"))
    await run_until_idle(sched)
    assert events.recorded == [("p", "Warning", "FailedScheduling", "no nodes available to schedule pods")]


async def test_failed_bind_forgets_assumed_pod() -> None:
    sched, events, _binder, _ = build(node("w1", cpu="1"), binder=FakeBinder(fail={"default/p"}))
    sched.queue.add(pod("p", cpu="1"))
    await run_until_idle(sched)
    assert sched.cache.node_of("default/p") is None
    assert sched.queue.location("default/p") == "backoff"
    assert events.recorded[-1][2] == "FailedScheduling"


def test_handlers_feed_cache_and_queue() -> None:
    sched, *_ = build()
    h = Handlers(sched.cache, sched.queue)
    h.node_add(node("w1", cpu="1"))
    h.pod_add(pod("pending"))
    h.pod_add(pod("other", schedulerName="custom"))
    h.pod_add(pod("bound", cpu="1", node_name="w1"))
    assert sched.queue.location("default/pending") == "active"
    assert sched.queue.location("default/other") is None
    assert sched.cache.nodes["w1"].requested.milli_cpu == 1000
    h.pod_delete(pod("bound", cpu="1", node_name="w1"))
    assert sched.cache.nodes["w1"].requested.milli_cpu == 0
    # a heartbeat-only node update does not move pods; a label change does
    old = node("w1", cpu="1")
    hb = node("w1", cpu="1")
    hb["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    qp = sched.queue.pop_nowait()
    assert qp is not None
    sched.queue.add_unschedulable(qp, {"NodeAffinity"}, sched.queue.scheduling_cycle)
    sched.queue.now = lambda: 1e12
    h.node_update(old, hb)
    assert sched.queue.location("default/pending") == "unschedulable"
    h.node_update(old, node("w1", cpu="1", labels={"disk": "ssd"}))
    assert sched.queue.location("default/pending") == "active"


def test_cache_confirms_assumed_pod_once() -> None:
    cache = SchedulerCache()
    cache.set_node(node("w1"))
    p = pod("p", cpu="1")
    cache.assume(PodInfo(p), "w1")
    assert cache.is_assumed("default/p")
    bound = pod("p", cpu="1", node_name="w1")
    cache.add_pod(bound)
    assert not cache.is_assumed("default/p")
    assert cache.nodes["w1"].requested.milli_cpu == 1000
    cache.add_pod(bound)  # an update
    assert cache.nodes["w1"].requested.milli_cpu == 1000
