"""Identity providers as admins configure them: the checks, the rows (secrets encrypted) and the events.

A provider's `config` is its kind's model (`domain/identity.py`); the fields its kind names in `SECRETS` are
stored encrypted under NIXFLOW_SECRET_KEY and never read back: a read says only which of them are set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from nixflow.crypto import Keyring
from nixflow.domain.errors import Conflict, NotFound, ValidationFailed
from nixflow.domain.identity import (
    KindConfig,
    RoleMapping,
    check_slug,
    parse_config,
    parse_role_mapping,
    secrets_of,
)
from nixflow.services.users import Principal, require_admin
from nixflow.store import identity as rows
from nixflow.store.db import Tx

EDITABLE = ("name", "enabled", "config", "role_mapping")


def read(row: Mapping[str, Any]) -> dict[str, Any]:
    """A provider as the API shows it: its config without secrets, and which secrets are set."""
    secrets = secrets_of(row["kind"])
    config = {k: v for k, v in row["config"].items() if k not in secrets}
    secrets_set = sorted(k for k in secrets if row["config"].get(k))
    return {k: row[k] for k in ("id", "kind", "slug", "name", "enabled", "created_at", "updated_at")} | {
        "config": config,
        "secrets_set": secrets_set,
        "role_mapping": row["role_mapping"],
    }


def list_providers(conn: Connection, *, actor: Principal) -> list[dict[str, Any]]:
    """Every provider, by name (admins)."""
    require_admin(actor)
    return [read(r) for r in rows.list_all(conn)]


def get(conn: Connection, *, actor: Principal, provider_id: int) -> dict[str, Any]:
    """One provider (admins); NotFound when there is none."""
    require_admin(actor)
    return read(_row(conn, provider_id))


def _row(conn: Connection, provider_id: int) -> dict[str, Any]:
    found = rows.get(conn, provider_id=provider_id)
    if found is None:
        raise NotFound(f"identity provider {provider_id} not found")
    return found


def enabled(conn: Connection, *, kind: str | None = None) -> list[dict[str, Any]]:
    """The enabled providers' slug, name and kind, by name: the sign-in page's buttons (anyone may read)."""
    return [
        {"slug": r["slug"], "name": r["name"], "kind": r["kind"]}
        for r in rows.list_all(conn, enabled_only=True, kind=kind)
    ]


def for_sign_in(conn: Connection, *, slug: str, kind: str) -> dict[str, Any]:
    """The enabled provider of that kind and slug, row as stored; NotFound otherwise (a disabled one too)."""
    found = rows.get(conn, slug=slug)
    if found is None or not found["enabled"] or found["kind"] != kind:
        raise NotFound(f"no enabled {kind} provider {slug!r}")
    return found


def config_of(row: Mapping[str, Any], keys: Keyring) -> KindConfig:
    """A provider's configuration with its secrets decrypted, for the sign-in code that uses them."""
    secrets = secrets_of(row["kind"])
    plain = {k: keys.decrypt(v) if k in secrets and v else v for k, v in row["config"].items()}
    return parse_config(plain)


def role_mapping_of(row: Mapping[str, Any]) -> RoleMapping:
    """A provider's group -> role mapping."""
    return parse_role_mapping(row["role_mapping"])


def _stored(config: KindConfig, keys: Keyring) -> dict[str, Any]:
    plain = config.model_dump(mode="json")
    return {k: keys.encrypt(v) if k in config.SECRETS and v else v for k, v in plain.items()}


def _free_slug(conn: Connection, slug: str) -> str:
    check_slug(slug)
    if rows.get(conn, slug=slug) is not None:
        raise Conflict(f"an identity provider with slug {slug!r} exists already")
    return slug


def create(
    tx: Tx,
    *,
    actor: Principal,
    keys: Keyring,
    slug: str,
    name: str,
    enabled: bool,
    config: Mapping[str, Any],
    role_mapping: Mapping[str, Any],
) -> dict[str, Any]:
    """Add a provider (admins); 409 when the slug is taken. Emits `user.identity_provider_created`."""
    require_admin(actor)
    parsed = parse_config(config)
    mapping = parse_role_mapping(role_mapping).model_dump(mode="json")
    values = {
        "kind": parsed.model_dump()["kind"],
        "slug": _free_slug(tx.conn, slug),
        "name": _clean_name(name),
        "enabled": enabled,
        "config": _stored(parsed, keys),
        "role_mapping": mapping,
        "created_at": tx.now,
        "updated_at": tx.now,
    }
    provider_id = rows.insert_provider(tx.conn, values)
    _emit(tx, "user.identity_provider_created", provider_id, values, sorted(EDITABLE))
    return read(_row(tx.conn, provider_id))


def update(tx: Tx, *, actor: Principal, keys: Keyring, provider_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Change a provider's name, enabled flag, config or role mapping (admins). `config` is merged into the stored
    one (a secret left out or null keeps its value); its kind cannot change. Emits `user.identity_provider_updated`
    naming the fields that changed (never their values)."""
    require_admin(actor)
    before = _row(tx.conn, provider_id)
    values: dict[str, Any] = {}
    if changes.get("name") is not None:
        values["name"] = _clean_name(changes["name"])
    if changes.get("enabled") is not None:
        values["enabled"] = bool(changes["enabled"])
    if changes.get("config") is not None:
        values["config"] = _merged_config(before, changes["config"], keys)
    if changes.get("role_mapping") is not None:
        values["role_mapping"] = parse_role_mapping(changes["role_mapping"]).model_dump(mode="json")
    changed = sorted(k for k, v in values.items() if v != before[k])
    if not changed:
        return read(before)
    rows.update_provider(tx.conn, provider_id, values | {"updated_at": tx.now})
    _emit(tx, "user.identity_provider_updated", provider_id, before, changed)
    return read(_row(tx.conn, provider_id))


def _merged_config(before: Mapping[str, Any], given: Mapping[str, Any], keys: Keyring) -> dict[str, Any]:
    if given.get("kind", before["kind"]) != before["kind"]:
        raise ValidationFailed(
            "a provider's kind cannot change", errors=[{"loc": ["body", "config", "kind"], "msg": "cannot change"}]
        )
    current = config_of(before, keys).model_dump(mode="json")
    secrets = secrets_of(before["kind"])
    kept = {k: v for k, v in given.items() if not (k in secrets and v is None)}
    merged = _stored(parse_config(current | kept | {"kind": before["kind"]}), keys)
    # An unchanged secret keeps its stored ciphertext, so "nothing changed" is seen as such.
    return {k: before["config"].get(k) if k in secrets and k not in kept else v for k, v in merged.items()}


def delete(tx: Tx, *, actor: Principal, provider_id: int) -> None:
    """Remove a provider and its links to users (admins); the users stay. Emits `user.identity_provider_deleted`."""
    require_admin(actor)
    before = _row(tx.conn, provider_id)
    rows.delete_provider(tx.conn, provider_id)
    _emit(tx, "user.identity_provider_deleted", provider_id, before, [])


def _clean_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 100:
        raise ValidationFailed("name must be 1-100 characters")
    return cleaned


def _emit(tx: Tx, event_type: str, provider_id: int, row: Mapping[str, Any], changed: list[str]) -> None:
    data = {
        "provider_id": provider_id,
        "slug": row["slug"],
        "kind": row["kind"],
        "changed": changed,
        "by_id": tx.ctx.actor_id,
    }
    tx.emit(event_type, aggregate_type="identity_provider", aggregate_id=provider_id, data=data)
