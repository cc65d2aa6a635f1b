"""client-go's EventSourceObjectSpamFilter: burst 25 per (source, object), one token per 5 minutes."""

from __future__ import annotations

import pytest

from kybernetes.client.events import SpamFilter


@pytest.mark.parametrize(("sent", "later", "allowed"), [
    (25, 0.0, 25),      # the burst passes
    (100, 0.0, 25),     # then nothing, at once
    (30, 300.0, 26),    # 5 minutes later one more token
    (30, 3000.0, 30),   # refilled (capped at the burst)
])
def test_bucket(sent: int, later: float, allowed: int) -> None:
    spam = SpamFilter()
    key = ("replicaset-controller", "", "ReplicaSet", "default", "web", "uid", "apps/v1")
    passed = sum(spam.allow(key, 0.0) for _ in range(25))
    passed += sum(spam.allow(key, later) for _ in range(sent - 25)) if sent > 25 else 0
    assert passed == allowed


def test_objects_are_separate_and_keys_bounded() -> None:
    spam = SpamFilter(max_keys=3)
    for _ in range(25):
        assert spam.allow(("a",), 0.0)
    assert not spam.allow(("a",), 0.0)
    assert spam.allow(("b",), 0.0)
    for k in ("c", "d", "e"):
        spam.allow((k,), 0.0)
    assert spam.allow(("a",), 0.0)  # evicted as least recently used: a fresh bucket
