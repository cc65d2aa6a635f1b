"""Client configuration from a kubeconfig file (inline or file-referenced certificates, or a bearer token)."""

from __future__ import annotations

import base64
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class ClientConfig:
    server: str
    ca_pem: bytes = b""
    cert_pem: bytes = b""
    key_pem: bytes = b""
    token: str = ""
    insecure: bool = False

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cadata=self.ca_pem.decode() if self.ca_pem else None)
        if self.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.cert_pem and self.key_pem:
            # ssl can only load a key pair from files; keep them private and short-lived
            with tempfile.TemporaryDirectory(prefix="kyb-client-") as tmp:
                cert, key = Path(tmp) / "client.crt", Path(tmp) / "client.key"
                cert.write_bytes(self.cert_pem)
                key.touch(mode=0o600)
                key.write_bytes(self.key_pem)
                ctx.load_cert_chain(str(cert), str(key))
        ctx.set_alpn_protocols(["http/1.1"])
        return ctx


def _data(entry: dict[str, Any], key: str, base_dir: Path) -> bytes:
    if entry.get(f"{key}-data"):
        return base64.b64decode(entry[f"{key}-data"])
    if entry.get(key):
        file = Path(entry[key])
        return (file if file.is_absolute() else base_dir / file).read_bytes()
    return b""


def load_kubeconfig(path: str | Path, context: str = "") -> ClientConfig:
    """The current (or named) context's cluster and user from a kubeconfig file."""
    path = Path(path)
    cfg: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
    ctx_name = context or cfg.get("current-context") or ""
    contexts = {c["name"]: c.get("context") or {} for c in cfg.get("contexts") or []}
    ctx = contexts.get(ctx_name) or next(iter(contexts.values()), {})
    clusters = {c["name"]: c.get("cluster") or {} for c in cfg.get("clusters") or []}
    users = {u["name"]: u.get("user") or {} for u in cfg.get("users") or []}
    cluster = clusters.get(ctx.get("cluster", "")) or next(iter(clusters.values()), {})
    user = users.get(ctx.get("user", "")) or next(iter(users.values()), {})
    base = path.parent
    return ClientConfig(
        server=str(cluster.get("server", "")).rstrip("/"),
        ca_pem=_data(cluster, "certificate-authority", base),
        cert_pem=_data(user, "client-certificate", base),
        key_pem=_data(user, "client-key", base),
        token=str(user.get("token") or ""),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
    )
