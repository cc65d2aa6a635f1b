"""Patches: JSON patch (RFC 6902), JSON merge patch (RFC 7386), strategic merge patch and server-side apply.

All functions are pure: they return new objects and never modify their inputs.  Errors are
:class:`~kybernetes.api.errors.StatusError` shaped like upstream's.
"""

from kybernetes.api.patch.apply import apply, conflict_error, track_update
from kybernetes.api.patch.json_patch import apply_json_patch
from kybernetes.api.patch.merge import apply_merge_patch
from kybernetes.api.patch.shape import Lookup, Schema, Shape, default_lookup
from kybernetes.api.patch.strategic import apply_strategic_merge_patch, unsupported_for_custom_resources

__all__ = [
    "Lookup",
    "Schema",
    "Shape",
    "apply",
    "apply_json_patch",
    "apply_merge_patch",
    "apply_strategic_merge_patch",
    "conflict_error",
    "default_lookup",
    "track_update",
    "unsupported_for_custom_resources",
]
