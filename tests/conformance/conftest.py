"""Fixtures of the storage conformance suite: each test runs once per backend in ``storage_backends``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from storage_backends import BACKENDS, Backend

from kybernetes.storage.interface import Storage


@pytest.fixture(params=sorted(BACKENDS))
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    b = BACKENDS[request.param](tmp_path)
    yield b
    await b.close_all()


@pytest.fixture
async def store(backend: Backend) -> Storage:
    return await backend.open()


@pytest.fixture
def root(backend: Backend) -> str:
    return backend.root
