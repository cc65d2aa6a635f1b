"""Liveness, readiness and startup probes (exec via ExecSync, httpGet, tcpSocket) with upstream's timing.

One worker task per (pod UID, container, probe kind).  A worker waits ``initialDelaySeconds`` after it first
sees a container instance, then probes every ``periodSeconds`` with ``timeoutSeconds``; ``successThreshold`` /
``failureThreshold`` consecutive results flip the state.  Readiness starts False, startup False (containers
without a startup probe count as started), liveness True; liveness/readiness wait for startup.  Every failure
records ``Unhealthy`` (``Readiness probe failed: HTTP probe failed with statuscode: 500``); a flip calls
``on_change(uid)`` so the pod worker syncs (and kills containers whose liveness/startup probe failed).  Like
upstream's ``onHold``, a worker whose liveness/startup probe triggered a kill stops probing that container
instance (no more ``Unhealthy`` events while it is being killed) and resumes with the next instance.

Network safety: httpGet/tcpSocket only connect to the pod's own IPs or 127.0.0.0/8; any other ``host`` fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from kybernetes.kubelet.cri.types import CRIError, RuntimeService

log = logging.getLogger(__name__)
Obj = dict[str, Any]
KINDS = ("startup", "readiness", "liveness")
Recorder = Callable[[Obj, str, str, str], None]  # (pod, type, reason, message)


@dataclass
class Target:
    pod: Obj
    container: Obj
    container_id: str
    pod_ips: list[str] = field(default_factory=list)


def resolve_port(port: Any, container: Obj) -> int:
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return int(port)
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return int(p.get("containerPort", 0))
    raise ValueError(f"unable to find port {port!r} in container")


def allowed_host(host: str, pod_ips: list[str]) -> bool:
    """Only the pod's own addresses and loopback may be probed (nothing may leave the machine)."""
    if host in pod_ips:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


async def run_probe(probe: Obj, target: Target, runtime: RuntimeService,
                    session: aiohttp.ClientSession | None) -> tuple[bool, str]:
    """One probe: (success, output/failure message)."""
    timeout = int(probe.get("timeoutSeconds") or 1)
    if "exec" in probe:
        command = [str(a) for a in probe["exec"].get("command") or []]
        try:
            result = await asyncio.wait_for(runtime.exec_sync(target.container_id, command, timeout), timeout + 1)
        except TimeoutError:
            return False, f"command {' '.join(repr(c) for c in command)} timed out"
        except CRIError as exc:
            return False, exc.message
        output = (result.stdout + result.stderr).decode(errors="replace")
        return result.exit_code == 0, output
    host = ""
    spec = probe.get("httpGet") or probe.get("tcpSocket") or probe.get("grpc")
    if spec is None:
        return False, "missing probe handler"
    host = spec.get("host") or (target.pod_ips[0] if target.pod_ips else "")
    if not allowed_host(host, target.pod_ips):
        return False, f"probe host {host!r} is not the pod's address (refused: traffic must stay on this machine)"
    try:
        port = resolve_port(spec.get("port"), target.container)
    except ValueError as exc:
        return False, str(exc)
    if "httpGet" in probe:
        scheme = str(spec.get("scheme") or "HTTP").lower()
        path = spec.get("path") or "/"
        url = f"{scheme}://{host}:{port}{path if path.startswith('/') else '/' + path}"
        headers = {h.get("name", ""): h.get("value", "") for h in spec.get("httpHeaders") or []}
        headers.setdefault("User-Agent", "kube-probe/1.33")
        if session is None:
            return False, "no HTTP session"
        try:
            async with session.get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout), ssl=False,
                                   allow_redirects=False) as resp:
                body = await resp.content.read(10240)
                if 200 <= resp.status < 400:
                    return True, body.decode(errors="replace")
                return False, f"HTTP probe failed with statuscode: {resp.status}"
        except TimeoutError:
            return False, (f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting '
                           "headers)")
        except (aiohttp.ClientError, OSError) as exc:
            return False, f'Get "{url}": dial tcp {host}:{port}: connect: {_os_reason(exc)}'
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except TimeoutError:
        return False, f"dial tcp {host}:{port}: i/o timeout"
    except OSError as exc:
        return False, f"dial tcp {host}:{port}: connect: {_os_reason(exc)}"
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True, ""


def _os_reason(exc: BaseException) -> str:
    while exc.__cause__ is not None or getattr(exc, "os_error", None) is not None:
        exc = getattr(exc, "os_error", None) or exc.__cause__  # type: ignore[assignment]
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc)


@dataclass
class _State:
    container_id: str = ""
    successes: int = 0
    failures: int = 0
    result: bool = False
    on_hold: bool = False  # a failed liveness/startup probe is killing this instance: no more probes for it


