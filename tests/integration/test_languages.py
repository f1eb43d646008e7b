"""Languages (issue 30): a person's chosen language and zone, the pages and mail in it, in both modes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from email.message import EmailMessage

import pytest
from sqlalchemy import select
from tests.conftest import Harness, User, mailing, start
from tests.smtp_server import SmtpServer

from nixflow.config import Settings
from nixflow.i18n.formatting import format_datetime
from nixflow.store.tables import notifications, password_resets


async def test_a_person_chooses_their_language_and_zone_and_bad_values_change_nothing(
    harness: Harness, requester: User
) -> None:
    me = await harness.client.get("/api/auth/me", headers=requester.headers)
    assert me.json()["locale"] is None and me.json()["timezone"] is None  # not chosen: browser, then default
    chosen = await harness.client.patch(
        "/api/auth/me", json={"locale": "de", "timezone": "Europe/Berlin"}, headers=requester.headers
    )
    assert chosen.status_code == 200, chosen.text
    assert (chosen.json()["locale"], chosen.json()["timezone"]) == ("de", "Europe/Berlin")
    for bad in ({"locale": "xx"}, {"timezone": "Mars/Olympus"}, {"locale": "fr", "timezone": "Nowhere"}):
        refused = await harness.client.patch("/api/auth/me", json=bad, headers=requester.headers)
        assert refused.status_code == 422, refused.text
    zone_only = await harness.client.patch("/api/auth/me", json={"timezone": "Asia/Tokyo"}, headers=requester.headers)
    assert (zone_only.json()["locale"], zone_only.json()["timezone"]) == ("de", "Asia/Tokyo")  # left out: kept
    cleared = await harness.client.patch("/api/auth/me", json={"locale": None}, headers=requester.headers)
    assert (cleared.json()["locale"], cleared.json()["timezone"]) == (None, "Asia/Tokyo")


def _page_headers(user: User, **extra: str) -> dict[str, str]:
    return {"Cookie": f"nixflow_session={user.token}", **extra}


async def test_a_german_reader_gets_the_account_page_in_german(harness: Harness, agent: User) -> None:
    await harness.client.patch("/api/auth/me", json={"locale": "de"}, headers=agent.headers)
    # Their own choice wins over what the browser asks for.
    page = await harness.client.get("/account", headers=_page_headers(agent, **{"Accept-Language": "fr"}))
    assert page.status_code == 200
    assert '<html lang="de" dir="ltr">' in page.text
    assert "<title>Ihr Konto · NixFlow</title>" in page.text
    assert "Passwort ändern" in page.text and "Warteschlange" in page.text and "Sprache und Zeitzone" in page.text
    assert '<option value="de" lang="de" selected>Deutsch</option>' in page.text
    assert '"lang": "de"' in page.text  # the catalogue for the page's scripts
    missing = await harness.client.get("/tickets/999999", headers=_page_headers(agent))
    assert missing.status_code == 404 and "Zurück zur Startseite" in missing.text
    assert "<title>Nicht gefunden · NixFlow</title>" in missing.text


async def test_arabic_pages_are_right_to_left(harness: Harness, requester: User) -> None:
    await harness.client.patch("/api/auth/me", json={"locale": "ar"}, headers=requester.headers)
    page = await harness.client.get("/account", headers=_page_headers(requester))
    assert '<html lang="ar" dir="rtl">' in page.text and "<title>حسابك · NixFlow</title>" in page.text
    assert "تغيير كلمة المرور" in page.text


async def test_the_sign_in_page_follows_the_browser_language(harness: Harness) -> None:
    french = await harness.client.get("/login", headers={"Accept-Language": "fr-CH, fr;q=0.9, en;q=0.5"})
    assert '<html lang="fr" dir="ltr">' in french.text
    assert "Mot de passe oublié ?" in french.text and "<title>Se connecter · NixFlow</title>" in french.text
    unknown = await harness.client.get("/login", headers={"Accept-Language": "pt-BR"})
    assert '<html lang="en" dir="ltr">' in unknown.text and "Forgot your password?" in unknown.text


@pytest.fixture
async def desk(settings: Settings, smtp: SmtpServer) -> AsyncIterator[Harness]:
    async for h in start(mailing(settings, smtp, delay=0)):
        yield h


def _text(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


async def test_a_german_agent_is_mailed_in_german_with_the_time_in_their_zone(desk: Harness, smtp: SmtpServer) -> None:
    admin = await desk.user("admin")
    agent = await desk.user("agent", name="Dana Agent")
    await desk.client.patch("/api/auth/me", json={"locale": "de", "timezone": "Asia/Tokyo"}, headers=agent.headers)
    opened = await desk.client.post("/api/tickets", json={"title": "Drucker streikt"}, headers=admin.headers)
    ticket = opened.json()
    assigned = await desk.client.patch(
        f"/api/tickets/{ticket['id']}",
        json={"version": ticket["version"], "assignee_id": agent.id},
        headers=admin.headers,
    )
    assert assigned.status_code == 200, assigned.text
    await desk.settle()
    [mail] = await asyncio.to_thread(smtp.inbox.wait_for, 1, address=agent.email, timeout=20)
    assert mail["Subject"] == f"[#{ticket['id']}] Drucker streikt"  # the tag and title as in every language
    assert mail["In-Reply-To"] == f"<ticket-{ticket['id']}@example.com>"
    text = _text(mail)
    assert (
        f"Ihnen zugewiesen: #{ticket['id']} Drucker streikt" in text
        and "Ticket öffnen: https://help.example.com/tickets/" in text
    )
    assert "Sie erhalten diese Nachricht, weil: das Ticket wurde Ihnen zugewiesen." in text
    created = await desk.nixflow.db.read(
        lambda conn: conn.execute(
            select(notifications.c.created_at).where(notifications.c.recipient_id == agent.id)
        ).scalar_one()
    )
    shown = format_datetime(created, locale="de", timezone="Asia/Tokyo")
    assert shown in text and ("JST" in shown or "+09" in shown)  # Tokyo's time, German date order
    html = mail.get_body(("html",))
    assert html is not None and '<html lang="de" dir="ltr">' in str(html.get_content())


async def test_a_french_requester_gets_the_password_reset_mail_in_french(desk: Harness, smtp: SmtpServer) -> None:
    requester = await desk.user("requester", name="Rémi")
    await desk.client.patch(
        "/api/auth/me", json={"locale": "fr", "timezone": "Europe/Paris"}, headers=requester.headers
    )
    asked = await desk.client.post("/api/auth/password-reset", json={"email": requester.email})
    assert asked.status_code == 202, asked.text
    await desk.settle()
    [mail] = await asyncio.to_thread(smtp.inbox.wait_for, 1, address=requester.email, timeout=20)
    assert mail["Subject"] == "Choisir un nouveau mot de passe NixFlow"
    text = _text(mail)
    assert text.startswith("Bonjour Rémi,") and "Si vous n'avez rien demandé, ignorez ce message" in text
    expires = await desk.nixflow.db.read(
        lambda conn: conn.execute(
            select(password_resets.c.expires_at).where(password_resets.c.user_id == requester.id)
        ).scalar_one()
    )
    assert format_datetime(expires, locale="fr", timezone="Europe/Paris") in text


async def test_a_chosen_language_and_zone_are_exported_and_erased(harness: Harness, admin: User) -> None:
    person = await harness.user("requester")
    await harness.client.patch(
        "/api/auth/me", json={"locale": "es", "timezone": "America/Bogota"}, headers=person.headers
    )
    exported = await harness.client.get(f"/api/users/{person.id}/export", headers=person.headers)
    profile = exported.json()["profile"]
    assert (profile["locale"], profile["timezone"]) == ("es", "America/Bogota")
    erased = await harness.client.post(
        f"/api/users/{person.id}/erase", json={"confirm": person.email}, headers=admin.headers
    )
    assert erased.status_code == 200, erased.text
    after = await harness.client.get(f"/api/users/{person.id}", headers=admin.headers)
    assert (after.json()["locale"], after.json()["timezone"]) == (None, None)
