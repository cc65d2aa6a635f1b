"""Container environment: ``envFrom``, ``env`` (value / valueFrom), service links and ``$(VAR)`` expansion.

Upstream order: service environment variables first, then ``envFrom`` sources in order, then ``env`` entries in
order (a later definition wins); ``env`` values and ``command``/``args`` are expanded with :func:`expand`
against what is defined so far.  Missing objects or keys raise :class:`EnvError` (the container then waits
with ``CreateContainerConfigError``) unless the reference is ``optional``.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Awaitable, Callable
from fractions import Fraction
from typing import Any

from kybernetes.api.quantity import parse_quantity

Obj = dict[str, Any]
Getter = Callable[[str, str], Awaitable[Obj | None]]  # (namespace, name) → object or None when missing

_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_LABEL_PATH = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


class EnvError(Exception):
    """A reference could not be resolved; ``str(exc)`` is the upstream-style message."""


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes ``$(VAR)`` expansion: defined names are replaced, ``$$`` is a literal ``$``, undefined
    references and lone ``$`` are kept as written."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "$" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            end = text.find(")", i + 2)
            if end < 0:
                out.append(text[i:])
                break
            name = text[i + 2:end]
            out.append(env[name] if name in env else text[i:end + 1])
            i = end + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _decode(data: Obj, key: str, secret: bool) -> str | None:
    if secret:
        if key in (data.get("data") or {}):
            return base64.b64decode(data["data"][key]).decode(errors="replace")
        value = (data.get("stringData") or {}).get(key)
        return None if value is None else str(value)
    if key in (data.get("data") or {}):
        return str(data["data"][key])
    if key in (data.get("binaryData") or {}):
        return base64.b64decode(data["binaryData"][key]).decode(errors="replace")
    return None


def field_ref(pod: Obj, field_path: str) -> str:
    """The value of a downward-API ``fieldRef`` (EnvError for an unsupported path)."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    match = _LABEL_PATH.match(field_path)
    if match:
        return str((meta.get(match.group(1)) or {}).get(match.group(2), ""))
    simple = {
        "metadata.name": meta.get("name", ""), "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""), "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.hostIP": status.get("hostIP", ""), "status.podIP": status.get("podIP", ""),
        "status.hostIPs": ",".join(i.get("ip", "") for i in status.get("hostIPs") or []),
        "status.podIPs": ",".join(i.get("ip", "") for i in status.get("podIPs") or []),
    }
    if field_path in simple:
        return str(simple[field_path])
    if field_path == "metadata.labels":
        return "\n".join(f'{k}="{v}"' for k, v in sorted((meta.get("labels") or {}).items()))
    if field_path == "metadata.annotations":
        return "\n".join(f'{k}="{v}"' for k, v in sorted((meta.get("annotations") or {}).items()))
    raise EnvError(f"unsupported fieldPath: {field_path}")


def resource_field_ref(pod: Obj, ref: Obj, allocatable: dict[str, str], default_container: str = "") -> str:
    """``resourceFieldRef``: the container's limit/request (the node's allocatable when no limit), divided by
    ``divisor`` and rounded up, like upstream."""
    cname = ref.get("containerName") or default_container
    spec = pod.get("spec") or {}
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    container: Obj = next((c for c in containers if c.get("name") == cname), {})
    resources = container.get("resources") or {}
    res = str(ref.get("resource", ""))
    kind, _, name = res.partition(".")
    if kind not in ("limits", "requests") or not name:
        raise EnvError(f"unsupported container resource: {res}")
    value = (resources.get(kind) or {}).get(name)
    if value is None and kind == "requests":
        value = (resources.get("limits") or {}).get(name)
    if value is None:
        value = allocatable.get(name, "0")
    quantity = parse_quantity(value).value
    divisor = parse_quantity(ref.get("divisor") or "1").value or Fraction(1)
    return str(math.ceil(quantity / divisor))


