"""Identity providers (single sign-on) as admins configure them: secrets are written, never read back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field, StrictBool, StringConstraints

from nixflow import crypto
from nixflow.api.deps import AdminUser, App, Ctx, GuardedRoute, PathId
from nixflow.api.schemas import Strict
from nixflow.domain.identity import MAX_NAME, SLUG_PATTERN, ProviderConfig, RoleMapping
from nixflow.domain.json_types import NOT_BLANK
from nixflow.services import identity_providers
from nixflow.store.db import Tx

router = APIRouter(prefix="/api/identity-providers", tags=["identity providers"], route_class=GuardedRoute)

Slug = Annotated[str, StringConstraints(strict=True, pattern=SLUG_PATTERN)]
Name = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=MAX_NAME, pattern=NOT_BLANK)]


class ProviderCreate(Strict):
    slug: Slug = Field(description="In the sign-in URLs, e.g. /api/auth/oidc/{slug}/start.")
    name: Name = Field(description="The sign-in button says 'Sign in with {name}'.")
    enabled: StrictBool = True
    config: ProviderConfig
    role_mapping: RoleMapping = Field(default_factory=RoleMapping)


class ProviderUpdate(Strict):
    """Only what is given changes. `config` is merged into the stored one (a secret left out or null keeps its
    value; `kind` cannot change); `role_mapping` replaces the whole mapping."""

    name: Name | None = None
    enabled: StrictBool | None = None
    config: dict[str, Any] | None = None
    role_mapping: RoleMapping | None = None


class ProviderRead(BaseModel):
    id: int
    kind: str
    slug: str
    name: str
    enabled: bool
    config: dict[str, Any] = Field(description="Its kind's settings, without the secrets.")
    secrets_set: list[str] = Field(description="The secret settings that have a value (never the values).")
    role_mapping: RoleMapping
    created_at: datetime
    updated_at: datetime


@router.get("", response_model=list[ProviderRead])
async def list_providers(user: AdminUser, app: App) -> list[dict[str, Any]]:
    """Every identity provider, by name (admins)."""
    return await app.db.read(lambda conn: identity_providers.list_providers(conn, actor=user))


@router.post("", response_model=ProviderRead, status_code=201)
async def create_provider(body: ProviderCreate, user: AdminUser, app: App, ctx: Ctx) -> dict[str, Any]:
    """Add an identity provider (admins); 409 when another has the slug."""
    keys = crypto.keyring(app.settings)

    def create(tx: Tx) -> dict[str, Any]:
        return identity_providers.create(
            tx,
            actor=user,
            keys=keys,
            slug=body.slug,
            name=body.name,
            enabled=body.enabled,
            config=body.config.model_dump(mode="json"),
            role_mapping=body.role_mapping.model_dump(mode="json"),
        )

    return await app.writer.run(create, ctx)


@router.get("/{provider_id}", response_model=ProviderRead)
async def get_provider(provider_id: PathId, user: AdminUser, app: App) -> dict[str, Any]:
    """One identity provider (admins)."""
    return await app.db.read(lambda conn: identity_providers.get(conn, actor=user, provider_id=provider_id))


@router.patch("/{provider_id}", response_model=ProviderRead)
async def update_provider(
    provider_id: PathId, body: ProviderUpdate, user: AdminUser, app: App, ctx: Ctx
) -> dict[str, Any]:
    """Rename, enable or disable it, change its settings or its role mapping (admins)."""
    keys = crypto.keyring(app.settings)
    changes = body.model_dump(exclude_unset=True, mode="json")
    return await app.writer.run(
        lambda tx: identity_providers.update(tx, actor=user, keys=keys, provider_id=provider_id, changes=changes),
        ctx,
    )


@router.delete("/{provider_id}", status_code=204)
async def delete_provider(provider_id: PathId, user: AdminUser, app: App, ctx: Ctx) -> Response:
    """Remove it and its links to users (admins); the users keep their accounts."""
    await app.writer.run(lambda tx: identity_providers.delete(tx, actor=user, provider_id=provider_id), ctx)
    return Response(status_code=204)
