"""FakeRuntime: the in-memory CRI runtime and its knobs."""

from __future__ import annotations

from pathlib import Path

import pytest

from kybernetes.kubelet.cri.fake import Behavior, FakeRuntime, normalize_image
from kybernetes.kubelet.cri.types import (
    ContainerConfig,
    ContainerState,
    CRIError,
    ExecResult,
    PodSandboxConfig,
    SandboxState,
)


def _read_lines(path: str) -> list[str]:
    return Path(path).read_text().splitlines()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("ref", "want"), [
    ("nginx", "docker.io/library/nginx:latest"),
    ("nginx:1.27", "docker.io/library/nginx:1.27"),
    ("library/nginx", "docker.io/library/nginx:latest"),
    ("registry.k8s.io/pause:3.6", "registry.k8s.io/pause:3.6"),
    ("127.0.0.1:5000/x", "127.0.0.1:5000/x:latest"),
    ("localhost/x:1", "localhost/x:1"),
    ("busybox@sha256:abc", "docker.io/library/busybox@sha256:abc"),
    ("sha256:abc", "sha256:abc"),
])
def test_normalize_image(ref: str, want: str) -> None:
    assert normalize_image(ref) == want


SB = PodSandboxConfig(name="web", namespace="default", uid="u1", labels={"pod": "web"})


async def start(rt: FakeRuntime, name: str = "c", image: str = "busybox", **kw: object) -> tuple[str, str]:
    sid = await rt.run_pod_sandbox(SB)
    ref = await rt.pull_image(image)
    cid = await rt.create_container(sid, ContainerConfig(name=name, image=ref, **kw), SB)  # type: ignore[arg-type]
    await rt.start_container(cid)
    return sid, cid


async def test_lifecycle_and_calls() -> None:
    rt = FakeRuntime()
    sid, cid = await start(rt)
    st = await rt.pod_sandbox_status(sid)
    assert st.state is SandboxState.READY and st.ip == "10.42.0.2" and st.netns_path
    cs = await rt.container_status(cid)
    assert cs.state is ContainerState.RUNNING and cs.started_at > 0 and cs.pid > 0 and cs.sandbox_id == sid
    assert [c.id for c in await rt.list_containers(sandbox_id=sid)] == [cid]
    assert [s.id for s in await rt.list_pod_sandboxes({"pod": "web"})] == [sid]
    assert await rt.list_pod_sandboxes({"pod": "other"}) == []
    await rt.stop_container(cid, 30)
    cs = await rt.container_status(cid)
    assert (cs.state, cs.exit_code, cs.reason) == (ContainerState.EXITED, 0, "Completed")
    await rt.remove_container(cid)
    await rt.stop_pod_sandbox(sid)
    assert (await rt.pod_sandbox_status(sid)).state is SandboxState.NOTREADY
    await rt.remove_pod_sandbox(sid)
    await rt.remove_pod_sandbox(sid)  # idempotent
    assert [m for m, _ in rt.calls] == [
        "run_pod_sandbox", "pull_image", "create_container", "start_container", "pod_sandbox_status",
        "container_status", "list_containers", "list_pod_sandboxes", "list_pod_sandboxes", "stop_container",
        "container_status", "remove_container", "stop_pod_sandbox", "pod_sandbox_status", "remove_pod_sandbox",
        "remove_pod_sandbox"]
    with pytest.raises(CRIError) as e:
        await rt.container_status(cid)
    assert e.value.code == "NOT_FOUND"