def service_env(services: list[Obj], namespace: str) -> dict[str, str]:
    """Docker-link style variables for the namespace's services (``enableServiceLinks``) and the master
    ``kubernetes`` service of ``default``, like upstream's getServiceEnvVarMap."""
    out: dict[str, str] = {}
    for svc in services:
        meta = svc.get("metadata") or {}
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP") or ""
        if not ip or ip == "None" or not spec.get("ports"):
            continue
        name = str(meta.get("name", "")).upper().replace("-", "_")
        port0 = spec["ports"][0]
        out[f"{name}_SERVICE_HOST"] = ip
        out[f"{name}_SERVICE_PORT"] = str(port0.get("port"))
        for port in spec["ports"]:
            if port.get("name"):
                out[f"{name}_SERVICE_PORT_{str(port['name']).upper().replace('-', '_')}"] = str(port.get("port"))
        proto0 = str(port0.get("protocol") or "TCP").lower()
        out[f"{name}_PORT"] = f"{proto0}://{ip}:{port0.get('port')}"
        for port in spec["ports"]:
            proto = str(port.get("protocol") or "TCP")
            prefix = f"{name}_PORT_{port.get('port')}_{proto.upper()}"
            out[prefix] = f"{proto.lower()}://{ip}:{port.get('port')}"
            out[f"{prefix}_PROTO"] = proto.lower()
            out[f"{prefix}_PORT"] = str(port.get("port"))
            out[f"{prefix}_ADDR"] = ip
    del namespace
    return out


async def make_env(pod: Obj, container: Obj, *, configmaps: Getter, secrets: Getter,
                   services: list[Obj] | None = None,
                   allocatable: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """The container's environment as ordered (name, value) pairs; raises EnvError like upstream."""
    namespace = (pod.get("metadata") or {}).get("namespace", "")
    env: dict[str, str] = {}
    if services:
        env.update(service_env(services, namespace))
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix") or ""
        for kind, getter, secret in (("configMapRef", configmaps, False), ("secretRef", secrets, True)):
            ref = source.get(kind)
            if not ref:
                continue
            obj = await getter(namespace, ref.get("name", ""))
            if obj is None:
                if ref.get("optional"):
                    continue
                raise EnvError(f'{"secret" if secret else "configmap"} "{ref.get("name", "")}" not found')
            keys = set(obj.get("data") or {}) | set(obj.get("binaryData") or obj.get("stringData") or {})
            for key in sorted(keys):
                if _ENV_NAME.match(prefix + key):
                    env[prefix + key] = _decode(obj, key, secret) or ""
    for item in container.get("env") or []:
        name = item.get("name", "")
        if "valueFrom" not in item:
            env[name] = expand(str(item.get("value", "")), env)
            continue
        value = await _value_from(pod, container, item["valueFrom"], namespace, configmaps, secrets,
                                  allocatable or {})
        if value is not None:
            env[name] = value
    return list(env.items())


async def _value_from(pod: Obj, container: Obj, source: Obj, namespace: str, configmaps: Getter,
                      secrets: Getter, allocatable: dict[str, str]) -> str | None:
    if "fieldRef" in source:
        return field_ref(pod, str(source["fieldRef"].get("fieldPath", "")))
    if "resourceFieldRef" in source:
        return resource_field_ref(pod, source["resourceFieldRef"], allocatable, container.get("name", ""))
    for kind, getter, secret, label in (("configMapKeyRef", configmaps, False, "ConfigMap"),
                                        ("secretKeyRef", secrets, True, "Secret")):
        ref = source.get(kind)
        if not ref:
            continue
        name, key = ref.get("name", ""), ref.get("key", "")
        obj = await getter(namespace, name)
        if obj is None:
            if ref.get("optional"):
                return None
            raise EnvError(f'{"secret" if secret else "configmap"} "{name}" not found')
        value = _decode(obj, key, secret)
        if value is None:
            if ref.get("optional"):
                return None
            raise EnvError(f"couldn't find key {key} in {label} {namespace}/{name}")
        return value
    return None


def expand_command(container: Obj, env: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """``command`` and ``args`` with ``$(VAR)`` expanded against the container's environment."""
    mapping = dict(env)
    return ([expand(str(a), mapping) for a in container.get("command") or []],
            [expand(str(a), mapping) for a in container.get("args") or []])
