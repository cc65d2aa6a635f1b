"""RFC 7386 JSON Merge Patch (``application/merge-patch+json``).

Objects merge key by key, ``null`` deletes a key, every other value (lists included) replaces the target.
Nulls nested inside a value that replaces are dropped, as upstream's merge does.
"""

from __future__ import annotations

from typing import Any

from kybernetes.api.errors import bad_request
from kybernetes.api.patch.common import clone, decode_json

BAD_PATCH = "Invalid JSON Patch"


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def merge_values(target: Any, patch: Any, *, consume: bool = False) -> Any:
    """RFC 7386 ``MergePatch(target, patch)`` on decoded JSON; the patch is left untouched, and so is the target
    unless ``consume`` (the caller gives it away).

    The target is copied once (at C speed), or not at all with ``consume``, and merged into in place; values taken
    from the patch are rebuilt by ``_without_nulls``, so the result shares no container with the patch.
    """
    if not isinstance(patch, dict):
        return _without_nulls(patch)
    result: dict[str, Any] = (target if consume else clone(target)) if isinstance(target, dict) else {}
    _merge_into(result, patch)
    return result


def _merge_into(result: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            _merge_into(result[key], value)
        else:
            result[key] = _without_nulls(value)


def apply_merge_patch(obj: dict[str, Any], patch: bytes | str | dict[str, Any], *,
                      consume: bool = False) -> dict[str, Any]:
    """Apply a JSON merge patch (a body or an already decoded object) to a copy of ``obj`` (to ``obj`` itself
    with ``consume``: the caller gives it away).

    Raises StatusError 400 ``Invalid JSON Patch`` when the body is not JSON, is ``null`` or is not an object.
    """
    if isinstance(patch, dict):
        decoded: Any = patch
    else:
        try:
            decoded = decode_json(patch)
        except ValueError:
            raise bad_request(BAD_PATCH) from None
    if not isinstance(decoded, dict):
        raise bad_request(BAD_PATCH)
    result = merge_values(obj, decoded, consume=consume)
    assert isinstance(result, dict)
    return result
