"""The requester and agent pages in Chromium in German and in Arabic (issue 30): each page's own words in the
language the agent chose, right to left in Arabic, nothing wider than a phone; a screenshot of each."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser

# Each page of the area, and a heading or button of its own in each language.
PAGES = {
    "queue": ("/queue", {"de": "Gespeicherte Ansichten", "ar": "طرق العرض المحفوظة"}),
    "ticket": ("/tickets/{ticket}", {"de": "Unterhaltung", "ar": "المحادثة"}),
    "my-tickets": ("/tickets", {"de": "Ticket eröffnen", "ar": "فتح تذكرة"}),
    "ticket-new": ("/tickets/new", {"de": "Genehmigung erforderlich", "ar": "يحتاج إلى موافقة"}),
    "search": ("/search?q=Drucker", {"de": "Ergebnisse für „Drucker“", "ar": "نتائج «Drucker»"}),
    "notifications": ("/notifications", {"de": "Alle als gelesen markieren", "ar": "تعليم الكل كمقروء"}),
    "kb": ("/kb", {"de": "Artikel schreiben", "ar": "كتابة مقالة"}),
    "kb-article": ("/kb/{article}", {"de": "Hat das geholfen?", "ar": "هل ساعدك هذا؟"}),
    "workload": ("/reports/workload", {"de": "Nach Priorität", "ar": "حسب الأولوية"}),
    "events": ("/events", {"de": "Pro Seite", "ar": "لكل صفحة"}),
    "macros": ("/macros", {"de": "Neue Antwort oder neues Makro", "ar": "رد أو ماكرو جديد"}),
}


# The innermost elements reaching past either side of the window (a long word that does not wrap, a mirrored
# layout that clips), as "tag#id.class: text": what to look at when the page is wider than the window.
WIDER_THAN_THE_WINDOW = """() => {
  const width = document.documentElement.clientWidth;
  const out = (e) => { const r = e.getBoundingClientRect(); return r.right > width + 1 || r.left < -1; };
  return [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().width > 0 && out(e) && ![...e.children].some(out))
    .map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}: ${e.textContent.trim().slice(0, 40)}`);
}"""


@pytest.mark.parametrize("lang", ["de", "ar"])
async def test_the_desk_pages_read_in_the_agents_language(server: Server, browser: Browser, lang: str) -> None:
    admin = server.account(None, "admin", "Ada Admin")
    requester = server.account(admin, "requester", "Rita Requester")
    ticket = server.call("POST", "/api/tickets", requester, json={"title": "Drucker klemmt", "description": "Fach 2"})
    server.call("POST", f"/api/tickets/{ticket['id']}/comments", admin, json={"body": "Ich schaue es mir an."})
    body = {"title": "Drucker zurücksetzen", "body": "Aus- und wieder einschalten.", "status": "published"}
    article = server.call("POST", "/api/kb/articles", admin, json=body)
    server.call("PATCH", "/api/auth/me", admin, json={"locale": lang})
    page = await signed_in(browser, server, admin, "/queue")
    await expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")

    for name, (path, words) in PAGES.items():
        await page.goto(server.url + path.format(ticket=ticket["id"], article=article["id"]))
        await expect(page.get_by_text(words[lang]).first).to_be_visible()
        await shoot(page, f"i18n-pages-{name}-{lang}")
        await page.set_viewport_size({"width": 390, "height": 844})
        overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} in {lang} is wider than a phone: {await page.evaluate(WIDER_THAN_THE_WINDOW)}"
        await page.set_viewport_size({"width": 1280, "height": 800})
