"""Scripts in the page's language, in Chromium: a page embedding the German catalogue (from the shipped js.po) shows
the collision prompt of reply_collision.js in German, with the plural right for 1 and 5 and the reply's time in the
page's zone; an Arabic one picks Arabic's plural forms for 3 (few) and 11 (many); without a catalogue, English.

The page is tests/e2e/script_languages.html, served at the app's origin so it imports the app's /static modules.
After the merge with the base page that embeds the catalogue, the same checks can run against real pages.
"""

from __future__ import annotations

import json
from gettext import c2py
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.pofile import read_po
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import Server, shoot

pytestmark = pytest.mark.browser

PAGE = Path(__file__).with_name("script_languages.html")
LOCALE_DIR = Path(__file__).resolve().parents[2] / "src" / "nixflow" / "locale"
SAMPLES = (*range(0, 200), 1_000_000)  # a number of every CLDR plural category of the shipped languages


def browser_catalogue(lang: str, timezone: str) -> dict[str, object]:
    """The JSON a page embeds for its scripts, built from the language's js.po as the shared plan defines it."""
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "js.po").open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    rule, form = Locale.parse(lang).plural_form, c2py(catalog.plural_expr)
    index: dict[str, int] = {}
    for n in SAMPLES:  # CLDR category -> the gettext form the catalogue's Plural-Forms picks for the same number
        index.setdefault(rule(n), form(n))
    messages: dict[str, str] = {}
    plurals: dict[str, dict[str, str]] = {}
    for message in catalog:
        if isinstance(message.id, tuple):
            plurals[message.id[0]] = {category: message.string[i] for category, i in index.items()}
        elif message.id:
            messages[message.id] = message.string
    direction = "rtl" if Locale.parse(lang).character_order == "right-to-left" else "ltr"
    return {"lang": lang, "dir": direction, "timezone": timezone, "messages": messages, "plurals": plurals}


async def open_page(browser: Browser, server: Server, catalogue: dict[str, object] | None) -> Page:
    """The test page at the app's origin, embedding `catalogue` (none: no JSON at all)."""
    lang, direction = (catalogue["lang"], catalogue["dir"]) if catalogue else ("en", "ltr")
    embedded = json.dumps(catalogue, ensure_ascii=False).replace("</", "<\\/") if catalogue else ""
    html = PAGE.read_text().replace("__LANG__", str(lang)).replace("__DIR__", str(direction))
    html = html.replace("__CATALOGUE__", embedded)
    if not catalogue:
        html = html.replace('<script type="application/json" id="nixflow-i18n"></script>\n', "")
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, timezone_id="UTC")
    page = await context.new_page()
    url = server.url + "/script-languages-test"
    await page.route(url, lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8"))
    await page.goto(url)
    await expect(page.locator("body[data-ready]")).to_have_count(1)
    return page


async def problem(page: Page, status: int, body: dict[str, object]) -> str:
    """What a page shows for a refused API call (api.js's problemText)."""
    return str(await page.evaluate("([s, p]) => window.nixflowProblem(s, p)", [status, body]))


async def collide(page: Page, count: int) -> str:
    return str(await page.evaluate("(n) => window.nixflowCollide(n)", count))


async def test_scripts_speak_the_language_of_the_page(server: Server, browser: Browser) -> None:
    """One server for the three pages: German, Arabic, and English for a page without a catalogue."""
    await german(browser, server)
    await arabic(browser, server)
    await english(browser, server)


async def german(browser: Browser, server: Server) -> None:
    page = await open_page(browser, server, browser_catalogue("de", "Europe/Berlin"))
    one = "Während Sie schrieben, kam eine neue Antwort. Lesen Sie sie, bevor Sie Ihre senden:"
    assert await collide(page, 1) == one
    five = "Während Sie schrieben, kamen 5 neue Antworten. Lesen Sie sie, bevor Sie Ihre senden:"
    assert await collide(page, 5) == five
    box = page.locator("#collision")
    await expect(box.get_by_role("button", name="Trotzdem senden")).to_be_visible()
    await expect(box.get_by_role("button", name="Meine Antwort bearbeiten")).to_be_visible()
    # 12:00 UTC in Berlin's winter time, although the browser's own zone is UTC
    await expect(box.locator(".meta").first).to_have_text("Ann Agent · 01.03.2026, 13:00")
    await expect(page.locator("#durations")).to_have_text("in 3 Stunden | vor 2 Stunden")
    # A refused call: what its status means in German, then the API's (English, machine-facing) detail.
    gone = "Das gibt es nicht, oder Sie dürfen es nicht sehen. (ticket 9 not found)"
    assert await problem(page, 404, {"detail": "ticket 9 not found"}) == gone
    odd = "Das ließ sich nicht ausführen. (I'm a teapot)"
    assert await problem(page, 418, {"detail": "I'm a teapot"}) == odd
    await shoot(page, "scripts-de-collision")
    await page.context.close()


async def arabic(browser: Browser, server: Server) -> None:
    page = await open_page(browser, server, browser_catalogue("ar", "Asia/Riyadh"))
    three, eleven = await page.evaluate("[3, 11].map((n) => new Intl.NumberFormat('ar').format(n))")
    few = f"وصلت {three} ردود جديدة أثناء كتابتك. اقرأها قبل أن ترسل ردك:"
    assert await collide(page, 3) == few
    many = f"وصل {eleven} ردًا جديدًا أثناء كتابتك. اقرأها قبل أن ترسل ردك:"
    assert await collide(page, 11) == many
    await expect(page.locator("#collision").get_by_role("button", name="أرسل على أي حال")).to_be_visible()
    assert await page.evaluate("getComputedStyle(document.getElementById('collision')).direction") == "rtl"
    await shoot(page, "scripts-ar-collision")
    await page.context.close()


async def english(browser: Browser, server: Server) -> None:
    page = await open_page(browser, server, None)
    assert await collide(page, 1) == "A new reply arrived while you were writing. Read it before you send yours:"
    assert await problem(page, 404, {"detail": "ticket 9 not found"}) == "ticket 9 not found"
    five = "5 new replies arrived while you were writing. Read them before you send yours:"
    assert await collide(page, 5) == five
    await expect(page.locator("#collision .meta").first).to_have_text("Ann Agent · Mar 1, 2026, 12:00 PM")
    await expect(page.locator("#durations")).to_have_text("in 3 hours | 2 hours ago")
    await page.context.close()
