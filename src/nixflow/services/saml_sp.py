"""NixFlow as a SAML 2.0 service provider: what it is towards an IdP (its URLs, its key pair, the IdP's metadata)
and what a verified assertion says. No pysaml2 here (its import is slow): the protocol is `saml_protocol`.
No storage either: the caller keeps the key pair and the outstanding request ids (`store/saml.py`)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from nixflow.domain.errors import DomainError, ServiceUnavailable
from nixflow.domain.identity import MetadataUrl, MetadataXml

CLOCK_SKEW = 60  # seconds of leeway between our clock and the IdP's
REQUEST_LIFETIME = timedelta(minutes=10)  # how long a sign-in may stay at the IdP
METADATA_TTL = 300  # seconds an IdP's metadata read from its URL is kept
METADATA_TIMEOUT = 10.0


class SamlRefused(DomainError):
    """A SAML Response that this service provider does not accept; the detail says which check failed."""

    status = 401
    title = "SAML sign-in refused"


@dataclass(frozen=True)
class KeyPair:
    """The SP's signing and decryption key and its self-signed certificate, both PEM."""

    private_key: str
    certificate: str


@dataclass(frozen=True)
class ServiceProvider:
    """One SP per identity provider: its URLs (the entity id is the metadata URL), keys, and the IdP's metadata."""

    entity_id: str
    acs_url: str
    keys: KeyPair
    idp_metadata: str | None  # None: enough for the SP's own metadata, not for a sign-in
    idp_entity_id: str | None = None


@dataclass(frozen=True)
class Assertion:
    """What a verified assertion says about the person."""

    subject: str
    attributes: Mapping[str, list[str]]

    def first(self, name: str) -> str | None:
        """The first value of attribute `name`, if any."""
        values = self.attributes.get(name) or []
        return str(values[0]) if values else None


def endpoints(base_url: str, slug: str) -> tuple[str, str]:
    """The SP's entity id (its metadata URL, stable) and its ACS URL for the provider `slug`."""
    root = f"{base_url.rstrip('/')}/api/auth/saml/{slug}"
    return f"{root}/metadata", f"{root}/acs"


def generate_keys(common_name: str, *, now: datetime | None = None) -> KeyPair:
    """A new RSA key and a self-signed certificate valid for ten years: the SP's identity towards IdPs."""
    now = now or datetime.now(UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return KeyPair(private.decode(), cert.public_bytes(serialization.Encoding.PEM).decode())


def idp_metadata(source: MetadataXml | MetadataUrl) -> str:
    """The IdP's metadata: given inline, or read from its URL (kept for `METADATA_TTL` seconds)."""
    if isinstance(source, MetadataXml):
        return source.xml
    return _fetch_metadata(source.url, int(time.monotonic() // METADATA_TTL))


@lru_cache(maxsize=32)
def _fetch_metadata(url: str, period: int) -> str:
    """`period` makes the cache forget a URL's metadata after a while (a failure is never kept)."""
    try:
        answer = httpx.get(url, timeout=METADATA_TIMEOUT, follow_redirects=False)
        answer.raise_for_status()
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(
            f"the identity provider's metadata could not be fetched ({type(exc).__name__})"
        ) from None
    return answer.text