@pytest.mark.parametrize(("behavior", "after", "want"), [
    (Behavior(run_for=1.0, exit_code=0), 0.5, (ContainerState.RUNNING, 0, "")),
    (Behavior(run_for=1.0, exit_code=0), 1.0, (ContainerState.EXITED, 0, "Completed")),
    (Behavior(run_for=2.0, exit_code=3), 5.0, (ContainerState.EXITED, 3, "Error")),
    (Behavior(oom_killed=True), 0.0, (ContainerState.EXITED, 137, "OOMKilled")),
    (Behavior(run_for=1.0, oom_killed=True), 1.5, (ContainerState.EXITED, 137, "OOMKilled")),
    (Behavior(), 1e6, (ContainerState.RUNNING, 0, "")),
])
async def test_exit_behaviors(behavior: Behavior, after: float, want: tuple[ContainerState, int, str]) -> None:
    clock = Clock()
    rt = FakeRuntime(clock=clock)
    rt.set_behavior("c", behavior)
    _, cid = await start(rt)
    clock.now += after
    cs = await rt.container_status(cid)
    assert (cs.state, cs.exit_code, cs.reason) == want
    if cs.state is ContainerState.EXITED:
        assert cs.finished_at - cs.started_at == int((behavior.run_for or 0.0) * 1e9)


async def test_behavior_by_image_and_exec_and_stats() -> None:
    rt = FakeRuntime()
    rt.set_behavior("docker.io/library/nginx:latest", Behavior(
        exec_results={("cat", "/etc/hostname"): ExecResult(b"web\n", b"", 0)}, memory_bytes=123))
    _, cid = await start(rt, image="nginx")
    assert await rt.exec_sync(cid, ["cat", "/etc/hostname"]) == ExecResult(b"web\n", b"", 0)
    assert await rt.exec_sync(cid, ["true"]) == ExecResult(b"", b"", 0)
    assert (await rt.container_stats(cid)).memory_working_set_bytes == 123
    assert [s.container_id for s in await rt.list_container_stats()] == [cid]
    assert (await rt.exec(cid, ["sh"], tty=True, stdin=True, stdout=True, stderr=False)).startswith("http://")


async def test_images_missing_and_start_error() -> None:
    rt = FakeRuntime(available_images=["busybox"])
    with pytest.raises(CRIError) as e:
        await rt.pull_image("nginx")
    assert e.value.code == "NOT_FOUND" and "not found" in e.value.message
    sid = await rt.run_pod_sandbox(SB)
    with pytest.raises(CRIError):
        await rt.create_container(sid, ContainerConfig(name="c", image="nginx"), SB)  # never pulled
    ref = await rt.pull_image("busybox")
    assert (await rt.image_status("busybox")) is not None and (await rt.image_status(ref)) is not None
    rt.set_behavior("c", Behavior(start_error=CRIError("UNKNOWN", 'exec: "nope": executable file not found')))
    cid = await rt.create_container(sid, ContainerConfig(name="c", image="busybox"), SB)
    with pytest.raises(CRIError):
        await rt.start_container(cid)
    cs = await rt.container_status(cid)
    assert (cs.state, cs.exit_code, cs.reason) == (ContainerState.EXITED, 128, "StartError")
    await rt.remove_image("docker.io/library/busybox:latest")
    assert await rt.list_images() == []


async def test_fail_next_and_stop_sandbox_kills_containers() -> None:
    rt = FakeRuntime()
    rt.fail_next("run_pod_sandbox", CRIError("UNKNOWN", "failed to setup network"))
    with pytest.raises(CRIError):
        await rt.run_pod_sandbox(SB)
    sid, cid = await start(rt)
    await rt.stop_pod_sandbox(sid)
    cs = await rt.container_status(cid)
    assert (cs.state, cs.exit_code) == (ContainerState.EXITED, 137)
    await rt.remove_pod_sandbox(sid)
    assert await rt.list_containers() == []


async def test_log_lines_written(tmp_path: Path) -> None:
    rt = FakeRuntime()
    rt.set_behavior("c", Behavior(log_lines=["hello", "world"]))
    sb = PodSandboxConfig(name="web", namespace="default", uid="u1", log_directory=str(tmp_path))
    sid = await rt.run_pod_sandbox(sb)
    await rt.pull_image("busybox")
    cid = await rt.create_container(sid, ContainerConfig(name="c", image="busybox", log_path="c/0.log"), sb)
    await rt.start_container(cid)
    cs = await rt.container_status(cid)
    assert cs.log_path == str(tmp_path / "c" / "0.log")
    lines = _read_lines(cs.log_path)
    assert [line.split(" ", 3)[1:] for line in lines] == [["stdout", "F", "hello"], ["stdout", "F", "world"]]
