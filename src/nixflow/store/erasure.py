"""The rows an erasure rewrites or deletes (`services/erasure.py` decides, `domain/erasure.py` says into what)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, func, or_, select, update

from nixflow.domain.erasure import ERASED, Erasure, pseudonym, pseudonym_email
from nixflow.store.tables import (
    api_tokens,
    attachments,
    break_glass_admins,
    category_agents,
    comments,
    csat_answers,
    email_bounces,
    idempotency_keys,
    inbound_mail,
    login_attempts,
    macros,
    mail_quarantine,
    mfa_challenges,
    mfa_recovery_codes,
    mfa_totp,
    notification_preferences,
    notifications,
    organization_members,
    passkey_challenges,
    passkey_users,
    passkeys,
    password_resets,
    saved_views,
    ticket_reads,
    ticket_watchers,
    tickets,
    time_entries,
    user_identities,
    users,
    webhook_attempts,
    webhook_deliveries,
    workflow_delegations,
    workflow_runs,
)

# What was theirs alone and goes whole: (table, the column naming them). Sessions and API tokens are rows of
# `api_tokens`; their personal views and macros are the `personal` scope only (shared ones are the team's).
_THEIRS: tuple[tuple[Table, str], ...] = (
    (api_tokens, "user_id"),
    (password_resets, "user_id"),
    (idempotency_keys, "user_id"),
    (notifications, "recipient_id"),
    (notification_preferences, "user_id"),
    (ticket_watchers, "user_id"),
    (ticket_reads, "user_id"),
    (organization_members, "user_id"),
    (category_agents, "user_id"),
    (workflow_delegations, "user_id"),
    (workflow_delegations, "delegate_id"),
    # How they signed in: links to their identity providers, second factors, passkeys, a break-glass mark.
    (user_identities, "user_id"),
    (mfa_totp, "user_id"),
    (mfa_recovery_codes, "user_id"),
    (mfa_challenges, "user_id"),
    (passkeys, "user_id"),
    (passkey_users, "user_id"),
    (passkey_challenges, "user_id"),
    (break_glass_admins, "user_id"),
)


# Every other column naming a user, and what an erasure does with it (`tests/unit/test_erasure_columns.py` fails on a
# column naming a user that is in neither list). Kept ids name the pseudonymised account ("Erased user 12"): an id
# says nothing about a person once their row says nothing, and it lets reports, timelines and the log go on counting.
HANDLED_ELSEWHERE: dict[str, str] = {
    "tickets.requester_id": "kept; the title, description and conversation of their tickets are erased",
    "tickets.assignee_id": "kept; erasure waits until no open ticket is assigned to them",
    "comments.author_id": "kept; the body of each comment they wrote is erased",
    "attachments.uploaded_by": "their files are deleted (gathered by uploader, ticket and comment)",
    "time_entries.agent_id": "kept with the minutes; the note is erased",
    "csat_answers.requester_id": "kept with the score; the comment on their tickets is erased",
    "csat_answers.assignee_id": "kept with the score",
    "kb_articles.author_id": "kept: articles they wrote are the organization's",
    "kb_article_versions.author_id": "kept: articles they wrote are the organization's",
    "macros.owner_id": "their personal macros are deleted; shared ones are the team's",
    "saved_views.owner_id": "their personal views are deleted; shared ones are the team's",
    "ticket_watchers.added_by": "kept: who added a watcher",
    "ticket_links.created_by": "kept: who linked two tickets",
    "webhooks.created_by": "kept: who made the subscription",
    "mail_oauth_mailboxes.created_by": "kept: who connected the mailbox",
    "mail_oauth_mailboxes.pending_by": "kept: who started the grant",
    "events.actor_id": "kept, the log's shape; the payloads are rewritten",
    "report_staff.user_id": "kept: the reports' record of a role, ids only",
    "report_tickets.assignee_id": "kept: the reports count tickets by assignee",
    "report_tickets.first_reply_by": "kept: the reports count first replies",
    "report_days.assignee_id": "kept: the reports count tickets by assignee",
    "ticket_counts.assignee_id": "kept: the queue counts by assignee",
}


def handled_columns() -> dict[str, str]:
    """Every user column an erasure knows about (`table.column`), and what it does with it."""
    deleted = {f"{table.name}.{column}": "the row is deleted (theirs alone)" for table, column in _THEIRS}
    return deleted | HANDLED_ELSEWHERE


def like_pattern(value: str) -> str:
    """A LIKE pattern (escape `\\`) matching `value` anywhere in a lower-cased text."""
    return "%" + value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _run(conn: Connection, statement: Any) -> int:
    return int(conn.execute(statement).rowcount or 0)


def _person(conn: Connection, erasure: Erasure, now: datetime) -> None:
    conn.execute(
        update(users)
        .where(users.c.id == erasure.user_id)
        .values(
            name=pseudonym(erasure.user_id),
            email=pseudonym_email(erasure.user_id),
            signature=None,
            locale=None,
            timezone=None,
            fields={},
            password_hash=None,
            active=False,
            can_approve=False,
            erased_at=now,
            updated_at=now,
        )
    )


def _mail(conn: Connection, erasure: Erasure) -> None:
    """Mail from them or on their tickets keeps its row (threading, counts) without its bytes or words."""
    mine = func.lower(inbound_mail.c.sender) == erasure.email
    conn.execute(
        update(inbound_mail)
        .where(inbound_mail.c.id.in_(tuple(erasure.mails)), mine)
        .values(sender=pseudonym_email(erasure.user_id))
    )
    conn.execute(
        update(inbound_mail)
        .where(inbound_mail.c.id.in_(tuple(erasure.mails)))
        .values(subject=ERASED, html=None, raw=b"")
    )
    held = mail_quarantine.c.id.in_(tuple(erasure.quarantined))
    conn.execute(
        update(mail_quarantine)
        .where(held, func.lower(mail_quarantine.c.sender) == erasure.email)
        .values(sender=pseudonym_email(erasure.user_id))
    )
    conn.execute(update(mail_quarantine).where(held).values(subject=None, raw=None))
    conn.execute(update(mail_quarantine).where(held, mail_quarantine.c.state == "held").values(state="discarded"))
    conn.execute(delete(email_bounces).where(func.lower(email_bounces.c.address) == erasure.email))
    conn.execute(delete(login_attempts).where(func.lower(login_attempts.c.email) == erasure.email))


def _notifications(conn: Connection, erasure: Erasure, erased_events: frozenset[str]) -> None:
    """Other people's notifications: the words of an erased event go; the person's name and address become
    their pseudonyms wherever a title, body or reason names them."""
    texts = (notifications.c.title, notifications.c.body, notifications.c.reason)
    needles = [like_pattern(n) for n in (erasure.email, erasure.name.strip()) if n]
    mentions = [func.lower(t).like(n, escape="\\") for t in texts for n in needles]
    found = conn.execute(
        select(notifications.c.id, notifications.c.event_id, notifications.c.ticket_id, *texts).where(
            or_(
                notifications.c.ticket_id.in_(tuple(erasure.tickets)),
                notifications.c.event_id.in_(tuple(erased_events)),
                *mentions,
            )
        )
    ).all()
    rows = []
    for row in found:
        gone = row.ticket_id in erasure.tickets or row.event_id in erased_events
        rows.append(
            {
                "key": row.id,
                "new_title": erasure.notification_title(row.title, row.ticket_id),
                "new_body": ERASED if gone else erasure.text(row.body),
                "new_reason": erasure.text(row.reason),
            }
        )
    if rows:
        conn.execute(
            update(notifications)
            .where(notifications.c.id == bindparam("key"))
            .values(
                title=bindparam("new_title"), body=bindparam("new_body"), reason=bindparam("new_reason"), change=None
            ),
            rows,
        )


def _their_words(conn: Connection, erasure: Erasure) -> None:
    """Text they wrote in rows beside the tickets: survey comments, time notes, approval reasons."""
    said = csat_answers.c.comment.is_not(None)
    conn.execute(
        update(csat_answers).where(csat_answers.c.ticket_id.in_(tuple(erasure.tickets)), said).values(comment=ERASED)
    )
    noted = time_entries.c.note != ""
    conn.execute(update(time_entries).where(time_entries.c.agent_id == erasure.user_id, noted).values(note=ERASED))
    for run in conn.execute(select(workflow_runs.c.id, workflow_runs.c.decisions)).all():
        decisions = [
            {**d, "reason": ERASED} if d.get("by_id") == erasure.user_id and d.get("reason") else d
            for d in run.decisions
        ]
        if decisions != run.decisions:
            conn.execute(update(workflow_runs).where(workflow_runs.c.id == run.id).values(decisions=decisions))


def _webhook_logs(conn: Connection, rewritten: Sequence[str]) -> None:
    """A receiver's answers to rewritten events may echo them: the delivery log keeps the outcome, not the text."""
    deliveries = select(webhook_deliveries.c.id).where(webhook_deliveries.c.event_id.in_(tuple(rewritten)))
    conn.execute(
        update(webhook_attempts)
        .where(webhook_attempts.c.delivery_id.in_(deliveries))
        .values(response_excerpt=None, error=None)
    )
    conn.execute(
        update(webhook_deliveries).where(webhook_deliveries.c.event_id.in_(tuple(rewritten))).values(last_error=None)
    )


