"""The metrics scrape cadence: fast while someone reads metrics.k8s.io or while it is not yet advertised."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.api.registry import Registry
from kybernetes.apiserver.metrics_api import NODE_METRICS, POD_METRICS, MetricsAPI
from kybernetes.apiserver.presenting import Presenter


async def _no_fetch(host: str, port: int) -> dict[str, Any]:
    raise OSError("not used")


@pytest.mark.parametrize(("advertised", "read_ago", "period"), [
    pytest.param(False, None, 15.0, id="looking-for-a-kubelet"),
    pytest.param(True, None, 60.0, id="advertised-never-read"),
    pytest.param(True, 10.0, 15.0, id="read-recently"),
    pytest.param(True, 61.0, 60.0, id="read-long-ago"),
])
def test_next_scrape_in(advertised: bool, read_ago: float | None, period: float) -> None:
    registry = Registry()
    if advertised:
        registry.add(POD_METRICS)
        registry.add(NODE_METRICS)
    api = MetricsAPI(registry, None, Presenter(), interval=15.0, idle_interval=60.0,  # type: ignore[arg-type]
                     fetch=_no_fetch, mono=lambda: 1000.0)
    api.last_read = None if read_ago is None else 1000.0 - read_ago
    assert api.next_scrape_in() == period
