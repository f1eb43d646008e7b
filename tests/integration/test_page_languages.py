"""The queue and a ticket page in the reader's language (issue 30): German and Arabic, English unchanged."""

from __future__ import annotations

import re

import pytest
from tests.conftest import Harness, User
from tests.integration.test_pages import open_tickets, page_headers


def in_language(user: User, lang: str) -> dict[str, str]:
    """The page headers of a browser that asks for `lang`."""
    return page_headers(user) | {"Accept-Language": lang}


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["Assigned to me", "Saved views", "Resolution due", "1 ticket", ">new</span>"]),
        ("de", ["Mir zugewiesen", "Gespeicherte Ansichten", "Lösung fällig", "1 Ticket", ">neu</span>"]),
        ("ar", ["المسندة إليّ", "طرق العرض المحفوظة", "موعد الحل", "تذكرة واحدة", ">جديدة</span>"]),
    ],
)
async def test_the_queue_speaks_the_readers_language(
    harness: Harness, agent: User, requester: User, lang: str, words: list[str]
) -> None:
    [ticket_id] = await open_tickets(harness, requester, ["Drucker klemmt"])

    page = await harness.client.get("/queue", headers=in_language(agent, lang))

    assert page.status_code == 200
    for word in words:
        assert word in page.text, word
    # Machine values stay as they are: the filter sends the status key, the badge keeps its class.
    assert '<option value="pending">' in page.text and 'class="badge status-new"' in page.text
    assert f'data-ticket-id="{ticket_id}"' in page.text


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["Details", "Conversation", "Add a comment", "Reassign", "Change status"]),
        ("de", ["Details", "Unterhaltung", "Kommentar hinzufügen", "Neu zuweisen", "Status ändern"]),
        ("ar", ["التفاصيل", "المحادثة", "إضافة تعليق", "إعادة الإسناد", "تغيير الحالة"]),
    ],
)
async def test_a_ticket_page_speaks_the_readers_language(
    harness: Harness, agent: User, requester: User, lang: str, words: list[str]
) -> None:
    [ticket_id] = await open_tickets(harness, requester, ["Bildschirm flackert"])

    page = await harness.client.get(f"/tickets/{ticket_id}", headers=in_language(agent, lang))

    assert page.status_code == 200
    for word in words:
        assert word in page.text, word


async def test_every_requester_and_agent_page_renders_in_arabic(harness: Harness, admin: User, requester: User) -> None:
    [ticket_id] = await open_tickets(harness, requester, ["الطابعة لا تعمل"])
    article = await harness.client.post(
        "/api/kb/articles", json={"title": "Printer", "body": "Turn it off and on."}, headers=admin.headers
    )
    assert article.status_code == 201, article.text
    events = await harness.client.get("/events", headers=in_language(admin, "ar"))
    event_id = re.search(r'href="/events/([0-9a-f-]{36})"', events.text)
    assert event_id is not None
    # Each page, and a word from its own template in Arabic.
    pages = {
        "/queue": "طرق العرض المحفوظة",
        "/tickets": "فتح تذكرة",
        "/tickets/new": "يحتاج إلى موافقة",
        f"/tickets/{ticket_id}": "المحادثة",
        "/search?q=printer": "نتائج «printer»",
        "/notifications": "تعليم الكل كمقروء",
        "/kb": "كتابة مقالة",
        f"/kb/{article.json()['id']}": "هل ساعدك هذا؟",
        "/kb/stats": "معدل التجنّب",
        "/macros": "رد أو ماكرو جديد",
        "/events": "تصفية الأحداث",
        f"/events/{event_id.group(1)}": "سلسلة الأسباب",
        "/reports/workload": "حسب الأولوية",
    }
    for path, words in pages.items():
        page = await harness.client.get(path, headers=in_language(admin, "ar"))
        assert page.status_code == 200, path
        assert words in page.text, path
