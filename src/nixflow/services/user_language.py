"""A person's own language and time zone: what pages, dates and mails to them use (docs/architecture.md,
"Languages"). Not chosen (NULL): their browser's language, then the instance defaults."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from nixflow import i18n
from nixflow.domain.errors import ValidationFailed
from nixflow.services.users import Principal
from nixflow.store.db import Tx
from nixflow.store.tables import users


def _checked(field: str, value: str | None, known: bool, usage: str) -> str | None:
    if value is not None and not known:
        raise ValidationFailed(f"{field} {usage}", errors=[{"loc": ["body", field], "msg": usage}])
    return value


def set_language(tx: Tx, *, actor: Principal, changes: dict[str, str | None]) -> None:
    """Set the actor's `locale` and/or `timezone` (None clears a choice); an unknown one changes nothing (422)."""
    values: dict[str, str | None] = {}
    if "locale" in changes:
        locale = changes["locale"]
        usage = f"must be one of {', '.join(i18n.LOCALES)} or null"
        values["locale"] = _checked("locale", locale, locale is None or i18n.is_locale(locale), usage)
    if "timezone" in changes:
        zone = changes["timezone"]
        usage = "must be an IANA time zone such as Europe/Berlin, or null"
        values["timezone"] = _checked("timezone", zone, zone is None or i18n.is_timezone(zone), usage)
    if values:
        tx.conn.execute(update(users).where(users.c.id == actor.id).values(**values, updated_at=tx.now))
        tx.memo.clear()


def chosen_locale(conn: Connection, *, user_id: int) -> str | None:
    """The person's chosen language as stored now (a cached credential may predate a change; pages read afresh)."""
    return conn.execute(select(users.c.locale).where(users.c.id == user_id)).scalar()
