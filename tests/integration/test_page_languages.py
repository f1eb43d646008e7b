"""The requester and agent pages in the reader's language (issue 30): German and Arabic, English unchanged; the
language a person chose on their account, or the one their browser asks for."""

from __future__ import annotations

import re

import pytest
from tests.conftest import Harness, User
from tests.integration.test_pages import open_tickets, page_headers


def in_language(user: User, lang: str) -> dict[str, str]:
    """The page headers of a browser that asks for `lang`."""
    return page_headers(user) | {"Accept-Language": lang}


async def choose_language(harness: Harness, user: User, lang: str) -> None:
    """The user picks `lang` for themselves (English: the browser's choice, which asks for nothing here)."""
    chosen = await harness.client.patch(
        "/api/auth/me", json={"locale": None if lang == "en" else lang}, headers=user.headers
    )
    assert chosen.status_code == 200, chosen.text


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["<title>Queue ·", "Assigned to me", "Saved views", "1 ticket", ">new</span>", ">newest first<"]),
        (
            "de",
            [
                "<title>Warteschlange ·",
                "Mir zugewiesen",
                "Gespeicherte Ansichten",
                "1 Ticket",
                ">neu</span>",
                ">neueste zuerst<",
            ],
        ),
        (
            "ar",
            [
                "<title>قائمة الانتظار ·",
                "المسندة إليّ",
                "طرق العرض المحفوظة",
                "تذكرة واحدة",
                ">جديدة</span>",
                ">الأحدث أولًا<",
            ],
        ),
    ],
)
async def test_the_queue_speaks_the_readers_language(
    harness: Harness, agent: User, requester: User, lang: str, words: list[str]
) -> None:
    [ticket_id] = await open_tickets(harness, requester, ["Drucker klemmt"])
    await choose_language(harness, agent, lang)

    page = await harness.client.get("/queue", headers=page_headers(agent))

    assert page.status_code == 200
    for word in words:
        assert word in page.text, word
    # Machine values stay as they are: the filter sends the status key, the badge keeps its class.
    assert '<option value="pending">' in page.text and 'class="badge status-new"' in page.text
    assert f'data-ticket-id="{ticket_id}"' in page.text


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["Conversation", "Add a comment", "Reassign", "Change status", "</span> opened the ticket"]),
        (
            "de",
            [
                "Unterhaltung",
                "Kommentar hinzufügen",
                "Neu zuweisen",
                "Status ändern",
                "</span> hat das Ticket eröffnet",
            ],
        ),
        ("ar", ["المحادثة", "إضافة تعليق", "إعادة الإسناد", "تغيير الحالة", "</span> فتح التذكرة"]),
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


async def test_a_refused_page_says_what_it_means_in_the_readers_language(harness: Harness, agent: User) -> None:
    cookie = {"Cookie": f"nixflow_session={agent.token}"}
    english = await harness.client.get("/tickets/999999", headers=cookie)
    assert english.status_code == 404 and "<p>ticket 999999 not found</p>" in english.text
    await harness.client.patch("/api/auth/me", json={"locale": "fr"}, headers=agent.headers)
    french = await harness.client.get("/tickets/999999", headers=cookie)
    assert french.status_code == 404
    assert "<p>Cela n'existe pas, ou vous n'avez pas le droit de le voir.</p>" in french.text.replace("&#39;", "'")
    assert '<p class="muted" lang="en" dir="ltr">ticket 999999 not found</p>' in french.text
