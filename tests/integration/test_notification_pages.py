"""The notifications page, the preferences on the account page and the watch button, over HTTP."""

from __future__ import annotations

import re

from tests.conftest import Harness, User


def page_headers(user: User) -> dict[str, str]:
    return {"Cookie": f"nixflow_session={user.token}"}


async def test_notifications_page_lists_newest_first_with_why_and_links(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    opened = await harness.client.post(
        "/api/tickets", json={"title": "Printer jams", "description": "x"}, headers=requester.headers
    )
    ticket_id = opened.json()["id"]
    await harness.client.post(f"/api/tickets/{ticket_id}/watchers", json={"user_id": agent.id}, headers=agent.headers)
    for body in ("first <b>words</b>", "second words"):
        said = await harness.client.post(
            f"/api/tickets/{ticket_id}/comments", json={"body": body}, headers=requester.headers
        )
        assert said.status_code == 201
    await harness.settle()
    page = await harness.client.get("/notifications", headers=page_headers(agent))
    assert page.status_code == 200, page.text
    html = page.text
    assert html.index("second words") < html.index("first &lt;b&gt;words&lt;/b&gt;")  # newest first, escaped
    assert f'href="/tickets/{ticket_id}"' in html and "you watch this ticket" in html
    assert "ticket.commented" in html and "2 unread" in html
    ids = re.findall(r'data-notification-id="(\d+)"', html)
    assert len(ids) == 2 and f'data-api="/api/notifications/{ids[0]}/read"' in html
    assert 'id="bell-count"' in html
    mine = await harness.client.get("/notifications", headers=page_headers(requester))
    assert "second words" not in mine.text and "0 unread" in mine.text
    assert (await harness.client.get("/notifications")).status_code == 303  # not signed in: to the login page


async def test_account_page_has_preferences_and_ticket_page_a_watch_button(
    harness: Harness, agent: User, requester: User
) -> None:
    account = await harness.client.get("/account", headers=page_headers(agent))
    assert 'id="prefs-form"' in account.text and 'id="email-comments"' in account.text
    opened = await harness.client.post(
        "/api/tickets", json={"title": "T", "description": "x"}, headers=requester.headers
    )
    url = f"/tickets/{opened.json()['id']}"
    before = await harness.client.get(url, headers=page_headers(agent))
    assert 'id="watch"' in before.text and 'id="unwatch"' not in before.text
    watched = await harness.client.post(
        f"/api/tickets/{opened.json()['id']}/watchers", json={"user_id": agent.id}, headers=agent.headers
    )
    assert watched.status_code == 201
    after = await harness.client.get(url, headers=page_headers(agent))
    assert 'id="unwatch"' in after.text and "Agent" in after.text
    theirs = await harness.client.get(url, headers=page_headers(requester))
    assert 'id="watch"' not in theirs.text and 'id="unwatch"' not in theirs.text
