"""``resource.Quantity``: parse, canonical string form, arithmetic, as upstream's apimachinery.

A quantity is an exact rational number plus the *format* its suffix implied (``BinarySI`` for ``Ki``…``Ei``,
``DecimalSI`` for ``n u m k M G T P E`` or none, ``DecimalExponent`` for ``e<n>``).  Parsing rounds away
from zero to nano precision (upstream never loses precision downwards); :meth:`Quantity.canonical` gives the
string the API
server returns (``1.5`` → ``1500m``, ``1000`` → ``1k``, ``2048Ki`` → ``2Mi``, ``0.5Ki`` → ``512``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

QUANTITY_REGEX = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
ERR_FORMAT_WRONG = f"quantities must match the regular expression '{QUANTITY_REGEX}'"
ERR_NUMERIC = "unable to parse numeric part of quantity"
ERR_SUFFIX = "unable to parse quantity's suffix"

BINARY_SI = "BinarySI"
DECIMAL_SI = "DecimalSI"
DECIMAL_EXPONENT = "DecimalExponent"

_SPLIT = re.compile(QUANTITY_REGEX)
_NUMBER = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$")
_BIN_SUFFIX = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DEC_SUFFIX = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DEC_BY_EXP = {v: k for k, v in _DEC_SUFFIX.items()}
_BIN_BY_EXP = {0: "", **{v: k for k, v in _BIN_SUFFIX.items()}}
_NANO = Fraction(1, 10**9)


class QuantityError(ValueError):
    """A string is not a quantity; ``str(err)`` is upstream's message."""


def _round_away(value: Fraction, unit: Fraction) -> Fraction:
    steps = value / unit
    if steps.denominator == 1:
        return value
    n = math.ceil(steps) if steps > 0 else math.floor(steps)
    return n * unit


@dataclass(frozen=True)
class Quantity:
    value: Fraction
    format: str = DECIMAL_SI

    # --- arithmetic and comparison --------------------------------------------------------------------------
    def cmp(self, other: Quantity) -> int:
        return (self.value > other.value) - (self.value < other.value)

    def __lt__(self, other: Quantity) -> bool:
        return self.value < other.value

    def __le__(self, other: Quantity) -> bool:
        return self.value <= other.value

    def add(self, other: Quantity) -> Quantity:
        return Quantity(self.value + other.value, self.format)

    def sub(self, other: Quantity) -> Quantity:
        return Quantity(self.value - other.value, self.format)

    def neg(self) -> Quantity:
        return Quantity(-self.value, self.format)

    def is_zero(self) -> bool:
        return self.value == 0

    def sign(self) -> int:
        return (self.value > 0) - (self.value < 0)

    def int_value(self) -> int:
        """Upstream's ``Value()``: rounded up (away from zero) to an integer."""
        return int(_round_away(self.value, Fraction(1)))

    def milli_value(self) -> int:
        """Upstream's ``MilliValue()``: value * 1000, rounded away from zero."""
        return int(_round_away(self.value * 1000, Fraction(1)))

    def as_float(self) -> float:
        return float(self.value)

    # --- formatting -----------------------------------------------------------------------------------------
    def canonical(self) -> str:
        """The canonical string upstream serialises (``Quantity.String()``)."""
        value = self.value
        if value == 0:
            return "0"
        sign = "-" if value < 0 else ""
        value = abs(value)
        fmt = self.format
        if fmt == BINARY_SI and (value < 1024 or value.denominator != 1):
            fmt = DECIMAL_SI
        if fmt == BINARY_SI:
            number = value.numerator
            exp = 0
            while number % 1024 == 0 and exp < 60:
                number //= 1024
                exp += 10
            return f"{sign}{number}{_BIN_BY_EXP[exp]}"
        mantissa, exp10 = _decimal_parts(value)
        shift = exp10 % 3  # Python's modulo is non-negative: round the exponent down to a multiple of 3
        mantissa *= 10**shift
        exp10 -= shift
        if fmt == DECIMAL_SI and exp10 in _DEC_BY_EXP:
            suffix = _DEC_BY_EXP[exp10]
        else:
            suffix = f"e{exp10}" if exp10 else ""
        return f"{sign}{mantissa}{suffix}"

    def __str__(self) -> str:
        return self.canonical()


def _decimal_parts(value: Fraction) -> tuple[int, int]:
    """A positive power-of-ten-denominator value as (mantissa without trailing zeros, exponent)."""
    exp = 0
    while value.denominator != 1:
        value *= 10
        exp -= 1
    number = value.numerator
    while number % 10 == 0:
        number //= 10
        exp += 1
    return number, exp


def parse_quantity(text: Any) -> Quantity:
    """Parse a quantity from its JSON form (a string, or a JSON number); raise :class:`QuantityError`."""
    if isinstance(text, bool):
        raise QuantityError(ERR_FORMAT_WRONG)
    if isinstance(text, int):
        text = str(text)
    elif isinstance(text, float):
        text = repr(text)
    if not isinstance(text, str) or not text:
        raise QuantityError(ERR_FORMAT_WRONG)
    m = _SPLIT.match(text.strip())
    if m is None:
        raise QuantityError(ERR_FORMAT_WRONG)
    num, suffix = m.group(1), m.group(2)
    if not _NUMBER.match(num):
        raise QuantityError(ERR_NUMERIC)
    try:
        number = Fraction(num)
    except (ValueError, ZeroDivisionError) as exc:
        raise QuantityError(ERR_NUMERIC) from exc
    if suffix in _BIN_SUFFIX:
        value, fmt = number * (2 ** _BIN_SUFFIX[suffix]), BINARY_SI
    elif suffix in _DEC_SUFFIX:
        value, fmt = number * Fraction(10) ** _DEC_SUFFIX[suffix], DECIMAL_SI
    elif len(suffix) > 1 and suffix[0] in "eE" and re.fullmatch(r"[-+]?[0-9]+", suffix[1:]):
        value, fmt = number * Fraction(10) ** int(suffix[1:]), DECIMAL_EXPONENT
    else:
        raise QuantityError(ERR_SUFFIX)
    return Quantity(_round_away(value, _NANO), fmt)


def canonical(text: Any) -> str:
    """Shorthand: the canonical string of a quantity's JSON form."""
    return parse_quantity(text).canonical()


def is_quantity(text: Any) -> bool:
    try:
        parse_quantity(text)
    except QuantityError:
        return False
    return True
