"""Protobuf wire format primitives: a bounds-checked reader and a small writer.

Used by :mod:`kybernetes.api.protobuf` (Kubernetes objects) and :mod:`kybernetes.api.openapi` (the gnostic
OpenAPI v2 document). Reading never raises anything but :class:`WireError` for malformed input.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

VARINT, FIXED64, LEN, FIXED32 = 0, 1, 2, 5


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """The unsigned varint at ``pos`` and the position after it."""
    result = shift = 0
    while True:
        if pos >= len(data):
            raise WireError("unexpected end of data in varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise WireError("varint too long")


def iter_fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """``(number, wire type, value)`` for every field: an int for varints, bytes for the others."""
    pos = 0
    end = len(data)
    while pos < end:
        key, pos = read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError("invalid field number 0")
        if wire == VARINT:
            value, pos = read_varint(data, pos)
            yield number, wire, value
        elif wire == LEN:
            length, pos = read_varint(data, pos)
            if pos + length > end:
                raise WireError("length-delimited field runs past the end of the message")
            yield number, wire, data[pos:pos + length]
            pos += length
        elif wire == FIXED64:
            if pos + 8 > end:
                raise WireError("unexpected end of data in fixed64")
            yield number, wire, data[pos:pos + 8]
            pos += 8
        elif wire == FIXED32:
            if pos + 4 > end:
                raise WireError("unexpected end of data in fixed32")
            yield number, wire, data[pos:pos + 4]
            pos += 4
        else:
            raise WireError(f"unsupported wire type {wire}")


def to_int64(value: int) -> int:
    """Reinterpret an unsigned 64-bit varint as a signed int64."""
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


def to_int32(value: int) -> int:
    """Reinterpret a varint as a signed int32 (upstream truncates to the low 32 bits)."""
    value &= (1 << 32) - 1
    return value - (1 << 32) if value >= 1 << 31 else value


def unpack_double(raw: bytes) -> float:
    return float(struct.unpack("<d", raw)[0])


def encode_varint(value: int) -> bytes:
    """Varint of ``value``; negative numbers use the 10-byte two's complement form."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class Writer:
    """Appends fields to a message buffer."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def varint(self, number: int, value: int) -> None:
        self.buf += encode_varint(number << 3 | VARINT)
        self.buf += encode_varint(value)

    def boolean(self, number: int, value: bool) -> None:
        self.varint(number, 1 if value else 0)

    def data(self, number: int, value: bytes) -> None:
        self.buf += encode_varint(number << 3 | LEN)
        self.buf += encode_varint(len(value))
        self.buf += value

    def string(self, number: int, value: str) -> None:
        self.data(number, value.encode())

    def double(self, number: int, value: float) -> None:
        self.buf += encode_varint(number << 3 | FIXED64)
        self.buf += struct.pack("<d", value)

    def getvalue(self) -> bytes:
        return bytes(self.buf)
