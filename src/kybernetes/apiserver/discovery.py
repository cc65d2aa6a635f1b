"""Discovery documents: ``/version``, ``/api``, ``/apis``, ``/api/v1``, ``/apis/<g>/<v>``, legacy and aggregated.

All built from the registry.  Aggregated discovery (apidiscovery.k8s.io v2 and v2beta1) is answered when the
Accept header asks for it; its Content-Type is what tells kubectl which shape it got.
"""

from __future__ import annotations

import base64
import hashlib
import platform
from typing import Any

from kybernetes.api.registry import Registry, Resource

KUBE_VERSION = (1, 33, 0)
GIT_VERSION = f"v{KUBE_VERSION[0]}.{KUBE_VERSION[1]}.{KUBE_VERSION[2]}+kyb"


def version_info() -> dict[str, str]:
    return {
        "major": str(KUBE_VERSION[0]),
        "minor": str(KUBE_VERSION[1]),
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-11-28T00:00:00Z",
        "goVersion": f"python{platform.python_version()}",
        "compiler": "gc",
        "platform": "linux/amd64",
        "emulationMajor": str(KUBE_VERSION[0]),
        "emulationMinor": str(KUBE_VERSION[1]),
        "minCompatibilityMajor": str(KUBE_VERSION[0]),
        "minCompatibilityMinor": str(KUBE_VERSION[1] - 1),
    }


def _storage_version_hash(res: Resource) -> str:
    digest = hashlib.sha256(f"{res.group}/{res.version}/{res.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def _legacy_entries(res: Resource) -> list[dict[str, Any]]:
    entry: dict[str, Any] = {
        "name": res.plural,
        "singularName": res.singular,
        "namespaced": res.namespaced,
        "kind": res.kind,
        "verbs": list(res.verbs),
    }
    if res.short_names:
        entry["shortNames"] = list(res.short_names)
    if res.categories:
        entry["categories"] = list(res.categories)
    entry["storageVersionHash"] = _storage_version_hash(res)
    out = [entry]
    for sub in res.subresources:
        sub_entry: dict[str, Any] = {
            "name": f"{res.plural}/{sub.name}",
            "singularName": "",
            "namespaced": res.namespaced,
            "kind": sub.kind or res.kind,
            "verbs": list(sub.verbs),
        }
        if sub.kind and (sub.group, sub.version) != (res.group, res.version):
            sub_entry["group"] = sub.group
            sub_entry["version"] = sub.version
        out.append(sub_entry)
    return out


def api_versions(server_address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def api_group_list(registry: Registry) -> dict[str, Any]:
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [api_group(registry, g) for g in registry.groups()]}


def api_group(registry: Registry, group: str) -> dict[str, Any]:
    versions = [{"groupVersion": f"{group}/{v}", "version": v} for v in registry.versions(group)]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": versions,
            "preferredVersion": versions[0]}


def api_resource_list(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    resources = sorted(registry.in_group_version(group, version), key=lambda r: r.plural)
    if not resources:
        return None
    gv = f"{group}/{version}" if group else version
    entries: list[dict[str, Any]] = []
    for res in resources:
        entries.extend(_legacy_entries(res))
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": entries}


def _aggregated_resource(res: Resource) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": res.plural,
        "responseKind": {"group": res.group, "version": res.version, "kind": res.kind},
        "scope": "Namespaced" if res.namespaced else "Cluster",
        "singularResource": res.singular,
        "verbs": list(res.verbs),
    }
    if res.short_names:
        entry["shortNames"] = list(res.short_names)
    if res.categories:
        entry["categories"] = list(res.categories)
    subs = []
    for sub in res.subresources:
        kind = sub.kind or res.kind
        group, version = (sub.group, sub.version) if sub.kind else (res.group, res.version)
        subs.append({"subresource": sub.name, "responseKind": {"group": group, "version": version, "kind": kind},
                     "verbs": list(sub.verbs)})
    if subs:
        entry["subresources"] = subs
    return entry


def _aggregated_group(registry: Registry, group: str) -> dict[str, Any]:
    versions = []
    for v in registry.versions(group):
        versions.append({"version": v, "freshness": "Current",
                         "resources": [_aggregated_resource(r) for r in
                                       sorted(registry.in_group_version(group, v), key=lambda r: r.plural)]})
    return {"metadata": {"name": group, "creationTimestamp": None}, "versions": versions}


def aggregated(registry: Registry, core: bool, version: str) -> dict[str, Any]:
    """APIGroupDiscoveryList for ``/api`` (core=True) or ``/apis``; ``version`` is v2 or v2beta1."""
    groups = [""] if core else registry.groups()
    return {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{version}",
            "metadata": {}, "items": [_aggregated_group(registry, g) for g in groups]}


def aggregated_version(accept: str | None) -> str | None:
    """The aggregated discovery version the Accept header asks for first, or None for legacy."""
    for entry in (accept or "").split(","):
        params = dict(p.strip().partition("=")[::2] for p in entry.split(";")[1:])
        if params.get("g") == "apidiscovery.k8s.io" and params.get("as") == "APIGroupDiscoveryList":
            if params.get("v") in ("v2", "v2beta1"):
                return params["v"]
        elif entry.split(";")[0].strip() in ("application/json", "*/*", "application/vnd.kubernetes.protobuf"):
            return None
    return None


def aggregated_content_type(version: str) -> str:
    return f"application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"
