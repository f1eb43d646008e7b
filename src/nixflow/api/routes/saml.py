"""SAML 2.0 sign-in: the SP's metadata, the redirect to the identity provider, and the assertion consumer service."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from nixflow import crypto
from nixflow.api.deps import App, GuardedRoute
from nixflow.api.routes.auth import start_session
from nixflow.bootstrap import NixFlow
from nixflow.domain.envelope import EventContext
from nixflow.domain.identity import SLUG_PATTERN, SamlConfig
from nixflow.domain.redirects import safe_next
from nixflow.ids import uuid7
from nixflow.services import identity_providers, saml, saml_sp
from nixflow.services.saml_sp import KeyPair, ServiceProvider

router = APIRouter(prefix="/api/auth/saml", tags=["auth"], route_class=GuardedRoute)
Slug = Annotated[str, Path(pattern=SLUG_PATTERN)]
METADATA_TYPE = "application/samlmetadata+xml"
# A signed Response with a few dozen attributes is a few kB (base64); 80,000 characters stay under the default
# NIXFLOW_MAX_BODY_BYTES even if each were a 4-byte character sent as %XX escapes, so a long one is a 422, not a 413.
MAX_RESPONSE = 80_000
# LAZY_IMPORT: pysaml2 (`saml_protocol`) builds its XML schemas when imported, 1-3 s of CPU that every `nixflow`
# process would pay at start-up, SAML or not; the routes import it when first called.


PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
# The identity provider's metadata is fetched from its URL (when configured so): one that cannot be reached is 503.
IDP_DOWN: dict[int | str, dict[str, Any]] = {
    503: {"description": "The identity provider's metadata cannot be fetched", "content": PROBLEM},
}


@router.get(
    "/{slug}/metadata",
    response_class=Response,
    responses={200: {"content": {METADATA_TYPE: {"schema": {"type": "string"}}}, "description": "SP metadata"}},
)
async def metadata(slug: Slug, app: App) -> Response:
    """This service provider's metadata for the identity provider `slug` (entity id, ACS, certificate); its URL is
    the SP's entity id and does not change."""
    provider = await _provider(app, slug, with_idp=False)
    from nixflow.services import saml_protocol as protocol  # noqa: PLC0415 - lazily: see LAZY_IMPORT

    return Response(await anyio.to_thread.run_sync(protocol.metadata, provider.sp), media_type=METADATA_TYPE)


@router.get("/{slug}/start", status_code=303, response_class=RedirectResponse, responses=IDP_DOWN)
async def start(slug: Slug, app: App, next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    """Send the browser to the identity provider with a signed AuthnRequest (HTTP-Redirect binding); the answer
    comes back to the ACS, which then goes on to `next` (a path on this site)."""
    provider = await _provider(app, slug)
    next_path = safe_next(next)
    from nixflow.services import saml_protocol as protocol  # noqa: PLC0415 - lazily: see LAZY_IMPORT

    request_id, location = await anyio.to_thread.run_sync(
        lambda: protocol.authn_request(provider.sp, relay_state=next_path)
    )
    ctx = EventContext(correlation_id=uuid7(), actor_id=None, source="api")
    await app.writer.run(
        lambda tx: saml.remember_request(tx, provider_id=provider.id, request_id=request_id, next_path=next_path), ctx
    )
    return RedirectResponse(location, status_code=303)


@router.post("/{slug}/acs", status_code=303, response_class=RedirectResponse, responses=IDP_DOWN)
async def acs(
    slug: Slug,
    request: Request,
    app: App,
    saml_response: Annotated[str, Form(alias="SAMLResponse", min_length=1, max_length=MAX_RESPONSE)],
    relay_state: Annotated[str | None, Form(alias="RelayState", max_length=500)] = None,
) -> Response:
    """The assertion consumer service (HTTP-POST binding): a Response whose assertion is signed by the IdP, meant
    for this SP, sent to this address, answering a sign-in this SP started (once) and not expired signs the person
    in; anything else is refused (401) and changes nothing. `RelayState` is not trusted: the `next` path was kept
    with the request."""
    provider = await _provider(app, slug)
    ctx = EventContext(correlation_id=uuid7(), actor_id=None, source="api")
    from nixflow.services import saml_protocol as protocol  # noqa: PLC0415 - lazily: see LAZY_IMPORT

    request_id = protocol.answered_request(saml_response)
    next_path = await app.writer.run(
        lambda tx: saml.take_request(tx, provider_id=provider.id, request_id=request_id), ctx
    )
    assertion = await anyio.to_thread.run_sync(
        lambda: protocol.verify_response(provider.sp, saml_response, request_id=str(request_id))
    )
    user_id = await app.writer.run(
        lambda tx: saml.sign_in(tx, provider=provider.row, config=provider.config, assertion=assertion), ctx
    )
    redirect = RedirectResponse(next_path, status_code=303)
    await start_session(app, request, redirect, user_id=user_id, method="saml")
    return redirect


@dataclass(frozen=True)
class _Provider:
    row: Mapping[str, Any]
    config: SamlConfig
    sp: ServiceProvider

    @property
    def id(self) -> int:
        return int(self.row["id"])


async def _provider(app: NixFlow, slug: str, *, with_idp: bool = True) -> _Provider:
    """The enabled SAML provider `slug` (404 otherwise) and this SP towards it."""
    row = await app.db.read(lambda conn: identity_providers.for_sign_in(conn, slug=slug, kind="saml"))
    config = identity_providers.config_of(row, crypto.keyring(app.settings))
    assert isinstance(config, SamlConfig)
    keys = await _keys(app)
    idp = None
    if with_idp:
        idp = await anyio.to_thread.run_sync(lambda: saml_sp.idp_metadata(config.idp_metadata))
    entity_id, acs_url = saml_sp.endpoints(app.settings.base_url, slug)
    return _Provider(row, config, ServiceProvider(entity_id, acs_url, keys, idp, config.idp_entity_id))


async def _keys(app: NixFlow) -> KeyPair:
    """The SP's key pair, made and stored on first use (by whichever process gets there first)."""
    keyring = crypto.keyring(app.settings)
    stored = await app.db.read(lambda conn: saml.stored_keys(conn, keys=keyring))
    if stored is not None:
        return stored
    made = await anyio.to_thread.run_sync(saml_sp.generate_keys, f"NixFlow {app.settings.base_url}")
    ctx = EventContext(correlation_id=uuid7(), actor_id=None, source="api")
    kept: KeyPair = await app.writer.run(lambda tx: saml.keep_keys(tx, keys=keyring, made=made), ctx)
    return kept