def erase_rows(
    conn: Connection, erasure: Erasure, *, rewritten: Sequence[str], erased_events: frozenset[str], now: datetime
) -> dict[str, int]:
    """Rewrite or delete every row holding the person's data (the events apart: `rewritten` are those the
    erasure rewrote, `erased_events` those whose words went); what went, counted."""
    _person(conn, erasure, now)
    counts = {
        "tickets": _run(
            conn,
            update(tickets).where(tickets.c.id.in_(tuple(erasure.tickets))).values(title=ERASED, description=ERASED),
        ),
        "comments": _run(conn, update(comments).where(comments.c.id.in_(tuple(erasure.comments))).values(body=ERASED)),
        "attachments": _run(conn, delete(attachments).where(attachments.c.id.in_(tuple(erasure.attachments)))),
    }
    _notifications(conn, erasure, erased_events)
    for table, column in _THEIRS:
        conn.execute(delete(table).where(table.c[column] == erasure.user_id))
    conn.execute(
        delete(saved_views).where(saved_views.c.owner_id == erasure.user_id, saved_views.c.scope == "personal")
    )
    conn.execute(delete(macros).where(macros.c.owner_id == erasure.user_id, macros.c.scope == "personal"))
    _mail(conn, erasure)
    _their_words(conn, erasure)
    _webhook_logs(conn, rewritten)
    counts["mails"] = len(erasure.mails) + len(erasure.quarantined)
    return counts
