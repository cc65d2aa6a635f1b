"""A fake node for node-proxy tests: the real :class:`KubeletServer` on a fake runtime, plus a fake SPDY
"streaming server" standing in for containerd's.

Everything runs on an event loop in a background thread (:class:`FakeNode`), so tests can drive the real kubectl
synchronously. Exec commands the fake understands: ``cat`` (echo stdin to stdout until stdin is closed),
``echo ARGS…``, ``sh -c 'exit N'``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kybernetes.kubelet.cri.types import ContainerState, ContainerStatus
from kybernetes.kubelet.server import KubeletServer
from kybernetes.kubelet.streaming import PING, SYN_STREAM, SpdyCodec


@dataclass
class FakeContainer:
    id: str
    log_path: Path
    running: bool = True


@dataclass
class FakeView:
    pods_by_key: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    containers: dict[tuple[str, str, str], FakeContainer] = field(default_factory=dict)

    def pod_by_name(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.pods_by_key.get((namespace, name))

    def container_id(self, namespace: str, pod: str, container: str, previous: bool = False) -> str | None:
        c = self.containers.get((namespace, pod, container))
        return c.id if c and not previous else None

    def sandbox_id(self, namespace: str, pod: str) -> str | None:
        return f"sb-{pod}" if (namespace, pod) in self.pods_by_key else None

    async def log_path(self, namespace: str, pod: str, container: str, previous: bool = False) -> Path | None:
        c = self.containers.get((namespace, pod, container))
        return c.log_path if c else None

    def pods(self) -> list[dict[str, Any]]:
        return list(self.pods_by_key.values())


class FakeRuntime:
    """Only what the kubelet server calls."""

    def __init__(self, view: FakeView, streaming: FakeStreamingServer) -> None:
        self.view = view
        self.streaming = streaming

    async def container_status(self, container_id: str) -> ContainerStatus:
        for c in self.view.containers.values():
            if c.id == container_id:
                state = ContainerState.RUNNING if c.running else ContainerState.EXITED
                return ContainerStatus(container_id, "sb", "c", 0, "img", "img", state, 0)
        raise KeyError(container_id)

    async def exec(self, container_id: str, cmd: list[str], *, tty: bool, stdin: bool, stdout: bool,
                   stderr: bool) -> str:
        return self.streaming.register({"cmd": cmd, "stdin": stdin, "stdout": stdout, "stderr": stderr})

    async def attach(self, container_id: str, *, tty: bool, stdin: bool, stdout: bool, stderr: bool) -> str:
        return self.streaming.register({"cmd": ["cat"], "stdin": stdin, "stdout": stdout, "stderr": stderr})

    async def port_forward(self, sandbox_id: str, ports: list[int]) -> str:
        return self.streaming.register({"cmd": ["portforward"]})

    async def list_pod_sandboxes(self, labels: Any = None) -> list[Any]:
        return []

    async def list_containers(self, sandbox_id: str = "", labels: Any = None) -> list[Any]:
        return []

    async def list_container_stats(self) -> list[Any]:
        return []


def _status(exit_code: int, cmd: list[str]) -> bytes:
    if exit_code == 0:
        return b'{"metadata":{},"status":"Success"}'
    return json.dumps({"metadata": {}, "status": "Failure",
                       "message": f"command terminated with non-zero exit code: error executing command {cmd}, "
                                  f"exit code {exit_code}",
                       "reason": "NonZeroExitCode",
                       "details": {"causes": [{"reason": "ExitCode", "message": str(exit_code)}]}}).encode()


class FakeStreamingServer:
    """Single-use ``/exec/<token>`` URLs served over SPDY/3.1 like containerd's streaming server (v4)."""

    def __init__(self) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}
        self.port = 0
        self._server: asyncio.Server | None = None

    def register(self, session: dict[str, Any]) -> str:
        token = secrets.token_hex(4)
        self.sessions[token] = session
        return f"http://127.0.0.1:{self.port}/exec/{token}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve(reader, writer)
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        token = head.split(" ")[1].rsplit("/", 1)[-1]
        session = self.sessions.pop(token, None)
        if session is None:
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            return
        versions = [line.split(":", 1)[1].strip() for line in head.split("\r\n")
                    if line.lower().startswith("x-stream-protocol-version:")]
        version = "v4.channel.k8s.io" if "v4.channel.k8s.io" in versions else versions[0]
        writer.write(f"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                     f"X-Stream-Protocol-Version: {version}\r\n\r\n".encode())
        codec = SpdyCodec()
        ids: dict[str, int] = {}
        cmd: list[str] = session["cmd"]
        expected = {"error"} | {n for n in ("stdin", "stdout", "stderr") if session.get(n)}
        started = False
        while True:
            data = await reader.read(65536)
            if not data:
                return
            for frame in codec.feed(data):
                if frame.type == SYN_STREAM:
                    name = dict(frame.headers).get("streamtype", "")
                    ids[name] = frame.stream_id
                    writer.write(codec.syn_reply(frame.stream_id))
                elif frame.type == PING:
                    writer.write(codec.control(PING, 0, frame.data))
                elif frame.type == 0 and frame.stream_id == ids.get("stdin") and cmd == ["cat"]:
                    if frame.data and "stdout" in ids:
                        writer.write(codec.data(ids["stdout"], frame.data))
                    if frame.fin:
                        return self._finish(writer, codec, ids, 0, cmd)
            if not started and expected <= set(ids):
                started = True
                if cmd[:1] == ["echo"]:
                    writer.write(codec.data(ids["stdout"], (" ".join(cmd[1:]) + "\n").encode()))
                    return self._finish(writer, codec, ids, 0, cmd)
                if cmd[:2] == ["sh", "-c"] and cmd[2].startswith("exit "):
                    if "stderr" in ids:
                        writer.write(codec.data(ids["stderr"], b"exiting\n"))
                    return self._finish(writer, codec, ids, int(cmd[2].split()[1]), cmd)
            await writer.drain()

    @staticmethod
    def _finish(writer: asyncio.StreamWriter, codec: SpdyCodec, ids: dict[str, int], code: int,
                cmd: list[str]) -> None:
        writer.write(codec.data(ids["error"], _status(code, cmd), fin=True))
        for name in ("stdout", "stderr"):
            if name in ids:
                writer.write(codec.data(ids[name], b"", fin=True))
        writer.write(codec.goaway(max(ids.values())))


class FakeNode:
    """A background event loop running a :class:`KubeletServer` (TLS, client certs from ``ca``) and a
    :class:`FakeStreamingServer`."""

    def __init__(self, ssl_context: ssl.SSLContext) -> None:
        self.view = FakeView()
        self.streaming = FakeStreamingServer()
        self.runtime = FakeRuntime(self.view, self.streaming)
        self.server = KubeletServer(self.view, self.runtime, port=0, ssl_context=ssl_context,  # type: ignore[arg-type]
                                    address="127.0.0.1")
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.port

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def start(self) -> FakeNode:
        self._thread.start()
        self.call(self.streaming.start())
        self.call(self.server.start())
        return self

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.call(self.server.stop())
            self.call(self.streaming.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


def cri_line(stream: str, text: str, *, partial: bool = False, ts: str = "2026-01-01T00:00:00.000000001Z") -> str:
    return f"{ts} {stream} {'P' if partial else 'F'} {text}\n"

