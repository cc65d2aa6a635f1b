"""Strategic merge patch (``application/strategic-merge-patch+json``), upstream semantics.

Objects merge key by key and ``null`` deletes.  A list whose field has patch strategy ``merge`` is merged: by
the merge key for lists of objects, as a set union for primitive lists; every other list is replaced.  A field
with strategy ``replace`` is replaced whole.  Directives:

* ``$patch: replace`` / ``$patch: delete`` in an object; in a merged list item ``$patch: delete`` removes the
  item with that key and ``$patch: replace`` replaces the whole list;
* ``$retainKeys: [...]`` clears every key of the live object not listed;
* ``$setElementOrder/<list>: [...]`` fixes the order of a merged list (kubectl apply sends it);
* ``$deleteFromPrimitiveList/<list>: [...]`` removes values from a merged primitive list.

Errors follow upstream: a body that is not an object, and malformed ``$retainKeys``/``$setElementOrder``/
``$deleteFromPrimitiveList`` directives are 400; lists of lists are 422; other failures (missing merge key,
unknown ``$patch`` value) surface as upstream's plain errors: 500 with the upstream message.
"""

from __future__ import annotations

from typing import Any

from kybernetes.api.errors import StatusError, bad_request
from kybernetes.api.patch.common import clone, decode_object, generic_invalid, go_format, server_error
from kybernetes.api.patch.shape import Lookup, Schema, Shape, schema_for
from kybernetes.api.schema import TypeDef

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ORDER = "$setElementOrder"
DELETE_PRIMITIVE = "$deleteFromPrimitiveList"

ERR_PRIMITIVE_LIST = "invalid patch format of primitive list"
ERR_RETAIN_KEYS = "invalid patch format of retainKeys"
ERR_SET_ORDER = "invalid patch format of setElementOrder list"

ACCEPTED_PATCH_TYPES = ("application/json-patch+json, application/merge-patch+json, "
                        "application/apply-patch+yaml")


def unsupported_for_custom_resources() -> StatusError:
    """Upstream's 415 when a strategic merge patch targets a kind without Go types (custom resources)."""
    return StatusError(415, "UnsupportedMediaType",
                       "the body of the request was in an unknown format - accepted media types include: "
                       + ACCEPTED_PATCH_TYPES)


def apply_strategic_merge_patch(obj: dict[str, Any], patch: bytes | str | dict[str, Any],
                                type_def: TypeDef | None, *, lookup: Lookup | None = None,
                                consume: bool = False) -> dict[str, Any]:
    """Apply a strategic merge patch to a copy of ``obj`` using the patch facts of ``type_def``.

    ``type_def`` None (a custom resource) is refused with 415 like upstream.  ``lookup`` resolves referenced
    types (defaults to the generated schema table).  The patch is never modified; ``obj`` neither, unless
    ``consume`` says the caller gives it away (then it is merged in place, without a copy).
    """
    if type_def is None:
        raise unsupported_for_custom_resources()
    patch_map = decode_object(patch)
    schema = schema_for(lookup)
    merger = _Merger(schema)
    return merger.merge_map(obj if consume else clone(obj), clone(patch_map), schema.root(type_def))


def _go_type(value: Any) -> str:
    if value is None:
        return "%!s(<nil>)"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    return "string"


def _bad_arg_type(expected: str, actual: Any) -> StatusError:
    return server_error(f"expected a {expected}, but received a {_go_type(actual)}")


def _no_merge_key(item: dict[str, Any], key: str) -> StatusError:
    return server_error(f"map: {go_format(item)} does not contain declared merge key: {key}")


def _bad_patch_type(kind: Any, item: dict[str, Any]) -> StatusError:
    return server_error(f"unknown patch type: {go_format(kind)} in map: {go_format(item)}")


def _eq(a: Any, b: Any) -> bool:
    """Go's interface equality on decoded JSON scalars: ``1``, ``1.0`` and ``True`` all differ."""
    return type(a) is type(b) and a == b


def _extract_key(key: str, prefix: str) -> str:
    head, sep, rest = key.partition("/")
    if not sep or head != prefix:
        raise bad_request(ERR_PRIMITIVE_LIST if prefix == DELETE_PRIMITIVE else ERR_SET_ORDER)
    return rest


def _remove_directives(value: Any) -> tuple[Any, bool]:
    """Strip maps carrying ``$patch`` from a value taken verbatim from the patch; (value, keep)."""
    if isinstance(value, dict):
        if DIRECTIVE in value:
            return None, False
        for k in list(value):
            v, keep = _remove_directives(value[k])
            if keep:
                value[k] = v
            else:
                del value[k]
        return value, True
    if isinstance(value, list):
        out = []
        for item in value:
            v, keep = _remove_directives(item)
            if keep:
                out.append(v)
        return out, True
    return value, True


def _discard_nulls(value: Any) -> None:
    if isinstance(value, dict):
        for k in list(value):
            if value[k] is None:
                del value[k]
            else:
                _discard_nulls(value[k])
    elif isinstance(value, list):
        for item in value:
            _discard_nulls(item)


