"""The ticket page as a conversation (issue 24): comments rendered in order with each change folded in as one
line, fields staff edit on the page (the requester among them), and who the requester is; in both modes."""

from __future__ import annotations

import html as html_lib
import re

from tests.conftest import Harness, User
from tests.integration.test_ticket_views import _ok, _page


def _thread(page: str) -> list[str]:
    """The conversation's entries, top to bottom, as text: comments (up to a list in them) and change lines."""
    found = re.search(r'<ol class="comments thread">(.*?)</ol>\s*(?:{% endif %})?\s*</div>', page, re.S)
    assert found is not None, "no conversation on the page"
    items = re.findall(r'<li class="(comment[^"]*|change)"[^>]*>(.*?)</li>', found.group(1), re.S)
    return [" ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", body)).split()) for _, body in items]


async def _open(harness: Harness, requester: User, title: str) -> int:
    ticket = await _ok(await harness.client.post("/api/tickets", json={"title": title}, headers=requester.headers), 201)
    await harness.settle()
    return int(ticket["id"])


async def _version(harness: Harness, user: User, tid: int) -> int:
    return int((await _ok(await harness.client.get(f"/api/tickets/{tid}", headers=user.headers)))["version"])


async def test_the_thread_folds_changes_between_rendered_comments_and_hides_rules_from_the_requester(
    harness: Harness, requester: User, agent: User, admin: User
) -> None:
    tid = await _open(harness, requester, "Core switch is down")  # a default rule sets it critical
    rules = await _ok(await harness.client.get("/api/rules", headers=admin.headers))
    [rule] = [r for r in rules if any(a.get("value") == "critical" for a in r["actions"])]
    await _ok(
        await harness.client.post(
            f"/api/tickets/{tid}/comments", json={"body": "Which **port**?\n\n- A\n- B"}, headers=agent.headers
        ),
        201,
    )
    version = await _version(harness, agent, tid)
    await _ok(
        await harness.client.patch(
            f"/api/tickets/{tid}", json={"version": version, "priority": "high"}, headers=agent.headers
        )
    )
    note = {"body": "vendor case 991", "internal": True}
    await _ok(await harness.client.post(f"/api/tickets/{tid}/comments", json=note, headers=agent.headers), 201)
    await harness.settle()

    staff_page = await _page(harness, agent, f"/tickets/{tid}")
    staff = _thread(staff_page)
    assert staff[0].startswith("Requester opened the ticket")
    assert any(line.startswith(f"Rule {rule['name']} set priority to critical") for line in staff)
    asked = next(i for i, line in enumerate(staff) if "Which port" in line)
    raised = next(i for i, line in enumerate(staff) if line.startswith("Agent set priority to high"))
    noted = next(i for i, line in enumerate(staff) if "vendor case 991" in line)
    assert asked < raised < noted  # in the order they happened
    assert "internal note" in staff[noted]
    assert "<strong>port</strong>" in staff_page and "<li>A</li>" in staff_page  # Markdown, rendered
    assert 'id="event-log-link"' in staff_page and 'id="timeline-h"' in staff_page  # the raw log, one click

    mine = _thread(await _page(harness, requester, f"/tickets/{tid}"))
    assert not any("Rule" in line or "priority" in line for line in mine), mine
    assert not any("vendor case" in line for line in mine)
    assert any("Which port" in line for line in mine)


async def test_a_file_on_the_ticket_is_a_line_to_open_and_a_comments_file_stays_with_it(
    harness: Harness, requester: User, agent: User
) -> None:
    tid = await _open(harness, requester, "Scanner streaks")
    url = f"/api/tickets/{tid}/attachments"
    sent = await harness.client.post(
        url, files={"file": ("scan.txt", b"streaks", "text/plain")}, headers=requester.headers
    )
    made = await _ok(sent, 201)
    said = await _ok(
        await harness.client.post(f"/api/tickets/{tid}/comments", json={"body": "Log"}, headers=agent.headers), 201
    )
    form = {"comment_id": str(said["id"])}
    log = {"file": ("log.txt", b"lines", "text/plain")}
    await _ok(await harness.client.post(url, files=log, data=form, headers=agent.headers), 201)
    await harness.settle()
    page = await _page(harness, requester, f"/tickets/{tid}")
    thread = _thread(page)
    assert any(line.startswith("Requester attached scan.txt") for line in thread), thread
    assert f'<a href="/api/attachments/{made["id"]}" download>attached scan.txt</a>' in page
    assert not any("attached log.txt" in line for line in thread)  # shown with its comment instead


