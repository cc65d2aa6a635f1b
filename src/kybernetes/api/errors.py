"""API errors as Kubernetes ``Status`` objects.

Every error that reaches a client is a :class:`StatusError`; ``to_status()`` gives the ``metav1.Status`` body and
``code`` the HTTP status.  Messages follow upstream word for word (apimachinery ``api/errors``), because kubectl
prints them verbatim and tests compare them.

Error tree::

    StatusError
    ├── 400 BadRequest        bad_request()
    ├── 401 Unauthorized      unauthorized()
    ├── 403 Forbidden         forbidden()
    ├── 404 NotFound          not_found()
    ├── 405 MethodNotAllowed  method_not_supported()
    ├── 406 NotAcceptable     not_acceptable()
    ├── 409 AlreadyExists     already_exists()
    ├── 409 Conflict          conflict()
    ├── 410 Expired / Gone    expired(), gone()
    ├── 413 RequestEntityTooLarge request_entity_too_large()
    ├── 415 UnsupportedMediaType  unsupported_media_type()
    ├── 422 Invalid           invalid()   (field causes from :class:`FieldError`)
    ├── 500 InternalError     internal_error()
    └── 503 ServiceUnavailable service_unavailable()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass(frozen=True)
class FieldError:
    """One validation failure on a field path (``spec.ports[0].port``), rendered like upstream's field.Error."""

    type: str  # FieldValueInvalid, FieldValueRequired, FieldValueNotSupported, FieldValueDuplicate, ...
    field: str
    detail: str = ""
    value: Any = None
    has_value: bool = False

    _PREFIX = {
        "FieldValueRequired": "Required value",
        "FieldValueInvalid": "Invalid value",
        "FieldValueNotSupported": "Unsupported value",
        "FieldValueDuplicate": "Duplicate value",
        "FieldValueForbidden": "Forbidden",
        "FieldValueTooLong": "Too long",
        "FieldValueTooMany": "Too many",
        "FieldValueNotFound": "Not found",
        "InternalError": "Internal error",
        "FieldValueTypeInvalid": "Invalid value",
    }

    def message(self) -> str:
        """The cause message without the field: ``Invalid value: 0: must be between 1 and 65535, inclusive``."""
        prefix = self._PREFIX.get(self.type, self.type)
        parts = [prefix]
        if self.has_value:
            parts.append(_render_value(self.value))
        if self.detail:
            parts.append(self.detail)
        return ": ".join(parts)

    def error(self) -> str:
        """``<field>: <message>`` as in the Status message."""
        return f"{self.field}: {self.message()}" if self.field else self.message()

    def cause(self) -> dict[str, Any]:
        return {"reason": self.type, "message": self.message(), "field": self.field}


def _render_value(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return orjson.dumps(value).decode()


def required(path: str, detail: str = "") -> FieldError:
    return FieldError("FieldValueRequired", path, detail)


def invalid_value(path: str, value: Any, detail: str = "") -> FieldError:
    return FieldError("FieldValueInvalid", path, detail, value, True)


def not_supported(path: str, value: Any, valid: list[str]) -> FieldError:
    detail = "supported values: " + ", ".join(f'"{v}"' for v in valid) if valid else ""
    return FieldError("FieldValueNotSupported", path, detail, value, True)


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError("FieldValueDuplicate", path, "", value, True)


def forbidden_field(path: str, detail: str) -> FieldError:
    return FieldError("FieldValueForbidden", path, detail)


def too_long(path: str, value: Any, max_length: int) -> FieldError:
    return FieldError("FieldValueTooLong", path, f"may not be more than {max_length} bytes", value, False)


@dataclass
class StatusError(Exception):
    """An API error carrying the ``metav1.Status`` a client receives."""

    code: int
    reason: str
    message: str
    details: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}"

    def to_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            status["details"] = self.details
        return status


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def _details(name: str, group: str, kind: str, **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if kind:
        details["kind"] = kind
    details.update(extra)
    return details


def not_found(resource: str, group: str, name: str) -> StatusError:
    """``pods "x" not found``; ``details.kind`` is the plural resource, as upstream."""
    what = _qualified(resource, group)
    msg = f'{what} "{name}" not found' if name else f"{what} not found"
    return StatusError(404, "NotFound", msg, _details(name, group, resource))


def path_not_found() -> StatusError:
    return StatusError(404, "NotFound", "the server could not find the requested resource", {})


def already_exists(resource: str, group: str, name: str) -> StatusError:
    msg = f'{_qualified(resource, group)} "{name}" already exists'
    return StatusError(409, "AlreadyExists", msg, _details(name, group, resource))


def conflict(resource: str, group: str, name: str, why: str) -> StatusError:
    msg = f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": {why}'
    return StatusError(409, "Conflict", msg, _details(name, group, resource))


STALE_OBJECT = "the object has been modified; please apply your changes to the latest version and try again"


def invalid(kind: str, group: str, name: str, errors: list[FieldError]) -> StatusError:
    """422 with one cause per field error; the message joins them like upstream's ``NewInvalid``."""
    qualified_kind = f"{kind}.{group}" if group else kind
    if len(errors) == 1:
        body = errors[0].error()
    else:
        body = "[" + ", ".join(e.error() for e in errors) + "]"
    msg = f'{qualified_kind} "{name}" is invalid: {body}'
    details = _details(name, group, kind, causes=[e.cause() for e in errors])
    return StatusError(422, "Invalid", msg, details)


def bad_request(message: str) -> StatusError:
    return StatusError(400, "BadRequest", message)


def unauthorized(message: str = "Unauthorized") -> StatusError:
    return StatusError(401, "Unauthorized", message)


def forbidden(resource: str, group: str, name: str, why: str) -> StatusError:
    what = _qualified(resource, group)
    target = f'{what} "{name}"' if name else what
    return StatusError(403, "Forbidden", f"{target} is forbidden: {why}", _details(name, group, resource))


def method_not_supported(resource: str, group: str, action: str) -> StatusError:
    msg = f"{action} is not supported on resources of kind {_qualified(resource, group)!r}".replace("'", '"')
    return StatusError(405, "MethodNotAllowed", msg, _details("", group, resource))


def not_acceptable(message: str) -> StatusError:
    return StatusError(406, "NotAcceptable", message)


def unsupported_media_type(content_type: str) -> StatusError:
    return StatusError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - "
                       f"accepted media types include: application/json, application/yaml, "
                       f"application/vnd.kubernetes.protobuf ({content_type})")


def expired(message: str) -> StatusError:
    return StatusError(410, "Expired", message)


def gone(message: str) -> StatusError:
    return StatusError(410, "Gone", message)


def request_entity_too_large(message: str) -> StatusError:
    return StatusError(413, "RequestEntityTooLarge", message)


def internal_error(message: str) -> StatusError:
    return StatusError(500, "InternalError", f"Internal error occurred: {message}")


def service_unavailable(message: str) -> StatusError:
    return StatusError(503, "ServiceUnavailable", message)


def timeout(message: str) -> StatusError:
    return StatusError(504, "Timeout", message)
