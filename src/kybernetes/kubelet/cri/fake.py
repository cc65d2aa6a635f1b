"""An in-memory container runtime implementing :class:`~.types.RuntimeService` and :class:`~.types.ImageService`.

For kubelet unit tests: no processes, no tasks, no I/O except the optional container log files.  Container life is
computed lazily from a clock (``clock``, default ``time.monotonic``; pass a settable one to make tests instant):
a started container whose :class:`Behavior` has ``run_for`` seconds exits on its own once that time has passed.

Knobs:

* ``behaviors`` (``set_behavior(key, Behavior(...))``): per container name or image -- exit code and delay,
  OOMKilled, a start error, ExecSync results, log lines written on start, stats.
* ``available_images``: what a pull can find (``None`` = every image); a miss is ``CRIError("NOT_FOUND", ...)``
  with containerd's message.  ``preload(image)`` makes an image present without a pull.
* ``fail_next(method, error)``: the next call of ``method`` (e.g. ``"run_pod_sandbox"``) raises ``error``.
* ``calls``: every call as ``(method, first argument)``, for asserting the order of operations.

Errors mirror containerd: unknown ids raise ``NOT_FOUND``; stop/remove of missing objects are no-ops (idempotent).
"""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from kybernetes.kubelet.cri.types import (
    ContainerConfig,
    ContainerInfo,
    ContainerState,
    ContainerStats,
    ContainerStatus,
    CRIError,
    ExecResult,
    ImageInfo,
    PodSandboxConfig,
    SandboxInfo,
    SandboxState,
    SandboxStatus,
)

NS = 1_000_000_000


def normalize_image(ref: str) -> str:
    """Docker-style normalization: ``nginx`` -> ``docker.io/library/nginx:latest`` (digests and tags kept)."""
    if ref.startswith("sha256:"):
        return ref
    name, sep, digest = ref.partition("@")
    first, slash, _ = name.partition("/")
    if not slash or ("." not in first and ":" not in first and first != "localhost"):
        name = "docker.io/" + (name if slash else "library/" + name)
    last = name.rsplit("/", 1)[1]
    if not sep and ":" not in last:
        name += ":latest"
    return name + (sep + digest if sep else "")


