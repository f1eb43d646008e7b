"""The mail outbox's claims respect a refused mail's backoff (issue 22): a fresh change for the same recipient
and ticket neither cuts the backoff short nor shares the retried mail's fate. The claims are driven directly,
as of a clock the test moves, on the real database of each mode (no mail server: nothing else claims)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select
from tests.conftest import Harness, ManualClock

from nixflow.ids import uuid7
from nixflow.notifications import outbox
from nixflow.notifications.outbox import Claim
from nixflow.store.db import Tx
from nixflow.store.tables import notifications

BACKOFF = timedelta(minutes=10)


async def _queue(h: Harness, recipient_id: int, ticket_id: int, *, status: str = "pending") -> int:
    """A notification row waiting for mail, due now (as the consumer makes it with no holding delay)."""

    def queue(tx: Tx) -> int:
        row = {
            "recipient_id": recipient_id, "kind": "comments", "ticket_id": ticket_id, "event_id": uuid7(),
            "event_type": "ticket.commented", "reason": "you are assigned", "title": "A comment", "body": "text",
            "in_app": True, "created_at": tx.now, "email_status": status, "send_after": tx.now, "attempts": 0,
        }  # fmt: skip
        return int(tx.conn.execute(insert(notifications).returning(notifications.c.id), row).scalar_one())

    return int(await h.write(queue))


async def _claim(h: Harness, claim_next: Any) -> Claim | None:
    found: Claim | None = await h.write(claim_next)
    return found


async def _refuse(h: Harness, claim: Claim, *, permanent: bool) -> None:
    await h.write(
        lambda tx: outbox.mark_retry(
            tx, claim, error="451 try later" if not permanent else "550 no such user", counts=True,
            fail=permanent, retry_at=tx.now + BACKOFF,
        )
    )  # fmt: skip


async def _statuses(h: Harness, *ids: int) -> list[tuple[str, int]]:
    rows = await h.nixflow.db.read(
        lambda conn: conn.execute(
            select(notifications.c.email_status, notifications.c.attempts)
            .where(notifications.c.id.in_(ids))
            .order_by(notifications.c.id)
        ).all()
    )
    return [(r.email_status, int(r.attempts)) for r in rows]


async def _ticket(h: Harness) -> tuple[int, int]:
    agent = await h.user("agent")
    made = await h.client.post("/api/tickets", json={"title": "Mail me"}, headers=agent.headers)
    assert made.status_code == 201, made.text
    return agent.id, int(made.json()["id"])


async def test_a_fresh_row_does_not_cut_a_refused_mails_backoff_short(
    timed_harness: Harness, clock: ManualClock
) -> None:
    h = timed_harness
    agent_id, ticket_id = await _ticket(h)
    first = await _queue(h, agent_id, ticket_id)
    claim = await _claim(h, outbox.claim_due_group)
    assert claim is not None and claim.ids == [first]
    await _refuse(h, claim, permanent=False)

    clock.advance(minutes=1)
    fresh = await _queue(h, agent_id, ticket_id)
    claim = await _claim(h, outbox.claim_due_group)
    assert claim is not None and claim.ids == [fresh] and claim.attempts == 0  # the refused row waits
    await _refuse(h, claim, permanent=True)  # a permanent refusal of the fresh mail ...
    assert await _statuses(h, first, fresh) == [("pending", 1), ("failed", 1)]  # ... fails only that one

    clock.advance(minutes=1)
    assert await _claim(h, outbox.claim_due_group) is None  # still backing off
    clock.advance(minutes=8)
    retried = await _claim(h, outbox.claim_due_group)
    assert retried is not None and retried.ids == [first] and retried.attempts == 1


async def test_a_retried_mail_goes_on_its_own_beside_fresh_rows(timed_harness: Harness, clock: ManualClock) -> None:
    h = timed_harness
    agent_id, ticket_id = await _ticket(h)
    first = await _queue(h, agent_id, ticket_id)
    claim = await _claim(h, outbox.claim_due_group)
    assert claim is not None
    await _refuse(h, claim, permanent=False)
    clock.advance(minutes=10)
    fresh = [await _queue(h, agent_id, ticket_id), await _queue(h, agent_id, ticket_id)]

    retried = await _claim(h, outbox.claim_due_group)
    assert retried is not None and retried.ids == [first] and retried.attempts == 1
    batched = await _claim(h, outbox.claim_due_group)
    assert batched is not None and batched.ids == fresh and batched.attempts == 0  # the window still batches


async def test_a_refused_digest_waits_out_its_backoff(timed_harness: Harness, clock: ManualClock) -> None:
    h = timed_harness
    agent_id, ticket_id = await _ticket(h)
    waiting = await _queue(h, agent_id, ticket_id, status="digest")
    claim = await _claim(h, outbox.claim_due_digest)
    assert claim is not None and claim.ids == [waiting]
    await _refuse(h, claim, permanent=False)
    assert await _statuses(h, waiting) == [("digest", 1)]

    clock.advance(minutes=1)
    assert await _claim(h, outbox.claim_due_digest) is None
    clock.advance(minutes=9)
    again = await _claim(h, outbox.claim_due_digest)
    assert again is not None and again.ids == [waiting]
