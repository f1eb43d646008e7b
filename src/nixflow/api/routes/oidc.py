"""Signing in with OpenID Connect: the providers' buttons, the redirect out, and the provider's answer coming back."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, StringConstraints

from nixflow import crypto
from nixflow.api import security
from nixflow.api.deps import App, GuardedRoute
from nixflow.api.routes.auth import start_session
from nixflow.domain.envelope import EventContext
from nixflow.domain.errors import Forbidden, ValidationFailed
from nixflow.domain.identity import SLUG_PATTERN, OidcConfig, groups_in
from nixflow.domain.redirects import safe_next
from nixflow.ids import uuid7
from nixflow.services import identity, identity_providers, oidc, sign_in_requests
from nixflow.services.sign_in_requests import LIFETIME

router = APIRouter(prefix="/api/auth/oidc", tags=["auth"], route_class=GuardedRoute)
STATE_COOKIE = "nixflow_oidc_state"  # binds the answer to the browser that started the sign-in
COOKIE_PATH = "/api/auth/oidc"
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
# Bounds that keep the whole callback URL under the HTTP server's request-line limit (~64 KB) even when every
# character takes four UTF-8 bytes (12 percent-encoded): a provider's codes run to a few hundred characters.
State = Annotated[str | None, Query(max_length=256)]
Code = Annotated[str | None, Query(max_length=2048)]
Issuer = Annotated[str | None, Query(max_length=512)]
Error = Annotated[str | None, Query(max_length=128)]
ErrorText = Annotated[str | None, Query(max_length=512)]
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
REDIRECTS: dict[int | str, dict[str, Any]] = {
    303: {"description": "Redirect (Location header)."},
    503: {
        "description": "The identity provider cannot be reached, or answers what no provider would",
        "content": PROBLEM,
    },
}


class ProviderButton(BaseModel):
    slug: str
    name: str
    start_url: str


@router.get("/providers", response_model=list[ProviderButton])
async def list_providers(app: App) -> list[ProviderButton]:
    """The enabled OpenID Connect providers, for the sign-in page's buttons (anyone may read)."""
    found = await app.db.read(lambda conn: identity_providers.enabled(conn, kind="oidc"))
    return [ProviderButton(slug=p["slug"], name=p["name"], start_url=f"{COOKIE_PATH}/{p['slug']}/start") for p in found]


def _ctx() -> EventContext:
    return EventContext(correlation_id=uuid7(), actor_id=None, source="api")


async def _provider(app: App, slug: str) -> tuple[dict[str, Any], OidcConfig]:
    row = await app.db.read(lambda conn: identity_providers.for_sign_in(conn, slug=slug, kind="oidc"))
    config = identity_providers.config_of(row, crypto.keyring(app.settings))
    assert isinstance(config, OidcConfig)  # for_sign_in checked the kind
    return row, config


@router.get("/{slug}/start", status_code=303, response_class=RedirectResponse, responses=REDIRECTS)
async def start_sign_in(
    slug: Slug, request: Request, app: App, next: Annotated[str | None, Query(max_length=500)] = None
) -> Response:
    """Go to the provider's sign-in page (code flow with PKCE); back at the callback, then at `next` (a path on
    this site; anything else is `/`). 404 for no enabled provider of that slug, 503 when it cannot be reached."""
    provider, config = await _provider(app, slug)
    async with oidc.client() as http:
        endpoints = await oidc.discover(http, config.issuer)
    keys = crypto.keyring(app.settings)
    nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    redirect_uri = str(request.url_for("oidc_callback", slug=slug))
    kept = {"nonce": nonce, "verifier": verifier, "next": safe_next(next), "redirect_uri": redirect_uri}
    state = await app.writer.run(
        lambda tx: sign_in_requests.begin(tx, keys=keys, provider_id=int(provider["id"]), values=kept), _ctx()
    )
    url = oidc.authorization_url(
        endpoints, config, redirect_uri=redirect_uri, state=state, nonce=nonce, verifier=verifier
    )
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=int(LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=security.is_https(request.scope, app.settings),
        path=COOKIE_PATH,
    )
    return response


@router.get(
    "/{slug}/callback", name="oidc_callback", status_code=303, response_class=RedirectResponse, responses=REDIRECTS
)
async def finish_sign_in(
    slug: Slug,
    request: Request,
    app: App,
    state: State = None,
    code: Code = None,
    iss: Issuer = None,
    error: Error = None,
    error_description: ErrorText = None,
) -> Response:
    """The provider's answer: 403 (nothing created) unless the state is this browser's and unused, the code
    redeems for an id_token signed by the provider for this client with this sign-in's nonce, and the person may
    sign in; then a session and a redirect to where the sign-in was started for."""
    provider, config = await _provider(app, slug)
    if not state or not secrets.compare_digest(request.cookies.get(STATE_COOKIE, "").encode(), state.encode()):
        raise Forbidden("this sign-in was not started in this browser: start it again")
    keys = crypto.keyring(app.settings)
    kept = await app.writer.run(
        lambda tx: sign_in_requests.take(tx, keys=keys, provider_id=int(provider["id"]), state=state), _ctx()
    )
    if error:
        raise Forbidden(f"the identity provider refused the sign-in: {error} {error_description or ''}".strip())
    if not code:
        raise ValidationFailed("the identity provider's answer has no code")
    async with oidc.client() as http:
        endpoints = await oidc.discover(http, config.issuer)
        if iss is not None and iss != endpoints.issuer:  # RFC 9207: the answer of another provider
            raise Forbidden("the answer comes from another identity provider")
        id_token = await oidc.exchange(
            http, endpoints, config, code=code, redirect_uri=kept["redirect_uri"], verifier=kept["verifier"]
        )
        claims = await oidc.verified_claims(
            http, endpoints, config, id_token=id_token, nonce=kept["nonce"], now=app.writer.clock()
        )
    groups = groups_in(claims, identity_providers.role_mapping_of(provider).claim)
    user_id = await app.writer.run(
        lambda tx: identity.sign_in_federated(
            tx,
            provider=provider,
            subject=str(claims["sub"]),
            email=claims.get("email") if isinstance(claims.get("email"), str) else None,
            email_verified=claims.get("email_verified") in (True, "true"),
            name=claims.get("name") if isinstance(claims.get("name"), str) else None,
            groups=groups,
        ),
        _ctx(),
    )
    response = RedirectResponse(kept["next"], status_code=303)
    await start_session(app, request, response, user_id=user_id, method="oidc")
    response.delete_cookie(STATE_COOKIE, path=COOKIE_PATH)
    return response
