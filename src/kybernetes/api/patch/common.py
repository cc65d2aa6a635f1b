"""Helpers shared by the patch modules: body decoding, upstream-shaped errors, Go-style value printing."""

from __future__ import annotations

import copy
import json
from typing import Any

import orjson

from kybernetes.api.errors import StatusError, bad_request

INVALID_REQUEST = "the server rejected our request due to an error in our request"


def clone(value: Any) -> Any:
    """A deep copy of a JSON value at orjson (C) speed; ``copy.deepcopy`` for what orjson cannot encode
    (non-string keys, integers beyond 64 bits, other types).

    Only for JSON values: tuples come back as lists and a non-finite float would come back as ``None`` (the
    request decoders reject NaN and infinities, as upstream's JSON conversion does, so none reaches here).
    """
    try:
        return orjson.loads(orjson.dumps(value))
    except (orjson.JSONEncodeError, TypeError):
        return copy.deepcopy(value)


def server_error(message: str) -> StatusError:
    """A plain Go error reaching the client: 500, empty (Unknown) reason, the message verbatim."""
    return StatusError(500, "", message)


def generic_invalid() -> StatusError:
    """Upstream's ``NewGenericServerResponse(422, ...)``: reason Invalid, a fixed message, empty details."""
    return StatusError(422, "Invalid", INVALID_REQUEST, {})


def decode_json(body: bytes | str) -> Any:
    """Parse a JSON body, raising ``ValueError`` with a Go-like message when it is not JSON."""
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid character at offset {exc.pos}: {exc.msg}") from None
    except UnicodeDecodeError:
        raise ValueError("invalid UTF-8 in JSON body") from None


def go_kind(value: Any) -> str:
    """The JSON kind as Go's decoder names it in ``cannot unmarshal <kind> into ...``."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "null"


def decode_object(body: bytes | str | dict[str, Any]) -> dict[str, Any]:
    """A patch body that must be a JSON object (merge patch, strategic merge patch); 400 otherwise."""
    if isinstance(body, dict):
        return body
    try:
        value = decode_json(body)
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    if not isinstance(value, dict):
        raise bad_request(f"json: cannot unmarshal {go_kind(value)} into Go value of type "
                          "map[string]interface {}")
    return value


def go_format(value: Any) -> str:
    """``fmt.Sprintf("%v", v)`` for a decoded JSON value (used in upstream error messages)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_format(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_format(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def go_quote(value: Any) -> str:
    """SMD's ``value.ToString``: strings quoted, other scalars plain."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(go_quote(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={go_quote(v)}" for k, v in sorted(value.items())) + "}"
    return go_format(value)
