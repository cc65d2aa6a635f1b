"""hostPath type checks (upstream's ``checkType``) with their error messages."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from kybernetes.kubelet.volumes.sources import VolumeError


def check_host_path(path: Path, kind: str) -> None:
    """Create (``DirectoryOrCreate`` 0755, ``FileOrCreate`` 0644) or check the path; VolumeError otherwise."""
    if kind == "DirectoryOrCreate":
        if not path.exists():
            path.mkdir(mode=0o755, parents=True)
            return
        kind = "Directory"
    if kind == "FileOrCreate":
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o644)
            return
        kind = "File"
    if not kind:
        return
    checks = {
        "Directory": (stat.S_ISDIR, "a directory"), "File": (stat.S_ISREG, "a file"),
        "Socket": (stat.S_ISSOCK, "a socket file"), "CharDevice": (stat.S_ISCHR, "a character device"),
        "BlockDevice": (stat.S_ISBLK, "a block device"),
    }
    if kind not in checks:
        raise VolumeError(f"hostPath type {kind} is not supported")
    test, what = checks[kind]
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise VolumeError(f"hostPath type check failed: {path} is not {what}") from None
    if not test(mode):
        raise VolumeError(f"hostPath type check failed: {path} is not {what}")
