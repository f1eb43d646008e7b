"""The knowledge-base pages with translations, rendered by the app (both modes): a German reader's search shows the
German translation first, an Arabic translation reads right to left, and staff get a form for missing languages."""

from __future__ import annotations

import re

from tests.conftest import PASSWORD, Harness, User
from tests.kb_helpers import VPN, write

GERMAN = {"language": "de", "title": "VPN trennt ständig die Verbindung", "body": "Wechseln Sie zum TCP-Profil."}
ARABIC = {"language": "ar", "title": "الشبكة الافتراضية تنقطع باستمرار", "body": "انتقل إلى ملف **TCP** الشخصي."}


async def _sign_in(harness: Harness, who: User) -> None:
    login = await harness.client.post("/api/auth/login", json={"email": who.email, "password": PASSWORD})
    assert login.status_code == 200, login.text


async def _translated(harness: Harness, agent: User, **fields: str) -> dict[str, int]:
    original = await write(harness, agent, **VPN)
    ids = {"en": original["id"]}
    for translation in (GERMAN, ARABIC):
        url = f"/api/kb/articles/{original['id']}/translations"
        made = await harness.client.post(url, json=translation, headers=agent.headers)
        assert made.status_code == 201, made.text
        ids[translation["language"]] = made.json()["id"]
    return ids


async def test_a_german_readers_search_page_shows_the_german_translation_first(
    harness: Harness, agent: User, requester: User
) -> None:
    await _translated(harness, agent)
    await write(harness, agent, title="Install the VPN client", body="Download it from the portal.")
    await _sign_in(harness, requester)
    page = await harness.client.get("/kb", params={"q": "vpn"}, headers={"Accept-Language": "de-CH, de;q=0.9"})
    assert page.status_code == 200
    text = page.text
    assert text.index(GERMAN["title"]) < text.index("Install the VPN client")
    assert VPN["title"] not in text and ARABIC["title"] not in text  # one hit per article
    # The English fallback is marked as English for the German reader; the German hit needs no mark.
    assert re.search(r'lang="en">.*?Install the VPN client</a>\s*<span class="tag">English</span>', text, re.S)
    assert '<span class="tag">Deutsch</span>' not in text


async def test_an_arabic_translation_reads_right_to_left_with_links_to_the_other_languages(
    harness: Harness, agent: User, requester: User
) -> None:
    ids = await _translated(harness, agent)
    await _sign_in(harness, requester)
    page = await harness.client.get(f"/kb/{ids['en']}", params={"language": "ar"})
    assert page.status_code == 200
    assert (
        '<div class="article-body" lang="ar" dir="rtl"><p>انتقل إلى ملف <strong>TCP</strong> الشخصي.</p>' in page.text
    )
    assert '<strong lang="ar" aria-current="page">العربية</strong>' in page.text
    assert f'<a href="/kb/{ids["de"]}" lang="de" hreflang="de">Deutsch</a>' in page.text
    assert f'<a href="/kb/{ids["en"]}" lang="en" hreflang="en">English</a>' in page.text
    assert 'id="tr-language"' not in page.text  # requesters do not translate
    english = await harness.client.get(f"/kb/{ids['en']}")
    assert '<div class="article-body" lang="en" dir="ltr">' in english.text


async def test_staff_translate_on_a_page_of_its_own_offering_only_the_languages_the_article_lacks(
    harness: Harness, agent: User
) -> None:
    original = await write(harness, agent, **VPN)
    url = f"/api/kb/articles/{original['id']}/translations"
    assert (await harness.client.post(url, json=GERMAN, headers=agent.headers)).status_code == 201
    await _sign_in(harness, agent)
    plain = await harness.client.get(f"/kb/{original['id']}")
    assert f'<a href="/kb/{original["id"]}?translate=1">Add a translation</a>' in plain.text
    assert 'id="tr-language"' not in plain.text and 'id="edit-title"' in plain.text  # one title field a page
    page = await harness.client.get(f"/kb/{original['id']}", params={"translate": "1"})
    assert 'id="edit-title"' not in page.text and "Add a translation" not in page.text
    form = page.text[page.text.index('id="tr-language"') :]
    offered = re.findall(r'<option value="(\w+)">', form[: form.index("</select>")])
    assert offered == ["fr", "es", "ar"]
    assert f'data-api="/api/kb/articles/{original["id"]}/translations"' in page.text
