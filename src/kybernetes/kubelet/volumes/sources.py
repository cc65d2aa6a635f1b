"""Pure payload builders for configMap, secret, downwardAPI and projected volume sources.

Each returns the files (relative path → (bytes, mode)) the atomic writer puts in the volume, or raises
:class:`VolumeError` with upstream's message (e.g. ``configmap "x" not found``).
"""

from __future__ import annotations

import base64
from typing import Any

from kybernetes.kubelet.env import EnvError, field_ref, resource_field_ref
from kybernetes.kubelet.volumes.atomic import Payload

Obj = dict[str, Any]
DEFAULT_MODE = 0o644


class VolumeError(Exception):
    pass


def _data(obj: Obj, secret: bool) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    if secret:
        out.update({k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()})
        out.update({k: str(v).encode() for k, v in (obj.get("stringData") or {}).items()})
    else:
        out.update({k: str(v).encode() for k, v in (obj.get("data") or {}).items()})
        out.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
    return out


def keyed_payload(source: Obj, obj: Obj | None, *, secret: bool, default_mode: int | None) -> Payload:
    """Files of a configMap/secret source; ``obj`` None means missing (fine when ``optional``)."""
    kind = "secret" if secret else "configmap"
    name = source.get("secretName" if secret and "secretName" in source else "name", "")
    mode = source.get("defaultMode", default_mode if default_mode is not None else DEFAULT_MODE)
    if obj is None:
        if source.get("optional"):
            return {}
        raise VolumeError(f'{kind} "{name}" not found')
    data = _data(obj, secret)
    items = source.get("items")
    if not items:
        return {key: (value, int(mode)) for key, value in data.items()}
    out: Payload = {}
    for item in items:
        key = item.get("key", "")
        if key not in data:
            if source.get("optional"):
                continue
            raise VolumeError(f"{kind} references non-existent {'secret' if secret else 'config'} key: {key}")
        out[str(item.get("path", key))] = (data[key], int(item.get("mode", mode)))
    return out


def downward_payload(source: Obj, pod: Obj, default_mode: int | None,
                     allocatable: dict[str, str] | None = None) -> Payload:
    mode = source.get("defaultMode", default_mode if default_mode is not None else DEFAULT_MODE)
    out: Payload = {}
    for item in source.get("items") or []:
        try:
            if "fieldRef" in item:
                value = field_ref(pod, str(item["fieldRef"].get("fieldPath", "")))
            elif "resourceFieldRef" in item:
                value = resource_field_ref(pod, item["resourceFieldRef"], allocatable or {})
            else:
                continue
        except EnvError as exc:
            raise VolumeError(str(exc)) from exc
        out[str(item.get("path", ""))] = (value.encode(), int(item.get("mode", mode)))
    return out


def token_payload(source: Obj, token: str, default_mode: int | None) -> Payload:
    mode = source.get("mode", default_mode if default_mode is not None else DEFAULT_MODE)
    return {str(source.get("path", "token")): (token.encode(), int(mode))}
