"""CRIClient against an in-process grpc.aio server on a unix socket (the generated servicer base classes)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest

from kybernetes.kubelet.cri import api_pb2 as pb
from kybernetes.kubelet.cri import api_pb2_grpc as pb_grpc
from kybernetes.kubelet.cri.client import CRIClient
from kybernetes.kubelet.cri.types import ContainerConfig, ContainerState, CRIError, PodSandboxConfig, SandboxState


class Runtime(pb_grpc.RuntimeServiceServicer):
    def __init__(self) -> None:
        self.requests: list[Any] = []

    async def Version(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        return pb.VersionResponse(version="0.1.0", runtime_name="containerd", runtime_version="1.6.20",
                                  runtime_api_version="v1")

    async def Status(self, request: Any, context: Any) -> Any:
        return pb.StatusResponse(status=pb.RuntimeStatus(conditions=[
            pb.RuntimeCondition(type="RuntimeReady", status=True),
            pb.RuntimeCondition(type="NetworkReady", status=False, reason="NetworkPluginNotReady")]))

    async def RunPodSandbox(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        return pb.RunPodSandboxResponse(pod_sandbox_id="sb1")

    async def PodSandboxStatus(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        if request.pod_sandbox_id != "sb1":
            await context.abort(grpc.StatusCode.NOT_FOUND, "an error occurred when try to find sandbox: not found")
        spec = {"linux": {"namespaces": [{"type": "network", "path": "/var/run/netns/cni-x"}]}}
        return pb.PodSandboxStatusResponse(
            status=pb.PodSandboxStatus(id="sb1", metadata=pb.PodSandboxMetadata(name="web"), state=pb.SANDBOX_READY,
                                       network=pb.PodSandboxNetworkStatus(ip="10.42.0.7")),
            info={"info": json.dumps({"pid": 5, "runtimeSpec": spec})})

    async def ListPodSandbox(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        return pb.ListPodSandboxResponse(items=[pb.PodSandbox(id="sb1", metadata=pb.PodSandboxMetadata(name="web"))])

    async def CreateContainer(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        return pb.CreateContainerResponse(container_id="c1")

    async def ContainerStatus(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        return pb.ContainerStatusResponse(
            status=pb.ContainerStatus(id="c1", state=pb.CONTAINER_RUNNING, metadata=pb.ContainerMetadata(name="n"),
                                      labels={"io.kubernetes.sandbox.id": "sb1"}),
            info={"info": json.dumps({"pid": 77, "runtimeSpec": {"linux": {"cgroupsPath": "/k/c1"}}})})

    async def ExecSync(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        return pb.ExecSyncResponse(stdout=b"out", stderr=b"err", exit_code=3)

    async def StopContainer(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        return pb.StopContainerResponse()


class Images(pb_grpc.ImageServiceServicer):
    async def ImageStatus(self, request: Any, context: Any) -> Any:
        if request.image.image == "nginx":
            return pb.ImageStatusResponse(image=pb.Image(id="sha256:n", repo_tags=["docker.io/library/nginx:latest"],
                                                         size=10))
        return pb.ImageStatusResponse()

    async def PullImage(self, request: Any, context: Any) -> Any:
        await context.abort(grpc.StatusCode.NOT_FOUND, f"failed to resolve reference {request.image.image}")


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[Runtime, CRIClient]]:
    sock = tmp_path / "cri.sock"
    srv = grpc.aio.server()
    rt = Runtime()
    pb_grpc.add_RuntimeServiceServicer_to_server(rt, srv)  # type: ignore[no-untyped-call]
    pb_grpc.add_ImageServiceServicer_to_server(Images(), srv)  # type: ignore[no-untyped-call]
    srv.add_insecure_port(f"unix://{sock}")
    await srv.start()
    try:
        async with CRIClient(str(sock), timeout=5) as client:
            yield rt, client
    finally:
        await srv.stop(None)


async def test_version_and_ready(server: tuple[Runtime, CRIClient]) -> None:
    rt, cri = server
    assert await cri.version() == ("containerd", "1.6.20")
    assert rt.requests[-1].version == "v1"
    assert await cri.ready() == (True, False)


async def test_sandbox_calls(server: tuple[Runtime, CRIClient]) -> None:
    rt, cri = server
    cfg = PodSandboxConfig(name="web", namespace="default", uid="u")
    assert await cri.run_pod_sandbox(cfg, "runc") == "sb1"
    assert rt.requests[-1].config.metadata.name == "web" and rt.requests[-1].runtime_handler == "runc"
    st = await cri.pod_sandbox_status("sb1")
    assert rt.requests[-1].verbose
    assert (st.ip, st.state, st.netns_path) == ("10.42.0.7", SandboxState.READY, "/var/run/netns/cni-x")
    assert [s.id for s in await cri.list_pod_sandboxes({"app": "x"})] == ["sb1"]
    assert dict(rt.requests[-1].filter.label_selector) == {"app": "x"}


async def test_container_calls(server: tuple[Runtime, CRIClient]) -> None:
    rt, cri = server
    sb = PodSandboxConfig(name="web", namespace="default", uid="u")
    assert await cri.create_container("sb1", ContainerConfig(name="n", image="nginx"), sb) == "c1"
    req = rt.requests[-1]
    assert (req.pod_sandbox_id, req.config.image.image, req.sandbox_config.metadata.uid) == ("sb1", "nginx", "u")
    cs = await cri.container_status("c1")
    assert (cs.state, cs.sandbox_id, cs.pid, cs.cgroups_path) == (ContainerState.RUNNING, "sb1", 77, "/k/c1")
    res = await cri.exec_sync("c1", ["sh", "-c", "exit 3"], timeout=2)
    assert (res.stdout, res.stderr, res.exit_code) == (b"out", b"err", 3)
    assert list(rt.requests[-1].cmd) == ["sh", "-c", "exit 3"] and rt.requests[-1].timeout == 2
    await cri.stop_container("c1", 30)
    assert rt.requests[-1].timeout == 30


async def test_images(server: tuple[Runtime, CRIClient]) -> None:
    _, cri = server
    info = await cri.image_status("nginx")
    assert info is not None and (info.id, info.size) == ("sha256:n", 10)
    assert await cri.image_status("missing") is None


@pytest.mark.parametrize(("call", "code"), [
    (lambda cri: cri.pod_sandbox_status("nope"), "NOT_FOUND"),
    (lambda cri: cri.pull_image("nginx"), "NOT_FOUND"),
    (lambda cri: cri.remove_container("c1"), "UNIMPLEMENTED"),
])
async def test_errors_become_crierror(server: tuple[Runtime, CRIClient], call: Any, code: str) -> None:
    _, cri = server
    with pytest.raises(CRIError) as e:
        await call(cri)
    assert e.value.code == code


async def test_unavailable_socket(tmp_path: Path) -> None:
    async with CRIClient(str(tmp_path / "none.sock"), timeout=0.5) as cri:
        with pytest.raises(CRIError) as e:
            await cri.version()
    assert e.value.code in ("UNAVAILABLE", "DEADLINE_EXCEEDED")
