"""Query parameters of resource requests, parsed once with upstream's error messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kybernetes.api import errors

FIELD_VALIDATION = ("Strict", "Warn", "Ignore")


def _bool(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1")


def _int(query: Mapping[str, str], name: str) -> int | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise errors.bad_request(f"invalid value for {name}: {value!r} is not an integer") from None


@dataclass(frozen=True, slots=True)
class QueryParams:
    watch: bool = False
    label_selector: str = ""
    field_selector: str = ""
    limit: int = 0
    continue_token: str = ""
    resource_version: str = ""
    resource_version_match: str = ""
    allow_watch_bookmarks: bool = False
    send_initial_events: bool = False
    timeout_seconds: int | None = None
    dry_run: bool = False
    field_manager: str = ""  # as given; empty when the client sent none
    default_manager: str = ""  # from the User-Agent, used for Update operations without fieldManager
    field_validation: str = "Warn"
    force: bool = False
    include_object: str = "Metadata"
    # delete options given as query parameters
    grace_period_seconds: int | None = None
    propagation_policy: str = ""
    orphan_dependents: bool | None = None


def parse_query(query: Mapping[str, str], *, user_agent: str = "") -> QueryParams:
    dry_run = query.get("dryRun", "")
    if dry_run and dry_run != "All":
        raise errors.bad_request(f"Invalid dry run value: {dry_run!r}; supported values: All")
    validation = query.get("fieldValidation") or "Warn"
    if validation not in FIELD_VALIDATION:
        raise errors.bad_request(f'fieldValidation must be one of "Strict", "Warn", "Ignore" (got "{validation}")')
    include = query.get("includeObject") or "Metadata"
    if include not in ("None", "Metadata", "Object"):
        raise errors.bad_request(f"includeObject must be one of None, Metadata, Object (got {include})")
    match = query.get("resourceVersionMatch", "")
    if match and match not in ("Exact", "NotOlderThan"):
        raise errors.bad_request(f"resourceVersionMatch: Unsupported value: \"{match}\": supported values: "
                                 f"\"Exact\", \"NotOlderThan\"")
    limit = _int(query, "limit") or 0
    orphan = query.get("orphanDependents")
    manager = query.get("fieldManager", "")
    if len(manager) > 128:
        raise errors.bad_request("fieldManager: Too long: may not be more than 128 bytes")
    default_manager = manager or user_agent.split("/", 1)[0][:128]
    return QueryParams(
        watch=_bool(query.get("watch")),
        label_selector=query.get("labelSelector", ""),
        field_selector=query.get("fieldSelector", ""),
        limit=max(limit, 0),
        continue_token=query.get("continue", ""),
        resource_version=query.get("resourceVersion", ""),
        resource_version_match=match,
        allow_watch_bookmarks=_bool(query.get("allowWatchBookmarks")),
        send_initial_events=_bool(query.get("sendInitialEvents")),
        timeout_seconds=_int(query, "timeoutSeconds"),
        dry_run=bool(dry_run),
        field_manager=manager,
        default_manager=default_manager,
        field_validation=validation,
        force=_bool(query.get("force")),
        include_object=include,
        grace_period_seconds=_int(query, "gracePeriodSeconds"),
        propagation_policy=query.get("propagationPolicy", ""),
        orphan_dependents=None if orphan is None else _bool(orphan),
    )