def _append_log(path: str, lines: list[str]) -> None:
    """Append ``lines`` as full stdout lines in the CRI log format (a small local file; tests only)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime())
    with open(path, "a") as f:
        f.writelines(f"{stamp} stdout F {line}\n" for line in lines)


@dataclass
class Behavior:
    """What a container does once started."""

    run_for: float | None = None  # seconds until it exits on its own; None = runs until stopped
    exit_code: int = 0
    oom_killed: bool = False  # exits with 137 / OOMKilled after run_for (default: immediately)
    start_error: CRIError | None = None  # StartContainer fails with this
    stop_exit_code: int = 0  # exit code when stopped by StopContainer (0 for well-behaved SIGTERM handling)
    exec_results: dict[tuple[str, ...], ExecResult] = field(default_factory=dict)  # ExecSync cmd -> result
    exec_default: ExecResult = field(default_factory=lambda: ExecResult(b"", b"", 0))
    log_lines: list[str] = field(default_factory=list)  # stdout lines written (CRI format) to the log on start
    memory_bytes: int = 4 * 1024 * 1024
    cpu_nanoseconds: int = 1_000_000


@dataclass
class _Sandbox:
    info: SandboxInfo
    config: PodSandboxConfig
    ip: str


@dataclass
class _Container:
    info: ContainerInfo
    config: ContainerConfig
    log_path: str
    behavior: Behavior
    started: float | None = None  # clock value
    finished: float | None = None
    exit_code: int = 0
    reason: str = ""
    pid: int = 0


class FakeRuntime:
    """In-memory CRI runtime (see the module docstring for the knobs)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, pod_cidr: str = "10.42.0.0/24",
                 available_images: Iterable[str] | None = None, runtime_ready: bool = True,
                 network_ready: bool = True) -> None:
        self.clock = clock
        self.runtime_ready = runtime_ready
        self.network_ready = network_ready
        self.available_images = None if available_images is None else {normalize_image(i) for i in available_images}
        self.behaviors: dict[str, Behavior] = {}
        self.calls: list[tuple[str, str]] = []
        self.sandboxes: dict[str, _Sandbox] = {}
        self.containers: dict[str, _Container] = {}
        self.images: dict[str, ImageInfo] = {}  # normalized name -> info
        self._failures: dict[str, list[CRIError]] = {}
        self._ips = (str(h) for h in list(ipaddress.ip_network(pod_cidr).hosts())[1:])
        self._seq = 0
        self._wall0 = time.time_ns()
        self._clock0 = clock()

    # ---- knobs

    def set_behavior(self, key: str, behavior: Behavior) -> None:
        """``key`` is a container name or an image reference (names win)."""
        self.behaviors[key] = behavior

    def fail_next(self, method: str, error: CRIError) -> None:
        self._failures.setdefault(method, []).append(error)

    def preload(self, image: str, size: int = 1_000_000) -> str:
        name = normalize_image(image)
        info = self.images.get(name) or ImageInfo(id=self._new_id("sha256:"), repo_tags=[name], size=size)
        self.images[name] = info
        return info.id

    # ---- helpers

    def _enter(self, method: str, arg: str = "") -> None:
        self.calls.append((method, arg))
        queue = self._failures.get(method)
        if queue:
            raise queue.pop(0)

    def _new_id(self, prefix: str = "") -> str:
        self._seq += 1
        return prefix + f"{self._seq:064x}"[-64:]

    def _ns(self, t: float) -> int:
        """Clock value -> wall-clock nanoseconds."""
        return self._wall0 + int((t - self._clock0) * NS)

    def _sandbox(self, sandbox_id: str) -> _Sandbox:
        sb = self.sandboxes.get(sandbox_id)
        if sb is None:
            raise CRIError("NOT_FOUND", f'an error occurred when try to find sandbox "{sandbox_id}": not found')
        return sb

    def _container(self, container_id: str) -> _Container:
        c = self.containers.get(container_id)
        if c is None:
            raise CRIError("NOT_FOUND", f'an error occurred when try to find container "{container_id}": not found')
        self._advance(c)
        return c

    def _advance(self, c: _Container) -> None:
        """Let a running container exit on its own when its time has come."""
        b = c.behavior
        if c.info.state is not ContainerState.RUNNING or c.started is None:
            return
        run_for = b.run_for if b.run_for is not None else (0.0 if b.oom_killed else None)
        if run_for is None or self.clock() < c.started + run_for:
            return
        if b.oom_killed:
            self._exit(c, c.started + run_for, 137, "OOMKilled")
        else:
            self._exit(c, c.started + run_for, b.exit_code, "Completed" if b.exit_code == 0 else "Error")

    def _exit(self, c: _Container, at: float, code: int, reason: str) -> None:
        c.info.state = ContainerState.EXITED
        c.finished, c.exit_code, c.reason, c.pid = at, code, reason, 0

    def _find_image(self, image: str) -> ImageInfo | None:
        if image.startswith("sha256:"):
            return next((i for i in self.images.values() if i.id == image), None)
        return self.images.get(normalize_image(image))

    # ---- RuntimeService

    async def version(self) -> tuple[str, str]:
        self._enter("version")
        return "fake", "0.1.0"

    async def ready(self) -> tuple[bool, bool]:
        self._enter("ready")
        return self.runtime_ready, self.network_ready

    async def run_pod_sandbox(self, config: PodSandboxConfig, runtime_handler: str = "") -> str:
        self._enter("run_pod_sandbox", config.name)
        sid = self._new_id()
        info = SandboxInfo(id=sid, name=config.name, namespace=config.namespace, uid=config.uid,
                           attempt=config.attempt, state=SandboxState.READY, created_at=self._ns(self.clock()),
                           labels=dict(config.labels), annotations=dict(config.annotations))
        self.sandboxes[sid] = _Sandbox(info, config, "" if config.host_network else next(self._ips))
        return sid

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        self._enter("stop_pod_sandbox", sandbox_id)
        sb = self.sandboxes.get(sandbox_id)
        if sb is None:
            return
        for c in self.containers.values():
            if c.info.sandbox_id == sandbox_id:
                self._advance(c)
                if c.info.state is ContainerState.RUNNING:
                    self._exit(c, self.clock(), 137, "Error")
        sb.info.state = SandboxState.NOTREADY

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        self._enter("remove_pod_sandbox", sandbox_id)
        sb = self.sandboxes.pop(sandbox_id, None)
        if sb is None:
            return
        for cid in [c.info.id for c in self.containers.values() if c.info.sandbox_id == sandbox_id]:
            del self.containers[cid]

    async def pod_sandbox_status(self, sandbox_id: str) -> SandboxStatus:
        self._enter("pod_sandbox_status", sandbox_id)
        sb = self._sandbox(sandbox_id)
        i = sb.info
        return SandboxStatus(id=i.id, name=i.name, namespace=i.namespace, uid=i.uid, attempt=i.attempt,
                             state=i.state, created_at=i.created_at, labels=dict(i.labels),
                             annotations=dict(i.annotations), ip=sb.ip if i.state is SandboxState.READY else "",
                             netns_path=f"/var/run/netns/cni-fake-{i.id[-12:]}")

    async def list_pod_sandboxes(self, labels: dict[str, str] | None = None) -> list[SandboxInfo]:
        self._enter("list_pod_sandboxes")
        want = (labels or {}).items()
        return [replace(sb.info) for sb in self.sandboxes.values() if want <= sb.info.labels.items()]

    async def create_container(self, sandbox_id: str, config: ContainerConfig,
                               sandbox_config: PodSandboxConfig) -> str:
        self._enter("create_container", config.name)
        sb = self._sandbox(sandbox_id)
        image = self._find_image(config.image)
        if image is None:
            raise CRIError("NOT_FOUND", f'failed to resolve image "{config.image}": not found')
        cid = self._new_id()
        info = ContainerInfo(id=cid, sandbox_id=sandbox_id, name=config.name, attempt=config.attempt,
                             image=config.image, image_ref=image.id, state=ContainerState.CREATED,
                             created_at=self._ns(self.clock()), labels=dict(config.labels),
                             annotations=dict(config.annotations))
        keys = [config.name, config.image, normalize_image(config.image), *image.repo_tags]
        behavior = next((self.behaviors[k] for k in keys if k in self.behaviors), None) or Behavior()
        log_path = os.path.join(sb.config.log_directory, config.log_path) if sb.config.log_directory else ""
        self.containers[cid] = _Container(info, config, log_path, behavior)
        return cid

    async def start_container(self, container_id: str) -> None:
        self._enter("start_container", container_id)
        c = self._container(container_id)
        if c.info.state is not ContainerState.CREATED:
            raise CRIError("UNKNOWN", f"container {container_id} is in {c.info.state.value} state")
        if c.behavior.start_error is not None:
            self._exit(c, self.clock(), 128, "StartError")
            raise c.behavior.start_error
        c.info.state, c.started, c.pid = ContainerState.RUNNING, self.clock(), 1000 + self._seq
        if c.log_path and c.behavior.log_lines:
            _append_log(c.log_path, c.behavior.log_lines)
        self._advance(c)

    async def stop_container(self, container_id: str, timeout: int) -> None:  # noqa: ASYNC109 (CRI's name)
        self._enter("stop_container", container_id)
        if container_id not in self.containers:
            return
        c = self._container(container_id)
        if c.info.state is ContainerState.RUNNING:
            code = c.behavior.stop_exit_code
            self._exit(c, self.clock(), code, "Completed" if code == 0 else "Error")

    async def remove_container(self, container_id: str) -> None:
        self._enter("remove_container", container_id)
        self.containers.pop(container_id, None)

    async def list_containers(self, sandbox_id: str = "",
                              labels: dict[str, str] | None = None) -> list[ContainerInfo]:
        self._enter("list_containers", sandbox_id)
        want = (labels or {}).items()
        out = []
        for c in self.containers.values():
            self._advance(c)
            if (not sandbox_id or c.info.sandbox_id == sandbox_id) and want <= c.info.labels.items():
                out.append(replace(c.info))
        return out

    async def container_status(self, container_id: str) -> ContainerStatus:
        self._enter("container_status", container_id)
        c = self._container(container_id)
        i = c.info
        return ContainerStatus(
            id=i.id, sandbox_id=i.sandbox_id, name=i.name, attempt=i.attempt, image=i.image, image_ref=i.image_ref,
            state=i.state, created_at=i.created_at, labels=dict(i.labels), annotations=dict(i.annotations),
            started_at=self._ns(c.started) if c.started is not None else 0,
            finished_at=self._ns(c.finished) if c.finished is not None else 0,
            exit_code=c.exit_code, reason=c.reason, log_path=c.log_path, pid=c.pid,
            cgroups_path=f"/kubepods/pod{self._sandbox(i.sandbox_id).info.uid}/{i.id}"
            if i.sandbox_id in self.sandboxes else "",
        )

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: int = 0) -> ExecResult:  # noqa: ASYNC109
        self._enter("exec_sync", container_id)
        c = self._container(container_id)
        if c.info.state is not ContainerState.RUNNING:
            raise CRIError("UNKNOWN", f"container {container_id} is not running")
        return c.behavior.exec_results.get(tuple(cmd), c.behavior.exec_default)

    async def exec(self, container_id: str, cmd: list[str], *, tty: bool, stdin: bool, stdout: bool,
                   stderr: bool) -> str:
        self._enter("exec", container_id)
        self._container(container_id)
        return f"http://127.0.0.1:10010/exec/{self._new_id()[-8:]}"

    async def attach(self, container_id: str, *, tty: bool, stdin: bool, stdout: bool, stderr: bool) -> str:
        self._enter("attach", container_id)
        self._container(container_id)
        return f"http://127.0.0.1:10010/attach/{self._new_id()[-8:]}"

    async def port_forward(self, sandbox_id: str, ports: list[int]) -> str:
        self._enter("port_forward", sandbox_id)
        self._sandbox(sandbox_id)
        return f"http://127.0.0.1:10010/portforward/{self._new_id()[-8:]}"

    def _stats(self, c: _Container) -> ContainerStats:
        running = c.info.state is ContainerState.RUNNING
        mem = c.behavior.memory_bytes if running else 0
        return ContainerStats(container_id=c.info.id, timestamp=self._ns(self.clock()),
                              cpu_usage_core_nanoseconds=c.behavior.cpu_nanoseconds,
                              memory_working_set_bytes=mem, memory_usage_bytes=mem, memory_rss_bytes=mem)

    async def container_stats(self, container_id: str) -> ContainerStats:
        self._enter("container_stats", container_id)
        return self._stats(self._container(container_id))

    async def list_container_stats(self) -> list[ContainerStats]:
        self._enter("list_container_stats")
        for c in self.containers.values():
            self._advance(c)
        return [self._stats(c) for c in self.containers.values() if c.info.state is ContainerState.RUNNING]

    async def reopen_container_log(self, container_id: str) -> None:
        self._enter("reopen_container_log", container_id)
        c = self._container(container_id)
        if c.info.state is not ContainerState.RUNNING:
            raise CRIError("UNKNOWN", "container is not running")

    # ---- ImageService

    async def pull_image(self, image: str) -> str:
        self._enter("pull_image", image)
        name = normalize_image(image)
        if self.available_images is not None and name not in self.available_images and name not in self.images:
            raise CRIError("NOT_FOUND", f'failed to pull and unpack image "{name}": failed to resolve reference '
                                        f'"{name}": {name}: not found')
        return self.preload(name)

    async def image_status(self, image: str) -> ImageInfo | None:
        self._enter("image_status", image)
        info = self._find_image(image)
        return replace(info) if info is not None else None

    async def list_images(self) -> list[ImageInfo]:
        self._enter("list_images")
        return [replace(i) for i in self.images.values()]

    async def remove_image(self, image: str) -> None:
        self._enter("remove_image", image)
        info = self._find_image(image)
        if info is not None:
            for name in [n for n, i in self.images.items() if i.id == info.id]:
                del self.images[name]
