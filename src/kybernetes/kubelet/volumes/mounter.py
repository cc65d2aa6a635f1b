"""The one side effect volumes need besides files: tmpfs mounts for ``emptyDir.medium: Memory``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol


class Mounter(Protocol):
    async def mount_tmpfs(self, path: Path, size_bytes: int) -> None: ...
    async def unmount(self, path: Path) -> None: ...
    def is_mounted(self, path: Path) -> bool: ...


class SystemMounter:
    """``mount -t tmpfs`` / ``umount`` (root)."""

    async def _run(self, *args: str) -> None:
        proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.PIPE)
        _, err = await proc.communicate()
        if proc.returncode:
            raise OSError(f"{' '.join(args)}: {err.decode(errors='replace').strip()}")

    async def mount_tmpfs(self, path: Path, size_bytes: int) -> None:
        options = f"size={size_bytes}" if size_bytes else "mode=0777"
        await self._run("mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path))

    async def unmount(self, path: Path) -> None:
        await self._run("umount", str(path))

    def is_mounted(self, path: Path) -> bool:
        target = str(path.resolve())
        try:
            with open("/proc/self/mountinfo") as f:
                return any(line.split()[4] == target for line in f)
        except OSError:
            return False
