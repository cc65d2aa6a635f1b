"""resource.Quantity parsing, canonical form and arithmetic against upstream's behaviour."""

from __future__ import annotations

import pytest

from kybernetes.api.quantity import (
    ERR_FORMAT_WRONG,
    ERR_NUMERIC,
    ERR_SUFFIX,
    QuantityError,
    canonical,
    is_quantity,
    parse_quantity,
)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        pytest.param("100m", "100m", id="milli"),
        pytest.param("1000m", "1", id="milli-to-unit"),
        pytest.param("1500m", "1500m", id="milli-not-reducible"),
        pytest.param("0.5", "500m", id="fraction-to-milli"),
        pytest.param("1.5", "1500m", id="one-and-half"),
        pytest.param("1", "1", id="one"),
        pytest.param("1000", "1k", id="thousand-to-k"),
        pytest.param("1024", "1024", id="decimal-1024-stays"),
        pytest.param("1Gi", "1Gi", id="gibi"),
        pytest.param("2048Ki", "2Mi", id="kibi-to-mebi"),
        pytest.param("1.5Gi", "1536Mi", id="fractional-gibi"),
        pytest.param("0.5Ki", "512", id="small-binary-becomes-decimal"),
        pytest.param("1.1Ki", "1126400m", id="inexact-binary-becomes-decimal"),
        pytest.param("1e3", "1e3", id="exponent"),
        pytest.param("1E3", "1e3", id="exponent-upper"),
        pytest.param("12e6", "12e6", id="exponent-kept"),
        pytest.param("5e-3", "5e-3", id="negative-exponent"),
        pytest.param("1E", "1E", id="exa"),
        pytest.param("0.1n", "1n", id="rounds-up-to-nano"),
        pytest.param("-100m", "-100m", id="negative"),
        pytest.param("+2", "2", id="plus-sign"),
        pytest.param("0", "0", id="zero"),
        pytest.param("0Mi", "0", id="zero-binary"),
        pytest.param(2, "2", id="json-int"),
        pytest.param(0.25, "250m", id="json-float"),
        pytest.param("128974848", "128974848", id="bytes"),
        pytest.param("129e6", "129e6", id="bytes-exponent"),
        pytest.param("123Mi", "123Mi", id="mebi"),
    ],
)
def test_canonical(text: object, want: str) -> None:
    assert canonical(text) == want


@pytest.mark.parametrize(
    ("text", "error"),
    [
        pytest.param("abc", ERR_FORMAT_WRONG, id="letters"),
        pytest.param("", ERR_FORMAT_WRONG, id="empty"),
        pytest.param("1 Gi", ERR_FORMAT_WRONG, id="space"),
        pytest.param("1.2.3", ERR_NUMERIC, id="two-dots"),
        pytest.param(".", ERR_NUMERIC, id="dot"),
        pytest.param("1K", ERR_SUFFIX, id="upper-k"),
        pytest.param("1Kii", ERR_SUFFIX, id="bad-binary"),
        pytest.param("1e", ERR_SUFFIX, id="bare-e"),
        pytest.param(True, ERR_FORMAT_WRONG, id="bool"),
    ],
)
def test_parse_errors(text: object, error: str) -> None:
    with pytest.raises(QuantityError) as exc:
        parse_quantity(text)
    assert str(exc.value) == error
    assert not is_quantity(text)


def test_regex_message_is_upstream() -> None:
    assert ERR_FORMAT_WRONG == (
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )


@pytest.mark.parametrize(
    ("text", "value", "milli"),
    [
        pytest.param("100m", 1, 100, id="milli-rounds-up"),
        pytest.param("1.5", 2, 1500, id="half"),
        pytest.param("1Ki", 1024, 1024000, id="kibi"),
        pytest.param("-1.5", -2, -1500, id="negative-away-from-zero"),
        pytest.param("1n", 1, 1, id="nano"),
    ],
)
def test_value_and_milli_value(text: str, value: int, milli: int) -> None:
    q = parse_quantity(text)
    assert q.int_value() == value
    assert q.milli_value() == milli


@pytest.mark.parametrize(
    ("a", "b", "cmp", "total"),
    [
        pytest.param("1", "1000m", 0, "2", id="equal"),
        pytest.param("1Gi", "1G", 1, "2073741824", id="gibi-vs-giga"),
        pytest.param("100m", "0.2", -1, "300m", id="less"),
        pytest.param("1Mi", "1Mi", 0, "2Mi", id="binary-sum"),
    ],
)
def test_compare_and_add(a: str, b: str, cmp: int, total: str) -> None:
    qa, qb = parse_quantity(a), parse_quantity(b)
    assert qa.cmp(qb) == cmp
    assert qa.add(qb).canonical() == total
    assert qa.add(qb).sub(qb).cmp(qa) == 0
