"""Container lifecycle: postStart/preStop hooks, termination messages, grace periods.

Hooks run exec (ExecSync), httpGet (pod IP or loopback only, see :mod:`probes`) or sleep.  A failing postStart
records ``FailedPostStartHook`` and the container is killed; a failing preStop records ``FailedPreStopHook``
and termination proceeds.  Termination messages come from the file mounted at ``terminationMessagePath``
(≤ 4096 bytes) or, with ``FallbackToLogsOnError`` and an error exit, from the last 80 log lines (≤ 2048 bytes).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from kybernetes.kubelet.cri.types import RuntimeService
from kybernetes.kubelet.probes import Target, run_probe

Obj = dict[str, Any]
MIN_GRACE = 2
MAX_MESSAGE = 4096
MAX_LOG_MESSAGE = 2048
LOG_LINES = 80


async def run_hook(handler: Obj, target: Target, runtime: RuntimeService, limit: float) -> tuple[bool, str]:
    """Run one lifecycle handler; (success, message)."""
    if "sleep" in handler:
        await asyncio.sleep(min(float(handler["sleep"].get("seconds") or 0), limit))
        return True, ""
    probe = {**handler, "timeoutSeconds": max(1, int(limit))}
    if "httpGet" in handler:
        async with aiohttp.ClientSession() as session:
            return await run_probe(probe, target, runtime, session)
    return await run_probe(probe, target, runtime, None)


def grace_period(pod: Obj) -> int:
    """Seconds a container gets between SIGTERM and SIGKILL (deletion's grace wins; at least 2 like upstream)."""
    meta = pod.get("metadata") or {}
    if meta.get("deletionGracePeriodSeconds") is not None:
        grace = int(meta["deletionGracePeriodSeconds"])
    else:
        grace = int((pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
    return max(MIN_GRACE, grace)


def read_termination_message(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            return f.read(MAX_MESSAGE).decode(errors="replace")
    except OSError:
        return ""


def parse_cri_log_line(line: bytes) -> bytes:
    """The content of one CRI log line (``<time> <stream> <P|F> <content>``); P lines carry no newline."""
    parts = line.rstrip(b"\n").split(b" ", 3)
    if len(parts) < 4:
        return line
    return parts[3] + (b"" if parts[2] == b"P" else b"\n")


def tail_log_message(path: Path, lines: int = LOG_LINES, limit: int = MAX_LOG_MESSAGE) -> str:
    try:
        raw = path.read_bytes()[-256 * 1024:]
    except OSError:
        return ""
    content = b"".join(parse_cri_log_line(line) for line in raw.splitlines(keepends=True))
    tail = b"".join(content.splitlines(keepends=True)[-lines:])
    return tail[-limit:].decode(errors="replace")


def termination_message(container: Obj, exit_code: int, message_file: Path, log_file: Path | None) -> str:
    message = read_termination_message(message_file)
    if not message and exit_code != 0 and container.get("terminationMessagePolicy") == "FallbackToLogsOnError" \
            and log_file is not None:
        message = tail_log_message(log_file)
    return message
