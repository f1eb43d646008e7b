"""Collision: a reply written while someone else's public comment arrived is refused until its writer has seen it.

The reply names the newest comment its page showed when it was begun (`seen_comment_id`); a public comment by
someone else after that one makes it 409 `Stale version`, as a stale save is, with what changed in `errors`:
one entry per new comment (who, when, what), so the page can show them first and ask.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from nixflow.domain.errors import StaleVersion
from nixflow.services import tickets
from nixflow.services.users import Principal
from nixflow.store.db import Tx
from nixflow.store.tables import comments, users

SHOWN = 10  # new comments quoted in the answer; the page shows them all once it refreshes


def check_seen(tx: Tx, *, actor: Principal, ticket_id: int, seen_comment_id: int | None) -> None:
    """Raise StaleVersion, naming the comments, when others commented in public after `seen_comment_id`."""
    tickets.current(tx, ticket_id=ticket_id, viewer=actor)  # first: a requester learns nothing of others' tickets
    if seen_comment_id is None:
        return
    # What the conversation shows: a held mail an agent published or discarded has left it (email_in/held.py).
    shown = comments.c.unverified.is_(None) | (comments.c.unverified == "held")
    query = (
        select(comments.c.id, comments.c.author_id, users.c.name, comments.c.body, comments.c.created_at)
        .join(users, users.c.id == comments.c.author_id)
        .where(
            comments.c.ticket_id == ticket_id,
            comments.c.id > seen_comment_id,
            comments.c.internal.is_(False),
            comments.c.author_id != actor.id,
            shown,
        )
        .order_by(comments.c.id)
        .limit(SHOWN)
    )
    arrived = [dict(row._mapping) for row in tx.conn.execute(query)]
    if arrived:
        raise StaleVersion(
            f"{len(arrived)} new comment{'s' if len(arrived) > 1 else ''} since the one you saw "
            f"(#{seen_comment_id}): read {'them' if len(arrived) > 1 else 'it'}, then send again",
            errors=[_changed(comment) for comment in arrived],
        )


def _changed(comment: dict[str, Any]) -> dict[str, Any]:
    return {
        "loc": ["seen_comment_id"],
        "msg": f"new comment by {comment['name']}",
        "type": "new_comment",
        "comment": {
            "id": comment["id"],
            "author_id": comment["author_id"],
            "author_name": comment["name"],
            "body": comment["body"],
            "created_at": comment["created_at"],
        },
    }
