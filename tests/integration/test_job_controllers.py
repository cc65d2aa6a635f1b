"""Job, CronJob, TTL-after-finished and PodGC controllers against a real API server, driven by kubectl.

The controllers run in the test process.  A tiny in-test "kubelet" moves each new pod to Running, then finishes it
with the exit code the test chose for its job (``outcomes``: job name → exit code; missing → keep running), through
the status subresource.  CronJob tests use a settable clock (``ctx.options["clock"]``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from harness import Cluster

from kybernetes.client.config import load_kubeconfig
from kybernetes.client.errors import ApiError, NotFoundError
from kybernetes.client.informer import InformerFactory
from kybernetes.client.rest import Client, resource
from kybernetes.controllers.base import Context
from kybernetes.controllers.common import now_rfc3339
from kybernetes.controllers.cronjob import CronJobController
from kybernetes.controllers.job import JobController
from kybernetes.controllers.podgc import PodGCController
from kybernetes.controllers.ttlafterfinished import TTLAfterFinishedController

PODS = resource("", "v1", "pods")
JOBS = resource("batch", "v1", "jobs")
CRONJOBS = resource("batch", "v1", "cronjobs")
NODES = resource("", "v1", "nodes")
EVENTS = resource("", "v1", "events")
Obj = dict[str, Any]


@dataclass
class Kubelet:
    client: Client
    outcomes: dict[str, int] = field(default_factory=dict)
    max_active: dict[str, int] = field(default_factory=dict)
    _active: dict[str, set[str]] = field(default_factory=dict)

    def _track(self, pod: Obj) -> None:
        job = (pod["metadata"].get("labels") or {}).get("job-name", "")
        active = self._active.setdefault(job, set())
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed") or pod["metadata"].get(
                "deletionTimestamp"):
            active.discard(pod["metadata"]["name"])
        else:
            active.add(pod["metadata"]["name"])
        self.max_active[job] = max(self.max_active.get(job, 0), len(active))

    async def run(self, factory: InformerFactory) -> None:
        queue: asyncio.Queue[Obj] = asyncio.Queue()
        informer = factory.informer(PODS)
        informer.add_handlers(on_add=queue.put_nowait, on_update=lambda _o, n: queue.put_nowait(n),
                              on_delete=lambda p: self._active.get(
                                  (p["metadata"].get("labels") or {}).get("job-name", ""), set()).discard(
                                  p["metadata"]["name"]))
        while True:
            pod = await queue.get()
            self._track(pod)
            with contextlib.suppress(ApiError):
                await self._step(pod)

    async def _step(self, pod: Obj) -> None:
        meta = pod["metadata"]
        phase = (pod.get("status") or {}).get("phase")
        now = now_rfc3339()
        if meta.get("deletionTimestamp") or phase in ("Succeeded", "Failed") or \
                "job-name" not in (meta.get("labels") or {}):
            return
        containers = pod["spec"].get("containers") or []
        if phase != "Running":
            statuses = [{"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": True,
                         "restartCount": 0, "started": True, "state": {"running": {"startedAt": now}}}
                        for c in containers]
            await self.client.patch(PODS, meta["namespace"], meta["name"], {"status": {
                "phase": "Running", "startTime": now, "containerStatuses": statuses,
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}]}},
                subresource="status")
            return
        code = self.outcomes.get((meta.get("labels") or {}).get("job-name", ""))
        if code is None:
            return
        await asyncio.sleep(0.05)
        statuses = [{"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False,
                     "restartCount": 0, "started": False,
                     "state": {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                              "startedAt": now, "finishedAt": now}}} for c in containers]
        await self.client.patch(PODS, meta["namespace"], meta["name"], {"status": {
            "phase": "Succeeded" if code == 0 else "Failed", "containerStatuses": statuses,
            "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": now}]}},
            subresource="status")


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@contextlib.asynccontextmanager
async def running(cluster: Cluster, options: Obj | None = None) -> AsyncIterator[tuple[Client, Kubelet]]:
    client = Client(load_kubeconfig(cluster.kubeconfig))
    factory = InformerFactory(client)
    ctx = Context(client, factory, {"job_backoff_base": 0.05, "job_backoff_max": 0.2,
                                    "cronjob_resync_seconds": 0.2, **(options or {})})
    controllers = [JobController(ctx), CronJobController(ctx), TTLAfterFinishedController(ctx),
                   PodGCController(ctx)]
    kubelet = Kubelet(client)

    async def main() -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(kubelet.run(factory))
            factory.start(tg)
            await factory.wait_for_sync()
            for c in controllers:
                tg.create_task(c.run())

    task = asyncio.create_task(main())
    try:
        yield client, kubelet
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for c in controllers:
            await c.recorder.flush()
        await client.close()


async def eventually(check: Callable[[], Awaitable[Any]], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


def job_manifest(name: str, *, completions: int = 1, parallelism: int = 1, backoff: int = 6, **spec: Any) -> Obj:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"completions": completions, "parallelism": parallelism, "backoffLimit": backoff, **spec,
                     "template": {"spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "c", "image": "busybox"}]}}}}


async def condition(client: Client, name: str, kind: str) -> Obj | None:
    job = await client.get(JOBS, "default", name)
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond["type"] == kind and cond["status"] == "True":
            return dict(cond)
    return None


async def reasons(client: Client, name: str) -> list[str]:
    out = await client.list(EVENTS, "default", field_selector=f"involvedObject.name={name}")
    return [e["reason"] for e in out["items"]]


async def test_job_completes_with_parallelism(fresh_apiserver: Cluster) -> None:
    async with running(fresh_apiserver) as (client, kubelet):
        kubelet.outcomes["pi"] = 0
        await client.create(JOBS, "default", job_manifest("pi", completions=3, parallelism=2))
        await eventually(lambda: condition(client, "pi", "Complete"))
        job = await client.get(JOBS, "default", "pi")
        status = job["status"]
        assert status["succeeded"] == 3
        assert "failed" not in status and "active" not in status
        assert status["uncountedTerminatedPods"] == {}
        assert status["completionTime"] and status["startTime"]
        assert [c["type"] for c in status["conditions"]] == ["SuccessCriteriaMet", "Complete"]
        assert kubelet.max_active["pi"] <= 2
        pods = (await client.list(PODS, "default", label_selector="batch.kubernetes.io/job-name=pi"))["items"]
        assert len(pods) == 3
        for pod in pods:
            assert pod["metadata"]["name"].startswith("pi-") and len(pod["metadata"]["name"]) == 8
            assert not pod["metadata"].get("finalizers")
            assert pod["metadata"]["labels"]["controller-uid"] == job["metadata"]["uid"]
        await eventually(lambda: _has(reasons(client, "pi"), ["SuccessfulCreate", "Completed"]))
    out = await asyncio.to_thread(fresh_apiserver.kubectl, "get", "jobs")
    line = out.stdout.splitlines()[1].split()
    assert line[:3] == ["pi", "Complete", "3/3"], out.stdout


async def _has(pending: Awaitable[list[str]], wanted: list[str]) -> bool:
    got = await pending
    return all(w in got for w in wanted)


async def test_backoff_limit_fails_job(fresh_apiserver: Cluster) -> None:
    async with running(fresh_apiserver) as (client, kubelet):
        kubelet.outcomes["bad"] = 3
        await client.create(JOBS, "default", job_manifest("bad", backoff=1))
        await eventually(lambda: condition(client, "bad", "Failed"))
        cond = await condition(client, "bad", "Failed")
        assert cond is not None
        assert (cond["reason"], cond["message"]) == ("BackoffLimitExceeded",
                                                     "Job has reached the specified backoff limit")
        job = await client.get(JOBS, "default", "bad")
        assert job["status"]["failed"] == 2
        assert "completionTime" not in job["status"]
        await eventually(lambda: _has(reasons(client, "bad"), ["BackoffLimitExceeded"]))
    out = await asyncio.to_thread(fresh_apiserver.kubectl, "get", "jobs")
    assert out.stdout.splitlines()[1].split()[:3] == ["bad", "Failed", "0/1"], out.stdout


async def test_ttl_deletes_finished_job(fresh_apiserver: Cluster) -> None:
    async with running(fresh_apiserver) as (client, kubelet):
        kubelet.outcomes["short"] = 0
        await client.create(JOBS, "default", job_manifest("short", ttlSecondsAfterFinished=1))

        async def gone() -> bool:
            try:
                await client.get(JOBS, "default", "short")
            except NotFoundError:
                return True
            return False

        await eventually(gone)


async def test_cronjob_fires_and_forbids(fresh_apiserver: Cluster) -> None:
    clock = Clock()
    async with running(fresh_apiserver, {"clock": clock}) as (client, _kubelet):
        cronjob = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"},
                   "spec": {"schedule": "*/1 * * * *", "concurrencyPolicy": "Forbid",
                            "jobTemplate": {"spec": {"template": {"spec": {
                                "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}}}
        await client.create(CRONJOBS, "default", cronjob)
        await asyncio.sleep(0.5)
        assert (await client.list(JOBS, "default"))["items"] == []
        first = (int(clock.now) // 60 + 1) * 60
        clock.now = first + 1

        async def jobs() -> list[Obj]:
            return list((await client.list(JOBS, "default"))["items"])

        await eventually(lambda: _count(jobs(), 1))
        job = (await jobs())[0]
        assert job["metadata"]["name"] == f"tick-{first // 60}"
        assert job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] == \
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(first))
        await eventually(lambda: _active(client, 1))
        clock.now = first + 61  # the next run is due, but the first job still runs
        await eventually(lambda: _has(reasons(client, "tick"), ["SuccessfulCreate", "JobAlreadyActive"]))
        assert len(await jobs()) == 1
        cj = await client.get(CRONJOBS, "default", "tick")
        assert cj["status"]["lastScheduleTime"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(first))
    out = await asyncio.to_thread(fresh_apiserver.kubectl, "get", "cronjobs")
    assert out.stdout.splitlines()[1].split()[:2] == ["tick", "*/1"], out.stdout


async def _count(pending: Awaitable[list[Obj]], n: int) -> bool:
    return len(await pending) == n


async def _active(client: Client, n: int) -> bool:
    cj = await client.get(CRONJOBS, "default", "tick")
    return len((cj.get("status") or {}).get("active") or []) == n


async def test_podgc_deletes_orphans_and_excess_terminated(fresh_apiserver: Cluster) -> None:
    options = {"terminated_pod_gc_threshold": 1, "podgc_period_seconds": 0.2, "podgc_quarantine_seconds": 0}
    async with running(fresh_apiserver, options) as (client, _kubelet):
        for name, node in (("done-1", ""), ("done-2", ""), ("orphan", "ghost-node")):
            pod: Obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                        "spec": {"containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "Never"}}
            if node:
                pod["spec"]["nodeName"] = node
            await client.create(PODS, "default", pod)
            if not node:
                await client.patch(PODS, "default", name, {"status": {"phase": "Succeeded"}}, subresource="status")
            await asyncio.sleep(1.1 if name == "done-1" else 0)  # distinct creation times

        async def names() -> list[str]:
            return sorted(p["metadata"]["name"] for p in (await client.list(PODS, "default"))["items"])

        async def settled() -> bool:
            return await names() == ["done-2"]

        try:
            await eventually(settled)
        except AssertionError:
            raise AssertionError(await names()) from None

