"""`domain/erasure.py`: what an event's data becomes when a person is erased (its shape kept)."""

from __future__ import annotations

from nixflow.domain.erasure import ERASED, Erasure, pseudonym, pseudonym_email

ZED = Erasure(
    user_id=7,
    name="Zed Q",
    email="zed@example.com",
    tickets=frozenset({12}),
    comments=frozenset({40}),
    attachments=frozenset({3}),
    mails=frozenset({5}),
)


def test_the_words_of_a_ticket_they_asked_go_and_its_shape_stays() -> None:
    created = {"ticket_id": 12, "title": "Zed's laptop", "description": "desk 4", "requester_id": 7, "status": "new"}
    data, erased = ZED.event_data("ticket.created", created, actor_id=7)
    assert erased and data == {**created, "title": ERASED, "description": ERASED}
    edit = {"ticket_id": 12, "changes": {"title": {"old": "a", "new": "b"}, "priority": {"old": "low", "new": "high"}}}
    data, _ = ZED.event_data("ticket.updated", edit, actor_id=1)
    assert data["changes"] == {"title": {"old": ERASED, "new": ERASED}, "priority": {"old": "low", "new": "high"}}
    another = {**created, "ticket_id": 13}
    assert ZED.event_data("ticket.created", another, actor_id=7) == (another, False)


def test_their_comments_files_mail_and_typed_words_go_others_stay() -> None:
    said = {"ticket_id": 9, "comment_id": 40, "author_id": 7, "body": "my phone is 0123", "internal": False}
    assert ZED.event_data("ticket.commented", said, actor_id=7)[0]["body"] == ERASED
    other = {**said, "comment_id": 41, "author_id": 2, "body": "we are on it"}
    assert ZED.event_data("ticket.commented", other, actor_id=2) == (other, False)
    assert ZED.event_data("ticket.attachment_added", {"attachment_id": 3, "filename": "id.png"}, None)[0] == {
        "attachment_id": 3,
        "filename": ERASED,
    }
    mail = {"inbound_id": 5, "message_id": "<m@x>", "sender": "ZED@example.com", "subject": "help", "size": 9}
    data, _ = ZED.event_data("email.received", mail, actor_id=7)
    assert data == {**mail, "sender": pseudonym_email(7), "subject": ERASED}
    query = {"article_id": 1, "version": 1, "query": "zed's salary", "rank": 1}
    assert ZED.event_data("kb.article_suggested", query, actor_id=7)[0]["query"] == ERASED
    assert ZED.event_data("kb.article_suggested", query, actor_id=8) == (query, False)


def test_the_name_and_address_become_pseudonyms_wherever_written() -> None:
    created = {"user_id": 7, "email": "zed@example.com", "name": "Zed Q", "role": "requester"}
    data, erased = ZED.event_data("user.created", created, actor_id=None)
    assert data == {**created, "email": pseudonym_email(7), "name": pseudonym(7)} and not erased
    assert ZED.text("Hi zed q, thanks; cc ZED@EXAMPLE.COM") == f"Hi {pseudonym(7)}, thanks; cc {pseudonym_email(7)}"
    assert ZED.text("Zed Quinn and Zed Qx are others") == "Zed Quinn and Zed Qx are others"  # whole words only
    title = ZED.notification_title("Comment from Zed Q: #12 Zed's laptop", 12)
    assert title == f"Comment from {pseudonym(7)}: #12 {ERASED}"
    assert ZED.notification_title("Assigned to you: #13 Printer", 13) == "Assigned to you: #13 Printer"
