"""Everything NixFlow holds about one person, as one JSON document (issue 28, "Personal data": export).

Secrets stay out: no password hash, no token or its hash, no reset link. Attachments are listed with the path
that downloads them (`GET /api/attachments/{id}`); their bytes stay behind that route and its checks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, Table, and_, select

from nixflow.domain.errors import Forbidden, NotFound
from nixflow.domain.values import Role
from nixflow.services import auth
from nixflow.services.users import Principal
from nixflow.store.tables import (
    attachments,
    comments,
    events,
    login_attempts,
    notifications,
    passkeys,
    ticket_watchers,
    tickets,
    users,
)

_PROFILE = (users.c.id, users.c.email, users.c.name, users.c.role, users.c.active, users.c.can_approve)
_PROFILE_MORE = (users.c.created_at, users.c.updated_at, users.c.signature, users.c.fields, users.c.erased_at)
_CHOSEN = (users.c.locale, users.c.timezone)  # the language and zone they chose (migration 0039)

# Each section: its table, the columns it shows (ordered by the first) and the column that names the person.
_SECTIONS: dict[str, tuple[Table, str, str]] = {
    "tickets_asked": (tickets, "id title description status priority created_at updated_at", "requester_id"),
    "comments_written": (comments, "id ticket_id body internal source created_at", "author_id"),
    "watching": (ticket_watchers, "ticket_id created_at", "user_id"),
    "notifications": (
        notifications,
        "id kind ticket_id title body reason created_at read_at email_status sent_at",
        "recipient_id",
    ),
    "attachments": (attachments, "id ticket_id comment_id filename content_type size created_at", "uploaded_by"),
    "passkeys": (passkeys, "id name transports created_at last_used_at", "user_id"),  # never a key or credential id
}


def _plain(value: Any) -> Any:
    return value.isoformat().replace("+00:00", "Z") if isinstance(value, datetime) else value


def _rows(conn: Connection, query: Select[Any]) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row._mapping.items()} for row in conn.execute(query)]


def may_export(viewer: Principal, user_id: int) -> None:
    """An admin exports anyone's data, everyone else only their own."""
    if viewer.role != Role.ADMIN and viewer.id != user_id:
        raise Forbidden("only an admin, or the person themselves, may export a person's data")


def export(conn: Connection, *, user_id: int) -> dict[str, Any]:
    """The person's profile, tickets asked, comments written, watched tickets, notifications, sign-in history
    and passkeys (without secrets) and the attachments they uploaded, listed with their download paths; `erased`:
    whether their data was erased (`services/erasure.py`)."""
    profile = _rows(conn, select(*_PROFILE, *_PROFILE_MORE, *_CHOSEN).where(users.c.id == user_id))
    if not profile:
        raise NotFound(f"user {user_id} not found")
    # An erased person's document says so, and holds only what erasure left: the pseudonym and ids.
    found: dict[str, Any] = {"erased": profile[0]["erased_at"] is not None, "profile": profile[0]}
    for name, (table, shown, owner) in _SECTIONS.items():
        columns = [table.c[column] for column in shown.split()]
        found[name] = _rows(conn, select(*columns).where(table.c[owner] == user_id).order_by(columns[0]))
    logins = (events.c.event_type == "user.login", events.c.aggregate_type == "user")
    found["sign_ins"] = _rows(
        conn,
        select(events.c.timestamp.label("at"))
        .where(and_(*logins, events.c.aggregate_id == str(user_id)))
        .order_by(events.c.seq),
    )
    attempts = (login_attempts.c.at, login_attempts.c.address, login_attempts.c.purpose)
    found["sign_in_attempts"] = _rows(
        conn, select(*attempts).where(login_attempts.c.email == profile[0]["email"]).order_by(login_attempts.c.id)
    )
    found["sessions_and_tokens"] = [
        {k: _plain(v) for k, v in t.items()} for t in auth.list_tokens(conn, user_id=user_id)
    ]
    for file in found["attachments"]:
        file["download"] = f"/api/attachments/{file['id']}"
    return found
