"""Upstream's AtomicWriter layout for configMap/secret/downwardAPI/projected volumes.

The payload is written into a fresh timestamped directory ``..2026_01_01_00_00_00.123456789``, then the
``..data`` symlink is swapped to it with one rename, and each top-level entry is a symlink ``name → ..data/name``.
A reader inside the container therefore sees either the old or the new set of files, never a mix.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

DATA = "..data"

Payload = dict[str, tuple[bytes, int]]  # relative path → (content, mode)


def write_atomic(target: Path, payload: Payload) -> bool:
    """Make ``target`` hold exactly ``payload``; False when nothing changed."""
    target.mkdir(parents=True, exist_ok=True)
    current = target / DATA
    if current.is_symlink() and _same(current, payload):
        return False
    stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime()) + f"{time.time_ns() % 1_000_000_000:09d}"
    fresh = target / stamp
    fresh.mkdir()
    for rel, (content, mode) in payload.items():
        path = fresh / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        os.chmod(path, mode)
    tmp_link = target / "..data_tmp"
    if tmp_link.is_symlink():
        tmp_link.unlink()
    os.symlink(stamp, tmp_link)
    old = os.readlink(current) if current.is_symlink() else None
    os.replace(tmp_link, current)
    tops = {rel.split("/", 1)[0] for rel in payload}
    for top in tops:
        link = target / top
        if not link.is_symlink():
            os.symlink(f"{DATA}/{top}", link)
    for entry in target.iterdir():
        if entry.is_symlink() and not entry.name.startswith("..") and entry.name not in tops:
            entry.unlink()
    if old and old != stamp:
        shutil.rmtree(target / old, ignore_errors=True)
    return True


def _same(current: Path, payload: Payload) -> bool:
    base = current.resolve()
    existing = {str(p.relative_to(base)) for p in base.rglob("*") if p.is_file()}
    if existing != set(payload):
        return False
    for rel, (content, mode) in payload.items():
        path = base / rel
        if path.read_bytes() != content or (path.stat().st_mode & 0o7777) != mode:
            return False
    return True
