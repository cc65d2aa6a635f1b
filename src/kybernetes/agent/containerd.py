"""containerd started and supervised by the agent, with its own config, root, state and socket.

Never the system's ``/run/containerd``: root is ``<data-dir>/containerd/root``, state (socket, task bundles, runc
state) is ``<data-dir>/containerd/state`` when the socket path fits a unix socket address, else
``/run/kybernetes/containerd`` (+ a hash suffix for non-default data dirs).  The CRI plugin is configured per the
measured recipe: runc with the cgroupfs driver, ``restrict_oom_score_adj = true`` (root lacks CAP_SYS_RESOURCE here),
``registry.k8s.io/pause:3.6`` as sandbox image, the streaming server on 127.0.0.1, CNI plugins from ``/usr/lib/cni``
with the config dir under the data dir, and a ``certs.d`` registry config sending docker.io, registry.k8s.io and the
local registry address to the local plain-HTTP registry with NO upstream fallback (``server`` is the local registry
itself, so a miss is a failed pull, never an internet fetch).

:func:`render_config` / :func:`render_hosts_toml` / :func:`choose_state_dir` are pure; :class:`Containerd` runs the
process (a child with PR_SET_PDEATHSIG, so it dies with the agent; the shims and pods survive, as with upstream).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import hashlib
import logging
import os
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

from kybernetes.kubelet.cri.client import CRIClient
from kybernetes.kubelet.cri.types import CRIError

log = logging.getLogger(__name__)

DEFAULT_DATA_DIR = Path("/var/lib/kybernetes")
RUN_DIR = Path("/run/kybernetes/containerd")
SANDBOX_IMAGE = "registry.k8s.io/pause:3.6"
MIRRORED_REGISTRIES = ("docker.io", "registry.k8s.io")
CNI_BIN_DIR = "/usr/lib/cni"
RUNC = "/usr/sbin/runc"
SOCKET_NAME = "containerd.sock"
MAX_SOCKET_PATH = 104  # containerd refuses longer unix socket paths (portable sun_path limit)
TTRPC_SUFFIX = ".ttrpc"  # containerd also listens on <socket>.ttrpc
CRI_NAMESPACE = "k8s.io"
PR_SET_PDEATHSIG = 1
# host dirs containerd 1.6 and CNI create outside our state dir (shim sockets, netns files), innermost first
SHARED_RUN_DIRS = ("/run/containerd/s", "/run/containerd", str(RUN_DIR.parent), "/run/netns")


def choose_state_dir(data_dir: Path) -> Path:
    """State dir for a data dir: ``/run/kybernetes/containerd`` for the default data dir, ``<data-dir>/containerd/
    state`` when its socket path is short enough, else ``/run/kybernetes/containerd-<hash of data dir>``."""
    data_dir = Path(os.path.abspath(data_dir))
    if data_dir == DEFAULT_DATA_DIR:
        return RUN_DIR
    local = data_dir / "containerd" / "state"
    if len(str(local / SOCKET_NAME) + TTRPC_SUFFIX) <= MAX_SOCKET_PATH:
        return local
    return RUN_DIR.with_name("containerd-" + hashlib.sha256(str(data_dir).encode()).hexdigest()[:12])


@dataclass(frozen=True)
class ContainerdPaths:
    base: Path  # <data-dir>/containerd
    state: Path

    @classmethod
    def for_data_dir(cls, data_dir: Path, state: Path | None = None) -> ContainerdPaths:
        data_dir = Path(os.path.abspath(data_dir))
        return cls(base=data_dir / "containerd", state=state or choose_state_dir(data_dir))

    @property
    def root(self) -> Path:
        return self.base / "root"

    @property
    def config(self) -> Path:
        return self.base / "config.toml"

    @property
    def certs_d(self) -> Path:
        return self.base / "certs.d"

    @property
    def cni_conf_dir(self) -> Path:
        return self.base / "cni"

    @property
    def opt(self) -> Path:
        return self.base / "opt"

    @property
    def log(self) -> Path:
        return self.base / "containerd.log"

    @property
    def socket(self) -> Path:
        return self.state / SOCKET_NAME

    @property
    def runc_root(self) -> Path:
        return self.state / "runc"


def _q(s: str | Path) -> str:
    """A TOML basic string."""
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_config(paths: ContainerdPaths, *, stream_port: int, sandbox_image: str = SANDBOX_IMAGE,
                  cni_conf_dir: Path | None = None) -> str:
    """containerd config (version 2) for the CRI plugin as the kubelet needs it on this host."""
    cri = '[plugins."io.containerd.grpc.v1.cri"'
    return "\n".join([
        "# written by kybernetes; regenerated at every start",
        "version = 2",
        f"root = {_q(paths.root)}",
        f"state = {_q(paths.state)}",
        "",
        "[grpc]",
        f"  address = {_q(paths.socket)}",
        "",
        '[plugins."io.containerd.internal.v1.opt"]',
        f"  path = {_q(paths.opt)}",
        "",
        "# a fixed 1 s GC check: the default pause_threshold (0.02) re-checks every ~50x the last GC's duration,",
        "# tens of wakeups a second on an idle node",
        '[plugins."io.containerd.gc.v1.scheduler"]',
        "  pause_threshold = 0.0",
        "",
        f"{cri}]",
        f"  sandbox_image = {_q(sandbox_image)}",
        '  stream_server_address = "127.0.0.1"',
        f"  stream_server_port = {_q(str(stream_port))}",
        "  enable_selinux = false",
        "  # no CAP_SYS_RESOURCE: runc cannot write a negative oom_score_adj (pause asks for -998)",
        "  restrict_oom_score_adj = true",
        "  max_container_log_line_size = 16384",
        f"  {cri}.containerd]",
        '    snapshotter = "overlayfs"',
        '    default_runtime_name = "runc"',
        f"    {cri}.containerd.runtimes.runc]",
        '      runtime_type = "io.containerd.runc.v2"',
        f"      {cri}.containerd.runtimes.runc.options]",
        f"        BinaryName = {_q(RUNC)}",
        f"        Root = {_q(paths.runc_root)}",
        "        SystemdCgroup = false",
        f"  {cri}.cni]",
        f"    bin_dir = {_q(CNI_BIN_DIR)}",
        f"    conf_dir = {_q(cni_conf_dir or paths.cni_conf_dir)}",
        "    max_conf_num = 1",
        f"  {cri}.registry]",
        f"    config_path = {_q(paths.certs_d)}",
        "",
    ])


def render_hosts_toml(registry: str) -> str:
    """certs.d hosts.toml: every pull goes to the local plain-HTTP registry ``registry`` (host:port), no fallback."""
    url = f"http://{registry}"
    return "\n".join([
        "# written by kybernetes: the local registry only, never an upstream registry",
        f"server = {_q(url)}",
        "",
        f"[host.{_q(url)}]",
        '  capabilities = ["pull", "resolve"]',
        "  skip_verify = true",
        "",
    ])


def mirror_hosts(registry: str) -> dict[str, str]:
    """certs.d directory name -> hosts.toml content."""
    return {name: render_hosts_toml(registry) for name in (*MIRRORED_REGISTRIES, registry)}


def mounts_under(mountinfo: str, prefixes: list[Path]) -> list[str]:
    """Mount points (from /proc/self/mountinfo text) under any of ``prefixes``, deepest first."""
    found: list[str] = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        mnt = fields[4].encode().decode("unicode_escape")  # \040 etc.
        if any(mnt == str(p) or mnt.startswith(str(p) + "/") for p in prefixes):
            found.append(mnt)
    return sorted(set(found), key=lambda m: (-m.count("/"), m))


def _set_pdeathsig() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _umount(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.umount2(path.encode(), 2) != 0:  # MNT_DETACH
        err = ctypes.get_errno()
        log.warning("umount %s: %s", path, os.strerror(err))


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _any_alive(pids: list[int]) -> bool:
    return any(_alive(p) for p in pids)


class ContainerdError(RuntimeError):
    pass


class Containerd:
    """One containerd for one node.  ``registry`` is the local registry's ``host:port`` (e.g. 127.0.0.1:5000).

    Lifecycle: ``await start()`` (writes config, starts the process, returns once CRI answers), ``await stop()``
    (SIGTERM, then SIGKILL after ``timeout``; containers keep running in their shims), ``await cleanup()``
    (removes every CRI sandbox and container in namespace k8s.io, stops containerd, kills leftover shims of this
    instance by PID, unmounts everything left under root and state, removes the state dir).
    """

    def __init__(self, data_dir: Path, registry: str, *, stream_port: int = 10010, state_dir: Path | None = None,
                 cni_conf_dir: Path | None = None, binary: str = "containerd") -> None:
        self.paths = ContainerdPaths.for_data_dir(data_dir, state_dir)
        self.registry = registry
        self.stream_port = stream_port
        self.cni_conf_dir = cni_conf_dir or self.paths.cni_conf_dir
        self.binary = binary
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def socket_path(self) -> str:
        return str(self.paths.socket)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.returncode is None else None

    def client(self) -> CRIClient:
        return CRIClient(self.socket_path)

    def write_config(self) -> None:
        for d in (self.paths.base, self.paths.root, self.paths.state, self.paths.opt, self.cni_conf_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.paths.config.write_text(render_config(self.paths, stream_port=self.stream_port,
                                                   cni_conf_dir=self.cni_conf_dir))
        for name, text in mirror_hosts(self.registry).items():
            d = self.paths.certs_d / name
            d.mkdir(parents=True, exist_ok=True)
            (d / "hosts.toml").write_text(text)

    async def start(self, ready_within: float = 20.0) -> None:
        if self.pid is not None:
            return
        self.write_config()
        with contextlib.suppress(FileNotFoundError):
            self.paths.socket.unlink()  # stale socket of a killed instance
        with self.paths.log.open("ab") as logf:
            self._proc = await asyncio.create_subprocess_exec(
                self.binary, "--config", str(self.paths.config),
                stdin=asyncio.subprocess.DEVNULL, stdout=logf, stderr=logf,
                start_new_session=True,  # a signal to the agent's process group must not stop it before cleanup
                preexec_fn=_set_pdeathsig,  # one prctl call between fork and exec
            )
        log.info("containerd started (pid %d, socket %s)", self._proc.pid, self.socket_path)
        await self._wait_ready(ready_within)

    async def _wait_ready(self, ready_within: float) -> None:
        assert self._proc is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ready_within
        last = ""
        while loop.time() < deadline:
            if self._proc.returncode is not None:
                raise ContainerdError(f"containerd exited with {self._proc.returncode}: {self._log_tail()}")
            if self.paths.socket.exists():
                async with CRIClient(self.socket_path, timeout=2.0) as cri:
                    try:
                        await cri.version()
                        runtime_ready, _ = await cri.ready()
                        if runtime_ready:
                            return
                        last = "RuntimeReady is false"
                    except CRIError as e:
                        last = str(e)
            await asyncio.sleep(0.05)
        raise ContainerdError(f"containerd's CRI did not answer within {ready_within}s ({last}): {self._log_tail()}")

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.paths.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def stop(self, grace: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            proc.kill()
            await proc.wait()

    async def remove_all_pods(self) -> None:
        """Stop and remove every container and sandbox in namespace k8s.io through CRI (containerd must run)."""
        async with self.client() as cri:
            for c in await cri.list_containers():
                with contextlib.suppress(CRIError):
                    await cri.stop_container(c.id, 0)
                with contextlib.suppress(CRIError):
                    await cri.remove_container(c.id)
            for s in await cri.list_pod_sandboxes():
                with contextlib.suppress(CRIError):
                    await cri.stop_pod_sandbox(s.id)
                with contextlib.suppress(CRIError):
                    await cri.remove_pod_sandbox(s.id)

    async def cleanup(self) -> None:
        """Remove all pods, stop containerd and remove its runtime leftovers (images under root are kept)."""
        if self.pid is None:
            await self.start()
        shims = self.shim_pids()  # removed pods' shims exit on their own, shortly after
        try:
            await self.remove_all_pods()
        finally:
            await self.stop()
            await self._kill_shims(shims)
            self.unmount_leftovers()
            shutil.rmtree(self.paths.state, ignore_errors=True)
            for d in SHARED_RUN_DIRS:  # created on demand by containerd 1.6 / CNI; removed only when empty
                with contextlib.suppress(OSError):
                    os.rmdir(d)

    def unmount_leftovers(self) -> None:
        """Unmount (lazily) every mount under root and state, deepest first."""
        with open("/proc/self/mountinfo") as f:
            mountinfo = f.read()
        for mnt in mounts_under(mountinfo, [self.paths.root, self.paths.state]):
            _umount(mnt)

    def shim_pids(self) -> list[int]:
        """PIDs of containerd-shim processes serving this instance (``-address <our socket>``)."""
        pids = []
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                argv = (d / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv and b"containerd-shim" in argv[0] and self.socket_path.encode() in argv:
                pids.append(int(d.name))
        return pids

    async def _kill_shims(self, known: list[int]) -> None:
        """SIGKILL this instance's shims still alive (``known`` + those found now) and wait until they are gone."""
        current = self.shim_pids()  # only these are certainly still ours (no PID reuse)
        pids = sorted(set(known) | set(current))
        for pid in current:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for _ in range(250):
            if not _any_alive(pids):
                return
            await asyncio.sleep(0.02)
        log.warning("containerd shims still present after SIGKILL: %s", pids)
