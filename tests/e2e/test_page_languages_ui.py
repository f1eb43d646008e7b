"""The requester and agent pages in Chromium in German, Arabic, French and Spanish (issue 30): each page's own
words in the language the agent chose, right to left in Arabic, nothing wider than a phone; a screenshot of each."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Server, shoot, signed_in

pytestmark = pytest.mark.browser

# Each page of the area, and a heading or button of its own in each language.
PAGES = {
    "queue": ("/queue", {"de": "Gespeicherte Ansichten", "ar": "طرق العرض المحفوظة", "fr": "Vues enregistrées",
                         "es": "Vistas guardadas"}),
    "ticket": ("/tickets/{ticket}", {"de": "Unterhaltung", "ar": "المحادثة", "fr": "Conversation",
                                     "es": "Conversación"}),
    "my-tickets": ("/tickets", {"de": "Ticket eröffnen", "ar": "فتح تذكرة", "fr": "Ouvrir un ticket",
                                "es": "Abrir un ticket"}),
    "ticket-new": ("/tickets/new", {"de": "Genehmigung erforderlich", "ar": "يحتاج إلى موافقة",
                                    "fr": "Nécessite une approbation", "es": "Requiere aprobación"}),
    "search": ("/search?q=Drucker", {"de": "Ergebnisse für „Drucker“", "ar": "نتائج «Drucker»",
                                     "fr": "Résultats pour « Drucker »", "es": "Resultados para «Drucker»"}),
    "notifications": ("/notifications", {"de": "Alle als gelesen markieren", "ar": "تعليم الكل كمقروء",
                                         "fr": "Tout marquer comme lu", "es": "Marcar todo como leído"}),
    "kb": ("/kb", {"de": "Artikel schreiben", "ar": "كتابة مقالة", "fr": "Rédiger un article",
                   "es": "Escribir un artículo"}),
    "kb-article": ("/kb/{article}", {"de": "Hat das geholfen?", "ar": "هل ساعدك هذا؟",
                                     "fr": "Cela vous a-t-il aidé ?", "es": "¿Le ha servido?"}),
    "workload": ("/reports/workload", {"de": "Nach Priorität", "ar": "حسب الأولوية", "fr": "Par priorité",
                                       "es": "Por prioridad"}),
    "events": ("/events", {"de": "Pro Seite", "ar": "لكل صفحة", "fr": "Par page", "es": "Por página"}),
    "macros": ("/macros", {"de": "Neue Antwort oder neues Makro", "ar": "رد أو ماكرو جديد",
                           "fr": "Nouvelle réponse ou", "es": "Nueva respuesta o macro"}),
}  # fmt: skip


# The innermost elements reaching past either side of the window (a long word that does not wrap, a mirrored
# layout that clips), as "tag#id.class: text": what to look at when the page is wider than the window.
WIDER_THAN_THE_WINDOW = """() => {
  const width = document.documentElement.clientWidth;
  const out = (e) => { const r = e.getBoundingClientRect(); return r.right > width + 1 || r.left < -1; };
  return [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().width > 0 && out(e) && ![...e.children].some(out))
    .map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}: ${e.textContent.trim().slice(0, 40)}`);
}"""


async def test_the_desk_pages_read_in_the_agents_language(server: Server, browser: Browser) -> None:
    """One server, one browser context per language: the same pages in German, Arabic, French and Spanish."""
    admin = server.account(None, "admin", "Ada Admin")
    requester = server.account(admin, "requester", "Rita Requester")
    ticket = server.call("POST", "/api/tickets", requester, json={"title": "Drucker klemmt", "description": "Fach 2"})
    server.call("POST", f"/api/tickets/{ticket['id']}/comments", admin, json={"body": "Ich schaue es mir an."})
    body = {"title": "Drucker zurücksetzen", "body": "Aus- und wieder einschalten.", "status": "published"}
    article = server.call("POST", "/api/kb/articles", admin, json=body)
    for lang in ("de", "ar", "fr", "es"):
        server.call("PATCH", "/api/auth/me", admin, json={"locale": lang})
        page = await signed_in(browser, server, admin, "/queue")
        await expect(page.locator("html")).to_have_attribute("lang", lang)
        await expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
        for name, (path, words) in PAGES.items():
            await page.goto(server.url + path.format(ticket=ticket["id"], article=article["id"]))
            await expect(page.get_by_text(words[lang]).first).to_be_visible()
            await shoot(page, f"i18n-pages-{name}-{lang}")
            await page.set_viewport_size({"width": 390, "height": 844})
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            wider = await page.evaluate(WIDER_THAN_THE_WINDOW) if overflow > 0 else []
            assert overflow <= 0, f"{name} in {lang} is wider than a phone: {wider}"
            await page.set_viewport_size({"width": 1280, "height": 800})
        await page.context.close()
