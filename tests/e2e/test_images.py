"""Offline images end to end (root): the local registry, the image recipes with their cache, `kyb image`.

Every registry process a test starts is stopped by PID in a ``finally`` and checked gone; all files live under
pytest's tmp_path.  Timings (first build, cached call, cached push to a fresh registry) are printed: run with -s.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from kybernetes.agent.images import RECIPES, ensure_images
from kybernetes.agent.registry import LocalRegistry, read_address

pytestmark = [pytest.mark.root, pytest.mark.asyncio]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def registry(tmp_path: Path) -> AsyncIterator[LocalRegistry]:
    reg = LocalRegistry(tmp_path / "data", port=_free_port())
    pid: int | None = None
    try:
        await reg.start()
        pid = reg.pid
        yield reg
    finally:
        await reg.stop()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # only if stop() failed; it is ours, by PID
    assert pid is not None and not _alive(pid), "registry still running"
    assert read_address(tmp_path / "data") is None


async def _get_json(url: str) -> Any:
    async with aiohttp.ClientSession() as session, session.get(url) as r:
        assert r.status == 200, url
        return await r.json()


async def _kyb(*args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "kybernetes.cli.main", *args],
                                   capture_output=True, text=True, timeout=120, check=False)


def _cache_state(cache: Path) -> dict[str, float]:
    files = [cache / f"{r.name}.recipe-hash" for r in RECIPES] + [cache / "oci" / r.name / "index.json"
                                                                  for r in RECIPES]
    return {str(f): f.stat().st_mtime_ns for f in files}


async def test_images_build_cache_import_ls(registry: LocalRegistry, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    base = f"http://{registry.address}/v2"
    assert read_address(registry.data_dir) == registry.address

    t0 = time.monotonic()
    await ensure_images(registry.address, cache)
    built = time.monotonic() - t0
    state = _cache_state(cache)

    t0 = time.monotonic()
    await ensure_images(registry.address, cache)
    cached = time.monotonic() - t0
    assert _cache_state(cache) == state, "second call rebuilt something"
    assert cached < 1.0

    tags = await _get_json(f"{base}/library/nginx/tags/list")
    assert {"latest", "1.27", "1.26"} <= set(tags["tags"])
    for repo, want in [("library/busybox", {"latest", "1.36"}), ("library/pause", {"3.6"}),
                       ("pause", {"3.6", "3.10"})]:
        got = await _get_json(f"{base}/{repo}/tags/list")
        assert want <= set(got["tags"]), repo

    # a fresh registry (empty storage) with a warm cache: pushes only
    await registry.stop()
    await asyncio.to_thread(shutil.rmtree, registry.root / "data")
    await registry.start()
    t0 = time.monotonic()
    await ensure_images(registry.address, cache)
    pushed = time.monotonic() - t0
    assert _cache_state(cache) == state
    assert pushed < 3.0
    print(f"\nimages: first build {built:.2f}s, cached {cached:.3f}s, cached push to a fresh registry {pushed:.2f}s")

    # kyb image import: a docker archive of our busybox under a new name
    archive = tmp_path / "mybox.tar"
    await asyncio.to_thread(subprocess.run, [
        "skopeo", "copy", "-q", f"oci:{cache / 'oci' / 'busybox'}:latest",
        f"docker-archive:{archive}:docker.io/library/mybox:v7"], check=True, capture_output=True)
    done = await _kyb("image", "import", str(archive), "--data-dir", str(registry.data_dir))
    assert done.returncode == 0, done.stderr
    assert "docker.io/library/mybox:v7" in done.stderr
    assert (await _get_json(f"{base}/library/mybox/tags/list"))["tags"] == ["v7"]

    # the same archive under --name, with an explicit registry address
    done = await _kyb("image", "import", str(archive), "--name", "team/renamed:1.0", "--registry", registry.address)
    assert done.returncode == 0, done.stderr
    assert (await _get_json(f"{base}/team/renamed/tags/list"))["tags"] == ["1.0"]

    done = await _kyb("image", "ls", "--data-dir", str(registry.data_dir))
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()]
    assert rows[0][:3] == ["REPOSITORY", "TAG", "IMAGE"]
    assert ["library/mybox", "v7", "docker.io/library/mybox:v7"] in [r[:3] for r in rows]
    assert ["team/renamed", "1.0", "docker.io/team/renamed:1.0"] in [r[:3] for r in rows]
    assert ["library/nginx", "1.27", "docker.io/library/nginx:1.27"] in [r[:3] for r in rows]

    # errors: not an archive; no registry
    (tmp_path / "junk").write_text("junk")
    done = await _kyb("image", "import", str(tmp_path / "junk"), "--registry", registry.address)
    assert done.returncode == 1 and "not a" in done.stderr
    done = await _kyb("image", "ls", "--data-dir", str(tmp_path / "nowhere"))
    assert done.returncode == 1 and "no local registry" in done.stderr


async def test_port_taken_picks_another(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        async with LocalRegistry(tmp_path / "data", port=taken) as reg:
            pid = reg.pid
            assert reg.port != taken
            assert read_address(tmp_path / "data") == reg.address
            await _get_json(f"http://{reg.address}/v2/")
    assert pid is not None and not _alive(pid)


CHILD = """
import asyncio, sys
from pathlib import Path
from typing import Any
from kybernetes.agent.registry import LocalRegistry

async def main() -> None:
    reg = LocalRegistry(Path(sys.argv[1]), port=0)
    await reg.start()
    print(reg.pid, flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_registry_dies_with_its_parent(tmp_path: Path) -> None:
    parent = await asyncio.create_subprocess_exec(sys.executable, "-c", CHILD, str(tmp_path / "data"),
                                                  stdout=asyncio.subprocess.PIPE)
    registry_pid: int | None = None
    try:
        assert parent.stdout is not None
        registry_pid = int(await asyncio.wait_for(parent.stdout.readline(), 20))
        assert _alive(registry_pid)
        parent.kill()
        await parent.wait()
        for _ in range(100):
            if not _alive(registry_pid):
                break
            await asyncio.sleep(0.05)
        assert not _alive(registry_pid), "registry outlived its parent"
    finally:
        if parent.returncode is None:
            parent.kill()
            await parent.wait()
        if registry_pid is not None and _alive(registry_pid):
            os.kill(registry_pid, signal.SIGKILL)
