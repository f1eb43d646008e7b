"""What admins do with held mail: list it, read it (and its bytes), retry it through the intake, discard it.

Only held mail is retried or discarded. The claim is one conditional UPDATE (`state = 'held'`), so two admins
retrying the same mail at once run the intake once: the second waits for the first's row lock (PostgreSQL) or
its turn at the writer (SQLite), finds the mail retried, and gets 409. A retry that fails again leaves the mail
held with the new error. Discarding drops the bytes (the mail may be hostile or personal; the event and the row,
with its sender, subject and error, stay as the record).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from nixflow.domain.envelope import EventContext
from nixflow.domain.errors import Conflict, NotFound
from nixflow.email_in import intake
from nixflow.email_in.intake import IntakeConfig
from nixflow.email_in.parse import parse
from nixflow.email_in.quarantine import FIELDS, describe, storable, transient
from nixflow.store import event_log
from nixflow.store.db import Tx
from nixflow.store.tables import mail_quarantine
from nixflow.store.writer import Writer

STATES = ("held", "retried", "discarded")
_COLUMNS = tuple(mail_quarantine.c[f] for f in FIELDS)


def page(
    conn: Connection, *, state: str | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Quarantined mail, newest first, and the next page's cursor."""
    query = select(*_COLUMNS)
    if state is not None:
        query = query.where(mail_quarantine.c.state == state)
    if cursor:
        query = query.where(mail_quarantine.c.id < event_log.decode_cursor(cursor))
    rows = conn.execute(query.order_by(mail_quarantine.c.id.desc()).limit(limit + 1)).all()
    items = [dict(r._mapping) for r in rows[:limit]]
    return items, (event_log.encode_cursor(items[-1]["id"]) if len(rows) > limit else None)


def get(conn: Connection, *, quarantine_id: int) -> dict[str, Any]:
    """One quarantined mail (without its bytes); NotFound for an unknown id."""
    row = conn.execute(select(*_COLUMNS).where(mail_quarantine.c.id == quarantine_id)).first()
    if row is None:
        raise NotFound(f"quarantined mail {quarantine_id} not found")
    return dict(row._mapping)


def raw_of(conn: Connection, *, quarantine_id: int) -> bytes:
    """The bytes of a quarantined mail as they came; NotFound once discarded."""
    get(conn, quarantine_id=quarantine_id)
    raw = conn.execute(select(mail_quarantine.c.raw).where(mail_quarantine.c.id == quarantine_id)).scalar()
    if raw is None:
        raise NotFound(f"quarantined mail {quarantine_id} was discarded: its bytes are gone")
    return bytes(raw)


def _claim(tx: Tx, quarantine_id: int, **values: Any) -> None:
    """Change a held mail; 404 for an unknown one, 409 for one retried or discarded already."""
    claimed = tx.conn.execute(
        update(mail_quarantine)
        .where(mail_quarantine.c.id == quarantine_id, mail_quarantine.c.state == "held")
        .values(updated_at=tx.now, **values)
    ).rowcount
    if not claimed:
        state = get(tx.conn, quarantine_id=quarantine_id)["state"]
        raise Conflict(f"quarantined mail {quarantine_id} is {state}: only held mail can be retried or discarded")


def _about(item: dict[str, Any]) -> dict[str, Any]:
    return {"quarantine_id": item["id"], "message_id": item["message_id"], "sender": item["sender"]}


def _retry(tx: Tx, quarantine_id: int, config: IntakeConfig) -> dict[str, Any]:
    _claim(tx, quarantine_id, state="retried")
    raw = raw_of(tx.conn, quarantine_id=quarantine_id)
    mail = parse(raw, own_domain=config.domain)
    outcome = intake.receive(tx, mail, config)
    tx.conn.execute(
        update(mail_quarantine)
        .where(mail_quarantine.c.id == quarantine_id)
        .values(
            outcome=outcome.outcome,
            inbound_id=outcome.inbound_id,
            ticket_id=outcome.ticket_id,
            message_id=storable(mail.message_id, 255),  # read now, if the failure was in reading it
            sender=storable(mail.sender, 254),
            subject=storable(mail.subject, 300),
        )
    )
    item = get(tx.conn, quarantine_id=quarantine_id)
    data = {**_about(item), "outcome": outcome.outcome, "inbound_id": outcome.inbound_id}
    tx.emit(
        "email.quarantine_retried",
        aggregate_type="email_quarantine",
        aggregate_id=quarantine_id,
        data={**data, "ticket_id": outcome.ticket_id},
    )
    return item


def _failed_again(tx: Tx, quarantine_id: int, error: BaseException) -> dict[str, Any]:
    attempts = mail_quarantine.c.attempts + 1
    _claim(
        tx,
        quarantine_id,
        attempts=attempts,
        error_type=type(error).__name__[:100],
        error=storable(describe(error), 1000),
    )
    return get(tx.conn, quarantine_id=quarantine_id)


async def retry(writer: Writer, ctx: EventContext, *, quarantine_id: int, config: IntakeConfig) -> dict[str, Any]:
    """Run the intake again on a held mail's bytes: stored (`retried`, with what it became), or still held with
    the new error. 409 when it is not held; a transient outage raises and changes nothing."""
    try:
        return await writer.run(lambda tx: _retry(tx, quarantine_id, config), ctx)
    except (Conflict, NotFound):
        raise
    except Exception as exc:
        if transient(exc):
            raise
        error = exc
    return await writer.run(lambda tx: _failed_again(tx, quarantine_id, error), ctx)


def discard(tx: Tx, *, quarantine_id: int) -> dict[str, Any]:
    """Drop a held mail's bytes and mark it discarded; emits `email.quarantine_discarded`."""
    _claim(tx, quarantine_id, state="discarded", raw=None)
    item = get(tx.conn, quarantine_id=quarantine_id)
    tx.emit(
        "email.quarantine_discarded", aggregate_type="email_quarantine", aggregate_id=quarantine_id, data=_about(item)
    )
    return item
