"""The cluster's PKI: a CA, the API server's serving certificate and an admin client certificate.

``ensure_pki(data_dir)`` makes (first start) or reuses (restart) the files under ``<data-dir>/tls/``:

==============  =====================================================================
``ca.crt/key``  ``kybernetes-ca``; generated only when ``ca.crt`` is absent, never replaced
``server.*``    serving certificate; re-issued when missing, not signed by the CA, short of
                a required SAN, or within :data:`RENEW_BEFORE` of expiry
``admin.*``     client certificate CN ``system:admin``, O ``system:masters``; re-issued likewise
==============  =====================================================================

Keys are ECDSA P-256, written mode 0600 (certificates 0644), each file atomically (temp + rename). A CA
certificate without its key, or one that does not parse, raises :class:`PkiError` instead of being replaced:
replacing a CA silently would invalidate every kubeconfig and joined node. A loaded CA may have an RSA key.

Client certificates authenticate like upstream's x509 authenticator: CN is the user name, each O a group
(:func:`client_identity`).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "kybernetes-ca"
SERVER_CN = "kube-apiserver"
ADMIN_USER = "system:admin"
ADMIN_GROUP = "system:masters"
SERVICE_IP = "10.43.0.1"
DEFAULT_DNS_NAMES = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
DEFAULT_IPS = ("127.0.0.1", "::1", SERVICE_IP)
CA_VALIDITY = dt.timedelta(days=3650)
LEAF_VALIDITY = dt.timedelta(days=365)
RENEW_BEFORE = dt.timedelta(days=90)
BACKDATE = dt.timedelta(hours=1)  # tolerate clocks of other nodes that run a little behind

SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class PkiError(Exception):
    """The files under ``<data-dir>/tls`` are unusable and must not be replaced automatically."""


@dataclass(frozen=True)
class User:
    """An authenticated identity: upstream's ``user.Info`` without uid/extra."""

    name: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA able to sign further certificates (see :func:`issue_client_cert`). Equal when the certificates
    are (the key belongs to the certificate)."""

    cert: x509.Certificate
    key: SigningKey = field(compare=False, repr=False)
    cert_pem: bytes


@dataclass(frozen=True)
class Pki:
    """Paths and PEM contents of everything :func:`ensure_pki` manages."""

    dir: Path
    ca: CertificateAuthority
    ca_cert_path: Path
    ca_key_path: Path
    server_cert_path: Path
    server_key_path: Path
    admin_cert_path: Path
    admin_key_path: Path
    server_cert_pem: bytes
    server_key_pem: bytes
    admin_cert_pem: bytes
    admin_key_pem: bytes

    @property
    def ca_cert_pem(self) -> bytes:
        return self.ca.cert_pem


# ---------------------------------------------------------------------------------------------------- public


def ensure_pki(data_dir: Path, *, hosts: Sequence[str] = ()) -> Pki:
    """Create or reuse the PKI under ``data_dir/tls`` and return it.

    ``hosts`` are extra subject alternative names for the serving certificate; each is taken as an IP
    address when it parses as one, else as a DNS name. Idempotent: a second call with the same arguments
    rewrites nothing.
    """
    tls = Path(data_dir) / "tls"
    tls.mkdir(parents=True, exist_ok=True)
    os.chmod(tls, 0o700)
    now = _now()
    ca = _ensure_ca(tls / "ca.crt", tls / "ca.key", now)

    dns_names, ips = serving_names(hosts)
    server_cert_pem, server_key_pem = _ensure_leaf(
        tls / "server.crt",
        tls / "server.key",
        ca,
        now,
        acceptable=lambda cert: _covers(cert, dns_names, ips),
        issue=lambda: issue_server_cert(ca, dns_names, ips),
    )
    admin_cert_pem, admin_key_pem = _ensure_leaf(
        tls / "admin.crt",
        tls / "admin.key",
        ca,
        now,
        acceptable=lambda cert: _identity_of(cert) == User(ADMIN_USER, (ADMIN_GROUP,)),
        issue=lambda: issue_client_cert(ca, ADMIN_USER, [ADMIN_GROUP]),
    )
    return Pki(
        dir=tls,
        ca=ca,
        ca_cert_path=tls / "ca.crt",
        ca_key_path=tls / "ca.key",
        server_cert_path=tls / "server.crt",
        server_key_path=tls / "server.key",
        admin_cert_path=tls / "admin.crt",
        admin_key_path=tls / "admin.key",
        server_cert_pem=server_cert_pem,
        server_key_pem=server_key_pem,
        admin_cert_pem=admin_cert_pem,
        admin_key_pem=admin_key_pem,
    )


def serving_names(hosts: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """The serving certificate's SANs: (DNS names, IP addresses), defaults first, then the host name, then
    ``hosts``; duplicates removed, IPs in canonical form."""
    dns_names: list[str] = []
    ips: list[str] = []
    for name in [*DEFAULT_DNS_NAMES, *DEFAULT_IPS, socket.gethostname(), *hosts]:
        name = name.strip()
        if not name:
            continue
        try:
            ip = str(ipaddress.ip_address(name.strip("[]")))
        except ValueError:
            if name.lower() not in dns_names:
                dns_names.append(name.lower())
        else:
            if ip not in ips:
                ips.append(ip)
    return dns_names, ips


def issue_client_cert(
    ca: CertificateAuthority | Pki, cn: str, orgs: Sequence[str] = ()
) -> tuple[bytes, bytes]:
    """A new client certificate for user ``cn`` in groups ``orgs``, signed by ``ca``: (cert PEM, key PEM)."""
    authority = ca.ca if isinstance(ca, Pki) else ca
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return _issue(authority, x509.Name(attrs), ExtendedKeyUsageOID.CLIENT_AUTH, san=None)


def issue_server_cert(
    ca: CertificateAuthority, dns_names: Sequence[str], ips: Sequence[str]
) -> tuple[bytes, bytes]:
    """A new serving certificate for the given SANs, signed by ``ca``: (cert PEM, key PEM)."""
    san = x509.SubjectAlternativeName(
        [x509.DNSName(n) for n in dns_names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    )
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_CN)])
    return _issue(ca, subject, ExtendedKeyUsageOID.SERVER_AUTH, san=san)


def server_ssl_context(pki: Pki) -> ssl.SSLContext:
    """A TLS server context with the serving certificate that asks for (but does not require) a client
    certificate; one that is presented must chain to the CA. ALPN offers ``http/1.1`` only."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(pki.server_cert_path, pki.server_key_path)
    ctx.load_verify_locations(cadata=pki.ca_cert_pem.decode())
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def client_identity(peercert: dict[str, Any] | None) -> User | None:
    """The user of a verified client certificate in :meth:`ssl.SSLSocket.getpeercert` form (CN → name,
    each O → a group, in order); ``None`` for no certificate or one without a CN."""
    if not peercert:
        return None
    cn = ""
    groups: list[str] = []
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName" and not cn:
                cn = value
            elif key == "organizationName":
                groups.append(value)
    return User(cn, tuple(groups)) if cn else None