class ProbeManager:
    def __init__(self, runtime: RuntimeService, record: Recorder, on_change: Callable[[str], None]) -> None:
        self.runtime = runtime
        self.record = record
        self.on_change = on_change
        self.targets: dict[tuple[str, str], Target] = {}  # (uid, container) → what to probe now
        self._tasks: dict[tuple[str, str, str], asyncio.Task[None]] = {}
        self._results: dict[tuple[str, str, str], bool] = {}
        self._messages: dict[tuple[str, str], str] = {}  # (uid, container) → kill message after failure
        self._tg: asyncio.TaskGroup | None = None
        self._session: aiohttp.ClientSession | None = None

    async def run(self) -> None:
        """Own the workers' task group until cancelled."""
        self._session = aiohttp.ClientSession()
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                await asyncio.Event().wait()
        finally:
            self._tg = None
            await self._session.close()

    # -- results (read by the pod sync) --------------------------------------------------------------------

    def ready(self, uid: str, name: str, container: Obj) -> bool:
        if "readinessProbe" not in container:
            return True
        return self._results.get((uid, name, "readiness"), False)

    def started(self, uid: str, name: str, container: Obj) -> bool:
        if "startupProbe" not in container:
            return True
        return self._results.get((uid, name, "startup"), False)

    def unhealthy(self, uid: str) -> dict[str, str]:
        """Containers whose liveness or startup probe failed: name → ``Killing`` message."""
        return {name: msg for (u, name), msg in self._messages.items() if u == uid}

    # -- worker management -----------------------------------------------------------------------------

    def update(self, uid: str, targets: dict[str, Target]) -> None:
        """The running containers of a pod now (name → target); starts/stops workers accordingly."""
        for name, target in targets.items():
            self.targets[(uid, name)] = target
            for kind in KINDS:
                key = (uid, name, kind)
                if f"{kind}Probe" in target.container and key not in self._tasks and self._tg is not None:
                    self._tasks[key] = self._tg.create_task(self._worker(key), name=f"probe {kind} {name}")
        for gone in [k for k in self.targets if k[0] == uid and k[1] not in targets]:
            del self.targets[gone]

    def remove_pod(self, uid: str) -> None:
        for key in [k for k in self._tasks if k[0] == uid]:
            self._tasks.pop(key).cancel()
        self._results = {k: v for k, v in self._results.items() if k[0] != uid}
        self.targets = {k: v for k, v in self.targets.items() if k[0] != uid}
        self._messages = {k: v for k, v in self._messages.items() if k[0] != uid}

    def container_restarted(self, uid: str, name: str) -> None:
        self._messages.pop((uid, name), None)

    async def _worker(self, key: tuple[str, str, str]) -> None:
        uid, name, kind = key
        state = _State()
        try:
            while True:
                target = self.targets.get((uid, name))
                probe = (target.container.get(f"{kind}Probe") if target else None) or {}
                period = float(probe.get("periodSeconds") or 10)
                if target is None or not probe:
                    await asyncio.sleep(1.0)
                    continue
                if target.container_id != state.container_id:
                    state = _State(container_id=target.container_id, result=(kind == "liveness"))
                    self._set(key, state.result)
                    await asyncio.sleep(float(probe.get("initialDelaySeconds") or 0))
                    continue
                if state.on_hold:
                    await asyncio.sleep(min(period, 1.0))
                    continue
                if kind != "startup" and not self.started(uid, name, target.container):
                    await asyncio.sleep(1.0)
                    continue
                if kind == "startup" and state.result:
                    await asyncio.sleep(period)
                    continue
                ok, output = await run_probe(probe, target, self.runtime, self._session)
                self._count(key, state, probe, ok, output, target)
                await asyncio.sleep(period)
        except asyncio.CancelledError:
            raise
        except Exception:  # a probe bug must not take the kubelet down
            log.exception("probe worker %s crashed", key)

    def _count(self, key: tuple[str, str, str], state: _State, probe: Obj, ok: bool, output: str,
               target: Target) -> None:
        uid, name, kind = key
        if ok:
            state.successes += 1
            state.failures = 0
            if state.successes >= int(probe.get("successThreshold") or 1) and not state.result:
                state.result = True
                self._set(key, True)
            return
        state.failures += 1
        state.successes = 0
        label = kind.capitalize()
        self.record(target.pod, "Warning", "Unhealthy", f"{label} probe failed: {output.strip()}"[:1024])
        if state.failures >= int(probe.get("failureThreshold") or 3) and (state.result or kind == "startup"):
            state.result = False
            self._set(key, False)
            if kind in ("liveness", "startup"):
                self._messages[(uid, name)] = f"Container {name} failed {kind} probe, will be restarted"
                state.failures = 0
                state.on_hold = True
                self.on_change(uid)

    def _set(self, key: tuple[str, str, str], value: bool) -> None:
        before = self._results.get(key)
        self._results[key] = value
        if before != value:
            self.on_change(key[0])
