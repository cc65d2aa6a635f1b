"""Backend factories for the storage conformance suite (see conftest.py).

Adding a backend (etcd) means adding one factory to ``BACKENDS``: a callable taking pytest's ``tmp_path`` and
returning a :class:`Backend`.  Tests only use keys under ``backend.root`` and never assume absolute revision
numbers, so a backend may share one server between tests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from kybernetes.storage.interface import Storage
from kybernetes.storage.sqlite import SQLiteStorage


@dataclass
class Backend:
    """How to open a backend's store.  ``open`` may be called again after ``close`` to reopen the same data
    (only meaningful when ``restartable``)."""

    name: str
    opener: Callable[[], Awaitable[Storage]]
    restartable: bool
    root: str = "/registry/"
    opened: list[Storage] = field(default_factory=list)

    async def open(self) -> Storage:
        store = await self.opener()
        self.opened.append(store)
        return store

    async def close_all(self) -> None:
        for store in self.opened:
            await store.close()


def sqlite_backend(tmp_path: Path) -> Backend:
    async def opener() -> Storage:
        # No background compaction: tests compact explicitly.
        return await SQLiteStorage.open(tmp_path / "state.db", compact_interval=0)

    return Backend("sqlite", opener, restartable=True)


BACKENDS: dict[str, Callable[[Path], Backend]] = {"sqlite": sqlite_backend}
