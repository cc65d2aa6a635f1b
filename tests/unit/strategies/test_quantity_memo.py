"""The strategies' memoized quantity parsing answers exactly like the parser, for every kind of JSON value."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.api.quantity import QuantityError, parse_quantity
from kybernetes.api.strategies._util import canonical_quantities, parse_quantity_memo, quantity_errors


@pytest.mark.parametrize("value", [
    pytest.param("100m", id="milli"), pytest.param("128Mi", id="binary"), pytest.param("1e3", id="exponent"),
    pytest.param(" 1 ", id="spaces"), pytest.param(1, id="int"), pytest.param(1.0, id="float"),
    pytest.param(0.5, id="fraction"), pytest.param(True, id="bool"), pytest.param("", id="empty"),
    pytest.param("12x", id="bad-suffix"), pytest.param(None, id="null"), pytest.param(["1"], id="list"),
    pytest.param({"a": 1}, id="object"),
])
def test_memo_matches_parser(value: Any) -> None:
    def direct() -> Any:
        try:
            q = parse_quantity(value)
        except QuantityError as exc:
            return ("error", str(exc))
        return (q, q.canonical())

    for _ in range(2):  # the second round is served from the memo
        try:
            q = parse_quantity_memo(value)
            got: Any = (q, q.canonical())
        except QuantityError as exc:
            got = ("error", str(exc))
        assert got == direct()
        errors, parsed = quantity_errors(value, "spec.x")
        assert (parsed is None) == (got[0] == "error")
        assert [e.detail for e in errors] == ([got[1]] if got[0] == "error" else [])


def test_canonical_quantities_keeps_types_apart() -> None:
    for _ in range(2):
        res: dict[str, Any] = {"a": 1, "b": 1.0, "c": True, "d": "1000m", "e": "bogus"}
        canonical_quantities(res)
        assert res == {"a": "1", "b": "1", "c": True, "d": "1", "e": "bogus"}
