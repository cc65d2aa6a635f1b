"""RFC 6902 JSON Patch (``application/json-patch+json``) with upstream's errors.

Upstream decodes the body first (400 BadRequest when it is not a list of operation objects), refuses more than
10000 operations (413), and answers any operation that cannot be applied — a failed ``test``, a missing path,
an unknown op — with 422 Invalid and the generic message "the server rejected our request due to an error in
our request".
"""

from __future__ import annotations

from typing import Any

import jsonpatch
import jsonpointer

from kybernetes.api.errors import bad_request, request_entity_too_large
from kybernetes.api.patch.common import decode_json, generic_invalid, go_kind

MAX_OPERATIONS = 10000


def decode_json_patch(patch: bytes | str | list[Any]) -> list[dict[str, Any]]:
    """The operations of a JSON patch body; 400 when the body is not a JSON array of objects."""
    if isinstance(patch, list):
        ops: Any = patch
    else:
        try:
            ops = decode_json(patch)
        except ValueError as exc:
            raise bad_request(str(exc)) from None
    if not isinstance(ops, list):
        raise bad_request(f"json: cannot unmarshal {go_kind(ops)} into Go value of type jsonpatch.Patch")
    for op in ops:
        if not isinstance(op, dict):
            raise bad_request(f"json: cannot unmarshal {go_kind(op)} into Go value of type "
                              "jsonpatch.Operation")
    if len(ops) > MAX_OPERATIONS:
        raise request_entity_too_large(
            f"The allowed maximum operations in a JSON patch is {MAX_OPERATIONS}, got {len(ops)}")
    return ops


def apply_json_patch(obj: dict[str, Any], patch_bytes: bytes | str | list[Any]) -> dict[str, Any]:
    """Apply an RFC 6902 patch to a copy of ``obj`` and return the result (``obj`` is not modified).

    Raises StatusError: 400 (malformed body), 413 (too many operations), 422 (an operation does not apply or
    the result is not an object).
    """
    ops = decode_json_patch(patch_bytes)
    try:
        result = jsonpatch.JsonPatch(ops).apply(obj, in_place=False)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, KeyError, IndexError, TypeError,
            ValueError, AttributeError):
        raise generic_invalid() from None
    if not isinstance(result, dict):
        raise generic_invalid()
    return result
