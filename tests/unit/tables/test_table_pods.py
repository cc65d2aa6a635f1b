"""Pod rows compared with what upstream's printPod prints for the same pod."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kybernetes.api.tables import build_table

NOW = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
CREATED = "2024-01-01T11:55:00Z"  # 5m before NOW


def pod(
    spec: dict[str, Any] | None = None, status: dict[str, Any] | None = None, **meta: Any
) -> dict[str, Any]:
    metadata = {"name": "web", "namespace": "default", "creationTimestamp": CREATED, **meta}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": spec or {"containers": [{"name": "app", "image": "nginx"}]},
        "status": status or {},
    }


def running(name: str = "app", ready: bool = True, restarts: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "ready": ready,
        "restartCount": restarts,
        "state": {"running": {"startedAt": CREATED}},
        **extra,
    }


TWO = {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}
INIT2 = {"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "app"}]}
SIDECAR = {"initContainers": [{"name": "side", "restartPolicy": "Always"}], "containers": [{"name": "app"}]}


@pytest.mark.parametrize(
    ("obj", "ready", "status", "restarts"),
    [
        pytest.param(pod(status={"phase": "Pending"}), "0/1", "Pending", "0", id="pending-no-statuses"),
        pytest.param(
            pod(status={"phase": "Running", "containerStatuses": [running()]}),
            "1/1",
            "Running",
            "0",
            id="running",
        ),
        pytest.param(
            pod(TWO, {"phase": "Running", "containerStatuses": [running("a"), running("b", False)]}),
            "1/2",
            "Running",
            "0",
            id="one-not-ready",
        ),
        pytest.param(
            pod(
                status={
                    "phase": "Pending",
                    "containerStatuses": [
                        {
                            "name": "app",
                            "ready": False,
                            "restartCount": 0,
                            "state": {"waiting": {"reason": "ContainerCreating"}},
                        }
                    ],
                }
            ),
            "0/1",
            "ContainerCreating",
            "0",
            id="container-creating",
        ),
        pytest.param(
            pod(
                status={
                    "phase": "Running",
                    "containerStatuses": [
                        {
                            "name": "app",
                            "ready": False,
                            "restartCount": 5,
                            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                            "lastState": {
                                "terminated": {"exitCode": 1, "finishedAt": "2024-01-01T11:57:00Z"}
                            },
                        }
                    ],
                }
            ),
            "0/1",
            "CrashLoopBackOff",
            "5 (3m ago)",
            id="crashloop-restarts-ago",
        ),
        pytest.param(
            pod(
                TWO,
                {
                    "phase": "Running",
                    "containerStatuses": [
                        running(
                            "a", restarts=2, lastState={"terminated": {"finishedAt": "2024-01-01T11:50:00Z"}}
                        ),
                        running(
                            "b", restarts=1, lastState={"terminated": {"finishedAt": "2024-01-01T11:58:00Z"}}
                        ),
                    ],
                },
            ),
            "2/2",
            "Running",
            "3 (2m ago)",
            id="restarts-summed-latest-wins",
        ),
        pytest.param(
            pod(status={"phase": "Running", "containerStatuses": [running(restarts=4)]}),
            "1/1",
            "Running",
            "4",
            id="restarts-without-last-state",
        ),
        pytest.param(
            pod(
                status={
                    "phase": "Failed",
                    "containerStatuses": [
                        {"name": "app", "restartCount": 0, "state": {"terminated": {"exitCode": 137}}}
                    ],
                }
            ),
            "0/1",
            "ExitCode:137",
            "0",
            id="terminated-exit-code",
        ),
        pytest.param(
            pod(
                status={
                    "phase": "Failed",
                    "containerStatuses": [
                        {
                            "name": "app",
                            "restartCount": 0,
                            "state": {"terminated": {"exitCode": 0, "signal": 9}},
                        }
                    ],
                }
            ),
            "0/1",
            "Signal:9",
            "0",
            id="terminated-signal",
        ),
        pytest.param(
            pod(
                status={
                    "phase": "Succeeded",
                    "containerStatuses": [
                        {
                            "name": "app",
                            "restartCount": 0,
                            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
                        }
                    ],
                }
            ),
            "0/1",
            "Completed",
            "0",
            id="completed",
        ),
        pytest.param(
            pod(
                TWO,
                {
                    "phase": "Running",
                    "conditions": [{"type": "Ready", "status": "True"}],
                    "containerStatuses": [
                        {
                            "name": "a",
                            "restartCount": 0,
                            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
                        },
                        running("b"),
                    ],
                },
            ),
            "1/2",
            "Running",
            "0",
            id="completed-but-running-ready",
        ),
        pytest.param(
            pod(
                TWO,
                {
                    "phase": "Running",
                    "containerStatuses": [
                        running("a"),
                        {
                            "name": "b",
                            "restartCount": 0,
                            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
                        },
                    ],
                },
            ),
            "1/2",
            "NotReady",
            "0",
            id="completed-but-running-not-ready",
        ),
        pytest.param(
            pod(
                INIT2,
                {
                    "phase": "Pending",
                    "initContainerStatuses": [{"name": "i1", "restartCount": 0, "state": {"running": {}}}],
                },
            ),
            "0/1",
            "Init:0/2",
            "0",
            id="init-running",
        ),
        pytest.param(
            pod(
                INIT2,
                {
                    "phase": "Pending",
                    "initContainerStatuses": [
                        {"name": "i1", "restartCount": 0, "state": {"terminated": {"exitCode": 0}}},
                        {"name": "i2", "restartCount": 0, "state": {"running": {}}},
                    ],
                },
            ),
            "0/1",
            "Init:1/2",
            "0",
            id="init-second",
        ),
        pytest.param(
            pod(
                INIT2,
                {
                    "phase": "Pending",
                    "initContainerStatuses": [
                        {
                            "name": "i1",
                            "restartCount": 2,
                            "state": {"waiting": {"reason": "ImagePullBackOff"}},
                        }
                    ],
                },
            ),
            "0/1",
            "Init:ImagePullBackOff",
            "2",
            id="init-waiting",
        ),
        pytest.param(
            pod(
                INIT2,
                {
                    "phase": "Pending",
                    "initContainerStatuses": [
                        {"name": "i1", "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}
                    ],
                },
            ),
            "0/1",
            "Init:0/2",
            "0",
            id="init-pod-initializing",
        ),
        pytest.param(
            pod(
                INIT2,
                {
                    "phase": "Pending",
                    "initContainerStatuses": [
                        {"name": "i1", "restartCount": 0, "state": {"terminated": {"exitCode": 3}}}
                    ],
                },
            ),
            "0/1",
            "Init:ExitCode:3",
            "0",
            id="init-exit-code",
        ),
        pytest.param(
            pod(
                INIT2,
                {
                    "phase": "Pending",
                    "initContainerStatuses": [
                        {
                            "name": "i1",
                            "restartCount": 0,
                            "state": {"terminated": {"exitCode": 1, "signal": 15}},
                        }
                    ],
                },
            ),
            "0/1",
            "Init:Signal:15",
            "0",
            id="init-signal",
        ),
        pytest.param(
            pod(
                INIT2,
                {
                    "phase": "Failed",
                    "initContainerStatuses": [
                        {
                            "name": "i1",
                            "restartCount": 0,
                            "state": {"terminated": {"exitCode": 1, "reason": "Error"}},
                        }
                    ],
                },
            ),
            "0/1",
            "Init:Error",
            "0",
            id="init-reason",
        ),
        pytest.param(
            pod(
                SIDECAR,
                {
                    "phase": "Running",
                    "initContainerStatuses": [running("side", restarts=1) | {"started": True}],
                    "containerStatuses": [running()],
                },
            ),
            "2/2",
            "Running",
            "1",
            id="sidecar-counts",
        ),
        pytest.param(
            pod(
                status={"phase": "Running", "containerStatuses": [running()]},
                deletionTimestamp="2024-01-01T11:59:00Z",
            ),
            "1/1",
            "Terminating",
            "0",
            id="terminating",
        ),
        pytest.param(
            pod(status={"phase": "Succeeded"}, deletionTimestamp="2024-01-01T11:59:00Z"),
            "0/1",
            "Succeeded",
            "0",
            id="terminal-phase-not-terminating",
        ),
        pytest.param(
            pod(status={"phase": "Running", "reason": "NodeLost"}, deletionTimestamp="2024-01-01T11:59:00Z"),
            "0/1",
            "Unknown",
            "0",
            id="node-lost",
        ),
        pytest.param(
            pod(
                status={
                    "phase": "Pending",
                    "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}],
                }
            ),
            "0/1",
            "SchedulingGated",
            "0",
            id="scheduling-gated",
        ),
        pytest.param(
            pod(status={"phase": "Failed", "reason": "Evicted"}), "0/1", "Evicted", "0", id="status-reason"
        ),
    ],
)
def test_pod_status_columns(obj: dict[str, Any], ready: str, status: str, restarts: str) -> None:
    cells = build_table("", "Pod", [obj], now=NOW)["rows"][0]["cells"]
    assert cells[:5] == ["web", ready, status, restarts, "5m"]


@pytest.mark.parametrize(
    ("spec", "status", "wide"),
    [
        pytest.param({"containers": []}, {}, ["<none>", "<none>", "<none>", "<none>"], id="all-unset"),
        pytest.param(
            {
                "containers": [],
                "nodeName": "node-1",
                "readinessGates": [{"conditionType": "a"}, {"conditionType": "b"}],
            },
            {
                "podIP": "10.42.0.9",
                "podIPs": [{"ip": "10.42.0.9"}, {"ip": "fd00::9"}],
                "nominatedNodeName": "node-2",
                "conditions": [{"type": "a", "status": "True"}, {"type": "b", "status": "False"}],
            },
            ["10.42.0.9", "node-1", "node-2", "1/2"],
            id="all-set",
        ),
    ],
)
def test_pod_wide_columns(spec: dict[str, Any], status: dict[str, Any], wide: list[str]) -> None:
    cells = build_table("", "Pod", [pod(spec, status)], now=NOW)["rows"][0]["cells"]
    assert cells[5:] == wide


def test_pod_columns_and_conditions() -> None:
    table = build_table(
        "", "Pod", [pod(status={"phase": "Succeeded"}), pod(status={"phase": "Running"})], now=NOW
    )
    cols = [(c["name"], c["type"], c["priority"], c["format"]) for c in table["columnDefinitions"]]
    assert cols == [
        ("Name", "string", 0, "name"),
        ("Ready", "string", 0, ""),
        ("Status", "string", 0, ""),
        ("Restarts", "string", 0, ""),
        ("Age", "string", 0, ""),
        ("IP", "string", 1, ""),
        ("Node", "string", 1, ""),
        ("Nominated Node", "string", 1, ""),
        ("Readiness Gates", "string", 1, ""),
    ]
    assert all(c["description"] for c in table["columnDefinitions"])
    assert table["rows"][0]["conditions"] == [
        {
            "type": "Completed",
            "status": "True",
            "reason": "Succeeded",
            "message": "The pod has completed successfully.",
        }
    ]
    assert "conditions" not in table["rows"][1]
