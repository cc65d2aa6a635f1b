"""Small helpers on JSON objects shared by the API server's handlers: metadata, timestamps, store encoding."""

from __future__ import annotations

import os
import random
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from kybernetes.api.patch.common import clone
from kybernetes.api.patch.managedfields import now_rfc3339
from kybernetes.storage.interface import KeyValue

Obj = dict[str, Any]

# upstream's generateName alphabet (no vowels, no confusable characters)
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def now() -> datetime:
    return datetime.now(UTC)


def rfc3339(when: datetime | None = None) -> str:
    if when is None:
        return now_rfc3339()  # formatted once per second: writes stamp many objects per second
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_micro(when: datetime | None = None) -> str:
    return (when or now()).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


_SUFFIX_RANDOM = random.Random()  # generateName suffixes are not secrets (upstream uses math/rand)


_UID_POOL = bytearray()
_UID_POOL_BYTES = 4096
_UID_LOCK = threading.Lock()
_UID_PID = [os.getpid()]  # a forked child must not reuse its parent's pool


def new_uid() -> str:
    """A random (version 4) UUID.  The random bytes come from the OS 4 KiB at a time: ``uuid4`` makes a syscall
    per UUID, which releases the GIL, and under load the SQL thread then holds the loop up for a switch interval."""
    with _UID_LOCK:
        if _UID_PID[0] != os.getpid():
            _UID_PID[0] = os.getpid()
            _UID_POOL.clear()
        if len(_UID_POOL) < 16:
            _UID_POOL.extend(os.urandom(_UID_POOL_BYTES))
        raw = bytes(_UID_POOL[:16])
        del _UID_POOL[:16]
    return str(uuid.UUID(bytes=raw, version=4))


def random_suffix(n: int = 5) -> str:
    return "".join(_SUFFIX_RANDOM.choices(_ALPHABET, k=n))


def meta(obj: Obj) -> Obj:
    """``obj.metadata``, created when missing."""
    m = obj.get("metadata")
    if not isinstance(m, dict):
        m = {}
        obj["metadata"] = m
    return m


def deepcopy(obj: Obj) -> Obj:
    """A deep copy of a JSON object (see :func:`kybernetes.api.patch.common.clone`)."""
    copied: Obj = clone(obj)
    return copied


def encode_for_store(obj: Obj) -> bytes:
    """Objects are stored without ``metadata.resourceVersion``: the store's revision is the truth."""
    m = obj.get("metadata") or {}
    if "resourceVersion" in m:
        m = dict(m)
        del m["resourceVersion"]
        obj = {**obj, "metadata": m}
    return orjson.dumps(obj)


def decode_from_store(kv: KeyValue) -> Obj:
    obj: Obj = orjson.loads(kv.value)
    meta(obj)["resourceVersion"] = str(kv.mod_revision)
    return obj


def without(obj: Obj, *paths: tuple[str, ...]) -> Obj:
    """A shallow-copied view of ``obj`` with nested keys removed (for change comparison)."""
    out = dict(obj)
    for path in paths:
        cur = out
        for i, key in enumerate(path):
            val = cur.get(key)
            if not isinstance(val, dict):
                break
            if i == len(path) - 2:
                val = dict(val)
                val.pop(path[-1], None)
                cur[key] = val
                break
            val = dict(val)
            cur[key] = val
            cur = val
    return out


def same_ignoring_bookkeeping(a: Obj, b: Obj) -> bool:
    """True when two versions differ only in resourceVersion/managedFields (an update that changes nothing)."""
    drop = (("metadata", "resourceVersion"), ("metadata", "managedFields"))
    return without(a, *drop) == without(b, *drop)
