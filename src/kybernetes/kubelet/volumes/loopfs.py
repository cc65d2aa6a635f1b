"""Size-enforced local volumes: one sparse ext4 image per volume, loop-mounted on the volume's directory.

Measured on these machines (ext4 root, /dev/loop-control present, no project quotas on ``/``): ``truncate`` +
``mkfs.ext4 -q -F -m 0`` + ``mount -o loop`` takes ~15 ms for 1 GiB (the image is sparse: only written blocks use
disk); writing past the size fails with ENOSPC inside containers; ``umount`` frees the loop device (autoclear).
Usable space is a little below the requested size (ext4 metadata and journal).

Layout: the volume directory ``D`` (what the PV's ``hostPath.path`` names) and its image ``D.img`` beside it.

:class:`LoopBackend` does this (root); :class:`DirBackend` only creates directories (unprivileged tests, simulated
nodes).  Both implement :class:`VolumeBackend`.  Every method is idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)
MIN_BYTES = 8 * 1024 * 1024  # ext4 with a journal needs a few MiB


def image_of(path: Path) -> Path:
    return path.with_name(path.name + ".img")


def is_mounted(path: Path) -> bool:
    target = str(path)
    try:
        with open("/proc/self/mountinfo") as f:
            return any(line.split()[4] == target for line in f)
    except OSError:
        return False


async def _run(*args: str) -> None:
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    if proc.returncode:
        raise OSError(f"{' '.join(args)}: {err.decode(errors='replace').strip()}")


class VolumeBackend(Protocol):
    async def create(self, path: Path, size_bytes: int) -> None: ...
    async def ensure_mounted(self, path: Path) -> None: ...
    async def destroy(self, path: Path) -> None: ...
    async def unmount_all(self, root: Path) -> None: ...


def _make_image(path: Path, size_bytes: int) -> Path | None:
    """Create the directory and a sparse image file (a ``.tmp`` to format); None when the image exists."""
    path.mkdir(parents=True, exist_ok=True)
    image = image_of(path)
    if image.exists():
        return None
    tmp = image.with_name(image.name + ".tmp")
    with open(tmp, "wb") as f:
        f.truncate(max(size_bytes, MIN_BYTES))
    return tmp


def _needs_mount(path: Path) -> bool:
    if image_of(path).exists() and not is_mounted(path):
        path.mkdir(parents=True, exist_ok=True)
        return True
    return False


def _mounted_volumes(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return [i.with_name(i.name[:-len(".img")]) for i in root.glob("*.img")]


def _make_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o777)


class LoopBackend:
    """ext4 image + loop mount (needs root)."""

    async def create(self, path: Path, size_bytes: int) -> None:
        tmp = await asyncio.to_thread(_make_image, path, size_bytes)
        if tmp is not None:
            await _run("mkfs.ext4", "-q", "-F", "-m", "0", str(tmp))
            await asyncio.to_thread(tmp.rename, image_of(path))
        await self.ensure_mounted(path)
        await asyncio.to_thread(path.chmod, 0o777)

    async def ensure_mounted(self, path: Path) -> None:
        if await asyncio.to_thread(_needs_mount, path):
            await _run("mount", "-o", "loop", str(image_of(path)), str(path))

    async def destroy(self, path: Path) -> None:
        while is_mounted(path):
            await _run("umount", str(path))
        await asyncio.to_thread(image_of(path).unlink, True)
        await asyncio.to_thread(shutil.rmtree, path, True)

    async def unmount_all(self, root: Path) -> None:
        for path in await asyncio.to_thread(_mounted_volumes, root):
            while is_mounted(path):
                try:
                    await _run("umount", str(path))
                except OSError as exc:
                    log.warning("unmount %s: %s", path, exc)
                    break


class DirBackend:
    """Plain directories, no size limit."""

    async def create(self, path: Path, size_bytes: int) -> None:
        await asyncio.to_thread(_make_dir, path)

    async def ensure_mounted(self, path: Path) -> None:
        return None

    async def destroy(self, path: Path) -> None:
        await asyncio.to_thread(shutil.rmtree, path, True)

    async def unmount_all(self, root: Path) -> None:
        return None
