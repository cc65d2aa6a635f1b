"""Parse a resource URL into what the handlers need (upstream's ``RequestInfo``).

``/api/v1/namespaces/default/pods/web/log`` → group "", version v1, namespace default, resource pods, name web,
subresource log.  Namespaces themselves: ``/api/v1/namespaces/x`` is the namespace object ``x`` and
``/api/v1/namespaces/x/status`` its status subresource.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from kybernetes.api import errors

NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


@dataclass(frozen=True, slots=True)
class RequestInfo:
    group: str
    version: str
    namespace: str  # "" for cluster scope or all namespaces
    resource: str
    name: str = ""
    subresource: str = ""
    # the path had /namespaces/<ns>/ in front of the resource
    namespaced_path: bool = False


@functools.lru_cache(maxsize=1024)  # the metrics, flow control and handler layers each ask for every request
def parse_resource_path(path: str) -> RequestInfo | None:
    """Parse ``/api/...`` or ``/apis/...`` below the group-version; None when it is not a resource path.

    Raises a 404 StatusError for paths too deep to mean anything.
    """
    parts = [p for p in path.split("/") if p]
    if not parts:
        return None
    if parts[0] == "api":
        if len(parts) < 3:
            return None
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis":
        if len(parts) < 4:
            return None
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None

    namespace = ""
    namespaced_path = False
    if rest[0] == "namespaces" and len(rest) >= 3 and not (len(rest) == 3 and rest[2] in NAMESPACE_SUBRESOURCES):
        namespace, rest = rest[1], rest[2:]
        namespaced_path = True
    if not rest or len(rest) > 3:
        raise errors.path_not_found()
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    return RequestInfo(group, version, namespace, resource, name, subresource, namespaced_path)