def _element_kind(*lists: list[Any]) -> str:
    kind = ""
    for items in lists:
        for item in items:
            current = _go_type(item)
            if not kind:
                kind = current
                if isinstance(item, list):
                    raise generic_invalid()
            elif kind != current:
                raise server_error("list element types are not identical: " + go_format(list(lists)))
    if not kind:
        raise server_error("no elements in any of the given slices")
    return kind


_MAP_KIND = "map[string]interface {}"


class _Merger:
    """The merge walk; works in place on private copies of the object and the patch."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema

    def merge_map(self, original: dict[str, Any], patch: dict[str, Any], shape: Shape) -> dict[str, Any]:
        if DIRECTIVE in patch:
            directive = patch[DIRECTIVE]
            if directive == "replace":
                del patch[DIRECTIVE]
                return patch
            if directive == "delete":
                return {}
            raise _bad_patch_type(directive, patch)
        self._retain_keys(original, patch)
        self._set_element_order(original, patch, shape)
        for key, patch_value in list(patch.items()):
            is_delete_list = key.startswith(DELETE_PRIMITIVE)
            if is_delete_list:
                key = _extract_key(key, DELETE_PRIMITIVE)
            if patch_value is None:
                original.pop(key, None)
                continue
            if key not in original or not self._same_type(original[key], patch_value):
                if not is_delete_list:
                    self._take_patch_value(original, key, patch_value)
                continue
            child, _ = self.schema.child(shape, key)
            current = original[key]
            if isinstance(current, dict):
                if child.patch_strategy == "replace":
                    original[key] = patch_value
                else:
                    original[key] = self.merge_map(current, patch_value, child)
            elif isinstance(current, list):
                original[key] = self.merge_list_field(current, patch_value, child, is_delete_list)
            else:
                self._take_patch_value(original, key, patch_value)
        return original

    @staticmethod
    def _same_type(a: Any, b: Any) -> bool:
        return _go_type(a) == _go_type(b)

    @staticmethod
    def _take_patch_value(original: dict[str, Any], key: str, value: Any) -> None:
        _discard_nulls(value)
        cleaned, keep = _remove_directives(value)
        if keep:
            original[key] = cleaned
        else:
            original.pop(key, None)

    @staticmethod
    def _retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
        if RETAIN_KEYS not in patch:
            return
        retained = patch.pop(RETAIN_KEYS)
        if not isinstance(retained, list):
            raise bad_request(ERR_RETAIN_KEYS)
        for key, value in patch.items():
            if value is None or key.startswith((DELETE_PRIMITIVE, SET_ORDER)):
                continue
            if key not in retained:
                raise bad_request(ERR_RETAIN_KEYS)
        for key in list(original):
            if key not in retained:
                del original[key]

    def _set_element_order(self, original: dict[str, Any], patch: dict[str, Any], shape: Shape) -> None:
        for key in [k for k in patch if k.startswith(SET_ORDER)]:
            order = patch.pop(key)
            if not isinstance(order, list):
                raise _bad_arg_type("[]interface {}", order)
            field = _extract_key(key, SET_ORDER)
            found_original, found_patch = field in original, field in patch
            original_list = original.get(field) if found_original else []
            patch_list = patch.get(field) if found_patch else []
            if not isinstance(original_list, list):
                raise _bad_arg_type("[]interface {}", original_list)
            if not isinstance(patch_list, list):
                raise _bad_arg_type("[]interface {}", patch_list)
            child, _ = self.schema.child(shape, field)
            merge_key = child.merge_key
            _validate_order(patch_list, order, merge_key)
            if found_original and found_patch:
                merged = self.merge_list_field(original_list, patch_list, child, False)
            elif found_original:
                merged = original_list
            elif found_patch:
                merged, _ = _remove_directives(patch_list)
            else:
                continue
            is_map = _element_kind(original_list, patch_list) == _MAP_KIND
            patch_items, server_only = _partition(merged, order, merge_key, is_map)
            original[field] = _normalize_order(patch_items, server_only, order, original_list, merge_key,
                                               is_map)
            patch.pop(field, None)

    def merge_list_field(self, original: list[Any], patch: list[Any], shape: Shape,
                         is_delete_list: bool) -> list[Any]:
        if shape.patch_strategy != "merge":
            return patch
        return self._merge_list(original, patch, shape, is_delete_list)

    def _merge_list(self, original: list[Any], patch: list[Any], shape: Shape,
                    is_delete_list: bool) -> list[Any]:
        if not original and not patch:
            return original
        is_map = _element_kind(original, patch) == _MAP_KIND
        merge_key = shape.merge_key
        if not is_map:
            if is_delete_list:
                return [v for v in original if not any(_eq(v, d) for d in patch)]
            merged: list[Any] = []
            for v in original + patch:
                if not any(_eq(v, m) for m in merged):
                    merged.append(v)
        else:
            if not merge_key:
                raise server_error("cannot merge lists without merge key for type map")
            original, patch = _special_elements(original, patch, merge_key)
            merged = self._merge_items(list(original), patch, merge_key, Schema.item(shape))
        patch_items, server_only = _partition(merged, patch, merge_key, is_map)
        return _normalize_order(patch_items, server_only, patch, original, merge_key, is_map)

    def _merge_items(self, original: list[Any], patch: list[Any], merge_key: str, item: Shape) -> list[Any]:
        for value in patch:
            if merge_key not in value:
                raise _no_merge_key(value, merge_key)
            index = _find(original, merge_key, value[merge_key])
            if index >= 0:
                original[index] = self.merge_map(original[index], value, item)
            else:
                original.append(value)
        return original


def _find(items: list[Any], merge_key: str, key_value: Any) -> int:
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise server_error(f"value for key {index} is not a map.")
        if merge_key in item and _eq(item[merge_key], key_value):
            return index
    return -1


def _has_key(item: Any, merge_key: str, key_value: Any) -> bool:
    return isinstance(item, dict) and merge_key in item and _eq(item[merge_key], key_value)


def _special_elements(original: list[Any], patch: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    """``$patch`` items of a merged list: deletions apply to ``original``; replace returns the patch."""
    plain: list[Any] = []
    replace = False
    for value in patch:
        if DIRECTIVE not in value:
            plain.append(value)
            continue
        directive = value[DIRECTIVE]
        if directive == "delete":
            if merge_key not in value:
                raise _no_merge_key(value, merge_key)
            original = [o for o in original if not _has_key(o, merge_key, value[merge_key])]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise server_error("merging lists cannot yet be specified in the patch")
        else:
            raise _bad_patch_type(directive, value)
    if replace:
        return plain, []
    return original, plain


def _key_of(item: Any, merge_key: str, is_map: bool) -> Any:
    if is_map:
        return item.get(merge_key) if isinstance(item, dict) else None
    return item


def _index(items: list[Any], value: Any, merge_key: str, is_map: bool) -> int:
    wanted = _key_of(value, merge_key, is_map)
    for i, item in enumerate(items):
        if _eq(_key_of(item, merge_key, is_map), wanted):
            return i
    return -1


def _partition(merged: list[Any], by: list[Any], merge_key: str, is_map: bool) -> tuple[list[Any], list[Any]]:
    """Split ``merged`` into items present in ``by`` (by merge key for maps) and the server-only rest."""
    present: list[Any] = []
    server_only: list[Any] = []
    for value in merged:
        if is_map and merge_key:
            if not isinstance(value, dict):
                raise _bad_arg_type("map[string]interface {}", value)
            if merge_key not in value:
                raise _no_merge_key(value, merge_key)
            found = _find(by, merge_key, value[merge_key]) >= 0
        else:
            found = any(_eq(value, b) for b in by)
        (present if found else server_only).append(value)
    return present, server_only


def _normalize_slice(items: list[Any], order: list[Any], merge_key: str, is_map: bool) -> list[Any]:
    to_delete: list[Any] = []
    if is_map:
        for item in items + order:
            if not isinstance(item, dict):
                raise _bad_arg_type("map[string]interface {}", item)
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)
        to_delete = [i for i in items if i.get(DIRECTIVE) == "delete"]
        items = [i for i in items if i.get(DIRECTIVE) != "delete"]

    def position(item: Any) -> int:
        found = _index(order, item, merge_key, is_map)
        return found if found >= 0 else len(order)

    return sorted(items, key=position) + to_delete


def _normalize_order(patch_items: list[Any], server_only: list[Any], patch_order: list[Any],
                     server_order: list[Any], merge_key: str, is_map: bool) -> list[Any]:
    """Patch items in patch order, server-only items in live order, interleaved by their live positions."""
    right = _normalize_slice(patch_items, patch_order, merge_key, is_map)
    left = _normalize_slice(server_only, server_order, merge_key, is_map)
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li = _index(server_order, left[i], merge_key, is_map)
            ri = _index(server_order, right[j], merge_key, is_map)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


def _validate_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    """The non-deleted items of the patch list must appear in ``$setElementOrder`` in the same order."""
    if not order or not patch_list:
        return
    items = patch_list
    if merge_key:
        for item in patch_list:
            if not isinstance(item, dict):
                raise _bad_arg_type("map[string]interface {}", item)
        items = [i for i in patch_list if i.get(DIRECTIVE) != "delete"]
    p = s = 0
    while p < len(items) and s < len(order):
        if isinstance(items[p], dict) and DIRECTIVE in items[p]:
            p += 1
            continue
        if _order_key_equal(items[p], order[s], merge_key):
            p += 1
        s += 1
    if p < len(items) and s >= len(order):
        raise server_error(f"the order in patch list:\n{go_format(patch_list)}\n doesn't match {SET_ORDER} "
                           f"list:\n{go_format(order)}")


def _order_key_equal(left: Any, right: Any, merge_key: str) -> bool:
    if not merge_key:
        return _eq(left, right)
    for side in (left, right):
        if not isinstance(side, dict):
            raise _bad_arg_type("map[string]interface {}", side)
        if merge_key not in side:
            raise _no_merge_key(side, merge_key)
    return _eq(left[merge_key], right[merge_key])


__all__ = ["apply_strategic_merge_patch", "unsupported_for_custom_resources"]
