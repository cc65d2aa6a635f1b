"""Fixtures that run a real ``kyb apiserver`` (see ``harness.py``).

* ``apiserver`` — a :class:`harness.Cluster`: the module's shared server (started once per test module,
  restarted if a test left it dead) with a kubectl cache dir of the test's own.
* ``fresh_apiserver`` — a :class:`harness.Cluster` on a server of the test's own, with an empty data dir.
* ``api_client`` — an official ``kubernetes.client.ApiClient`` for ``apiserver``.

Every test here is marked ``kubectl``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import ApiServer, Cluster, KybServer


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.kubectl)


@pytest.fixture(scope="module")
def apiserver_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """The module's shared server process."""
    server = ApiServer(tmp_path_factory.mktemp("apiserver") / "data")
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def apiserver(apiserver_process: ApiServer, tmp_path: Path) -> Cluster:
    apiserver_process.ensure_running()
    return Cluster(apiserver_process, tmp_path / "kube-cache")


@pytest.fixture
def fresh_apiserver(tmp_path: Path) -> Iterator[Cluster]:
    server = ApiServer(tmp_path / "data")
    try:
        server.start()
        yield Cluster(server, tmp_path / "kube-cache")
    finally:
        server.close()


@pytest.fixture
def api_client(apiserver: Cluster) -> Iterator[Any]:
    client = apiserver.server.api_client()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="module")
def kyb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    """A whole cluster on 3 simulated nodes, shared by the module."""
    server = KybServer(tmp_path_factory.mktemp("kyb-server") / "data", simulated_nodes=3)
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def cluster(kyb_server: KybServer, tmp_path: Path) -> Cluster:
    kyb_server.ensure_running()
    return Cluster(kyb_server, tmp_path / "kube-cache")
