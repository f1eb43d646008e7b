"""Organizations, in both modes: admins create, edit and delete them and their members (each change an event),
names and domains are unique and checked (a refused change stores nothing), staff read them, a requester reads
the names of their own; a new requester whose mail domain an organization lists joins it, by the API as by mail,
and their tickets record the organization they were opened under."""

from __future__ import annotations

from typing import Any

from tests import mail_corpus as corpus
from tests.conftest import Harness, User
from tests.integration.test_email_in import comments, desk, dmarc, pipe
from tests.org_helpers import ok, organization

__all__ = ["desk"]  # the mail intake's fixture, used below


async def _all(h: Harness, who: User) -> Any:
    return await ok(await h.client.get("/api/organizations", headers=who.headers))


async def test_create_edit_and_delete_each_leave_an_event(harness: Harness, admin: User, requester: User) -> None:
    h = harness
    made = await organization(h, admin, " Acme  Corp ", domains=["Acme.COM", "acme.co.uk"], shares_tickets=True)
    assert made["name"] == "Acme Corp" and made["domains"] == ["acme.co.uk", "acme.com"]
    assert made["shares_tickets"] is True and made["member_ids"] == [] and made["member_count"] == 0
    path = f"/api/organizations/{made['id']}"
    joined = await ok(await h.client.post(f"{path}/members", json={"user_id": requester.id}, headers=admin.headers))
    again = await ok(await h.client.post(f"{path}/members", json={"user_id": requester.id}, headers=admin.headers))
    assert joined["member_ids"] == again["member_ids"] == [requester.id]  # idempotent: one event
    edited = await ok(
        await h.client.patch(path, json={"domains": ["acme.com"], "shares_tickets": False}, headers=admin.headers)
    )
    assert edited["domains"] == ["acme.com"] and edited["shares_tickets"] is False and edited["name"] == "Acme Corp"
    left = await ok(await h.client.delete(f"{path}/members/{requester.id}", headers=admin.headers))
    assert left["member_ids"] == []
    assert (await h.client.delete(path, headers=admin.headers)).status_code == 204
    assert (await h.client.get(path, headers=admin.headers)).status_code == 404
    trail = [(e["type"], e["aggregate_id"]) for e in await h.events() if e["category"] == "organization"]
    assert trail == [
        (t, str(made["id"]))
        for t in (
            "organization.created",
            "organization.member_added",
            "organization.updated",
            "organization.member_removed",
            "organization.deleted",
        )
    ]
    [updated] = await h.events(type="organization.updated")
    assert updated["data"]["changes"] == {
        "domains": {"old": ["acme.co.uk", "acme.com"], "new": ["acme.com"]},
        "shares_tickets": {"old": True, "new": False},
    }


async def test_duplicates_and_bad_input_are_refused_and_store_nothing(harness: Harness, admin: User) -> None:
    h = harness
    acme = await organization(h, admin, "Acme", domains=["acme.com"])
    other = await organization(h, admin, "Globex", domains=["globex.com"])
    before, logged = await _all(h, admin), len(await h.events())
    refused = [
        (await h.client.post("/api/organizations", json={"name": "ACME"}, headers=admin.headers), 409, "Acme"),
        (
            await h.client.post(
                "/api/organizations", json={"name": "Initech", "domains": ["ACME.com"]}, headers=admin.headers
            ),
            409,
            "acme.com",
        ),
        (
            await h.client.post(
                "/api/organizations", json={"name": "Initech", "domains": ["not a domain"]}, headers=admin.headers
            ),
            422,
            "body.domains.0",
        ),
        (await h.client.post("/api/organizations", json={"name": "  "}, headers=admin.headers), 422, "name"),
        (
            await h.client.patch(
                f"/api/organizations/{other['id']}",
                json={"name": "acme", "shares_tickets": True},
                headers=admin.headers,
            ),
            409,
            "acme",
        ),
        (
            await h.client.patch(
                f"/api/organizations/{other['id']}", json={"domains": ["acme.com"]}, headers=admin.headers
            ),
            409,
            "acme.com",
        ),
        (
            await h.client.post(
                f"/api/organizations/{acme['id']}/members", json={"user_id": 999_999}, headers=admin.headers
            ),
            404,
            "999999",
        ),
    ]
    for response, status, named in refused:
        assert response.status_code == status, response.text
        assert named.lower() in response.text.lower()
    assert await _all(h, admin) == before and len(await h.events()) == logged
    renamed = await h.client.patch(f"/api/organizations/{acme['id']}", json={"name": "ACME"}, headers=admin.headers)
    assert (await ok(renamed))["name"] == "ACME"  # its own name in another case is no clash


