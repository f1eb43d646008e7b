"""The web UI in Chromium against a real `nixflow serve`: live queue, privacy, rules, causation, reconnection."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from nixflow.bootstrap import build
from nixflow.config import load_settings
from nixflow.domain.envelope import EventContext
from nixflow.domain.values import Priority, Role
from nixflow.ids import uuid7
from nixflow.services import tickets
from nixflow.services.users import Principal
from nixflow.store.db import Tx
from tests.e2e.conftest import PASSWORD, Account, Server, shoot, signed_in

pytestmark = pytest.mark.browser


def people(server: Server) -> tuple[Account, Account, Account]:
    admin = server.account(None, "admin", "Ada Admin")
    agent = server.account(admin, "agent", "Alan Agent")
    requester = server.account(admin, "requester", "Rita Requester")
    return admin, agent, requester


async def live(page: Page) -> None:
    await expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible(timeout=10_000)


def row(page: Page, ticket_id: int) -> Any:
    return page.locator(f'tr[data-ticket-id="{ticket_id}"]')


async def test_agent_queue_shows_a_new_ticket_live_with_its_stored_priority_and_assignee(
    server: Server, browser: Browser
) -> None:
    admin, agent, requester = people(server)
    category = server.call("POST", "/api/categories", admin, json={"name": "Hardware", "agent_ids": [agent.id]})
    page = await signed_in(browser, server, agent, "/queue")
    await live(page)

    body = {"title": "Urgent: laptop will not boot", "description": "since this morning", "category_id": category["id"]}
    ticket = server.call("POST", "/api/tickets", requester, json=body)
    await expect(row(page, ticket["id"])).to_be_visible(timeout=1_000)
    await expect(row(page, ticket["id"])).to_contain_text("Urgent: laptop will not boot")

    names = {agent.id: agent.name, admin.id: admin.name}
    for _ in range(5):  # automation may still be changing it: compare with what is stored once it is still
        stored = server.call("GET", f"/api/tickets/{ticket['id']}", agent)
        await expect(row(page, ticket["id"]).locator('[data-field="priority"]')).to_have_text(stored["priority"])
        assignee = names.get(stored["assignee_id"], "unassigned") if stored["assignee_id"] else "unassigned"
        await expect(row(page, ticket["id"]).locator('[data-field="assignee"]')).to_have_text(assignee)
        if server.call("GET", f"/api/tickets/{ticket['id']}", agent)["version"] == stored["version"]:
            break
    await expect(row(page, ticket["id"]).locator('[data-field="status"]')).to_have_text(stored["status"])

    # Filters: a priority the ticket does not have hides it.
    other = "low" if stored["priority"] != "low" else "high"
    await page.locator("#f-priority").select_option(other)  # the bulk bar has a Priority too
    await page.get_by_role("button", name="Filter").click()
    await expect(row(page, ticket["id"])).to_have_count(0)
    await page.goto(server.url + "/queue")
    await live(page)
    await shoot(page, "queue")

    await page.get_by_role("link", name="Urgent: laptop will not boot").click()
    await expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    await page.get_by_label("Add a comment").fill("Looking at it now")
    await page.get_by_role("button", name="Comment").click()
    await expect(page.locator(".comments")).to_contain_text("Looking at it now")
    await expect(page.locator(".countdown").first).to_contain_text("in ")
    await shoot(page, "ticket-agent")


async def test_a_requester_never_sees_another_requesters_ticket(server: Server, browser: Browser) -> None:
    admin, _agent, alice = people(server)
    bob = server.account(admin, "requester", "Bob Requester")
    bobs = server.call("POST", "/api/tickets", bob, json={"title": "Bob payroll question", "description": "salary"})

    page = await signed_in(browser, server, alice, "/tickets")
    await live(page)
    await page.get_by_role("link", name="Open a ticket").first.click()
    await page.get_by_label("Title").fill("Alice cannot print")
    await page.get_by_label("Description").fill("The printer on floor 2 says offline")
    await shoot(page, "ticket-new")
    await page.get_by_role("button", name="Open ticket").click()
    await expect(page.get_by_role("heading", name="Alice cannot print")).to_be_visible()
    await shoot(page, "ticket-requester")

    await page.goto(server.url + "/tickets")
    await live(page)
    server.call("POST", "/api/tickets", bob, json={"title": "Bob second secret", "description": "x"})
    server.call("POST", f"/api/tickets/{bobs['id']}/comments", bob, json={"body": "any news?"})
    mine = server.call("POST", "/api/tickets", alice, json={"title": "Alice monitor flickers", "description": "y"})
    await expect(row(page, mine["id"])).to_be_visible(timeout=2_000)
    await expect(page.get_by_role("main")).to_contain_text("Alice cannot print")
    content = await page.content()
    assert "Bob payroll question" not in content and "Bob second secret" not in content
    await shoot(page, "my-tickets")

    response = await page.goto(server.url + f"/tickets/{bobs['id']}")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("main")).to_contain_text("not found")
    assert "Bob payroll question" not in await page.content()


async def test_the_admin_creates_a_rule_in_the_ui_and_the_next_ticket_follows_it(
    server: Server, browser: Browser
) -> None:
    admin, agent, requester = people(server)
    page = await signed_in(browser, server, admin, "/admin/rules")
    await live(page)
    await page.get_by_label("Name").fill("zebra tickets are critical")
    await page.get_by_label("Kind").select_option("prioritization")
    await page.get_by_label("Position").fill("1")
    await page.get_by_role("tab", name="JSON").click()  # the builder is the first tab
    await page.get_by_label("Conditions (JSON)").fill(
        '{"any": [{"field": "text", "op": "contains_word", "value": ["zebra"]}]}'
    )
    await page.get_by_label("Actions (JSON)").fill('[{"type": "set_priority", "value": "critical"}]')
    await page.get_by_role("button", name="Create rule").click()
    await expect(page.locator("#rules")).to_contain_text("zebra tickets are critical")
    await shoot(page, "admin-rules")

    ticket = server.call("POST", "/api/tickets", requester, json={"title": "The zebra printer jams", "description": ""})
    agent_page = await signed_in(browser, server, agent, f"/tickets/{ticket['id']}")
    await expect(agent_page.locator('[data-field="priority"]')).to_have_text("critical", timeout=5_000)
    await expect(agent_page.locator(".timeline")).to_contain_text("zebra tickets are critical")

    for path, name in (("/admin/sla", "admin-sla"), ("/admin/round-robin", "admin-round-robin")):
        await page.goto(server.url + path)
        await live(page)
        await shoot(page, name)


async def test_the_event_page_shows_the_causation_chain(server: Server, browser: Browser) -> None:
    admin, agent, requester = people(server)
    ticket = server.call("POST", "/api/tickets", requester, json={"title": "urgent: VPN is down", "description": ""})
    changed: list[dict[str, Any]] = []
    for _ in range(50):
        timeline = server.call("GET", f"/api/tickets/{ticket['id']}/events", agent)
        changed = [e for e in timeline if e["type"] == "ticket.priority_changed"]
        if changed:
            break
        await asyncio.sleep(0.1)
    assert changed, "automation did not change the priority"
    created = next(e for e in timeline if e["type"] == "ticket.created")

    page = await signed_in(browser, server, admin, f"/tickets/{ticket['id']}")
    caused = page.locator(f'.timeline li[data-event-id="{changed[0]["event_id"]}"]')
    await expect(caused).to_contain_text("caused by")
    await caused.get_by_role("link", name="ticket.priority_changed", exact=True).click()
    chain = page.get_by_role("list", name="From the first cause to this event")
    await expect(chain.get_by_role("listitem").first).to_contain_text("ticket.created")
    await expect(chain.get_by_role("listitem").last).to_contain_text("ticket.priority_changed")
    await expect(chain).to_contain_text("caused by rule")
    await expect(page.locator(".tree").first).to_contain_text("ticket.created")
    assert created["event_id"] in await chain.get_by_role("link", name="ticket.created").get_attribute("href")
    await shoot(page, "event")

    await page.goto(server.url + "/events/stats")
    for alt in ("by category", "by delivery status"):
        chart = page.get_by_role("img", name=alt)
        await expect(chart).to_be_visible()
        assert await chart.evaluate("img => img.complete && img.naturalWidth > 0"), f"the chart {alt} did not load"
    await shoot(page, "stats")
    for path in ("/events", "/admin/users", "/admin/categories"):
        await page.goto(server.url + path)
        await live(page)
        await shoot(page, path[1:].replace("/", "-"))


async def test_a_page_reconnects_after_a_restart_and_shows_what_happened_meanwhile(
    server: Server, browser: Browser
) -> None:
    _admin, agent, requester = people(server)
    page = await signed_in(browser, server, agent, "/queue")
    await live(page)

    server.stop()
    await expect(page.get_by_role("status")).to_contain_text("Offline", timeout=5_000)
    created_id, event_id = await asyncio.to_thread(open_ticket_offline, server, requester)

    server.start()
    await live(page)
    await expect(row(page, created_id)).to_be_visible(timeout=10_000)
    await expect(row(page, created_id)).to_contain_text("Opened while the server was down")
    # It came over the resumed stream (?after=), not only from re-reading the page.
    seen = await page.evaluate("() => window.nixflowLive.lastEventId")
    timeline = server.call("GET", f"/api/tickets/{created_id}/events", agent)
    assert event_id in [e["event_id"] for e in timeline]
    assert seen >= event_id
    await shoot(page, "queue-after-restart")

    await page.goto(server.url + "/login")
    await shoot(page, "login")


def open_ticket_offline(server: Server, requester: Account) -> tuple[int, str]:
    """Open a ticket straight through the ticket service on the same database file, as another process would."""
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{server.db_path}")
    app = build(settings)
    principal = Principal(requester.id, Role.REQUESTER, requester.email, requester.name)

    def create(tx: Tx) -> tuple[int, str]:
        ticket = tickets.create(
            tx, requester=principal, title="Opened while the server was down", description="", category_id=None,
            priority=Priority.NORMAL, requires_approval=False,
        )  # fmt: skip
        return int(ticket["id"]), tx.events[0].event_id

    try:
        ctx = EventContext(correlation_id=uuid7(), actor_id=requester.id, source="test")
        return app.writer.run_sync(create, ctx)
    finally:
        app.writer.close()
        app.db.dispose()


async def test_a_page_whose_user_is_deactivated_goes_back_to_the_sign_in_page(server: Server, browser: Browser) -> None:
    admin, agent, _requester = people(server)
    page = await signed_in(browser, server, agent, "/queue")
    await live(page)
    server.call("PATCH", f"/api/users/{agent.id}", admin, json={"active": False})
    await page.wait_for_url("**/login**", timeout=10_000)
    await expect(page.get_by_label("Password")).to_be_visible()


async def test_a_burst_of_tickets_all_reach_an_open_queue(server: Server, browser: Browser) -> None:
    _admin, agent, requester = people(server)
    page = await signed_in(browser, server, agent, "/queue")
    await live(page)
    renders: list[str] = []
    page.on("request", lambda request: renders.append(request.url) if request.url.endswith("/queue") else None)
    opened = [
        server.call("POST", "/api/tickets", requester, json={"title": f"Burst {n}", "description": "x"})["id"]
        for n in range(15)
    ]
    for ticket_id in opened:  # the refresh after the last event brings in whatever came during the others
        await expect(row(page, ticket_id)).to_be_visible(timeout=10_000)
    assert 1 <= len(renders) < len(opened) * 6  # coalesced: far fewer page renders than events (~6 per ticket)


async def test_a_user_changes_their_password_on_the_account_page(server: Server, browser: Browser) -> None:
    _admin, agent, _requester = people(server)
    page = await signed_in(browser, server, agent, "/queue")
    await page.get_by_role("link", name="Alan Agent").click()
    await page.wait_for_url(server.url + "/account")
    await shoot(page, "account")

    await page.get_by_label("Current password").fill(PASSWORD)
    await page.get_by_label("New password (at least 8 characters)").fill("a brand new passphrase")
    await page.get_by_label("New password again").fill("a brand new passphrase, mistyped")
    await page.get_by_role("button", name="Change password").click()
    assert await page.get_by_label("New password again").evaluate("e => !e.validity.valid")  # refused in the page

    await page.get_by_label("New password again").fill("a brand new passphrase")
    await page.get_by_role("button", name="Change password").click()
    await expect(page.get_by_role("status").filter(has_text="Your password was changed")).to_be_visible()
    async with httpx.AsyncClient(base_url=server.url) as client:
        signed = await client.post("/api/auth/login", json={"email": agent.email, "password": "a brand new passphrase"})
    assert signed.status_code == 200
