"""The node's local image registry: Debian's ``docker-registry`` (distribution 2.8) as a child process.

``LocalRegistry(data_dir)`` owns ``<data-dir>/registry/``: ``config.yml`` (regenerated on every start), the blob
store in ``data/``, the daemon's log in ``registry.log`` and, while it runs, ``address`` (``127.0.0.1:PORT``),
which ``kyb image`` reads as its default registry.  It listens on 127.0.0.1 only (network safety: nothing is
reachable from outside the machine), plain HTTP; containerd mirrors docker.io and registry.k8s.io to it.

The daemon runs in its own session and gets SIGKILL when the process that started it dies (PR_SET_PDEATHSIG),
so it never outlives its owner.  If the wanted port (default 5000) is already taken — by a registry or anything
else we did not start — another free loopback port is used and a warning says so.

Also here: small pure helpers for image references (:func:`parse_reference`, :func:`registry_repository`) and
a read-only registry API client (:class:`RegistryClient`) used by ``kyb image`` and the image recipes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import secrets
import signal
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

log = logging.getLogger("kyb.registry")

DEFAULT_PORT = 5000
REGISTRY_BINARY = "docker-registry"
_PR_SET_PDEATHSIG = 1

#: Manifest media types the registry client asks for (single-platform first, then lists/indexes).
MANIFEST_ACCEPT = ", ".join((
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
))


class RegistryError(Exception):
    """The registry could not be started, or answered a request with an error."""


def address_file(data_dir: Path) -> Path:
    """Where a running :class:`LocalRegistry` records its ``host:port`` (removed again by ``stop()``)."""
    return data_dir / "registry" / "address"


def read_address(data_dir: Path) -> str | None:
    """The address of the registry running for ``data_dir``, or None when none was started (or it stopped)."""
    try:
        text = address_file(data_dir).read_text().strip()
    except FileNotFoundError:
        return None
    return text or None


def registry_config(root: Path, listen: str, secret: str) -> str:
    """The ``config.yml`` for docker-registry: filesystem storage under ``root``, deletes allowed, quiet logs."""
    config = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(root)}, "delete": {"enabled": True},
                    "maintenance": {"uploadpurging": {"enabled": False}}},
        "http": {"addr": listen, "secret": secret},
    }
    return json.dumps(config, indent=2) + "\n"  # JSON is YAML


def _port_free(port: int) -> bool:
    """Whether ``127.0.0.1:port`` can be listened on (SO_REUSEADDR like the registry: TIME_WAIT is no owner)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class LocalRegistry:
    """A docker-registry child process on ``127.0.0.1:<port>`` with its state under ``<data_dir>/registry``
    (``port=0``: any free port).

    ``await start()`` returns once ``GET /v2/`` answers 200 (raises :class:`RegistryError` if the daemon exits or
    is not ready within ``ready_timeout`` seconds); ``await stop()`` terminates it (SIGTERM, then SIGKILL after
    ``stop_timeout``) and is idempotent.  Also an async context manager.
    """

    def __init__(self, data_dir: Path, port: int = DEFAULT_PORT, *, binary: str = REGISTRY_BINARY,
                 ready_timeout: float = 10.0, stop_timeout: float = 5.0) -> None:
        self.data_dir = data_dir
        self.root = data_dir / "registry"
        self.wanted_port = port
        self.port = port
        self.binary = binary
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.process: asyncio.subprocess.Process | None = None

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT`` (the port actually used, known after ``start()``)."""
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    async def __aenter__(self) -> LocalRegistry:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    async def start(self) -> None:
        if self.process is not None and self.process.returncode is None:
            return
        self.port = self.wanted_port
        if self.port == 0:
            self.port = _free_port()
        elif not _port_free(self.port):
            self.port = _free_port()
            log.warning("port %d on 127.0.0.1 is taken by a process we did not start; the local registry uses "
                        "port %d instead", self.wanted_port, self.port)
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        config = self.root / "config.yml"
        config.write_text(registry_config(self.root / "data", self.address, secrets.token_hex(16)))
        log_path = self.root / "registry.log"
        with open(log_path, "ab") as output:  # noqa: ASYNC230 - a local file, opened once; the child inherits it
            self.process = await asyncio.create_subprocess_exec(
                self.binary, "serve", str(config), stdin=asyncio.subprocess.DEVNULL, stdout=output,
                stderr=output, start_new_session=True, preexec_fn=_die_with_parent)
        try:
            await self._wait_ready(log_path)
        except BaseException:
            await self.stop()
            raise
        tmp = address_file(self.data_dir).with_suffix(".tmp")
        tmp.write_text(self.address + "\n")
        tmp.replace(address_file(self.data_dir))
        log.info("local registry ready on %s (pid %d)", self.address, self.process.pid)

    async def _wait_ready(self, log_path: Path) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.ready_timeout
        url = f"http://{self.address}/v2/"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1.0)) as session:
            while True:
                if self.process.returncode is not None:
                    raise RegistryError(f"{self.binary} exited with {self.process.returncode}: "
                                        f"{_tail(log_path)}")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError, OSError):
                    async with session.get(url) as response:
                        if response.status == 200:
                            return
                if time.monotonic() > deadline:
                    raise RegistryError(f"{self.binary} not ready on {url} after {self.ready_timeout}s: "
                                        f"{_tail(log_path)}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.process.wait(), 0.02)

    async def stop(self) -> None:
        process, self.process = self.process, None
        with contextlib.suppress(FileNotFoundError):
            if read_address(self.data_dir) == self.address:
                address_file(self.data_dir).unlink()
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), self.stop_timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        log.info("local registry on %s stopped", self.address)


def _tail(path: Path, limit: int = 800) -> str:
    try:
        return path.read_text(errors="replace")[-limit:].strip() or "(no output)"
    except OSError:
        return "(no log)"


# ---------------------------------------------------------------------------------------------------------------
# Image references (docker's reference grammar, the parts we need)
# ---------------------------------------------------------------------------------------------------------------

DOCKER_HUB = "docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
#: Registries containerd mirrors to the local registry (see the agent's containerd config).
MIRRORED_DOMAINS = frozenset({DOCKER_HUB, "registry.k8s.io"})


@dataclass(frozen=True)
class ImageReference:
    """A parsed reference: ``domain/path[:tag][@digest]`` with docker's defaults applied (tag ``latest`` only
    when there is no digest either)."""

    domain: str
    path: str
    tag: str | None
    digest: str | None

    def __str__(self) -> str:
        s = f"{self.domain}/{self.path}"
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s


def parse_reference(ref: str) -> ImageReference:
    """Normalize like docker/containerd: ``nginx`` → ``docker.io/library/nginx:latest``,
    ``registry.k8s.io/pause:3.6`` stays, ``localhost:5000/x`` keeps its domain.  Raises ValueError when empty or
    malformed."""
    ref = ref.strip()
    if not ref or any(c.isspace() for c in ref) or ref.startswith("/") or ref.endswith(("/", ":", "@")):
        raise ValueError(f"invalid image reference: {ref!r}")
    name, _, digest = ref.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag: str | None = None
    if ":" in last:
        name, tag = name.rsplit(":", 1)
        if not tag:
            raise ValueError(f"invalid image reference: {ref!r}")
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, rest
    else:
        domain, path = DOCKER_HUB, name
    if domain in _HUB_ALIASES:
        domain = DOCKER_HUB
        if "/" not in path:
            path = f"library/{path}"
    if not path or "//" in path or path != path.lower():
        raise ValueError(f"invalid image reference: {ref!r}")
    if tag is None and not digest:
        tag = "latest"
    return ImageReference(domain, path, tag, digest or None)


def registry_repository(ref: str) -> tuple[str, str]:
    """Where an image named ``ref`` lives in the local registry: (repository path, tag).

    containerd's mirror keeps the path and drops the domain, so ``nginx:1.27`` → ``("library/nginx", "1.27")``,
    ``registry.k8s.io/pause:3.10`` → ``("pause", "3.10")``.  A digest-only reference gets tag ``latest``."""
    parsed = parse_reference(ref)
    return parsed.path, parsed.tag or "latest"


def pull_name(repository: str, tag: str) -> str:
    """The name a pod uses to pull ``repository:tag`` from the local registry through the mirror: docker.io
    for ``library/…`` and other multi-component paths, registry.k8s.io for single-component ones."""
    if "/" in repository:
        return f"{DOCKER_HUB}/{repository}:{tag}"
    return f"registry.k8s.io/{repository}:{tag}"


# ---------------------------------------------------------------------------------------------------------------
# Registry API client (distribution v2, plain HTTP on loopback)
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestInfo:
    digest: str
    media_type: str
    size: int  # config + layers (compressed), or the sum over an index's manifests' descriptors


def manifest_size(manifest: Mapping[str, Any]) -> int:
    """Bytes an image occupies in the registry according to its manifest (config + layers; for an index, the
    sizes of the listed manifests)."""
    if "manifests" in manifest:
        return sum(int(m.get("size", 0)) for m in manifest["manifests"])
    total = int(manifest.get("config", {}).get("size", 0))
    return total + sum(int(layer.get("size", 0)) for layer in manifest.get("layers", []))


class RegistryClient:
    """A small async client for the registry API at ``http://<address>``.  Use as ``async with``."""

    def __init__(self, address: str, *, timeout: float = 30.0) -> None:
        self.base = f"http://{address}/v2"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        await self._session.close()

    async def ping(self) -> None:
        async with self._session.get(f"{self.base}/") as r:
            if r.status != 200:
                raise RegistryError(f"{self.base}/ answered {r.status}")

    async def catalog(self) -> list[str]:
        """All repositories (follows the ``Link`` pagination)."""
        repos: list[str] = []
        url: str | None = f"{self.base}/_catalog?n=1000"
        while url:
            async with self._session.get(url) as r:
                await _check(r)
                repos.extend((await r.json()).get("repositories") or [])
                link = r.headers.get("Link", "")
            url = None
            if link.startswith("<") and ">" in link:
                url = f"{self.base.removesuffix('/v2')}{link[1:link.index('>')]}"
        return repos

    async def tags(self, repository: str) -> list[str]:
        async with self._session.get(f"{self.base}/{repository}/tags/list") as r:
            if r.status == 404:
                return []
            await _check(r)
            return sorted((await r.json()).get("tags") or [])

    async def manifest_digest(self, repository: str, reference: str) -> str | None:
        """The digest the registry has for ``repository:reference`` (HEAD), None when absent."""
        async with self._session.head(f"{self.base}/{repository}/manifests/{reference}",
                                      headers={"Accept": MANIFEST_ACCEPT}) as r:
            if r.status == 404:
                return None
            await _check(r)
            return r.headers.get("Docker-Content-Digest")

    async def manifest(self, repository: str, reference: str) -> ManifestInfo:
        async with self._session.get(f"{self.base}/{repository}/manifests/{reference}",
                                     headers={"Accept": MANIFEST_ACCEPT}) as r:
            await _check(r)
            body = await r.read()
            digest = r.headers.get("Docker-Content-Digest", "")
            media_type = r.headers.get("Content-Type", "")
        return ManifestInfo(digest, media_type, manifest_size(json.loads(body)))

    async def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> str:
        """Store a manifest (its blobs must already be in ``repository``); returns the digest."""
        async with self._session.put(f"{self.base}/{repository}/manifests/{reference}", data=body,
                                     headers={"Content-Type": media_type}) as r:
            await _check(r)
            return r.headers.get("Docker-Content-Digest", "")


async def _check(response: aiohttp.ClientResponse) -> None:
    if response.status >= 400:
        text = (await response.text())[:300] if response.method != "HEAD" else ""
        raise RegistryError(f"{response.method} {response.url} answered {response.status} {text}".strip())


def default_address(data_dir: Path) -> str:
    """The registry address for ``data_dir``: ``$KYB_REGISTRY``, else ``<data_dir>/registry/address``, else
    ``<data_dir>/agent/registry/address`` (the agent inside ``kyb server`` keeps its state in ``<data-dir>/agent``).
    Raises RegistryError when none is found."""
    address = os.environ.get("KYB_REGISTRY") or read_address(data_dir) or read_address(data_dir / "agent")
    if not address:
        raise RegistryError(f"no local registry is running for {data_dir} ({address_file(data_dir)} is missing); "
                            "start `kyb server` or pass --registry HOST:PORT")
    return address
