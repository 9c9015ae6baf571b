"""A local CA and a localhost certificate it signs, so HTTPS clients can trust the emulator through a CA bundle.

Official Azure SDKs refuse to send a bearer token over plain HTTP, so the emulator must speak TLS. Clients trust
it by pointing `REQUESTS_CA_BUNDLE` (or `connection_verify`) at the CA file; nothing is added to the system store.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

VALID_DAYS = 365
RENEW_BEFORE_DAYS = 7


@dataclass(frozen=True)
class Certificate:
    ca_file: Path
    cert_file: Path
    key_file: Path


def localhost_certificate(directory: Path) -> Certificate:
    """Return the certificate files in `directory`, creating them (or renewing them near expiry) first."""
    certificate = Certificate(directory / "ca.pem", directory / "localhost.pem", directory / "localhost-key.pem")
    if not _still_valid(certificate.cert_file):
        directory.mkdir(parents=True, exist_ok=True)
        _issue(certificate)
    return certificate


def _still_valid(cert_file: Path) -> bool:
    if not cert_file.exists():
        return False
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    remaining = cert.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)
    return remaining > datetime.timedelta(days=RENEW_BEFORE_DAYS)


def _issue(certificate: Certificate) -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    not_after = now + datetime.timedelta(days=VALID_DAYS)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "facetrain local CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
             x509.IPAddress(ipaddress.ip_address("::1"))]
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    # Key first and certificate last: a reader that sees the certificate also sees a matching key.
    _write_atomically(certificate.key_file, key_pem, private=True)
    _write_atomically(certificate.ca_file, ca.public_bytes(serialization.Encoding.PEM))
    _write_atomically(certificate.cert_file, leaf.public_bytes(serialization.Encoding.PEM))


def _write_atomically(path: Path, data: bytes, private: bool = False) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    if private:
        temporary.chmod(0o600)
    temporary.replace(path)
