"""Attachments through the API, in both modes: upload, list, download, limits and who sees what."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests import mail_corpus as corpus
from tests.conftest import Harness, User, start

from nixflow.config import Settings

LIMIT = 64 * 1024


@pytest.fixture
async def files(settings: Settings) -> AsyncIterator[Harness]:
    async for h in start(settings.model_copy(update={"max_attachment_bytes": LIMIT})):
        yield h


async def _ticket(h: Harness, requester: User) -> int:
    made = await h.client.post("/api/tickets", json={"title": "Screen flickers"}, headers=requester.headers)
    assert made.status_code == 201, made.text
    await h.settle()
    return int(made.json()["id"])


async def _upload(
    h: Harness, user: User, ticket_id: int, data: bytes, name: str = "shot.txt", comment_id: int | None = None
) -> dict[str, object]:
    form = {} if comment_id is None else {"comment_id": str(comment_id)}
    sent = await h.client.post(
        f"/api/tickets/{ticket_id}/attachments",
        files={"file": (name, data, "text/plain")},
        data=form,
        headers=user.headers,
    )
    assert sent.status_code == 201, sent.text
    return dict(sent.json())


async def test_upload_list_and_download_with_the_sniffed_type(files: Harness) -> None:
    h = files
    requester = await h.user("requester")
    ticket_id = await _ticket(h, requester)
    made = await _upload(h, requester, ticket_id, corpus.PNG, name='a"b/../shot.txt')
    assert made == {
        "id": made["id"],
        "filename": "shot.txt",
        "content_type": "image/png",  # the client said text/plain and .txt: the bytes say PNG
        "size": len(corpus.PNG),
        "comment_id": None,
    }
    listed = await h.client.get(f"/api/tickets/{ticket_id}/attachments", headers=requester.headers)
    assert listed.json() == [made]
    got = await h.client.get(f"/api/attachments/{made['id']}", headers=requester.headers)
    assert got.status_code == 200 and got.content == corpus.PNG
    assert got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in got.headers["content-security-policy"]
    await h.settle()
    [event] = await h.events(type="ticket.attachment_added")
    assert event["data"]["attachment_id"] == made["id"] and event["aggregate_id"] == str(ticket_id)


async def test_a_file_over_the_limit_is_413_and_changes_nothing(files: Harness) -> None:
    h = files
    requester = await h.user("requester")
    ticket_id = await _ticket(h, requester)
    sent = await h.client.post(
        f"/api/tickets/{ticket_id}/attachments",
        files={"file": ("big.bin", b"x" * (LIMIT + 1), "application/octet-stream")},
        headers=requester.headers,
    )
    assert sent.status_code == 413 and sent.headers["content-type"].startswith("application/problem+json")
    unknown = await h.client.post(
        f"/api/tickets/{ticket_id}/attachments",
        files={"file": ("e.txt", b"hi", "text/plain")},
        data={"comment_id": "999999"},
        headers=requester.headers,
    )
    assert unknown.status_code == 404
    listed = await h.client.get(f"/api/tickets/{ticket_id}/attachments", headers=requester.headers)
    assert listed.json() == []


async def test_an_internal_notes_file_never_reaches_the_requester(files: Harness) -> None:
    h = files
    requester, agent, other = await h.user("requester"), await h.user("agent"), await h.user("requester")
    ticket_id = await _ticket(h, requester)
    note = await h.client.post(
        f"/api/tickets/{ticket_id}/comments", json={"body": "logs", "internal": True}, headers=agent.headers
    )
    secret = await _upload(h, agent, ticket_id, b"secret log line\n", name="log.txt", comment_id=note.json()["id"])
    public = await _upload(h, requester, ticket_id, corpus.PDF, name="form.pdf")
    assert secret["content_type"] == "text/plain" and secret["comment_id"] == note.json()["id"]
    mine = await h.client.get(f"/api/tickets/{ticket_id}/attachments", headers=requester.headers)
    assert [a["id"] for a in mine.json()] == [public["id"]]
    assert (await h.client.get(f"/api/attachments/{secret['id']}", headers=requester.headers)).status_code == 404
    assert (await h.client.get(f"/api/attachments/{public['id']}", headers=other.headers)).status_code == 404
    staff = await h.client.get(f"/api/tickets/{ticket_id}/attachments", headers=agent.headers)
    assert [a["id"] for a in staff.json()] == [secret["id"], public["id"]]
    refused = await h.client.post(
        f"/api/tickets/{ticket_id}/attachments",
        files={"file": ("x.txt", b"hi", "text/plain")},
        data={"comment_id": str(note.json()["id"])},
        headers=requester.headers,
    )
    assert refused.status_code == 404  # a requester cannot even learn the note exists
    await h.settle()
    timeline = await h.client.get(f"/api/tickets/{ticket_id}/events", headers=requester.headers)
    added = [e for e in timeline.json() if e["type"] == "ticket.attachment_added"]
    assert [e["data"]["attachment_id"] for e in added] == [public["id"]]


async def test_comments_carry_their_files_and_their_source(files: Harness) -> None:
    h = files
    requester = await h.user("requester")
    ticket_id = await _ticket(h, requester)
    said = await h.client.post(
        f"/api/tickets/{ticket_id}/comments", json={"body": "see file"}, headers=requester.headers
    )
    assert said.status_code == 201 and said.json()["source"] == "api" and said.json()["attachments"] == []
    made = await _upload(h, requester, ticket_id, corpus.PDF, name="a.pdf", comment_id=said.json()["id"])
    listed = (await h.client.get(f"/api/tickets/{ticket_id}/comments", headers=requester.headers)).json()
    assert listed[0]["attachments"] == [made] and listed[0]["source"] == "api"
