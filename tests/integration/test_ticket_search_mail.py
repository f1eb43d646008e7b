"""A mail held as an internal note is found by staff at once, and no longer once discarded."""

from __future__ import annotations

from tests import mail_corpus as corpus
from tests.conftest import Harness
from tests.integration.test_mail_verification import desk  # noqa: F401  (the fixture)
from tests.mail_helpers import pipe, ticket_with_a_mailed_comment
from tests.search_helpers import found, ids
from tests.smtp_server import SmtpServer


async def test_a_held_mail_is_searchable_by_staff_until_discarded(desk: Harness, smtp: SmtpServer) -> None:  # noqa: F811
    h = desk
    agent, requester, ticket_id, _mail = await ticket_with_a_mailed_comment(h, smtp)
    forged = corpus.plain(
        sender=f"Ana Agent <{agent.email}>",
        subject=f"Re: [#{ticket_id}] Printer jams",
        body="Please confirm your credentials at the phishingsite",
        message_id="<forged-search@evil.test>",
    )
    held = await pipe(h, forged)
    assert held.outcome == "held"
    [hit] = await found(h, agent, "phishingsite")
    assert (hit["ticket"]["id"], hit["match"]["field"]) == (ticket_id, "note")
    assert await ids(h, requester, "phishingsite") == []
    gone = await h.client.post(f"/api/tickets/{ticket_id}/comments/{held.comment_id}/discard", headers=agent.headers)
    assert gone.status_code == 204, gone.text
    assert await ids(h, agent, "phishingsite") == []
