"""Kubeconfig files with inline credentials, shaped like the one k3s writes.

The cluster, context and user entries all default to the name ``default``; the CA and the client
certificate/key are embedded as base64 (``*-data`` fields), so the file is self-contained and can be copied.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

from kybernetes.apiserver.certs import Pki, write_atomic


def kubeconfig_dict(
    server: str,
    ca_pem: bytes,
    cert_pem: bytes,
    key_pem: bytes,
    *,
    user: str = "default",
    context: str = "default",
) -> dict[str, Any]:
    """The kubeconfig as a dict: one cluster and one context named ``context``, one user named ``user``."""

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": context, "cluster": {"server": server, "certificate-authority-data": b64(ca_pem)}},
        ],
        "contexts": [{"name": context, "context": {"cluster": context, "user": user}}],
        "current-context": context,
        "users": [
            {
                "name": user,
                "user": {"client-certificate-data": b64(cert_pem), "client-key-data": b64(key_pem)},
            },
        ],
        "preferences": {},
    }


def write_kubeconfig(
    path: Path,
    server: str,
    pki: Pki,
    *,
    user: str = "default",
    context: str = "default",
    credentials: tuple[bytes, bytes] | None = None,
) -> None:
    """Write a kubeconfig for ``server`` (``https://host:port``) to ``path``, mode 0600, atomically.

    The client identity is the PKI's admin certificate unless ``credentials`` gives another
    ``(cert PEM, key PEM)`` pair, e.g. from :func:`kybernetes.apiserver.certs.issue_client_cert`.
    The parent directory is created when missing.
    """
    cert_pem, key_pem = credentials if credentials is not None else (pki.admin_cert_pem, pki.admin_key_pem)
    doc = kubeconfig_dict(server, pki.ca_cert_pem, cert_pem, key_pem, user=user, context=context)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, yaml.safe_dump(doc, sort_keys=False).encode(), 0o600)