async def test_the_past_thread_holds_only_what_had_happened(harness: Harness, requester: User, agent: User) -> None:
    tid = await _open(harness, requester, "Printer jams")
    events = await _ok(await harness.client.get(f"/api/tickets/{tid}/events", headers=agent.headers))
    version = await _version(harness, agent, tid)
    await _ok(
        await harness.client.patch(
            f"/api/tickets/{tid}", json={"version": version, "priority": "low"}, headers=agent.headers
        )
    )
    await _ok(
        await harness.client.post(f"/api/tickets/{tid}/comments", json={"body": "Later"}, headers=agent.headers), 201
    )
    then = _thread(await _page(harness, agent, f"/tickets/{tid}?as_of={events[-1]['event_id']}"))
    assert not any("Later" in line or "set priority to low" in line for line in then), then
    now = _thread(await _page(harness, agent, f"/tickets/{tid}"))
    assert any("set priority to low" in line for line in now) and any("Later" in line for line in now)


async def test_staff_change_the_requester_with_an_event_and_the_old_one_loses_the_ticket(
    harness: Harness, requester: User, agent: User
) -> None:
    tid = await _open(harness, requester, "Laptop for Bo")
    bo = await harness.user("requester", name="Bo Berg")
    version = await _version(harness, agent, tid)
    moved = await _ok(
        await harness.client.patch(
            f"/api/tickets/{tid}", json={"version": version, "requester_id": bo.id}, headers=agent.headers
        )
    )
    assert moved["requester_id"] == bo.id and moved["version"] == version + 1
    [updated] = [e for e in await harness.events(type="ticket.updated") if e["aggregate_id"] == str(tid)]
    assert updated["data"]["changes"] == {"requester_id": {"old": requester.id, "new": bo.id}}
    assert (await harness.client.get(f"/api/tickets/{tid}", headers=requester.headers)).status_code == 404
    await _ok(await harness.client.get(f"/api/tickets/{tid}", headers=bo.headers))
    await harness.settle()
    assert any(
        line.startswith("Agent changed the requester to Bo Berg")
        for line in _thread(await _page(harness, agent, f"/tickets/{tid}"))
    )
    # Time travel shows the requester of then.
    back = await _ok(
        await harness.client.get(f"/api/tickets/{tid}", params={"as_of": updated["event_id"]}, headers=agent.headers)
    )
    assert back["requester_id"] == bo.id


async def test_a_bad_requester_change_is_refused_clearly_and_changes_nothing(
    harness: Harness, requester: User, agent: User, admin: User
) -> None:
    tid = await _open(harness, requester, "Monitor flickers")
    version = await _version(harness, agent, tid)
    unknown = await harness.client.patch(
        f"/api/tickets/{tid}", json={"version": version, "requester_id": 999_999}, headers=agent.headers
    )
    assert unknown.status_code == 404 and "user 999999 does not exist" in unknown.json()["detail"]
    system = await harness.client.patch(
        f"/api/tickets/{tid}", json={"version": version, "requester_id": 0}, headers=agent.headers
    )
    assert system.status_code == 409 and "not an active user" in system.json()["detail"]
    own = await harness.client.patch(
        f"/api/tickets/{tid}", json={"version": version, "requester_id": agent.id}, headers=requester.headers
    )
    assert own.status_code == 403
    stale = await harness.client.patch(
        f"/api/tickets/{tid}", json={"version": version - 1, "requester_id": admin.id}, headers=agent.headers
    )
    assert stale.status_code == 409
    after = await _ok(await harness.client.get(f"/api/tickets/{tid}", headers=agent.headers))
    assert after["requester_id"] == requester.id and after["version"] == version
    assert not [e for e in await harness.events(type="ticket.updated") if e["aggregate_id"] == str(tid)]


async def test_staff_see_who_asked_and_their_other_tickets(harness: Harness, requester: User, agent: User) -> None:
    done = await _open(harness, requester, "Old printer issue")
    for status in ("open", "resolved"):
        await _ok(
            await harness.client.post(f"/api/tickets/{done}/transition", json={"status": status}, headers=agent.headers)
        )
    other = await _open(harness, requester, "Second screen")
    tid = await _open(harness, requester, "Mouse broken")
    someone = await harness.user("requester")
    await _open(harness, someone, "Not theirs")

    context = await _ok(await harness.client.get(f"/api/tickets/{tid}/requester-context", headers=agent.headers))
    assert context["requester"]["id"] == requester.id and context["requester"]["email"] == requester.email
    assert [t["id"] for t in context["open"]] == [other]  # not this ticket, not someone else's
    assert [(t["id"], t["status"]) for t in context["recent"]] == [(done, "resolved")]
    refused = await harness.client.get(f"/api/tickets/{tid}/requester-context", headers=requester.headers)
    assert refused.status_code == 403

    page = await _page(harness, agent, f"/tickets/{tid}")
    assert f'href="/tickets/{other}">#{other} Second screen' in page
    assert f'href="/tickets/{done}">#{done} Old printer issue' in page
    assert 'id="requester-context"' not in await _page(harness, requester, f"/tickets/{tid}")
