"""The approval mail's signed link, through a real SMTP server: it opens a page that asks first (the preview
decides nothing), decides once as the approver it was mailed to, and is refused altered, expired or used."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from tests.conftest import Harness, mailing, start
from tests.smtp_server import SmtpServer
from tests.workflow_helpers import laptop, ok, open_ticket

from nixflow.config import Settings
from nixflow.crypto import keyring
from nixflow.mailwire import decision_links

LINK = re.compile(r"https://help\.example\.com/workflow/decide#token=([A-Za-z0-9_=-]+)")


@pytest.fixture
async def desk(settings: Settings, smtp: SmtpServer) -> AsyncIterator[Harness]:
    async for h in start(mailing(settings, smtp, delay=0)):
        yield h


def token_in(smtp: SmtpServer, address: str) -> str:
    [mail] = smtp.inbox.wait_for(1, address=address)
    text = mail.get_body(("plain",))
    assert text is not None
    found = LINK.search(text.get_content())
    assert found is not None, text.get_content()
    return found.group(1)


@pytest.mark.parametrize("mode", ["embedded"], indirect=True)  # the decision it makes is tested in both modes
async def test_the_mailed_link_asks_then_decides_once(desk: Harness, smtp: SmtpServer) -> None:
    h = desk
    admin = await h.user("admin")
    setup = await laptop(h, admin)
    ticket_id = await open_ticket(h, setup)
    token = await asyncio.to_thread(token_in, smtp, setup.manager.email)
    preview = await ok(await h.client.post("/api/workflow-links/preview", json={"token": token}))
    assert preview == {
        "ticket_id": ticket_id,
        "ticket_title": "A new laptop, please",
        "workflow": "Laptop request",
        "step": 0,
        "step_name": "Manager",
        "approver_name": "Mona Manager",
    }
    assert await h.events(type="workflow.decided") == []  # asking decides nothing

    tampered = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    keys = keyring(h.nixflow.settings)
    link = decision_links.opened(keys, token, now=datetime.now(UTC))
    expired = decision_links.token(keys, link, now=datetime.now(UTC) - decision_links.LIFETIME - timedelta(minutes=1))
    for bad in (tampered, expired):
        refused = await h.client.post("/api/workflow-links/decide", json={"token": bad, "approve": True})
        assert refused.status_code == 422, refused.text
    assert await h.events(type="workflow.decided") == []

    decided = await ok(
        await h.client.post("/api/workflow-links/decide", json={"token": token, "approve": True, "reason": "ok by me"})
    )
    assert decided["current_step"] == 1
    assert [(d["by_id"], d["via"]) for d in decided["decisions"]] == [(setup.manager.id, "mail")]
    reused = await h.client.post("/api/workflow-links/decide", json={"token": token, "approve": False})
    assert reused.status_code == 409, reused.text
    assert (await h.client.post("/api/workflow-links/preview", json={"token": token})).status_code == 409
    assert len(await h.events(type="workflow.decided")) == 1