# ------------------------------------------------------------------------------------------------- internals


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: SigningKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _issue(
    ca: CertificateAuthority,
    subject: x509.Name,
    usage: x509.ObjectIdentifier,
    *,
    san: x509.SubjectAlternativeName | None,
) -> tuple[bytes, bytes]:
    key = _new_key()
    now = _now()
    not_after = min(now + LEAF_VALIDITY, ca.cert.not_valid_after_utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    if san is not None:
        builder = builder.add_extension(san, critical=False)
    cert = builder.sign(ca.key, hashes.SHA256())
    return _cert_pem(cert), _key_pem(key)


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=not cert_sign,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _new_ca() -> tuple[bytes, bytes]:
    key = _new_key()
    now = _now()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _cert_pem(cert), _key_pem(key)


def _ensure_ca(cert_path: Path, key_path: Path, now: dt.datetime) -> CertificateAuthority:
    if not cert_path.exists():
        # A key without its certificate is an interrupted first start (the key is written first): nothing
        # can trust it yet, so starting over is safe.
        cert_pem, key_pem = _new_ca()
        write_atomic(key_path, key_pem, 0o600)
        write_atomic(cert_path, cert_pem, 0o644)
    try:
        cert_pem = cert_path.read_bytes()
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as e:
        raise PkiError(f"{cert_path}: not a PEM certificate: {e}") from e
    try:
        loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except FileNotFoundError as e:
        raise PkiError(f"{key_path}: missing; the CA {cert_path} cannot sign without it") from e
    except (ValueError, TypeError) as e:
        raise PkiError(f"{key_path}: not an unencrypted PEM private key: {e}") from e
    if not isinstance(loaded, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise PkiError(f"{key_path}: only EC and RSA CA keys are supported")
    if not _same_public_key(loaded, cert):
        raise PkiError(f"{key_path} does not belong to {cert_path}")
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise PkiError(f"{cert_path} is not a CA certificate")
    if cert.not_valid_after_utc <= now:
        raise PkiError(
            f"{cert_path} expired on {cert.not_valid_after_utc:%Y-%m-%d}; remove {cert_path.parent}"
        )
    return CertificateAuthority(cert=cert, key=loaded, cert_pem=cert_pem)


def _ensure_leaf(
    cert_path: Path,
    key_path: Path,
    ca: CertificateAuthority,
    now: dt.datetime,
    *,
    acceptable: Callable[[x509.Certificate], bool],
    issue: Callable[[], tuple[bytes, bytes]],
) -> tuple[bytes, bytes]:
    existing = _load_leaf(cert_path, key_path, ca, now)
    if existing is not None and acceptable(existing[0]):
        return existing[1], existing[2]
    cert_pem, key_pem = issue()
    write_atomic(key_path, key_pem, 0o600)
    write_atomic(cert_path, cert_pem, 0o644)
    return cert_pem, key_pem


def _load_leaf(
    cert_path: Path, key_path: Path, ca: CertificateAuthority, now: dt.datetime
) -> tuple[x509.Certificate, bytes, bytes] | None:
    """The certificate and PEMs when both files are usable with ``ca`` for a while longer, else ``None``."""
    try:
        cert_pem = cert_path.read_bytes()
        key_pem = key_path.read_bytes()
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
        cert.verify_directly_issued_by(ca.cert)
    except (OSError, ValueError, TypeError, InvalidSignature):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        return None
    if not _same_public_key(key, cert):
        return None
    if cert.not_valid_after_utc - RENEW_BEFORE <= now or cert.not_valid_before_utc > now:
        return None
    return cert, cert_pem, key_pem


def _same_public_key(key: SigningKey, cert: x509.Certificate) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key.public_key().public_bytes(*fmt) == cert.public_key().public_bytes(*fmt)


def _covers(cert: x509.Certificate, dns_names: Sequence[str], ips: Sequence[str]) -> bool:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have_dns = {n.lower() for n in san.get_values_for_type(x509.DNSName)}
    have_ips = {str(i) for i in san.get_values_for_type(x509.IPAddress)}
    return set(dns_names) <= have_dns and set(ips) <= have_ips


def _identity_of(cert: x509.Certificate) -> User | None:
    subject: list[tuple[tuple[str, str], ...]] = []
    for attr in cert.subject:
        value = attr.value if isinstance(attr.value, str) else attr.value.decode()
        if attr.oid == NameOID.COMMON_NAME:
            subject.append((("commonName", value),))
        elif attr.oid == NameOID.ORGANIZATION_NAME:
            subject.append((("organizationName", value),))
    return client_identity({"subject": tuple(subject)})


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Replace ``path`` by ``data`` (mode ``mode``); readers see the old or the new file, never a part."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------------------ the API server as a kubelet client

KUBELET_CLIENT_USER = "kube-apiserver-kubelet-client"


def ensure_kubelet_client_cert(pki: Pki) -> tuple[Path, Path]:
    """The API server's client certificate for kubelets (CN ``kube-apiserver-kubelet-client``, O
    ``system:masters``) as ``(cert path, key path)`` under ``pki.dir``; issued from the CA when missing, not
    signed by it, of another identity or near expiry, else reused."""
    cert_path, key_path = pki.dir / "kubelet-client.crt", pki.dir / "kubelet-client.key"
    want = User(KUBELET_CLIENT_USER, (ADMIN_GROUP,))
    _ensure_leaf(cert_path, key_path, pki.ca, _now(),
                 acceptable=lambda cert: _identity_of(cert) == want,
                 issue=lambda: issue_client_cert(pki.ca, KUBELET_CLIENT_USER, [ADMIN_GROUP]))
    return cert_path, key_path


def kubelet_client_ssl_context(pki: Pki) -> ssl.SSLContext:
    """A TLS client context for calling kubelets: presents the kubelet client certificate (see
    :func:`ensure_kubelet_client_cert`) and accepts only serving certificates signed by the cluster CA. Host
    names are not checked: kubelets serve on whatever address their node reports."""
    cert_path, key_path = ensure_kubelet_client_cert(pki)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(cadata=pki.ca_cert_pem.decode())
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_cert_chain(cert_path, key_path)
    return ctx
