"""OpenID Connect relying party (authorization code with PKCE): discovery, the redirect out, the code exchange and
the id_token's checks (signature by the provider's JWKS, issuer, audience, expiry, nonce).

Discovery and the JWKS are read for each sign-in (no cache: sign-ins are rare, and a rotated key or a moved
endpoint is then seen at once). A provider that cannot be reached, or answers what no provider would, is
`ProviderDown` (503); a provider that refuses, or a token that fails a check, is Forbidden. Never a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from nixflow.domain.errors import Forbidden, ServiceUnavailable
from nixflow.domain.identity import OidcConfig

TIMEOUT = httpx.Timeout(10.0)
LEEWAY_SECONDS = 60  # clocks disagree a little
# Asymmetric signatures only: `none` and HMAC (keyed with a secret the client knows too) are refused.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class ProviderDown(ServiceUnavailable):
    title = "Identity provider unavailable"


@dataclass(frozen=True)
class Endpoints:
    issuer: str
    authorization: str
    token: str
    jwks: str


def client() -> httpx.AsyncClient:
    """The HTTP client a sign-in talks to its provider with (no redirects followed: endpoints are exact)."""
    return httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False)


async def _json(response_of: Any, what: str) -> dict[str, Any]:
    try:
        response = await response_of
    except httpx.HTTPError as exc:
        raise ProviderDown(f"the identity provider could not be reached for its {what}: {type(exc).__name__}") from None
    if response.status_code >= 500:
        raise ProviderDown(f"the identity provider failed to give its {what} (HTTP {response.status_code})")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ProviderDown(f"the identity provider's {what} is not a JSON object (HTTP {response.status_code})")
    return body


async def discover(http: httpx.AsyncClient, issuer: str) -> Endpoints:
    """The provider's endpoints, from `{issuer}/.well-known/openid-configuration`, whose issuer must be `issuer`."""
    doc = await _json(http.get(issuer.rstrip("/") + "/.well-known/openid-configuration"), "discovery document")
    metadata = OpenIDProviderMetadata(doc)
    try:
        metadata.validate()
    except (ValueError, KeyError) as exc:
        raise ProviderDown(f"the identity provider's discovery document is not valid: {exc}") from None
    if str(doc["issuer"]).rstrip("/") != issuer.rstrip("/"):
        raise ProviderDown(f"the discovery document names another issuer ({doc['issuer']}) than {issuer}")
    if not doc.get("token_endpoint"):
        raise ProviderDown("the identity provider's discovery document has no token endpoint")
    return Endpoints(
        str(doc["issuer"]), str(doc["authorization_endpoint"]), str(doc["token_endpoint"]), str(doc["jwks_uri"])
    )


def authorization_url(
    endpoints: Endpoints, config: OidcConfig, *, redirect_uri: str, state: str, nonce: str, verifier: str
) -> str:
    """Where the browser goes to sign in at the provider (code flow, PKCE S256)."""
    params = {
        "response_type": "code",
        "client_id": config.client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(config.scopes),
        "state": state,
        "nonce": nonce,
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    return str(add_params_to_uri(endpoints.authorization, params))


async def exchange(
    http: httpx.AsyncClient, endpoints: Endpoints, config: OidcConfig, *, code: str, redirect_uri: str, verifier: str
) -> str:
    """The id_token the provider gives for `code` (client_secret_basic when the client has a secret)."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier}
    auth = (config.client_id, config.client_secret) if config.client_secret else None
    if auth is None:
        form["client_id"] = config.client_id
    answer = await _json(http.post(endpoints.token, data=form, auth=auth or httpx.USE_CLIENT_DEFAULT), "token")
    if "error" in answer:
        detail = f"{answer['error']} {answer.get('error_description', '')}".strip()
        raise Forbidden(f"the identity provider refused the sign-in: {detail}")
    id_token = answer.get("id_token")
    if not isinstance(id_token, str):
        raise Forbidden("the identity provider gave no id_token")
    return id_token


async def verified_claims(
    http: httpx.AsyncClient, endpoints: Endpoints, config: OidcConfig, *, id_token: str, nonce: str, now: datetime
) -> dict[str, Any]:
    """The id_token's claims, once its signature (the provider's JWKS), issuer, audience, expiry and nonce hold."""
    try:
        keys = KeySet.import_key_set(await _json(http.get(endpoints.jwks), "signing keys"))  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError) as exc:
        raise ProviderDown(f"the identity provider's signing keys are not usable: {exc}") from None
    try:
        token = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
    except (JoseError, ValueError) as exc:
        raise Forbidden(f"the id_token is not signed by the identity provider ({_why(exc)})") from None
    claims: dict[str, Any] = dict(token.claims)
    registry = jwt.JWTClaimsRegistry(
        now=int(now.timestamp()),
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": endpoints.issuer},
        aud={"essential": True, "value": config.client_id},
        exp={"essential": True},
        sub={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise Forbidden(f"the id_token was refused: {_why(exc)}") from None
    _check_authorized_party(claims, config.client_id)
    return claims


def _check_authorized_party(claims: Mapping[str, Any], client_id: str) -> None:
    """A token for several audiences must name this client as the party it was issued to (OIDC Core 3.1.3.7)."""
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise Forbidden("the id_token was refused: issued to another party (azp)")


def _why(exc: Exception) -> str:
    return str(getattr(exc, "description", None) or exc.__class__.__name__)
