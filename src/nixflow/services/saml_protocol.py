"""The SAML protocol itself, with pysaml2 and Debian's xmlsec1: the SP's metadata, the AuthnRequest it sends
(HTTP-Redirect) and the checks on the Response an identity provider posts back (HTTP-POST).

A Response is accepted only if its assertion is signed by the key in the IdP's metadata, is meant for this SP
(audience), was sent to this SP's ACS (destination), answers the request this SP made and still waits for
(InResponseTo), and is within its validity (NotBefore / NotOnOrAfter, with `CLOCK_SKEW` of leeway).

pysaml2 builds its XML schemas when it is imported (1-3 s of CPU): import this module where a SAML sign-in is
served, not at start-up (`api/routes/saml.py`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, SAMLError
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string
from saml2.response import AuthnResponse
from saml2.s_utils import UnravelError
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_TRANSIENT
from saml2.samlp import response_from_string
from saml2.sigver import SignatureError

from nixflow.domain.errors import ServiceUnavailable
from nixflow.services.saml_sp import CLOCK_SKEW, Assertion, KeyPair, SamlRefused, ServiceProvider

XMLSEC = "/usr/bin/xmlsec1"
WRONG_ADDRESS = "the response was sent to another address than this service provider's ACS (destination, recipient)"


def metadata(sp: ServiceProvider) -> str:
    """The SP's metadata XML (entity id, ACS, certificate) for the IdP's administrator."""
    return str(create_metadata_string(None, _config(sp), valid=None).decode())


def authn_request(sp: ServiceProvider, *, relay_state: str) -> tuple[str, str]:
    """A signed AuthnRequest for the HTTP-Redirect binding: its id (to store as outstanding) and the IdP URL."""
    client = _client(sp)
    request_id, info = client.prepare_for_authenticate(
        entityid=_idp_entity_id(client, sp),
        relay_state=relay_state,
        binding=BINDING_HTTP_REDIRECT,
        nameid_format=NAMEID_FORMAT_PERSISTENT,
    )
    return str(request_id), str(dict(info["headers"])["Location"])


def answered_request(saml_response: str) -> str | None:
    """The InResponseTo of a posted Response, read before any check (to find its outstanding request)."""
    return _unchecked(saml_response, "in_response_to")


def _unchecked(saml_response: str, attribute: str) -> str | None:
    """An attribute of the posted Response element, unverified."""
    try:
        parsed = response_from_string(base64.b64decode(saml_response, validate=True))
    except (binascii.Error, ValueError, SAMLError, SyntaxError):
        return None
    value = getattr(parsed, attribute, None)
    return str(value) if value else None


def verify_response(sp: ServiceProvider, saml_response: str, *, request_id: str) -> Assertion:
    """The assertion of `saml_response` if every check passes (see the module's docstring), else `SamlRefused`."""
    destination = _unchecked(saml_response, "destination")
    if destination is not None and destination != sp.acs_url:
        raise SamlRefused(WRONG_ADDRESS)  # pysaml2 checks it too, but says only that nothing came of it
    client = _client(sp)
    try:
        response = client.parse_authn_request_response(
            saml_response, BINDING_HTTP_POST, outstanding={request_id: request_id}
        )
    except SignatureError as exc:
        raise SamlRefused(f"the assertion is not signed by the identity provider ({exc})") from None
    except (SAMLError, UnravelError, ValueError, KeyError, AttributeError, TypeError) as exc:
        raise SamlRefused(_reason(exc)) from None
    except Exception as exc:
        raise SamlRefused(_reason(exc)) from None
    if not isinstance(response, AuthnResponse) or response.assertion is None:
        raise SamlRefused("the response carries no assertion")
    if response.assertion.signature is None and not _signed_when_encrypted(response):
        raise SamlRefused("the assertion is not signed")
    name_id = response.name_id
    if name_id is None or not name_id.text or name_id.format == NAMEID_FORMAT_TRANSIENT:
        raise SamlRefused("the identity provider must send a persistent NameID (the person's stable identifier)")
    attributes = {str(k): [str(v) for v in values] for k, values in (response.ava or {}).items()}
    return Assertion(subject=str(name_id.text).strip(), attributes=attributes)


def _signed_when_encrypted(response: AuthnResponse) -> bool:
    # pysaml2 verifies an encrypted assertion's signature after decrypting it and keeps it in `assertions`.
    return any(a.signature is not None for a in getattr(response, "assertions", []) or [])


def _reason(exc: BaseException) -> str:
    """What failed, in words, from what pysaml2 raised (it says it mostly by class name and message)."""
    name, text = type(exc).__name__, str(exc)
    if name == "UnsolicitedResponse":
        return "the response answers no sign-in this service provider is waiting for"
    if "recipient" in text.lower() or "destination" in text.lower():
        return WRONG_ADDRESS
    if "AudienceRestriction" in text:
        return "the assertion is meant for another service provider (audience)"
    if name in ("VerificationError", "ResponseLifetimeExceed"):
        return "the response or its assertion has expired or is not valid yet"
    return f"the response could not be verified ({name})"


def _idp_entity_id(client: Saml2Client, sp: ServiceProvider) -> str:
    if sp.idp_entity_id:
        return sp.idp_entity_id
    idps = list(client.metadata.with_descriptor("idpsso"))
    if len(idps) != 1:
        raise SamlRefused("the identity provider's metadata must describe exactly one IdP (or name its entity id)")
    return str(idps[0])


def _client(sp: ServiceProvider) -> Saml2Client:
    return Saml2Client(_config(sp))


def _config(sp: ServiceProvider) -> SPConfig:
    key_file, cert_file = _key_files(sp.keys)
    config = SPConfig()
    try:
        config.load(_settings(sp, key_file, cert_file))
    except Exception as exc:
        raise ServiceUnavailable(f"the identity provider's metadata could not be read ({type(exc).__name__})") from None
    return config


def _settings(sp: ServiceProvider, key_file: str, cert_file: str) -> dict[str, Any]:
    return {
        "entityid": sp.entity_id,
        "key_file": key_file,
        "cert_file": cert_file,
        "encryption_keypairs": [{"key_file": key_file, "cert_file": cert_file}],
        "xmlsec_binary": XMLSEC,
        "accepted_time_diff": CLOCK_SKEW,
        "allow_unknown_attributes": True,
        "metadata": {"inline": [sp.idp_metadata]} if sp.idp_metadata else {},
        "service": {
            "sp": {
                "endpoints": {"assertion_consumer_service": [(sp.acs_url, BINDING_HTTP_POST)]},
                "want_assertions_signed": True,
                "want_response_signed": False,
                "allow_unsolicited": False,
                "authn_requests_signed": True,
                "name_id_format": [NAMEID_FORMAT_PERSISTENT],
            }
        },
    }


@lru_cache(maxsize=8)
def _key_files(keys: KeyPair) -> tuple[str, str]:
    """The key pair as files for xmlsec1, in a directory only this process's user can read."""
    digest = hashlib.sha256(keys.certificate.encode()).hexdigest()[:16]
    folder = Path(tempfile.mkdtemp(prefix=f"nixflow-saml-{digest}-"))
    key_path, cert_path = folder / "sp.key", folder / "sp.crt"
    for path, text in ((key_path, keys.private_key), (cert_path, keys.certificate)):
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
    return str(key_path), str(cert_path)
