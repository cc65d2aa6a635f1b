"""The real CRI client: ``runtime.v1`` over gRPC (grpc.aio) on the runtime's unix socket.

:class:`CRIClient` implements both :class:`~.types.RuntimeService` and :class:`~.types.ImageService`.  Every gRPC
failure surfaces as :class:`~.types.CRIError` with ``code`` = the gRPC status name (``NOT_FOUND``, ``UNAVAILABLE``,
``DEADLINE_EXCEEDED``, ...).  Each call has a deadline (``timeout`` seconds, like the kubelet's
``--runtime-request-timeout``); pulls get ``pull_timeout`` and ExecSync its own timeout plus a margin.
"""

from __future__ import annotations

from typing import Any

import grpc
import grpc.aio

from kybernetes.kubelet.cri import api_pb2 as pb
from kybernetes.kubelet.cri.convert import (
    container_config_to_pb,
    container_info_from_pb,
    container_stats_from_pb,
    container_status_from_pb,
    image_from_pb,
    sandbox_config_to_pb,
    sandbox_info_from_pb,
    sandbox_status_from_pb,
)
from kybernetes.kubelet.cri.types import (
    ContainerConfig,
    ContainerInfo,
    ContainerStats,
    ContainerStatus,
    CRIError,
    ExecResult,
    ImageInfo,
    PodSandboxConfig,
    SandboxInfo,
    SandboxStatus,
)

MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # the kubelet's maxMsgSize
SANDBOX_ID_LABEL = "io.kubernetes.sandbox.id"  # containerd labels every CRI container with its sandbox id

RUNTIME_SERVICE = "/runtime.v1.RuntimeService/"
IMAGE_SERVICE = "/runtime.v1.ImageService/"

# method name -> response message; requests are serialized with their own SerializeToString
_RUNTIME_METHODS: dict[str, Any] = {
    "Version": pb.VersionResponse, "Status": pb.StatusResponse,
    "RunPodSandbox": pb.RunPodSandboxResponse, "StopPodSandbox": pb.StopPodSandboxResponse,
    "RemovePodSandbox": pb.RemovePodSandboxResponse, "PodSandboxStatus": pb.PodSandboxStatusResponse,
    "ListPodSandbox": pb.ListPodSandboxResponse, "CreateContainer": pb.CreateContainerResponse,
    "StartContainer": pb.StartContainerResponse, "StopContainer": pb.StopContainerResponse,
    "RemoveContainer": pb.RemoveContainerResponse, "ListContainers": pb.ListContainersResponse,
    "ContainerStatus": pb.ContainerStatusResponse, "ReopenContainerLog": pb.ReopenContainerLogResponse,
    "ExecSync": pb.ExecSyncResponse, "Exec": pb.ExecResponse, "Attach": pb.AttachResponse,
    "PortForward": pb.PortForwardResponse, "ContainerStats": pb.ContainerStatsResponse,
    "ListContainerStats": pb.ListContainerStatsResponse,
}
_IMAGE_METHODS: dict[str, Any] = {
    "ListImages": pb.ListImagesResponse, "ImageStatus": pb.ImageStatusResponse, "PullImage": pb.PullImageResponse,
    "RemoveImage": pb.RemoveImageResponse, "ImageFsInfo": pb.ImageFsInfoResponse,
}


def _serialize(msg: Any) -> bytes:
    return bytes(msg.SerializeToString())


