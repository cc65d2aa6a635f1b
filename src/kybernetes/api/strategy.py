"""The per-kind strategy protocol: what the generic REST store asks a kind before it writes.

Order on create: ``prepare_for_create`` → ``default`` → ``validate``.  On update (also patch and apply):
``prepare_for_update(new, old)`` → ``default`` → ``validate_update``.  On a status update:
``prepare_for_status_update(new, old)`` → ``validate_status_update``.  Objects are JSON dicts; prepare and
default mutate in place; validate never mutates and returns field errors (empty: valid).  Metadata handling common
to every kind (uid, creationTimestamp, resourceVersion, generation bookkeeping) is done by the API server, not here.
"""

from __future__ import annotations

from typing import Any, Protocol

from kybernetes.api.errors import FieldError

Obj = dict[str, Any]


class Strategy(Protocol):
    #: the kind keeps ``status`` only through the status subresource (spec/status split)
    has_status_subresource: bool

    def prepare_for_create(self, obj: Obj) -> None:
        """Reset what a client may not set on create (``status`` for most kinds)."""
        ...

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        """Carry over what a main-resource update may not change (``status`` for most kinds)."""
        ...

    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        """Carry over everything but ``status`` (and metadata labels/annotations stay client-settable); ``new``
        may share values with ``old``, which the caller then leaves alone."""
        ...

    def default(self, obj: Obj) -> None:
        """Fill in upstream's defaults (``strategy.type: RollingUpdate``, pod ``dnsPolicy``, …)."""
        ...

    def validate(self, obj: Obj) -> list[FieldError]:
        ...

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        """``validate(new)`` plus immutability rules."""
        ...

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        ...

    def generation_changes(self, new: Obj, old: Obj) -> bool:
        """Whether this update bumps ``metadata.generation`` (a spec change, for most kinds)."""
        ...

    def warnings(self, obj: Obj) -> list[str]:
        """Deprecation or hint warnings returned as ``Warning`` headers."""
        ...
