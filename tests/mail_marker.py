"""A later marker for "no other mail went": cause one more mail, wait for it, and look at what came before it.

The notification sender takes one (recipient, ticket) group at a time, in the order they fall due, and every
group falls due the same holding window after its first notification. A mail caused after everything else
therefore goes after any mail that was waiting then, wanted or not: once the marker is in, what arrived before it
is all that was coming. (It says nothing of mail a test causes later, or of rows waiting out a retry.)
"""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

from nixflow.ids import uuid7
from tests.conftest import Harness
from tests.smtp_server import SmtpServer, addressed

MARKER_DOMAIN = "marker.example.com"  # a marker's recipient, so that later markers can leave earlier ones out


async def mail_before_a_marker(h: Harness, smtp: SmtpServer, *, within: float = 60.0) -> list[EmailMessage]:
    """Cause a marker mail (a staff comment on a ticket of a requester of its own), wait until it arrived, and
    return the mail that arrived before it, earlier markers left out.

    Settle the harness first where it runs the sender itself: every event handled, its notifications written."""
    staff = await h.user("admin")
    someone = await h.user("requester", email=f"{uuid7()[-12:]}@{MARKER_DOMAIN}", name="Marker")
    opened = await h.client.post("/api/tickets", json={"title": "Marker"}, headers=someone.headers)
    assert opened.status_code == 201, opened.text
    said = await h.client.post(
        f"/api/tickets/{opened.json()['id']}/comments", json={"body": "marker"}, headers=staff.headers
    )
    assert said.status_code == 201, said.text
    before = await asyncio.to_thread(smtp.inbox.before_first_to, someone.email, timeout=within)
    markers = addressed(before, f"@{MARKER_DOMAIN}")
    return [m for m in before if m not in markers]
