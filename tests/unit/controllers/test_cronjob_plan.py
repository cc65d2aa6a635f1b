"""The CronJob controller's pure decisions: when to create, concurrency policies, history limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kybernetes.controllers.cronjob import SCHEDULED_TIMESTAMP, jobs_to_clean_up, plan_cronjob

Obj = dict[str, Any]
CREATED = "2024-01-01T00:00:10Z"


def cj(*, active: list[Obj] | None = None, last: str | None = None, **spec: Any) -> Obj:
    status: Obj = {}
    if active:
        status["active"] = active
    if last:
        status["lastScheduleTime"] = last
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "hello", "namespace": "default", "uid": "cj-uid", "creationTimestamp": CREATED},
            "spec": {"schedule": "*/1 * * * *", "concurrencyPolicy": "Allow", "suspend": False,
                     "jobTemplate": {"metadata": {"labels": {"a": "b"}},
                                     "spec": {"template": {"spec": {"restartPolicy": "Never"}}}}, **spec},
            "status": status}


def job(name: str, finished: str | None = None, start: str = CREATED, done: str | None = None) -> Obj:
    status: Obj = {"startTime": start}
    if finished:
        status["conditions"] = [{"type": finished, "status": "True"}]
    if done:
        status["completionTime"] = done
    return {"metadata": {"name": name, "uid": f"u-{name}", "namespace": "default"}, "status": status}


def ref(name: str) -> Obj:
    return {"kind": "Job", "name": name, "uid": f"u-{name}", "namespace": "default"}


def at(minute: int, second: int = 5) -> datetime:
    return datetime(2024, 1, 1, 0, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(("the_cj", "jobs", "now", "creates", "replaces", "reasons"), [
    pytest.param(cj(), [], at(0, 40), False, [], [], id="not-due"),
    pytest.param(cj(), [], at(1), True, [], [], id="due"),
    pytest.param(cj(suspend=True), [], at(1), False, [], [], id="suspended"),
    pytest.param(cj(last="2024-01-01T00:01:00Z"), [], at(1, 30), False, [], [], id="already-ran"),
    pytest.param(cj(concurrencyPolicy="Forbid", active=[ref("j1")]), [job("j1")], at(1), False, [],
                 ["JobAlreadyActive"], id="forbid-while-active"),
    pytest.param(cj(concurrencyPolicy="Forbid", active=[ref("j1")]), [job("j1", "Complete")], at(1), True, [],
                 ["SawCompletedJob"], id="forbid-after-completion"),
    pytest.param(cj(concurrencyPolicy="Allow", active=[ref("j1")]), [job("j1")], at(1), True, [], [],
                 id="allow-concurrent"),
    pytest.param(cj(concurrencyPolicy="Replace", active=[ref("j1")]), [job("j1")], at(1), True, ["j1"], [],
                 id="replace"),
    pytest.param(cj(startingDeadlineSeconds=10), [], at(1, 30), False, [], [], id="too-late-skipped"),
    pytest.param(cj(startingDeadlineSeconds=60), [], at(1, 30), True, [], [], id="within-deadline"),
    pytest.param(cj(schedule="bad"), [], at(1), False, [], ["UnparseableSchedule"], id="unparseable"),
    pytest.param(cj(timeZone="Mars/Olympus"), [], at(1), False, [], ["UnknownTimeZone"], id="bad-zone"),
    pytest.param(cj(active=[ref("gone")]), [], at(0, 40), False, [], ["MissingJob"], id="missing-job"),
])
def test_plan(the_cj: Obj, jobs: list[Obj], now: datetime, creates: bool, replaces: list[str],
              reasons: list[str]) -> None:
    plan = plan_cronjob(the_cj, jobs, now, gone={"u-gone"})
    assert (plan.create is not None) == creates
    assert [r["name"] for r in plan.replace] == replaces
    assert [reason for _, reason, _ in plan.events] == reasons


def test_created_job_shape() -> None:
    plan = plan_cronjob(cj(), [], at(1))
    assert plan.create is not None
    meta = plan.create["metadata"]
    assert meta["name"] == f"hello-{int(at(1, 0).timestamp()) // 60}"
    assert meta["annotations"][SCHEDULED_TIMESTAMP] == "2024-01-01T00:01:00Z"
    assert meta["labels"] == {"a": "b"}
    assert meta["ownerReferences"][0]["uid"] == "cj-uid"
    assert plan.create["spec"] == {"template": {"spec": {"restartPolicy": "Never"}}}
    assert plan.requeue_after == pytest.approx(55.1)


def test_time_zone_annotation() -> None:
    plan = plan_cronjob(cj(schedule="0 * * * *", timeZone="Europe/Berlin", last="2024-01-01T00:00:00Z"), [],
                        datetime(2024, 1, 1, 1, 0, 3, tzinfo=UTC))
    assert plan.create is not None
    assert plan.create["metadata"]["annotations"][SCHEDULED_TIMESTAMP] == "2024-01-01T02:00:00+01:00"


def test_too_many_missed() -> None:
    plan = plan_cronjob(cj(), [], datetime(2024, 1, 2, tzinfo=UTC))
    assert [reason for _, reason, _ in plan.events] == ["TooManyMissedTimes"]
    assert plan.create is not None
    assert plan.create["metadata"]["annotations"][SCHEDULED_TIMESTAMP] == "2024-01-02T00:00:00Z"


def test_last_successful_time() -> None:
    plan = plan_cronjob(cj(active=[ref("j1")]), [job("j1", "Complete", done="2024-01-01T00:00:50Z")], at(0, 55))
    assert plan.last_successful == "2024-01-01T00:00:50Z"
    assert plan.active == []


@pytest.mark.parametrize(("limits", "jobs", "want"), [
    pytest.param({}, [job(f"s{i}", "Complete", start=f"2024-01-01T00:0{i}:00Z") for i in range(5)], ["s0", "s1"],
                 id="default-three-successful"),
    pytest.param({}, [job("f0", "Failed", start="2024-01-01T00:00:00Z"),
                      job("f1", "Failed", start="2024-01-01T00:01:00Z")], ["f0"], id="default-one-failed"),
    pytest.param({"successfulJobsHistoryLimit": 0}, [job("s0", "Complete"), job("r")], ["s0"], id="zero"),
    pytest.param({}, [job("r1"), job("r2"), job("r3"), job("r4")], [], id="running-kept"),
])
def test_history_limits(limits: Obj, jobs: list[Obj], want: list[str]) -> None:
    assert [j["metadata"]["name"] for j in jobs_to_clean_up(cj(**limits), jobs)] == want
