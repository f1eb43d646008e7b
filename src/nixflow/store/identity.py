"""Identity providers' rows and the links from a provider's subject to a user (`user_identities`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from nixflow.store.db import insert_returning_id
from nixflow.store.tables import identity_providers, user_identities


def get(conn: Connection, *, provider_id: int | None = None, slug: str | None = None) -> dict[str, Any] | None:
    """One provider's row (config as stored: secrets encrypted), by id or by slug."""
    query = select(identity_providers)
    if provider_id is not None:
        query = query.where(identity_providers.c.id == provider_id)
    if slug is not None:
        query = query.where(identity_providers.c.slug == slug)
    row = conn.execute(query).first()
    return dict(row._mapping) if row is not None else None


def list_all(conn: Connection, *, enabled_only: bool = False, kind: str | None = None) -> list[dict[str, Any]]:
    """Providers by name (then id), all or the enabled ones, of any kind or one."""
    query = select(identity_providers).order_by(identity_providers.c.name, identity_providers.c.id)
    if enabled_only:
        query = query.where(identity_providers.c.enabled.is_(True))
    if kind is not None:
        query = query.where(identity_providers.c.kind == kind)
    return [dict(r._mapping) for r in conn.execute(query)]


def insert_provider(conn: Connection, values: dict[str, Any]) -> int:
    """A new provider's row; its id."""
    return insert_returning_id(conn, insert(identity_providers).values(**values))


def update_provider(conn: Connection, provider_id: int, values: dict[str, Any]) -> None:
    """Change a provider's row."""
    conn.execute(update(identity_providers).where(identity_providers.c.id == provider_id).values(**values))


def delete_provider(conn: Connection, provider_id: int) -> None:
    """Remove a provider; its identity links go with it (the users stay)."""
    conn.execute(delete(user_identities).where(user_identities.c.provider_id == provider_id))
    conn.execute(delete(identity_providers).where(identity_providers.c.id == provider_id))


def linked_user(conn: Connection, *, provider_id: int, subject: str) -> int | None:
    """The user the provider's `subject` is linked to, if any."""
    found = conn.execute(
        select(user_identities.c.user_id).where(
            user_identities.c.provider_id == provider_id, user_identities.c.subject == subject
        )
    ).scalar()
    return int(found) if found is not None else None


def link(conn: Connection, *, user_id: int, provider_id: int, subject: str, at: datetime) -> None:
    """Link the provider's `subject` to the user (signing in now)."""
    conn.execute(
        insert(user_identities).values(
            user_id=user_id, provider_id=provider_id, subject=subject, created_at=at, last_sign_in_at=at
        )
    )


def signed_in(conn: Connection, *, provider_id: int, subject: str, at: datetime) -> None:
    """Note that the linked subject signed in at `at`."""
    conn.execute(
        update(user_identities)
        .where(user_identities.c.provider_id == provider_id, user_identities.c.subject == subject)
        .values(last_sign_in_at=at)
    )


def identities_of(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    """The user's links to providers, oldest first."""
    rows = conn.execute(
        select(user_identities).where(user_identities.c.user_id == user_id).order_by(user_identities.c.id)
    )
    return [dict(r._mapping) for r in rows]
