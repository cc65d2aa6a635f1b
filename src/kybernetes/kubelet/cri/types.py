"""The CRI as the kubelet sees it: plain dataclasses and two Protocols, independent of protobuf.

:class:`RuntimeService` and :class:`ImageService` mirror ``runtime.v1`` (only what the kubelet uses).  The real
implementation (``kybernetes.kubelet.cri.client``) converts to and from the protobuf messages and talks gRPC to
containerd; ``kybernetes.kubelet.cri.fake`` is an in-memory runtime for unit tests.  All methods are coroutines;
errors from the runtime raise :class:`CRIError` (``code`` is the gRPC status name, e.g. ``NOT_FOUND``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol


class CRIError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class SandboxState(Enum):
    READY = "SANDBOX_READY"
    NOTREADY = "SANDBOX_NOTREADY"


class ContainerState(Enum):
    CREATED = "CONTAINER_CREATED"
    RUNNING = "CONTAINER_RUNNING"
    EXITED = "CONTAINER_EXITED"
    UNKNOWN = "CONTAINER_UNKNOWN"


@dataclass
class PortMapping:
    container_port: int
    host_port: int = 0
    protocol: str = "TCP"  # TCP, UDP, SCTP
    host_ip: str = ""


@dataclass
class DNSConfig:
    servers: list[str] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)


@dataclass
class PodSandboxConfig:
    name: str
    namespace: str
    uid: str
    attempt: int = 0
    hostname: str = ""
    log_directory: str = ""
    dns: DNSConfig | None = None
    port_mappings: list[PortMapping] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    cgroup_parent: str = ""
    host_network: bool = False
    host_pid: bool = False
    host_ipc: bool = False
    sysctls: dict[str, str] = field(default_factory=dict)
    run_as_user: int | None = None
    run_as_group: int | None = None
    supplemental_groups: list[int] = field(default_factory=list)
    privileged: bool = False


@dataclass
class Mount:
    container_path: str
    host_path: str
    readonly: bool = False
    propagation: str = "PROPAGATION_PRIVATE"


@dataclass
class Resources:
    cpu_period: int = 0
    cpu_quota: int = 0
    cpu_shares: int = 0
    memory_limit_in_bytes: int = 0
    oom_score_adj: int = 0


@dataclass
class ContainerConfig:
    name: str
    image: str
    attempt: int = 0
    command: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    working_dir: str = ""
    envs: list[tuple[str, str]] = field(default_factory=list)
    mounts: list[Mount] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    log_path: str = ""  # relative to the sandbox's log_directory
    stdin: bool = False
    stdin_once: bool = False
    tty: bool = False
    resources: Resources = field(default_factory=Resources)
    privileged: bool = False
    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool = False
    readonly_rootfs: bool = False
    capabilities_add: list[str] = field(default_factory=list)
    capabilities_drop: list[str] = field(default_factory=list)


@dataclass
class SandboxInfo:
    id: str
    name: str
    namespace: str
    uid: str
    attempt: int
    state: SandboxState
    created_at: int  # ns since epoch
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class SandboxStatus(SandboxInfo):
    ip: str = ""
    additional_ips: list[str] = field(default_factory=list)
    netns_path: str = ""


@dataclass
class ContainerInfo:
    id: str
    sandbox_id: str
    name: str
    attempt: int
    image: str
    image_ref: str
    state: ContainerState
    created_at: int
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class ContainerStatus(ContainerInfo):
    started_at: int = 0
    finished_at: int = 0
    exit_code: int = 0
    reason: str = ""  # Completed, Error, OOMKilled
    message: str = ""
    log_path: str = ""
    pid: int = 0
    cgroups_path: str = ""


@dataclass
class ImageInfo:
    id: str
    repo_tags: list[str] = field(default_factory=list)
    repo_digests: list[str] = field(default_factory=list)
    size: int = 0


@dataclass
class ContainerStats:
    container_id: str
    timestamp: int
    cpu_usage_core_nanoseconds: int = 0
    cpu_usage_nano_cores: int = 0
    memory_working_set_bytes: int = 0
    memory_usage_bytes: int = 0
    memory_rss_bytes: int = 0


@dataclass
class ExecResult:
    stdout: bytes
    stderr: bytes
    exit_code: int


class RuntimeService(Protocol):
    async def version(self) -> tuple[str, str]:
        """(runtime name, runtime version), e.g. ("containerd", "1.6.20~ds1")."""
        ...

    async def ready(self) -> tuple[bool, bool]:
        """(RuntimeReady, NetworkReady)."""
        ...

    async def run_pod_sandbox(self, config: PodSandboxConfig, runtime_handler: str = "") -> str: ...
    async def stop_pod_sandbox(self, sandbox_id: str) -> None: ...
    async def remove_pod_sandbox(self, sandbox_id: str) -> None: ...
    async def pod_sandbox_status(self, sandbox_id: str) -> SandboxStatus: ...
    async def list_pod_sandboxes(self, labels: dict[str, str] | None = None) -> list[SandboxInfo]: ...
    async def create_container(self, sandbox_id: str, config: ContainerConfig,
                               sandbox_config: PodSandboxConfig) -> str: ...
    async def start_container(self, container_id: str) -> None: ...
    async def stop_container(self, container_id: str, timeout: int) -> None: ...  # noqa: ASYNC109 - CRI's name
    async def remove_container(self, container_id: str) -> None: ...
    async def list_containers(self, sandbox_id: str = "",
                              labels: dict[str, str] | None = None) -> list[ContainerInfo]: ...
    async def container_status(self, container_id: str) -> ContainerStatus: ...
    async def exec_sync(self, container_id: str, cmd: list[str], timeout: int = 0) -> ExecResult: ...  # noqa: ASYNC109
    async def exec(self, container_id: str, cmd: list[str], *, tty: bool, stdin: bool, stdout: bool,
                   stderr: bool) -> str:
        """The streaming server URL for an interactive exec."""
        ...

    async def attach(self, container_id: str, *, tty: bool, stdin: bool, stdout: bool, stderr: bool) -> str: ...
    async def port_forward(self, sandbox_id: str, ports: list[int]) -> str: ...
    async def container_stats(self, container_id: str) -> ContainerStats: ...
    async def list_container_stats(self) -> list[ContainerStats]: ...
    async def reopen_container_log(self, container_id: str) -> None: ...


class ImageService(Protocol):
    async def pull_image(self, image: str) -> str:
        """Pull and return the image reference (id)."""
        ...

    async def image_status(self, image: str) -> ImageInfo | None: ...
    async def list_images(self) -> list[ImageInfo]: ...
    async def remove_image(self, image: str) -> None: ...
