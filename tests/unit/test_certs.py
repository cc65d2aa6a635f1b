"""PKI generation and reuse, TLS contexts, client identities, kubeconfig files."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import socket
import ssl
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kybernetes.apiserver import certs
from kybernetes.apiserver.certs import (
    PkiError,
    User,
    client_identity,
    ensure_pki,
    issue_client_cert,
    server_ssl_context,
    serving_names,
)
from kybernetes.apiserver.kubeconfig import write_kubeconfig

TLS_FILES = ("ca.crt", "ca.key", "server.crt", "server.key", "admin.crt", "admin.key")


def load(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def sans(cert: x509.Certificate) -> tuple[set[str], set[str]]:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(ext.get_values_for_type(x509.DNSName)), {
        str(i) for i in ext.get_values_for_type(x509.IPAddress)
    }


def snapshot(tls: Path) -> dict[str, tuple[bytes, int]]:
    return {n: ((tls / n).read_bytes(), (tls / n).stat().st_mtime_ns) for n in TLS_FILES}


# ------------------------------------------------------------------------------------------------ generation


def test_first_start_creates_all_files_with_modes(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path)
    tls = tmp_path / "tls"
    assert pki.dir == tls
    assert stat.S_IMODE(tls.stat().st_mode) == 0o700
    modes = {n: stat.S_IMODE((tls / n).stat().st_mode) for n in TLS_FILES}
    assert modes == {n: 0o600 if n.endswith(".key") else 0o644 for n in TLS_FILES}
    assert sorted(p.name for p in tls.iterdir()) == sorted(TLS_FILES)  # no temp files left behind
    assert pki.ca_cert_path.read_bytes() == pki.ca_cert_pem
    assert pki.server_key_path.read_bytes() == pki.server_key_pem
    assert pki.admin_cert_path.read_bytes() == pki.admin_cert_pem


def test_ca_certificate(tmp_path: Path) -> None:
    ca = load(ensure_pki(tmp_path).ca_cert_pem)
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "kybernetes-ca"
    assert ca.issuer == ca.subject
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign is True
    public = ca.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert public.curve.name == "secp256r1"
    assert ca.not_valid_after_utc - ca.not_valid_before_utc > dt.timedelta(days=3000)


def test_serving_certificate_names_and_usage(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path, hosts=["203.0.113.7", "api.example.test", "[fd00::1]"])
    cert = load(pki.server_cert_pem)
    dns, ips = sans(cert)
    assert dns == {
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        socket.gethostname().lower(),
        "api.example.test",
    }
    assert ips == {"127.0.0.1", "::1", "10.43.0.1", "203.0.113.7", "fd00::1"}
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    cert.verify_directly_issued_by(load(pki.ca_cert_pem))


def test_admin_certificate(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path)
    cert = load(pki.admin_cert_pem)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "system:admin"
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == [
        "system:masters"
    ]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    cert.verify_directly_issued_by(load(pki.ca_cert_pem))


@pytest.mark.parametrize(
    ("hosts", "want_dns", "want_ips"),
    [
        pytest.param([], [], [], id="defaults-only"),
        pytest.param(["10.0.0.5", "10.0.0.5"], [], ["10.0.0.5"], id="duplicate-ip"),
        pytest.param(["[::1]", "0:0::1"], [], [], id="ipv6-canonical-duplicates-default"),
        pytest.param(
            ["Node-1.Example", "node-1.example", " "], ["node-1.example"], [], id="dns-lowercase-dedup"
        ),
        pytest.param(["LOCALHOST"], [], [], id="default-name-any-case"),
    ],
)
def test_serving_names(hosts: list[str], want_dns: list[str], want_ips: list[str]) -> None:
    dns, ips = serving_names(hosts)
    base_dns, base_ips = serving_names()
    assert base_ips == ["127.0.0.1", "::1", "10.43.0.1"]
    assert base_dns[:5] == list(certs.DEFAULT_DNS_NAMES)
    assert dns == base_dns + want_dns
    assert ips == base_ips + want_ips


# ------------------------------------------------------------------------------------------------ reuse


def test_restart_rewrites_nothing(tmp_path: Path) -> None:
    first = ensure_pki(tmp_path, hosts=["192.0.2.1"])
    before = snapshot(tmp_path / "tls")
    second = ensure_pki(tmp_path, hosts=["192.0.2.1"])
    assert snapshot(tmp_path / "tls") == before
    assert second == first


def test_new_host_reissues_only_the_serving_cert(tmp_path: Path) -> None:
    first = ensure_pki(tmp_path)
    second = ensure_pki(tmp_path, hosts=["192.0.2.9"])
    assert second.ca_cert_pem == first.ca_cert_pem
    assert second.admin_cert_pem == first.admin_cert_pem
    assert second.server_cert_pem != first.server_cert_pem
    assert "192.0.2.9" in sans(load(second.server_cert_pem))[1]
    # dropping the host again keeps the (superset) certificate
    assert ensure_pki(tmp_path).server_cert_pem == second.server_cert_pem


@pytest.mark.parametrize("leaf", ["server", "admin"])
@pytest.mark.parametrize(
    "damage",
    [
        pytest.param("delete-cert", id="delete-cert"),
        pytest.param("delete-key", id="delete-key"),
        pytest.param("garbage-cert", id="garbage-cert"),
        pytest.param("foreign-ca", id="foreign-ca"),
        pytest.param("key-mismatch", id="key-mismatch"),
    ],
)
def test_unusable_leaf_is_reissued(tmp_path: Path, leaf: str, damage: str) -> None:
    first = ensure_pki(tmp_path)
    crt, key = tmp_path / "tls" / f"{leaf}.crt", tmp_path / "tls" / f"{leaf}.key"
    if damage == "delete-cert":
        crt.unlink()
    elif damage == "delete-key":
        key.unlink()
    elif damage == "garbage-cert":
        crt.write_bytes(b"not a certificate")
    elif damage == "foreign-ca":
        other = ensure_pki(tmp_path / "other")
        crt.write_bytes((other.dir / f"{leaf}.crt").read_bytes())
        key.write_bytes((other.dir / f"{leaf}.key").read_bytes())
    elif damage == "key-mismatch":
        key.write_bytes(issue_client_cert(first, "x")[1])
    second = ensure_pki(tmp_path)
    assert second.ca_cert_pem == first.ca_cert_pem
    new_cert = load(crt.read_bytes())
    new_cert.verify_directly_issued_by(load(first.ca_cert_pem))
    assert crt.read_bytes() != first.__dict__[f"{leaf}_cert_pem"]
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # and the reissued pair is coherent: it loads into a TLS context
    ssl.create_default_context().load_cert_chain(crt, key)


def test_leaf_near_expiry_is_renewed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(certs, "LEAF_VALIDITY", dt.timedelta(days=30))
    first = ensure_pki(tmp_path)
    monkeypatch.setattr(certs, "LEAF_VALIDITY", dt.timedelta(days=365))
    second = ensure_pki(tmp_path)
    assert second.ca_cert_pem == first.ca_cert_pem
    assert second.server_cert_pem != first.server_cert_pem
    assert second.admin_cert_pem != first.admin_cert_pem
    assert load(second.server_cert_pem).not_valid_after_utc - dt.datetime.now(dt.UTC) > dt.timedelta(days=300)


def test_admin_cert_with_wrong_identity_is_reissued(tmp_path: Path) -> None:
    first = ensure_pki(tmp_path)
    cert_pem, key_pem = issue_client_cert(first, "someone", ["system:masters"])
    (first.dir / "admin.crt").write_bytes(cert_pem)
    (first.dir / "admin.key").write_bytes(key_pem)
    second = ensure_pki(tmp_path)
    assert second.admin_cert_pem != cert_pem
    assert load(second.admin_cert_pem).subject.rfc4514_string() == "CN=system:admin,O=system:masters"


def test_ca_key_without_cert_is_an_interrupted_start(tmp_path: Path) -> None:
    first = ensure_pki(tmp_path)
    (first.dir / "ca.crt").unlink()
    second = ensure_pki(tmp_path)
    assert second.ca_cert_pem != first.ca_cert_pem
    load(second.server_cert_pem).verify_directly_issued_by(load(second.ca_cert_pem))
    load(second.admin_cert_pem).verify_directly_issued_by(load(second.ca_cert_pem))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        pytest.param("delete-key", "cannot sign without it", id="ca-key-missing"),
        pytest.param("garbage-cert", "not a PEM certificate", id="ca-cert-garbage"),
        pytest.param("garbage-key", "not an unencrypted PEM private key", id="ca-key-garbage"),
        pytest.param("other-key", "does not belong to", id="ca-key-mismatch"),
        pytest.param("leaf-as-ca", "is not a CA certificate", id="not-a-ca"),
    ],
)
def test_broken_ca_is_never_replaced(tmp_path: Path, damage: str, message: str) -> None:
    pki = ensure_pki(tmp_path)
    ca_crt, ca_key = pki.dir / "ca.crt", pki.dir / "ca.key"
    if damage == "delete-key":
        ca_key.unlink()
    elif damage == "garbage-cert":
        ca_crt.write_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    elif damage == "garbage-key":
        ca_key.write_bytes(b"junk")
    elif damage == "other-key":
        ca_key.write_bytes(pki.admin_key_pem)
    elif damage == "leaf-as-ca":
        ca_crt.write_bytes(pki.admin_cert_pem)
        ca_key.write_bytes(pki.admin_key_pem)
    before = (ca_crt.read_bytes(), ca_key.read_bytes() if ca_key.exists() else None)
    with pytest.raises(PkiError, match=message):
        ensure_pki(tmp_path)
    assert (ca_crt.read_bytes(), ca_key.read_bytes() if ca_key.exists() else None) == before


# ------------------------------------------------------------------------------------------------ identities


@pytest.mark.parametrize(
    ("peercert", "want"),
    [
        pytest.param(None, None, id="no-cert"),
        pytest.param({}, None, id="unvalidated-empty"),
        pytest.param({"subject": ((("commonName", "alice"),),)}, User("alice", ()), id="cn-only"),
        pytest.param(
            {
                "subject": (
                    (("organizationName", "dev"),),
                    (("organizationName", "ops"),),
                    (("commonName", "bob"),),
                )
            },
            User("bob", ("dev", "ops")),
            id="cn-and-groups-in-order",
        ),
        pytest.param(
            {"subject": ((("countryName", "DE"),), (("commonName", "system:node:n1"),))},
            User("system:node:n1", ()),
            id="other-attributes-ignored",
        ),
        pytest.param({"subject": ((("organizationName", "dev"),),)}, None, id="no-cn"),
        pytest.param({"subject": ((("commonName", ""),),)}, None, id="empty-cn"),
    ],
)
def test_client_identity(peercert: dict[str, Any] | None, want: User | None) -> None:
    assert client_identity(peercert) == want


@pytest.mark.parametrize(
    ("cn", "orgs"),
    [
        pytest.param("system:kube-scheduler", [], id="no-group"),
        pytest.param("system:node:worker-1", ["system:nodes"], id="kubelet"),
        pytest.param("ops", ["a", "b"], id="two-groups"),
    ],
)
def test_issue_client_cert(tmp_path: Path, cn: str, orgs: list[str]) -> None:
    pki = ensure_pki(tmp_path)
    cert_pem, key_pem = issue_client_cert(pki.ca, cn, orgs)
    cert = load(cert_pem)
    cert.verify_directly_issued_by(load(pki.ca_cert_pem))
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cn
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == orgs
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH
    ]
    assert cert.not_valid_after_utc <= load(pki.ca_cert_pem).not_valid_after_utc
    assert b"PRIVATE KEY" in key_pem


# ------------------------------------------------------------------------------------------------ TLS


async def handshake(
    pki_dir: Path, *, client_cert: tuple[Path, Path] | None, alpn: list[str]
) -> tuple[User | None, str | None]:
    """Run a TLS server with :func:`server_ssl_context`; return the identity it saw and the client's ALPN.

    Raises ``ConnectionError`` when the server did not accept the connection (with TLS 1.3 the client learns
    that its certificate was refused only when it reads)."""
    pki = ensure_pki(pki_dir)
    seen: list[User | None] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(client_identity(writer.get_extra_info("peercert")))
        writer.write(b"ok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_ssl_context(pki))
    port = server.sockets[0].getsockname()[1]
    client = ssl.create_default_context(cafile=pki.ca_cert_path)
    client.set_alpn_protocols(alpn)
    if client_cert is not None:
        client.load_cert_chain(*client_cert)
    try:
        async with server:
            try:
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", port, ssl=client, server_hostname="localhost"
                )
                proto = writer.get_extra_info("ssl_object").selected_alpn_protocol()
                data = await reader.read()
            except ssl.SSLError as e:
                raise ConnectionError(str(e)) from e
            writer.close()
            if data != b"ok":
                raise ConnectionError(f"server closed the connection, sent {data!r}")
    finally:
        server.close()
    assert len(seen) == 1
    return seen[0], proto


async def test_tls_admin_client_is_identified(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path)
    user, proto = await handshake(
        tmp_path, client_cert=(pki.admin_cert_path, pki.admin_key_path), alpn=["h2", "http/1.1"]
    )
    assert user == User("system:admin", ("system:masters",))
    assert proto == "http/1.1"


async def test_tls_anonymous_client_is_accepted(tmp_path: Path) -> None:
    user, proto = await handshake(tmp_path, client_cert=None, alpn=["http/1.1"])
    assert user is None
    assert proto == "http/1.1"


async def test_tls_issued_client_cert_is_identified(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path)
    cert_pem, key_pem = issue_client_cert(pki, "system:node:n1", ["system:nodes"])
    (tmp_path / "n1.crt").write_bytes(cert_pem)
    (tmp_path / "n1.key").write_bytes(key_pem)
    user, _ = await handshake(tmp_path, client_cert=(tmp_path / "n1.crt", tmp_path / "n1.key"), alpn=["h2"])
    assert user == User("system:node:n1", ("system:nodes",))


async def test_tls_client_cert_from_another_ca_is_rejected(tmp_path: Path) -> None:
    ensure_pki(tmp_path / "server")
    other = ensure_pki(tmp_path / "other")
    with pytest.raises(ConnectionError):
        await handshake(
            tmp_path / "server", client_cert=(other.admin_cert_path, other.admin_key_path), alpn=[]
        )


async def test_tls_server_cert_matches_every_ip_san(tmp_path: Path) -> None:
    """Clients that check the host name against IP SANs accept the serving certificate."""
    pki = ensure_pki(tmp_path)
    ctx = ssl.create_default_context(cafile=pki.ca_cert_path)
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0, ssl=server_ssl_context(pki))
    port = server.sockets[0].getsockname()[1]
    try:
        async with server:
            for name in ["127.0.0.1", "localhost", "kubernetes.default.svc"]:
                _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname=name)
                writer.close()
            with pytest.raises(ssl.SSLCertVerificationError):
                await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="evil.example")
    finally:
        server.close()


# ------------------------------------------------------------------------------------------------ kubeconfig


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        pytest.param({}, ("default", "default"), id="k3s-names"),
        pytest.param({"user": "admin", "context": "kyb"}, ("admin", "kyb"), id="custom-names"),
    ],
)
def test_write_kubeconfig(tmp_path: Path, kwargs: dict[str, Any], names: tuple[str, str]) -> None:
    pki = ensure_pki(tmp_path)
    path = tmp_path / "sub" / "kubeconfig.yaml"
    write_kubeconfig(path, "https://127.0.0.1:6443", pki, **kwargs)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["kubeconfig.yaml"]
    doc = yaml.safe_load(path.read_text())
    user, context = names
    assert doc["current-context"] == context
    assert doc["contexts"] == [{"name": context, "context": {"cluster": context, "user": user}}]
    (cluster,) = doc["clusters"]
    assert cluster["name"] == context
    assert cluster["cluster"]["server"] == "https://127.0.0.1:6443"
    assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]) == pki.ca_cert_pem
    (u,) = doc["users"]
    assert u["name"] == user
    assert base64.b64decode(u["user"]["client-certificate-data"]) == pki.admin_cert_pem
    assert base64.b64decode(u["user"]["client-key-data"]) == pki.admin_key_pem


def test_write_kubeconfig_with_other_credentials_replaces_file(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path)
    path = tmp_path / "kubeconfig.yaml"
    path.write_text("old")
    path.chmod(0o644)
    creds = issue_client_cert(pki, "system:kube-scheduler")
    write_kubeconfig(path, "https://10.0.0.1:6443", pki, credentials=creds)
    doc = yaml.safe_load(path.read_text())
    assert base64.b64decode(doc["users"][0]["user"]["client-certificate-data"]) == creds[0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_kubeconfig_loads_in_official_client(tmp_path: Path) -> None:
    kubernetes = pytest.importorskip("kubernetes")
    pki = ensure_pki(tmp_path)
    path = tmp_path / "kubeconfig.yaml"
    write_kubeconfig(path, "https://127.0.0.1:6443", pki)
    cfg = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=str(path), client_configuration=cfg)
    assert cfg.host == "https://127.0.0.1:6443"
    assert Path(cfg.ssl_ca_cert).read_bytes() == pki.ca_cert_pem
    assert Path(cfg.cert_file).read_bytes() == pki.admin_cert_pem
