"""Hostile text is shown as text on the web pages, never run."""

from __future__ import annotations

from tests.conftest import Harness, User

PAYLOAD = "<script>alert(1)</script><img src=x onerror=alert(2)>"


async def test_a_script_in_a_title_or_comment_is_shown_as_text(harness: Harness, requester: User, agent: User) -> None:
    created = await harness.client.post(
        "/api/tickets", json={"title": PAYLOAD, "description": PAYLOAD}, headers=requester.headers
    )
    assert created.status_code == 201 and created.json()["title"] == PAYLOAD  # stored verbatim
    ticket_id = created.json()["id"]
    comment = await harness.client.post(
        f"/api/tickets/{ticket_id}/comments", json={"body": PAYLOAD}, headers=agent.headers
    )
    assert comment.status_code == 201
    for viewer in (requester, agent):
        harness.client.cookies.clear()
        page = await harness.client.get(f"/tickets/{ticket_id}", headers={"Cookie": f"nixflow_session={viewer.token}"})
        assert page.status_code == 200
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        assert "<script>alert(1)" not in page.text and "onerror=alert(2)>" not in page.text
        assert "unsafe-inline" not in page.headers["content-security-policy"].split("script-src")[1].split(";")[0]
