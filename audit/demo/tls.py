"""Throwaway TLS material for the demo world: a CA made at start-up and one leaf for every host.

Chromium is told to trust the leaf by the SHA-256 of its SubjectPublicKeyInfo
(`--ignore-certificate-errors-spki-list`), so nothing is ever added to a system trust store.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class TlsMaterial:
    ca_pem: bytes
    cert_pem: bytes          # leaf followed by the CA, the chain a server sends
    key_pem: bytes
    spki_sha256: str         # base64 SHA-256 of the leaf's SubjectPublicKeyInfo

    def server_context(self) -> ssl.SSLContext:
        """An SSLContext serving the chain. `load_cert_chain` only reads files, hence the temp dir."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(["http/1.1"])  # the server speaks HTTP/1.1 only
        with tempfile.TemporaryDirectory(prefix="card-audit-tls-") as folder:
            cert_path = os.path.join(folder, "chain.pem")
            key_path = os.path.join(folder, "key.pem")
            with open(cert_path, "wb") as f:
                f.write(self.cert_pem)
            with open(key_path, "wb") as f:
                f.write(self.key_pem)
            context.load_cert_chain(cert_path, key_path)
        return context


def san_names(hostnames: tuple[str, ...]) -> list[str]:
    """Every hostname, plus a wildcard for its parent so sibling subdomains are covered too."""
    names: list[str] = []
    for host in hostnames:
        names.append(host)
        parent = host.split(".", 1)[1] if host.count(".") >= 2 else None
        if parent:
            names.append(f"*.{parent}")
        names.append(f"*.{host}")  # e.g. *.js.stripe.com, which Stripe's CSP guidance names
    return list(dict.fromkeys(names))


def make_tls(hostnames: tuple[str, ...], days: int = 30) -> TlsMaterial:
    # P-256 keys: generated in milliseconds, unlike RSA, so every start gets fresh keys.
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)  # tolerate clock skew
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "card-audit demo CA (throwaway)")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in san_names(hostnames)]
    sans.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    spki = leaf_key.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(spki)
    pem = serialization.Encoding.PEM
    return TlsMaterial(
        ca_pem=ca_cert.public_bytes(pem),
        cert_pem=leaf_cert.public_bytes(pem) + ca_cert.public_bytes(pem),
        key_pem=leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()),
        spki_sha256=base64.b64encode(digest.finalize()).decode("ascii"),
    )
