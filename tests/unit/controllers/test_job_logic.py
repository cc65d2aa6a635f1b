"""Table-driven tests of the Job controller's pure decisions."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.controllers.job import logic
from kybernetes.controllers.job.controller import pod_for_job

Obj = dict[str, Any]
NOW = 1_700_000_000.0
START = logic.rfc3339(NOW - 5)


def job(*, completions: int | None = 3, parallelism: int = 2, backoff: int = 6, status: Obj | None = None,
        **spec: Any) -> Obj:
    s: Obj = {"parallelism": parallelism, "backoffLimit": backoff, "completionMode": "NonIndexed",
              "podReplacementPolicy": "TerminatingOrFailed",
              "template": {"metadata": {"labels": {"app": "x"}},
                           "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}},
              **spec}
    if completions is not None:
        s["completions"] = completions
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "pi", "namespace": "default", "uid": "job-uid", "resourceVersion": "5"},
            "spec": s, "status": status if status is not None else {"startTime": logic.rfc3339(NOW - 5)}}


def pod(name: str, phase: str = "Running", *, tracked: bool = True, ready: bool = False, deleting: bool = False,
        finished: float | None = None, index: int | None = None) -> Obj:
    meta: Obj = {"name": name, "uid": f"u-{name}", "namespace": "default",
                 "creationTimestamp": logic.rfc3339(NOW - 60)}
    if tracked:
        meta["finalizers"] = [logic.TRACKING_FINALIZER]
    if deleting:
        meta["deletionTimestamp"] = logic.rfc3339(NOW - 1)
    if index is not None:
        meta["annotations"] = {logic.COMPLETION_INDEX: str(index)}
    status: Obj = {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if finished is not None:
        status["containerStatuses"] = [{"name": "c", "state": {"terminated": {
            "finishedAt": logic.rfc3339(finished), "exitCode": 0 if phase == "Succeeded" else 1}}}]
    return {"metadata": meta, "spec": {"nodeName": "n1"}, "status": status}


@pytest.mark.parametrize(("spec", "succeeded", "want"), [
    pytest.param({"completions": 3, "parallelism": 2}, 0, 2, id="parallelism-caps"),
    pytest.param({"completions": 3, "parallelism": 2}, 2, 1, id="remaining-completions-cap"),
    pytest.param({"completions": 3, "parallelism": 2}, 3, 0, id="done"),
    pytest.param({"completions": 1, "parallelism": 5}, 0, 1, id="one-completion"),
    pytest.param({"parallelism": 4}, 0, 4, id="work-queue-before-success"),
    pytest.param({"parallelism": 4}, 1, 0, id="work-queue-after-success"),
    pytest.param({"completions": 3, "parallelism": 0}, 0, 0, id="parallelism-zero"),
])
def test_want_active(spec: Obj, succeeded: int, want: int) -> None:
    assert logic.want_active({"spec": spec}, succeeded) == want


@pytest.mark.parametrize(("failures", "base", "maximum", "want"), [
    pytest.param(0, 10, 360, 0, id="none"),
    pytest.param(1, 10, 360, 10, id="first"),
    pytest.param(2, 10, 360, 20, id="doubles"),
    pytest.param(4, 10, 360, 80, id="fourth"),
    pytest.param(7, 10, 360, 360, id="capped"),
    pytest.param(3, 0.1, 1, 0.4, id="test-base"),
])
def test_backoff_delay(failures: int, base: float, maximum: float, want: float) -> None:
    assert logic.backoff_delay(failures, base, maximum) == pytest.approx(want)


@pytest.mark.parametrize(("pods", "want"), [
    pytest.param([], 0.0, id="no-failures"),
    pytest.param([pod("a", "Failed", finished=NOW - 4)], 6.0, id="one-failure-4s-ago"),
    pytest.param([pod("a", "Failed", finished=NOW - 30)], 0.0, id="backoff-elapsed"),
    pytest.param([pod("a", "Failed", finished=NOW - 10), pod("b", "Failed", finished=NOW - 5)], 15.0,
                 id="two-failures"),
    pytest.param([pod("a", "Failed", finished=NOW - 10), pod("b", "Succeeded", finished=NOW - 8)], 0.0,
                 id="success-resets"),
])
def test_backoff_remaining(pods: list[Obj], want: float) -> None:
    assert logic.backoff_remaining(pods, job(), NOW) == pytest.approx(want)


@pytest.mark.parametrize(("the_job", "pods", "create", "deleted", "status"), [
    pytest.param(job(), [], 2, [], {"active": 2}, id="start-two"),
    pytest.param(job(), [pod("a")], 1, [], {"active": 2}, id="top-up"),
    pytest.param(job(parallelism=1), [pod("a"), pod("b", ready=True)], 0, ["a"], {"active": 1, "ready": 1},
                 id="scale-down-not-ready-first"),
    pytest.param(job(), [pod("a", "Succeeded", finished=NOW - 1), pod("b")], 1, [],
                 {"active": 2, "uncountedTerminatedPods": {"succeeded": ["u-a"]}}, id="count-success"),
    pytest.param(job(status={"startTime": START, "succeeded": 2}), [pod("c")], 0, [], {"active": 1, "succeeded": 2},
                 id="last-one-running"),
    pytest.param(job(suspend=True), [pod("a"), pod("b")], 0, ["a", "b"], {}, id="suspend-deletes"),
])
def test_reconcile_pods(the_job: Obj, pods: list[Obj], create: int, deleted: list[str], status: Obj) -> None:
    plan = logic.reconcile(the_job, pods, NOW)
    assert plan.create == create
    assert [p["metadata"]["name"] for p in plan.delete] == deleted
    for key, value in status.items():
        assert plan.status.get(key) == value, key


def test_expectations_block_creation() -> None:
    assert logic.reconcile(job(), [], NOW, may_create=False).create == 0


def test_backoff_delays_replacement() -> None:
    plan = logic.reconcile(job(parallelism=1, completions=1), [pod("a", "Failed", finished=NOW - 2)], NOW)
    assert plan.create == 0
    assert plan.requeue_after == pytest.approx(8.0)
    assert plan.status["uncountedTerminatedPods"] == {"failed": ["u-a"]}
    assert [p["metadata"]["name"] for p in plan.release] == ["a"]


@pytest.mark.parametrize(("the_job", "pods", "target", "terminal"), [
    pytest.param(job(completions=2), [pod("a", "Succeeded", finished=NOW), pod("b", "Succeeded", finished=NOW)],
                 ("SuccessCriteriaMet", "CompletionsReached"), "Complete", id="complete"),
    pytest.param(job(backoff=1), [pod("a", "Failed", finished=NOW - 9), pod("b", "Failed", finished=NOW)],
                 ("FailureTarget", "BackoffLimitExceeded"), "Failed", id="backoff-limit"),
    pytest.param(job(backoff=0), [pod("a", "Failed", finished=NOW), pod("b")],
                 ("FailureTarget", "BackoffLimitExceeded"), None, id="failure-waits-for-active-pods"),
    pytest.param(job(activeDeadlineSeconds=3), [pod("a")], ("FailureTarget", "DeadlineExceeded"), None,
                 id="deadline"),
    pytest.param(job(completions=None, parallelism=2), [pod("a", "Succeeded", finished=NOW)],
                 ("SuccessCriteriaMet", "CompletionsReached"), "Complete", id="work-queue-complete"),
    pytest.param(job(activeDeadlineSeconds=30), [pod("a")], None, None, id="deadline-not-yet"),
])
def test_conditions(the_job: Obj, pods: list[Obj], target: tuple[str, str] | None, terminal: str | None) -> None:
    plan = logic.reconcile(the_job, pods, NOW)
    conds = {c["type"]: c for c in plan.status.get("conditions") or []}
    if target is None:
        assert not conds
    else:
        assert conds[target[0]]["reason"] == target[1]
        assert plan.create == 0
        assert len(plan.delete) == sum(1 for p in pods if logic.is_active(p))
    assert (plan.terminal or {}).get("type") == terminal


def test_finalize_counts_and_completes() -> None:
    the_job = job(completions=1, parallelism=1)
    plan = logic.reconcile(the_job, [pod("a", "Succeeded", finished=NOW)], NOW)
    final, done = logic.finalize_status(plan.status, {"u-a"}, set(), plan.terminal, NOW)
    assert done
    assert final["succeeded"] == 1
    assert final["uncountedTerminatedPods"] == {}
    assert [c["type"] for c in final["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    assert final["completionTime"] == logic.rfc3339(NOW)


def test_finalize_waits_for_unreleased_pods() -> None:
    plan = logic.reconcile(job(completions=1, parallelism=1), [pod("a", "Succeeded", finished=NOW)], NOW)
    final, done = logic.finalize_status(plan.status, set(), set(), plan.terminal, NOW)
    assert not done
    assert final["uncountedTerminatedPods"] == {"succeeded": ["u-a"]}


def test_released_pods_are_not_counted_twice() -> None:
    the_job = job(status={"startTime": START, "succeeded": 1})
    plan = logic.reconcile(the_job, [pod("a", "Succeeded", finished=NOW)], NOW, released={"u-a"})
    assert plan.status.get("uncountedTerminatedPods") == {}
    assert plan.release == []


def test_terminating_pod_counts_as_failed() -> None:
    plan = logic.reconcile(job(), [pod("a", deleting=True)], NOW)
    assert plan.status["uncountedTerminatedPods"] == {"failed": ["u-a"]}
    assert plan.status["terminating"] == 1


def test_suspend_and_resume_conditions() -> None:
    plan = logic.reconcile(job(suspend=True), [], NOW)
    assert plan.events == [("Normal", "Suspended", "Job suspended")]
    resumed = job(status={"conditions": plan.status["conditions"]})
    plan = logic.reconcile(resumed, [], NOW)
    assert plan.events == [("Normal", "Resumed", "Job resumed")]
    assert plan.status["conditions"][0]["status"] == "False"
    assert plan.status["startTime"] == logic.rfc3339(NOW)
    assert plan.create == 2


@pytest.mark.parametrize(("text", "indexes"), [
    pytest.param("", set(), id="empty"),
    pytest.param("0-2,4", {0, 1, 2, 4}, id="range"),
    pytest.param("1,3,5-6", {1, 3, 5, 6}, id="mixed"),
])
def test_indexes_round_trip(text: str, indexes: set[int]) -> None:
    assert logic.parse_indexes(text, 10) == indexes
    assert logic.format_indexes(indexes) == text


def test_indexed_creates_missing_indexes() -> None:
    the_job = job(completions=4, parallelism=2, completionMode="Indexed",
                  status={"startTime": START, "completedIndexes": "0"})
    plan = logic.reconcile(the_job, [pod("p1", index=1)], NOW)
    assert plan.create_indexes == [2]
    plan = logic.reconcile(the_job, [pod("p1", "Succeeded", index=1, finished=NOW)], NOW)
    assert plan.create_indexes == [2, 3]
    assert plan.status["completedIndexes"] == "0-1"


def test_pod_for_job() -> None:
    the_job = job()
    made = pod_for_job(the_job)
    assert made["metadata"]["generateName"] == "pi-"
    assert made["metadata"]["finalizers"] == [logic.TRACKING_FINALIZER]
    assert made["metadata"]["ownerReferences"][0]["uid"] == "job-uid"
    indexed = pod_for_job(the_job, 2)
    assert indexed["metadata"]["generateName"] == "pi-2-"
    assert indexed["metadata"]["annotations"][logic.COMPLETION_INDEX] == "2"
    assert indexed["metadata"]["labels"][logic.COMPLETION_INDEX] == "2"
    assert indexed["spec"]["hostname"] == "pi-2"
