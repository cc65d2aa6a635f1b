"""Typed API errors parsed from the server's Status.

Error tree::

    ApiError                 any non-2xx answer; ``.status`` is the Status dict, ``.code``, ``.reason``
    ├── NotFoundError        404 NotFound
    ├── AlreadyExistsError   409 AlreadyExists
    ├── ConflictError        409 Conflict (stale resourceVersion: re-read and retry)
    ├── InvalidError         422 Invalid (``.causes``)
    ├── GoneError            410 Expired/Gone (re-list)
    └── ServerUnavailable    5xx and transport failures (retry later)
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(self, status: dict[str, Any]) -> None:
        self.status = status
        self.code = int(status.get("code") or 0)
        self.reason = str(status.get("reason") or "")
        self.message = str(status.get("message") or "")
        super().__init__(f"{self.code} {self.reason}: {self.message}")

    @property
    def causes(self) -> list[dict[str, Any]]:
        return list((self.status.get("details") or {}).get("causes") or [])


class NotFoundError(ApiError):
    pass


class AlreadyExistsError(ApiError):
    pass


class ConflictError(ApiError):
    pass


class InvalidError(ApiError):
    pass


class GoneError(ApiError):
    pass


class ServerUnavailable(ApiError):
    pass


def error_from_status(code: int, status: dict[str, Any] | None) -> ApiError:
    """The typed error for an HTTP status code and the (maybe missing or non-Status) body."""
    body: dict[str, Any] = dict(status) if isinstance(status, dict) and status.get("kind") == "Status" else {}
    body.setdefault("code", code)
    if not body.get("message") and isinstance(status, dict):
        body["message"] = str(status)
    reason = body.get("reason", "")
    if code == 404:
        return NotFoundError(body)
    if code == 409:
        return AlreadyExistsError(body) if reason == "AlreadyExists" else ConflictError(body)
    if code == 410:
        return GoneError(body)
    if code == 422:
        return InvalidError(body)
    if code >= 500 or code == 429:
        return ServerUnavailable(body)
    return ApiError(body)