async def test_who_reads_and_writes_organizations(harness: Harness, admin: User, agent: User, requester: User) -> None:
    h = harness
    acme = await organization(h, admin, "Acme", requester, domains=["acme.com"])
    await organization(h, admin, "Globex")
    assert [o["name"] for o in await _all(h, agent)] == ["Acme", "Globex"]
    assert (await h.client.get(f"/api/organizations/{acme['id']}", headers=agent.headers)).status_code == 200
    for who in (agent, requester):
        made = await h.client.post("/api/organizations", json={"name": "Mine"}, headers=who.headers)
        assert made.status_code == 403
        edit = await h.client.patch(f"/api/organizations/{acme['id']}", json={"name": "X"}, headers=who.headers)
        assert edit.status_code == 403
    assert (await h.client.get("/api/organizations", headers=requester.headers)).status_code == 403
    assert (await h.client.get(f"/api/organizations/{acme['id']}", headers=requester.headers)).status_code == 403
    mine = await ok(await h.client.get("/api/auth/me/organizations", headers=requester.headers))
    assert mine == [{"id": acme["id"], "name": "Acme"}]
    assert await ok(await h.client.get("/api/auth/me/organizations", headers=agent.headers)) == []


async def test_a_new_requester_joins_the_organization_of_their_domain(harness: Harness, admin: User) -> None:
    h = harness
    acme = await organization(h, admin, "Acme", domains=["acme.com"])
    pat = await h.user("requester", email="pat@ACME.com")
    stranger = await h.user("requester", email="sam@elsewhere.org")
    agent = await h.user("agent", email="ann@acme.com")  # staff see every ticket anyway: no membership
    members = (await ok(await h.client.get(f"/api/organizations/{acme['id']}", headers=admin.headers)))["member_ids"]
    assert members == [pat.id] and stranger.id not in members and agent.id not in members
    [joined] = await h.events(type="organization.member_added")
    assert joined["data"] == {"organization_id": acme["id"], "user_id": pat.id, "by_id": None, "via": "domain"}
    ticket = await ok(await h.client.post("/api/tickets", json={"title": "Help"}, headers=pat.headers), 201)
    assert ticket["organization_id"] == acme["id"]
    theirs = await ok(await h.client.post("/api/tickets", json={"title": "Hi"}, headers=stranger.headers), 201)
    assert theirs["organization_id"] is None
    [created] = await h.events(type="ticket.created", aggregate_id=str(ticket["id"]))
    assert created["data"]["organization_id"] == acme["id"]


async def test_users_imported_from_csv_join_by_domain_too(harness: Harness, admin: User) -> None:
    h = harness
    acme = await organization(h, admin, "Acme", domains=["acme.com"])
    body = b"name,email,role\nPat,pat@acme.com,requester\nAnn,ann@acme.com,agent\nSam,sam@else.org,requester\n"
    headers = admin.headers | {"Content-Type": "text/csv"}
    imported = await ok(await h.client.post("/api/users/import", content=body, headers=headers))
    made = {r["email"]: r["user_id"] for r in imported["rows"] if r["status"] == "created"}
    read = await ok(await h.client.get(f"/api/organizations/{acme['id']}", headers=admin.headers))
    assert read["member_ids"] == [made["pat@acme.com"]]


async def test_a_mail_from_a_new_sender_of_a_listed_domain_joins_and_files_under_it(desk: Harness) -> None:
    h = desk
    admin = await h.user("admin")
    customer = await organization(h, admin, "Customer Ltd", domains=["customer.test"])
    opened = await pipe(h, corpus.plain())  # from pat@customer.test, unknown until now
    assert opened.outcome == "ticket" and opened.ticket_id is not None
    ticket = await ok(await h.client.get(f"/api/tickets/{opened.ticket_id}", headers=admin.headers))
    assert ticket["organization_id"] == customer["id"]
    read = await ok(await h.client.get(f"/api/organizations/{customer['id']}", headers=admin.headers))
    assert read["member_ids"] == [ticket["requester_id"]]
    [joined] = await h.events(type="organization.member_added")
    assert joined["data"]["via"] == "domain" and joined["data"]["user_id"] == ticket["requester_id"]


async def test_a_colleague_answers_a_shared_ticket_by_mail_only_while_it_is_shared(desk: Harness) -> None:
    h = desk
    admin = await h.user("admin")
    customer = await organization(h, admin, "Customer Ltd", domains=["customer.test"])
    wendy = await h.user("requester", email="wendy@customer.test")  # joins by her domain
    opened = await pipe(h, corpus.plain())  # Pat's, filed under Customer Ltd
    ticket_id = opened.ticket_id or 0

    def reply(n: int) -> bytes:
        subject, message_id = f"Re: [#{ticket_id}] x", f"<w-{n}@customer.test>"
        return dmarc(corpus.plain(sender="Wendy <wendy@customer.test>", subject=subject, message_id=message_id))

    unshared = await pipe(h, reply(1))
    assert unshared.outcome == "ticket" and unshared.ticket_id != ticket_id  # not hers to answer: a new ticket
    path = f"/api/organizations/{customer['id']}"
    await ok(await h.client.patch(path, json={"shares_tickets": True}, headers=admin.headers))
    assert (await pipe(h, reply(2))).outcome == "comment"
    [said] = await comments(h, admin, ticket_id)
    assert said["author_id"] == wendy.id and said["internal"] is False
