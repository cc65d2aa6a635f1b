"""Run a real ``kyb apiserver`` as a child process and drive it with the real kubectl.

:class:`ApiServer` owns one server process on one data dir and port: :meth:`ApiServer.start` waits until
``<data-dir>/kubeconfig.yaml`` exists and ``GET /readyz`` answers 200 over TLS with the kubeconfig's
credentials; :meth:`ApiServer.stop` sends SIGTERM to the process group, waits, then SIGKILLs whatever is left.
The server runs in its own session (process group) and, when started from the main thread, dies with the
test process (``PR_SET_PDEATHSIG``), so a crashed or killed pytest leaves nothing behind.

The ``kyb`` executable is ``<venv>/bin/kyb`` next to the running interpreter, or ``$KYB_TEST_KYB``.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import yaml

KYB_ENV = "KYB_TEST_KYB"
START_TIMEOUT_ENV = "KYB_TEST_START_TIMEOUT"
DEFAULT_KUBECTL_VERSION = "1.32"
KUBECTL_VERSIONS = ("1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33")
_PR_SET_PDEATHSIG = 1


class KubectlError(subprocess.CalledProcessError):
    """A kubectl run that exited non-zero; ``str()`` shows the command and both output streams."""

    def __str__(self) -> str:
        return (
            f"{' '.join(map(str, self.cmd))} exited {self.returncode}\n"
            f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        )


def kyb_executable() -> Path:
    """The ``kyb`` command under test."""
    override = os.environ.get(KYB_ENV)
    return Path(override) if override else Path(sys.executable).parent / "kyb"


def kubectl_dir() -> Path:
    """The folder of the real kubectl binary, which also holds ``kubectl.1.XX``."""
    found = shutil.which("kubectl")
    if found is None:
        raise RuntimeError("kubectl is not on PATH; the integration tests need the real kubectl binaries")
    return Path(found).resolve().parent


def kubectl_binary(version: str | None = DEFAULT_KUBECTL_VERSION) -> Path:
    """``kubectl.<version>`` from :func:`kubectl_dir`; plain ``kubectl`` for ``None``."""
    path = kubectl_dir() / ("kubectl" if version is None else f"kubectl.{version}")
    if not path.exists():
        raise RuntimeError(f"{path} does not exist")
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    # Runs in the child between fork and exec.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class ApiServer:
    """One ``kyb apiserver`` child process on a fixed data dir and port.

    ``extra_args`` are appended to the command line. Use as a context manager or call :meth:`stop`.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        kyb: Path | None = None,
        extra_args: tuple[str, ...] = (),
        start_timeout: float | None = None,
        stop_timeout: float = 10.0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port if port is not None else free_port()
        self.kyb = kyb if kyb is not None else kyb_executable()
        self.extra_args = extra_args
        self.start_timeout = (
            start_timeout if start_timeout is not None else float(os.environ.get(START_TIMEOUT_ENV, "60"))
        )
        self.stop_timeout = stop_timeout
        self.log_dir = self.data_dir.parent / f"{self.data_dir.name}-logs"
        self.starts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._logs: list[IO[bytes]] = []
        self._creds_dir = self.data_dir.parent / f"{self.data_dir.name}-client"

    # ---------------------------------------------------------------------------------------- properties

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig.yaml"

    @property
    def url(self) -> str:
        """The server URL from the kubeconfig once written, else ``https://127.0.0.1:<port>``."""
        with contextlib.suppress(OSError, KeyError, IndexError, TypeError, ValueError, yaml.YAMLError):
            return str(self._load_kubeconfig()["clusters"][0]["cluster"]["server"])
        return f"https://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def stderr_path(self) -> Path:
        """The stderr log of the latest start."""
        return self.log_dir / f"apiserver-{self.starts}.stderr"

    def stderr(self, tail: int = 8000) -> str:
        """The last ``tail`` characters of the latest start's stderr."""
        try:
            return self.stderr_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    # ---------------------------------------------------------------------------------------- lifecycle

    def command(self) -> list[str]:
        return [
            str(self.kyb),
            "apiserver",
            "--data-dir",
            str(self.data_dir),
            "--https-port",
            str(self.port),
            *self.extra_args,
        ]

    def start(self) -> ApiServer:
        """Start the process and wait until it is ready; on timeout or early exit, stop it and raise
        ``RuntimeError`` with its stderr."""
        if self.alive:
            raise RuntimeError(f"apiserver already running as pid {self.pid}")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        out = open(self.log_dir / f"apiserver-{self.starts}.stdout", "wb")  # noqa: SIM115
        err = open(self.stderr_path, "wb")  # noqa: SIM115
        self._logs = [out, err]
        in_main = threading.current_thread() is threading.main_thread()
        self._proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            preexec_fn=_die_with_parent if in_main else None,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float | None = None) -> int | None:
        """SIGTERM the process group, wait up to ``timeout`` s (default ``stop_timeout``), then SIGKILL it.
        Returns the exit code of the main process (``None`` if it was never started). Safe to call twice."""
        timeout = self.stop_timeout if timeout is None else timeout
        proc = self._proc
        code: int | None = None
        if proc is not None:
            if proc.poll() is None:
                self._signal_group(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._signal_group(proc.pid, signal.SIGKILL)
                    proc.wait()
            code = proc.returncode
            self._signal_group(proc.pid, signal.SIGKILL)  # children that outlived the main process
        for f in self._logs:
            f.close()
        self._logs = []
        return code

    def kill(self) -> None:
        """SIGKILL the whole process group at once (a crash, for recovery tests)."""
        if self._proc is not None:
            self._signal_group(self._proc.pid, signal.SIGKILL)
            self._proc.wait()

    def ensure_running(self) -> ApiServer:
        """Start the server again if it died (or was killed) since the last start; else do nothing."""
        if not self.alive:
            self.stop()
            self.start()
        return self

    def restart(self) -> ApiServer:
        """Stop (SIGTERM, then wait) and start again on the same data dir and port."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the server and remove the client credentials the harness extracted (the data dir stays)."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self._creds_dir, ignore_errors=True)

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _signal_group(pgid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        last = "kubeconfig not written yet"
        while True:
            code = self._proc.poll()
            if code is not None:
                raise RuntimeError(
                    f"{' '.join(self.command())} exited with {code} before it was ready\n"
                    f"--- stderr ({self.stderr_path})\n{self.stderr()}"
                )
            if self.kubeconfig.exists():
                try:
                    status = self.get("/readyz", timeout=2.0)[0]
                except (OSError, ssl.SSLError, http.client.HTTPException, KeyError, ValueError) as e:
                    last = f"GET /readyz: {type(e).__name__}: {e}"
                else:
                    if status == 200:
                        return
                    last = f"GET /readyz: HTTP {status}"
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{' '.join(self.command())} not ready after {self.start_timeout:.0f}s ({last})\n"
                    f"--- stderr ({self.stderr_path})\n{self.stderr()}"
                )
            time.sleep(0.1)

    # ---------------------------------------------------------------------------------------- clients

    def _load_kubeconfig(self) -> dict[str, Any]:
        doc = yaml.safe_load(self.kubeconfig.read_text())
        if not isinstance(doc, dict):
            raise ValueError(f"{self.kubeconfig} is not a kubeconfig")
        return doc

    def ssl_context(self) -> ssl.SSLContext:
        """A client TLS context trusting the kubeconfig's CA and presenting its client certificate."""
        doc = self._load_kubeconfig()
        cluster = doc["clusters"][0]["cluster"]
        user = doc["users"][0]["user"]
        ctx = ssl.create_default_context(
            cadata=base64.b64decode(cluster["certificate-authority-data"]).decode()
        )
        self._creds_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        cert = self._creds_dir / "client.crt"
        key = self._creds_dir / "client.key"
        cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
        key.touch(mode=0o600)
        key.write_bytes(base64.b64decode(user["client-key-data"]))
        ctx.load_cert_chain(cert, key)
        return ctx

    def get(self, path: str, *, timeout: float = 10.0, anonymous: bool = False) -> tuple[int, bytes]:
        """``GET path`` over TLS as the kubeconfig's user (or without a client certificate):
        (status, body)."""
        if anonymous:
            ctx = ssl.create_default_context(
                cadata=base64.b64decode(
                    self._load_kubeconfig()["clusters"][0]["cluster"]["certificate-authority-data"]
                ).decode()
            )
        else:
            ctx = self.ssl_context()
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=ctx)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def kubectl(
        self,
        *args: str,
        version: str | None = DEFAULT_KUBECTL_VERSION,
        input: str | None = None,
        check: bool = True,
        cache_dir: Path | None = None,
        timeout: float = 120.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run the real ``kubectl.<version>`` against this server with its own ``--cache-dir`` (a fresh
        temporary one when ``cache_dir`` is ``None``). ``check`` raises :class:`KubectlError` on failure."""
        with contextlib.ExitStack() as stack:
            if cache_dir is None:
                cache_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kubectl-cache-")))
            cmd = [
                str(kubectl_binary(version)),
                f"--kubeconfig={self.kubeconfig}",
                f"--cache-dir={cache_dir}",
                *args,
            ]
            env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
            proc = subprocess.run(
                cmd,
                input=input,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=env,
                stdin=None if input is not None else subprocess.DEVNULL,
            )
        if check and proc.returncode != 0:
            raise KubectlError(proc.returncode, cmd, proc.stdout, proc.stderr)
        return proc

    def api_client(self) -> Any:
        """An official ``kubernetes.client.ApiClient`` for the kubeconfig; the caller closes it."""
        from kubernetes import config

        factory: Callable[..., Any] = config.new_client_from_config
        return factory(config_file=str(self.kubeconfig), persist_config=False)


class Cluster:
    """A test's view of a shared :class:`ApiServer`: same server, but a kubectl cache dir of its own."""

    def __init__(self, server: ApiServer, cache_dir: Path) -> None:
        self.server = server
        self.cache_dir = cache_dir

    @property
    def kubeconfig(self) -> Path:
        return self.server.kubeconfig

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def data_dir(self) -> Path:
        return self.server.data_dir

    def restart(self) -> None:
        """Stop the server (SIGTERM, wait) and start it again on the same data dir and port."""
        self.server.restart()

    def get(self, path: str, *, timeout: float = 10.0, anonymous: bool = False) -> tuple[int, bytes]:
        return self.server.get(path, timeout=timeout, anonymous=anonymous)

    def kubectl(
        self,
        *args: str,
        version: str | None = DEFAULT_KUBECTL_VERSION,
        input: str | None = None,
        check: bool = True,
        timeout: float = 120.0,
    ) -> subprocess.CompletedProcess[str]:
        """:meth:`ApiServer.kubectl` with this test's cache dir."""
        return self.server.kubectl(
            *args, version=version, input=input, check=check, cache_dir=self.cache_dir, timeout=timeout
        )


class KybServer(ApiServer):
    """A whole ``kyb server`` (API server, controller manager, scheduler, and ``simulated_nodes`` simulated
    nodes) as one supervised child process tree; ready when the API server is."""

    def __init__(self, data_dir: Path, *, simulated_nodes: int = 3, **kwargs: Any) -> None:
        super().__init__(data_dir, **kwargs)
        self.simulated_nodes = simulated_nodes

    def command(self) -> list[str]:
        return [str(self.kyb), "server", "--data-dir", str(self.data_dir), "--https-port", str(self.port),
                "--simulated-nodes", str(self.simulated_nodes), *self.extra_args]
