"""``kyb server``: run every component as a child process, restart the ones that crash, stop all on SIGTERM.

Order: the API server first (it creates the PKI and the admin kubeconfig); once it answers ``/readyz``, a client
certificate and kubeconfig per component under ``<data-dir>/components/`` and then the controller manager, the
scheduler and the node agent.  Children run in their own process groups and die with the supervisor
(``PR_SET_PDEATHSIG``), so nothing outlives it.  A child that exits is restarted with back-off (1 s doubling to
30 s, reset after it stayed up for a minute).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import ssl
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from kybernetes.apiserver import certs, kubeconfig

log = logging.getLogger("kyb.server")

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class Component:
    name: str
    argv: list[str]
    log_file: Path | None = None
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0
    started_at: float = 0.0
    backoff: float = 1.0

    async def start(self) -> None:
        output = None
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            output = open(self.log_file, "ab")  # noqa: SIM115, ASYNC230 - the child inherits it; closed right after
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, stdin=asyncio.subprocess.DEVNULL, stdout=output, stderr=output,
                start_new_session=True, preexec_fn=_die_with_parent)
        finally:
            if output is not None:
                output.close()
        self.started_at = time.monotonic()
        log.info("started %s (pid %d)", self.name, self.process.pid)

    async def stop(self, grace: float = 10.0) -> None:
        proc = self.process
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()


@dataclass
class ServerOptions:
    data_dir: Path
    https_port: int = 6443
    bind_address: str = "127.0.0.1"
    datastore: str = "sqlite"
    simulated_nodes: int = 0
    agent: bool = True
    cleanup: bool = False
    extra_args: dict[str, list[str]] = field(default_factory=dict)

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig.yaml"


def _kyb() -> list[str]:
    return [sys.executable, "-m", "kybernetes.cli.main"]


async def _wait_ready(options: ServerOptions, proc: asyncio.subprocess.Process, within: float = 60.0) -> None:
    """Until the kubeconfig exists and ``/readyz`` answers 200 (or the API server died)."""
    deadline = time.monotonic() + within
    pki_dir = options.data_dir / "tls"
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            raise RuntimeError(f"the API server exited with {proc.returncode}; see {options.data_dir}/logs")
        if options.kubeconfig.exists():
            try:
                ctx = ssl.create_default_context(cafile=str(pki_dir / "ca.crt"))
                reader, writer = await asyncio.open_connection("127.0.0.1", options.https_port, ssl=ctx,
                                                               server_hostname="localhost")
                writer.write(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                await writer.drain()
                status = await reader.readline()
                writer.close()
                if b" 200 " in status:
                    return
            except (OSError, ssl.SSLError):
                pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the API server did not become ready in time")


def kubelet_serving_cert(options: ServerOptions, node_name: str, node_ip: str) -> tuple[Path, Path, Path]:
    """(cert, key, client CA) for the local kubelet's HTTPS server, issued once by the cluster CA."""
    pki = certs.ensure_pki(options.data_dir)
    base = options.data_dir / "components"
    cert, key = base / "kubelet-serving.crt", base / "kubelet-serving.key"
    if not cert.exists() or not key.exists():
        ips = ["127.0.0.1"] + ([node_ip] if node_ip else [])
        cert_pem, key_pem = certs.issue_server_cert(pki.ca, [node_name, "localhost"], ips)
        base.mkdir(parents=True, exist_ok=True)
        certs.write_atomic(key, key_pem, 0o600)
        certs.write_atomic(cert, cert_pem, 0o644)
    return cert, key, pki.ca_cert_path


def default_node_ip() -> str:
    """The address of the default-route interface (read locally; nothing is sent)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # UDP connect only picks a route; no packet is sent
        return str(s.getsockname()[0])
    return "127.0.0.1"


def component_kubeconfigs(options: ServerOptions) -> dict[str, Path]:
    """A client certificate and kubeconfig per component (reused when present)."""
    pki = certs.ensure_pki(options.data_dir)
    out: dict[str, Path] = {}
    server = f"https://127.0.0.1:{options.https_port}"
    identities = {"controller-manager": ("system:kube-controller-manager", []),
                  "scheduler": ("system:kube-scheduler", []),
                  "agent": ("system:node:kyb-agent", ["system:nodes"])}
    for name, (cn, groups) in identities.items():
        path = options.data_dir / "components" / f"{name}.kubeconfig"
        if not path.exists():
            cert, key = certs.issue_client_cert(pki, cn, groups)
            kubeconfig.write_kubeconfig(path, server, pki, credentials=(cert, key))
        out[name] = path
    return out


async def serve(options: ServerOptions, ready: asyncio.Event | None = None) -> None:
    logs = options.data_dir / "logs"
    apiserver = Component("apiserver", [
        *_kyb(), "apiserver", "--data-dir", str(options.data_dir), "--https-port", str(options.https_port),
        "--bind-address", options.bind_address, "--datastore", options.datastore,
        *options.extra_args.get("apiserver", [])], logs / "apiserver.log")
    components = [apiserver]
    try:
        await apiserver.start()
        assert apiserver.process is not None
        await _wait_ready(options, apiserver.process)
        kubeconfigs = component_kubeconfigs(options)
        others = [
            Component("controller-manager", [*_kyb(), "controller-manager", "--kubeconfig",
                                             str(kubeconfigs["controller-manager"]),
                                             *options.extra_args.get("controller-manager", [])],
                      logs / "controller-manager.log"),
            Component("scheduler", [*_kyb(), "scheduler", "--kubeconfig", str(kubeconfigs["scheduler"]),
                                    *options.extra_args.get("scheduler", [])], logs / "scheduler.log"),
        ]
        if options.simulated_nodes:
            others.append(Component("agent", [*_kyb(), "agent", "--kubeconfig", str(kubeconfigs["agent"]),
                                              "--simulate", str(options.simulated_nodes),
                                              *options.extra_args.get("agent", [])], logs / "agent.log"))
        elif options.agent:
            node_name, node_ip = socket.gethostname().lower(), default_node_ip()
            cert, key, ca = kubelet_serving_cert(options, node_name, node_ip)
            argv = [*_kyb(), "agent", "--kubeconfig", str(kubeconfigs["agent"]),
                    "--data-dir", str(options.data_dir / "agent"), "--node-name", node_name, "--node-ip", node_ip,
                    "--kubelet-cert", str(cert), "--kubelet-key", str(key), "--client-ca", str(ca)]
            if options.cleanup:
                argv.append("--cleanup")
            others.append(Component("agent", [*argv, *options.extra_args.get("agent", [])], logs / "agent.log"))
        for component in others:
            await component.start()
        components += others
        if ready is not None:
            ready.set()
        await _supervise(components)
    finally:
        for component in reversed(components):
            # the agent may have pods to clean up; the rest stop in moments
            await component.stop(60.0 if component.name == "agent" else 10.0)


async def _supervise(components: list[Component]) -> None:
    while True:
        waits = {asyncio.ensure_future(c.process.wait()): c for c in components if c.process is not None}
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for fut in pending:
            fut.cancel()
        for fut in done:
            component = waits[fut]
            code = fut.result()
            up_for = time.monotonic() - component.started_at
            component.backoff = 1.0 if up_for > 60 else min(component.backoff * 2, 30.0)
            component.restarts += 1
            log.warning("%s exited with %s after %.0fs; restarting in %.0fs", component.name, code, up_for,
                        component.backoff)
            await asyncio.sleep(component.backoff)
            await component.start()