class CRIClient:
    """Async CRI client for the runtime listening on ``socket_path``.  Use ``async with`` or call :meth:`close`."""

    def __init__(self, socket_path: str, *, timeout: float = 120.0, pull_timeout: float = 600.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout
        self.pull_timeout = pull_timeout
        self._channel = grpc.aio.insecure_channel(
            f"unix://{socket_path}",
            options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                     ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)],
        )
        self._methods: dict[str, grpc.aio.UnaryUnaryMultiCallable[Any, Any]] = {
            name: self._channel.unary_unary(prefix + name, request_serializer=_serialize,
                                            response_deserializer=resp.FromString)
            for prefix, table in ((RUNTIME_SERVICE, _RUNTIME_METHODS), (IMAGE_SERVICE, _IMAGE_METHODS))
            for name, resp in table.items()
        }

    async def __aenter__(self) -> CRIClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def _call(self, method: str, request: Any, deadline: float | None = None) -> Any:
        """Invoke ``method`` with a deadline of ``deadline`` seconds (default ``self.timeout``)."""
        try:
            return await self._methods[method](request, timeout=self.timeout if deadline is None else deadline)
        except grpc.aio.AioRpcError as e:
            raise CRIError(e.code().name, e.details() or "") from None

    # ---- runtime

    async def version(self) -> tuple[str, str]:
        r = await self._call("Version", pb.VersionRequest(version="v1"))
        return r.runtime_name, r.runtime_version

    async def ready(self) -> tuple[bool, bool]:
        r = await self._call("Status", pb.StatusRequest())
        cond = {c.type: c.status for c in r.status.conditions}
        return cond.get("RuntimeReady", False), cond.get("NetworkReady", False)

    async def run_pod_sandbox(self, config: PodSandboxConfig, runtime_handler: str = "") -> str:
        req = pb.RunPodSandboxRequest(config=sandbox_config_to_pb(config), runtime_handler=runtime_handler)
        r = await self._call("RunPodSandbox", req)
        return str(r.pod_sandbox_id)

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        await self._call("StopPodSandbox", pb.StopPodSandboxRequest(pod_sandbox_id=sandbox_id))

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        await self._call("RemovePodSandbox", pb.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id))

    async def pod_sandbox_status(self, sandbox_id: str) -> SandboxStatus:
        r = await self._call("PodSandboxStatus",
                             pb.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id, verbose=True))
        return sandbox_status_from_pb(r)

    async def list_pod_sandboxes(self, labels: dict[str, str] | None = None) -> list[SandboxInfo]:
        req = pb.ListPodSandboxRequest(filter=pb.PodSandboxFilter(label_selector=labels or {}))
        r = await self._call("ListPodSandbox", req)
        return [sandbox_info_from_pb(s) for s in r.items]

    async def create_container(self, sandbox_id: str, config: ContainerConfig,
                               sandbox_config: PodSandboxConfig) -> str:
        req = pb.CreateContainerRequest(pod_sandbox_id=sandbox_id,
                                        config=container_config_to_pb(config, sandbox_config),
                                        sandbox_config=sandbox_config_to_pb(sandbox_config))
        r = await self._call("CreateContainer", req)
        return str(r.container_id)

    async def start_container(self, container_id: str) -> None:
        await self._call("StartContainer", pb.StartContainerRequest(container_id=container_id))

    async def stop_container(self, container_id: str, timeout: int) -> None:  # noqa: ASYNC109 (CRI's name)
        await self._call("StopContainer", pb.StopContainerRequest(container_id=container_id, timeout=timeout),
                         deadline=self.timeout + timeout)

    async def remove_container(self, container_id: str) -> None:
        await self._call("RemoveContainer", pb.RemoveContainerRequest(container_id=container_id))

    async def list_containers(self, sandbox_id: str = "",
                              labels: dict[str, str] | None = None) -> list[ContainerInfo]:
        flt = pb.ContainerFilter(pod_sandbox_id=sandbox_id, label_selector=labels or {})
        req = pb.ListContainersRequest(filter=flt)
        r = await self._call("ListContainers", req)
        return [container_info_from_pb(c) for c in r.containers]

    async def container_status(self, container_id: str) -> ContainerStatus:
        r = await self._call("ContainerStatus",
                             pb.ContainerStatusRequest(container_id=container_id, verbose=True))
        return container_status_from_pb(r, r.status.labels.get(SANDBOX_ID_LABEL, ""))

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: int = 0) -> ExecResult:  # noqa: ASYNC109
        req = pb.ExecSyncRequest(container_id=container_id, cmd=cmd, timeout=timeout)
        r = await self._call("ExecSync", req, deadline=None if timeout <= 0 else timeout + self.timeout)
        return ExecResult(stdout=bytes(r.stdout), stderr=bytes(r.stderr), exit_code=int(r.exit_code))

    async def exec(self, container_id: str, cmd: list[str], *, tty: bool, stdin: bool, stdout: bool,
                   stderr: bool) -> str:
        req = pb.ExecRequest(container_id=container_id, cmd=cmd, tty=tty, stdin=stdin, stdout=stdout, stderr=stderr)
        r = await self._call("Exec", req)
        return str(r.url)

    async def attach(self, container_id: str, *, tty: bool, stdin: bool, stdout: bool, stderr: bool) -> str:
        req = pb.AttachRequest(container_id=container_id, tty=tty, stdin=stdin, stdout=stdout, stderr=stderr)
        r = await self._call("Attach", req)
        return str(r.url)

    async def port_forward(self, sandbox_id: str, ports: list[int]) -> str:
        r = await self._call("PortForward", pb.PortForwardRequest(pod_sandbox_id=sandbox_id, port=ports))
        return str(r.url)

    async def container_stats(self, container_id: str) -> ContainerStats:
        r = await self._call("ContainerStats", pb.ContainerStatsRequest(container_id=container_id))
        return container_stats_from_pb(r.stats)

    async def list_container_stats(self) -> list[ContainerStats]:
        r = await self._call("ListContainerStats", pb.ListContainerStatsRequest())
        return [container_stats_from_pb(s) for s in r.stats]

    async def reopen_container_log(self, container_id: str) -> None:
        await self._call("ReopenContainerLog", pb.ReopenContainerLogRequest(container_id=container_id))

    # ---- images

    async def pull_image(self, image: str) -> str:
        r = await self._call("PullImage", pb.PullImageRequest(image=pb.ImageSpec(image=image)),
                             deadline=self.pull_timeout)
        return str(r.image_ref)

    async def image_status(self, image: str) -> ImageInfo | None:
        r = await self._call("ImageStatus", pb.ImageStatusRequest(image=pb.ImageSpec(image=image)))
        if not r.HasField("image") or not r.image.id:
            return None
        return image_from_pb(r.image)

    async def list_images(self) -> list[ImageInfo]:
        r = await self._call("ListImages", pb.ListImagesRequest())
        return [image_from_pb(i) for i in r.images]

    async def remove_image(self, image: str) -> None:
        await self._call("RemoveImage", pb.RemoveImageRequest(image=pb.ImageSpec(image=image)))
