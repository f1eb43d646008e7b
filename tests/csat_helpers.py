"""Arranging satisfaction and time tests: a category, an assigned ticket, resolved; the survey link from a mail."""

from __future__ import annotations

import re
from email.message import EmailMessage

from tests.conftest import Harness, User
from tests.smtp_server import SmtpServer

SURVEY_LINK = re.compile(r"(https?://\S+/csat\?rating=(good|bad)#token=([0-9a-z.]+))")


async def category(h: Harness, admin: User, name: str) -> int:
    made = await h.client.post("/api/categories", json={"name": name}, headers=admin.headers)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def ticket(h: Harness, requester: User, staff: User, *, assignee_id: int, category_id: int | None = None) -> int:
    """A ticket of `requester`, assigned by `staff` to `assignee_id` (and put in the category), still open."""
    opened = await h.client.post(
        "/api/tickets", json={"title": "VPN drops", "category_id": category_id}, headers=requester.headers
    )
    assert opened.status_code == 201, opened.text
    await h.settle()
    ticket_id = int(opened.json()["id"])
    current = (await h.client.get(f"/api/tickets/{ticket_id}", headers=staff.headers)).json()
    patch = {"version": current["version"], "assignee_id": assignee_id}
    assigned = await h.client.patch(f"/api/tickets/{ticket_id}", json=patch, headers=staff.headers)
    assert assigned.status_code == 200, assigned.text
    return ticket_id


async def resolve(h: Harness, staff: User, ticket_id: int) -> None:
    for status in ("open", "resolved"):
        moved = await h.client.post(
            f"/api/tickets/{ticket_id}/transition", json={"status": status}, headers=staff.headers
        )
        assert moved.status_code == 200, moved.text
    await h.settle()


async def resolved(
    h: Harness, requester: User, staff: User, *, assignee_id: int, category_id: int | None = None
) -> int:
    ticket_id = await ticket(h, requester, staff, assignee_id=assignee_id, category_id=category_id)
    await resolve(h, staff, ticket_id)
    return ticket_id


def survey_links(message: EmailMessage) -> dict[str, str]:
    """The survey's links in a mail's text part, by rating."""
    text = str(message.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    return {m.group(2): m.group(1) for m in SURVEY_LINK.finditer(text)}


def token_of(link: str) -> str:
    found = SURVEY_LINK.search(link)
    assert found is not None, link
    return found.group(3)


def mailed_survey(smtp: SmtpServer, address: str, *, timeout: float = 30.0) -> dict[str, str]:
    """The survey links of the first mail to `address` that has them (blocking: run it in a thread). The comment
    and the resolution may come as one mail or two."""
    for count in (1, 2, 3):
        for message in smtp.inbox.wait_for(count, address=address, timeout=timeout):
            if links := survey_links(message):
                return links
    raise AssertionError(f"no survey mail to {address}")
