"""Replies written as Markdown (issue 24): rendered and sanitised on read, a preview, an agent's signature, and
the HTML part of the notification mail, in both modes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.conftest import Harness, User, mailing, start
from tests.smtp_server import SmtpServer

from nixflow.config import Settings

REPLY = "Try the [VPN guide](https://kb.example.com/vpn):\n\n- restart the client\n- sign in again\n\n`vpn --reset`"


async def _ticket(h: Harness, requester: User) -> int:
    opened = await h.client.post(
        "/api/tickets", json={"title": "VPN drops", "description": "every hour"}, headers=requester.headers
    )
    assert opened.status_code == 201, opened.text
    await h.settle()
    return int(opened.json()["id"])


async def _comment(h: Harness, user: User, ticket_id: int, body: str, *, internal: bool = False) -> dict[str, Any]:
    said = await h.client.post(
        f"/api/tickets/{ticket_id}/comments", json={"body": body, "internal": internal}, headers=user.headers
    )
    assert said.status_code == 201, said.text
    result: dict[str, Any] = said.json()
    return result


async def test_a_comment_reads_back_with_its_markdown_rendered_and_sanitised(
    harness: Harness, agent: User, requester: User
) -> None:
    ticket_id = await _ticket(harness, requester)
    await _comment(harness, agent, ticket_id, REPLY)
    await _comment(harness, requester, ticket_id, "line one\nline two <script>alert(1)</script>")
    listed = await harness.client.get(f"/api/tickets/{ticket_id}/comments", headers=requester.headers)
    reply, plain = listed.json()
    assert reply["body"] == REPLY  # the source is kept as written
    assert '<a href="https://kb.example.com/vpn"' in reply["body_html"]
    assert "<li>restart the client</li>" in reply["body_html"]
    assert "<code>vpn --reset</code>" in reply["body_html"]
    # Plain text keeps its lines; a script is dropped with its content.
    assert "line one<br>" in plain["body_html"] and "line two" in plain["body_html"]
    assert "script" not in plain["body_html"] and "alert" not in plain["body_html"]


async def test_the_preview_renders_as_the_page_will_and_stores_nothing(
    harness: Harness, requester: User, agent: User
) -> None:
    ticket_id = await _ticket(harness, requester)
    before = await harness.events()
    shown = await harness.client.post("/api/markdown/preview", json={"body": REPLY}, headers=requester.headers)
    assert shown.status_code == 200, shown.text
    assert "<li>sign in again</li>" in shown.json()["html"]
    hostile = await harness.client.post(
        "/api/markdown/preview",
        json={"body": '[x](javascript:alert(1)) <img src=x onerror="alert(2)">'},
        headers=agent.headers,
    )
    assert "javascript:" not in hostile.json()["html"] and "onerror" not in hostile.json()["html"]
    anonymous = await harness.client.post("/api/markdown/preview", json={"body": "hi"})
    assert anonymous.status_code == 401
    assert await harness.events() == before
    comments = await harness.client.get(f"/api/tickets/{ticket_id}/comments", headers=agent.headers)
    assert comments.json() == []


async def test_an_agents_signature_ends_their_public_replies_only(
    harness: Harness, agent: User, requester: User
) -> None:
    ticket_id = await _ticket(harness, requester)
    saved = await harness.client.put(
        "/api/auth/signature", json={"signature": "Ana · **IT desk**, ext. 42"}, headers=agent.headers
    )
    assert saved.status_code == 200, saved.text
    read = await harness.client.get("/api/auth/signature", headers=agent.headers)
    assert read.json() == {"signature": "Ana · **IT desk**, ext. 42"}
    public = await _comment(harness, agent, ticket_id, "Restarted the concentrator.")
    note = await _comment(harness, agent, ticket_id, "It was the MTU again.", internal=True)
    mine = await _comment(harness, requester, ticket_id, "Thanks!")
    assert public["body"] == "Restarted the concentrator.\n\n-- \nAna · **IT desk**, ext. 42"
    assert "<strong>IT desk</strong>" in public["body_html"]
    assert note["body"] == "It was the MTU again." and mine["body"] == "Thanks!"
    # One submit signs its reply as the single route does.
    version = (await harness.client.get(f"/api/tickets/{ticket_id}", headers=agent.headers)).json()["version"]
    submitted = await harness.client.post(
        f"/api/tickets/{ticket_id}/update",
        json={"version": version, "comment": {"body": "Fixed."}, "status": "resolved"},
        headers=agent.headers,
    )
    assert submitted.json()["comment"]["body"].endswith("-- \nAna · **IT desk**, ext. 42")
    longest = await _comment(harness, agent, ticket_id, "x" * 20_000)  # what the schema takes is taken, signed
    assert longest["body"] == "x" * 20_000 + "\n\n-- \nAna · **IT desk**, ext. 42"
    cleared = await harness.client.put("/api/auth/signature", json={"signature": "  "}, headers=agent.headers)
    assert cleared.json() == {"signature": ""}


async def test_the_account_page_offers_staff_their_signature(harness: Harness, agent: User, requester: User) -> None:
    await harness.client.put("/api/auth/signature", json={"signature": "Ana <ext. 42>"}, headers=agent.headers)
    page = await harness.client.get("/account", headers={"Cookie": f"nixflow_session={agent.token}"})
    assert 'id="signature-form"' in page.text and "Ana &lt;ext. 42&gt;</textarea>" in page.text
    theirs = await harness.client.get("/account", headers={"Cookie": f"nixflow_session={requester.token}"})
    assert theirs.status_code == 200 and 'id="signature-form"' not in theirs.text


async def test_a_signature_is_refused_clearly_and_changes_nothing(
    harness: Harness, agent: User, requester: User
) -> None:
    await harness.client.put("/api/auth/signature", json={"signature": "Ana"}, headers=agent.headers)
    too_long = await harness.client.put("/api/auth/signature", json={"signature": "x" * 2001}, headers=agent.headers)
    assert too_long.status_code == 422
    assert (await harness.client.get("/api/auth/signature", headers=agent.headers)).json() == {"signature": "Ana"}
    refused = await harness.client.put("/api/auth/signature", json={"signature": "Rita"}, headers=requester.headers)
    assert refused.status_code == 403


@pytest.fixture
async def mail_harness(settings: Settings, smtp: SmtpServer) -> AsyncIterator[Harness]:
    async for h in start(mailing(settings, smtp, delay=0.2)):
        yield h


async def test_a_reply_with_a_link_and_a_list_arrives_as_clickable_html_mail(
    mail_harness: Harness, smtp: SmtpServer
) -> None:
    h = mail_harness
    agent = await h.user("agent", name="Ana Agent")
    requester = await h.user("requester", name="Rita Requester")
    ticket_id = await _ticket(h, requester)
    await _comment(h, agent, ticket_id, REPLY + "\n\nYour screenshot: ![shot](/api/attachments/7)")
    await h.settle()
    [mail] = await asyncio.to_thread(smtp.inbox.wait_for, 1, address=requester.email, timeout=20)
    assert mail.get_content_type() == "multipart/alternative"
    html = str(mail.get_body(preferencelist=("html",)).get_content())
    text = str(mail.get_body(preferencelist=("plain",)).get_content()).replace("\r\n", "\n")
    assert '<a href="https://kb.example.com/vpn"' in html
    assert "<li>restart the client</li>" in html and "<code>vpn --reset</code>" in html
    assert 'src="https://help.example.com/api/attachments/7"' in html  # a path on the site, made whole
    # The text part reads as written: the Markdown source, lines and all.
    assert "- restart the client\n- sign in again" in text
    assert "[VPN guide](https://kb.example.com/vpn)" in text
