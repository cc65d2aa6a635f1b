"""Pure decisions of the simulated kubelet: QoS, durations, next step, statuses, pod IPs."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.agent.simulated_pods import (
    Decision,
    PodIPAllocator,
    Step,
    decide,
    exit_code,
    image_ref,
    parse_duration,
    qos_class,
    running_status,
    terminated_status,
)

Obj = dict[str, Any]


def container(requests: Obj | None = None, limits: Obj | None = None, name: str = "c") -> Obj:
    resources: Obj = {}
    if requests is not None:
        resources["requests"] = requests
    if limits is not None:
        resources["limits"] = limits
    return {"name": name, "image": "nginx", "resources": resources}


def pod_with(*containers: Obj, init: list[Obj] | None = None) -> Obj:
    spec: Obj = {"containers": list(containers)}
    if init:
        spec["initContainers"] = init
    return {"metadata": {"name": "p", "namespace": "default", "uid": "u1"}, "spec": spec}


@pytest.mark.parametrize(("pod", "expected"), [
    pytest.param(pod_with(container()), "BestEffort", id="no-resources"),
    pytest.param(pod_with(container({"cpu": "0"})), "BestEffort", id="zero-request-ignored"),
    pytest.param(pod_with(container({"ephemeral-storage": "1Gi"})), "BestEffort", id="unsupported-resource"),
    pytest.param(pod_with(container({"cpu": "100m"})), "Burstable", id="cpu-request-only"),
    pytest.param(pod_with(container({"cpu": "1", "memory": "1Gi"}, {"cpu": "1", "memory": "1Gi"})),
                 "Guaranteed", id="requests-equal-limits"),
    pytest.param(pod_with(container({"cpu": "1000m", "memory": "1024Mi"}, {"cpu": "1", "memory": "1Gi"})),
                 "Guaranteed", id="equal-in-other-units"),
    pytest.param(pod_with(container({"cpu": "500m", "memory": "1Gi"}, {"cpu": "1", "memory": "1Gi"})),
                 "Burstable", id="requests-below-limits"),
    pytest.param(pod_with(container(None, {"cpu": "1"})), "Burstable", id="cpu-limit-only"),
    pytest.param(pod_with(container({"cpu": "1", "memory": "1Gi"}, {"cpu": "1", "memory": "1Gi"}), container()),
                 "Burstable", id="one-container-without-limits"),
    pytest.param(pod_with(container({"cpu": "1", "memory": "1Gi"}, {"cpu": "1", "memory": "1Gi"}),
                          init=[container({"cpu": "1", "memory": "1Gi"}, {"cpu": "1", "memory": "1Gi"})]),
                 "Guaranteed", id="init-container-guaranteed-too"),
])
def test_qos_class(pod: Obj, expected: str) -> None:
    assert qos_class(pod) == expected


@pytest.mark.parametrize(("text", "seconds"), [
    pytest.param("2s", 2.0, id="seconds"),
    pytest.param("500ms", 0.5, id="millis"),
    pytest.param("1m30s", 90.0, id="compound"),
    pytest.param("3", 3.0, id="bare-number"),
    pytest.param("1h", 3600.0, id="hours"),
    pytest.param("abc", None, id="garbage"),
    pytest.param("2s junk", None, id="trailing-junk"),
    pytest.param("", None, id="empty"),
])
def test_parse_duration(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


def annotated(**annotations: str) -> Obj:
    return {"metadata": {"annotations": annotations}, "spec": {"restartPolicy": "Never"}}


@pytest.mark.parametrize(("pod", "code"), [
    pytest.param(annotated(), 0, id="default"),
    pytest.param(annotated(**{"kybernetes.io/simulate-exit-code": "1"}), 1, id="annotated"),
    pytest.param(annotated(**{"kybernetes.io/simulate-exit-code": "x"}), 0, id="invalid"),
])
def test_exit_code(pod: Obj, code: int) -> None:
    assert exit_code(pod) == code


def sim_pod(*, restart: str = "Always", phase: str | None = None, deleting: bool = False, ready: str = "True",
            start: str = "2024-01-01T00:00:00Z", duration: str | None = None) -> Obj:
    meta: Obj = {"name": "p", "namespace": "default", "uid": "u"}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:01:00Z"
    if duration:
        meta["annotations"] = {"kybernetes.io/simulate-duration": duration}
    status: Obj = {}
    if phase:
        status = {"phase": phase, "startTime": start, "conditions": [{"type": "Ready", "status": ready}]}
        if phase == "Running":
            status["containerStatuses"] = [{"name": "c"}]
    return {"metadata": meta, "spec": {"restartPolicy": restart, "containers": [{"name": "c"}]}, "status": status}


T0 = 1704067200.0  # 2024-01-01T00:00:00Z


@pytest.mark.parametrize(("pod", "started", "now", "expected"), [
    pytest.param(sim_pod(), None, T0, Decision(Step.START), id="new-pod-starts"),
    pytest.param(sim_pod(phase="Pending"), None, T0, Decision(Step.START), id="pending-starts"),
    pytest.param(sim_pod(phase="Running"), T0, T0 + 100, Decision(Step.NOTHING), id="always-keeps-running"),
    pytest.param(sim_pod(phase="Running"), None, T0, Decision(Step.NOTHING), id="adopted-after-restart"),
    pytest.param(sim_pod(phase="Running", ready="False"), T0, T0 + 1, Decision(Step.START),
                 id="marked-not-ready-is-reported-again"),
    pytest.param(sim_pod(restart="Never"), T0, T0 + 2, Decision(Step.WAIT, 3.0), id="stale-cache-waits"),
    pytest.param(sim_pod(restart="Never", phase="Running"), T0, T0 + 5, Decision(Step.FINISH), id="never-finishes"),
    pytest.param(sim_pod(restart="OnFailure", phase="Running"), T0, T0 + 1, Decision(Step.WAIT, 4.0),
                 id="onfailure-waits"),
    pytest.param(sim_pod(restart="Never", phase="Running", duration="1s"), T0, T0 + 1, Decision(Step.FINISH),
                 id="annotation-duration"),
    pytest.param(sim_pod(restart="Never", phase="Running"), None, T0 + 10, Decision(Step.FINISH),
                 id="start-time-after-restart"),
    pytest.param(sim_pod(restart="Never", phase="Succeeded"), None, T0, Decision(Step.NOTHING), id="terminal"),
    pytest.param(sim_pod(phase="Running", deleting=True), T0, T0, Decision(Step.DELETE), id="deleting"),
    pytest.param(sim_pod(phase="Succeeded", deleting=True), None, T0, Decision(Step.DELETE), id="deleting-terminal"),
])
def test_decide(pod: Obj, started: float | None, now: float, expected: Decision) -> None:
    assert decide(pod, started_at=started, now=now, complete_after=5.0) == expected


@pytest.mark.parametrize(("image", "name", "repo"), [
    pytest.param("nginx", "docker.io/library/nginx:latest", "docker.io/library/nginx", id="short"),
    pytest.param("nginx:1.25", "docker.io/library/nginx:1.25", "docker.io/library/nginx", id="tag"),
    pytest.param("bitnami/redis:7", "docker.io/bitnami/redis:7", "docker.io/bitnami/redis", id="user-repo"),
    pytest.param("registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9", "registry.k8s.io/pause", id="registry"),
    pytest.param("localhost:5000/app", "localhost:5000/app:latest", "localhost:5000/app", id="registry-port"),
])
def test_image_ref(image: str, name: str, repo: str) -> None:
    got_name, image_id = image_ref(image)
    assert got_name == name
    assert image_id.startswith(f"{repo}@sha256:") and len(image_id) == len(repo) + 8 + 64


def test_running_status_shape() -> None:
    p = pod_with(container({"cpu": "1"}), init=[container(name="init")])
    p["status"] = {"conditions": [{"type": "PodScheduled", "status": "True",
                                   "lastTransitionTime": "2024-01-01T00:00:00Z"}]}
    status = running_status(p, host_ip="198.18.0.1", pod_ip="10.42.0.2", now=T0 + 60)
    assert status["phase"] == "Running"
    assert [c["type"] for c in status["conditions"]] == [
        "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
    scheduled = status["conditions"][-1]
    assert scheduled["lastTransitionTime"] == "2024-01-01T00:00:00Z"  # unchanged condition keeps its time
    assert status["conditions"][2]["lastTransitionTime"] == "2024-01-01T00:01:00Z"
    assert status["podIPs"] == [{"ip": "10.42.0.2"}] and status["hostIP"] == "198.18.0.1"
    assert status["qosClass"] == "Burstable"
    cs = status["containerStatuses"][0]
    assert cs["state"] == {"running": {"startedAt": "2024-01-01T00:01:00Z"}}
    assert (cs["ready"], cs["started"], cs["restartCount"]) == (True, True, 0)
    assert status["initContainerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"


@pytest.mark.parametrize(("code", "phase", "reason", "ready_reason"), [
    pytest.param(0, "Succeeded", "Completed", "PodCompleted", id="success"),
    pytest.param(2, "Failed", "Error", "PodFailed", id="failure"),
])
def test_terminated_status(code: int, phase: str, reason: str, ready_reason: str) -> None:
    status = terminated_status(pod_with(container()), code=code, now=T0 + 5, started_at=T0)
    assert status["phase"] == phase
    term = status["containerStatuses"][0]["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (code, reason)
    assert (term["startedAt"], term["finishedAt"]) == ("2024-01-01T00:00:00Z", "2024-01-01T00:00:05Z")
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", ready_reason)


def test_pod_ip_allocator() -> None:
    alloc = PodIPAllocator("10.42.3.0/24")
    alloc.reserve("10.42.3.2")
    alloc.reserve("192.168.0.1")  # outside: ignored
    assert alloc.allocate() == "10.42.3.3"
    alloc.release("10.42.3.2")
    assert alloc.allocate() == "10.42.3.2"
    ips = {alloc.allocate() for _ in range(251)}
    assert None not in ips and len(ips) == 251
    assert alloc.allocate() is None  # .0, .1 and .255 are never handed out
