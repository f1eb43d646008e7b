"""Custom fields, in both modes: admins define them (each type its own checks), values are validated on every
write (a 422 naming the field, nothing stored), required fields are enforced (requesters on opening, agents on
resolving), a change is `ticket.fields_changed` with only the changed keys, requesters see only their fields (in
reads and events), the queue filters by a field through its index, and time travel shows fields as they were."""

from __future__ import annotations

from typing import Any

import pytest
from tests.conftest import Harness, User

from nixflow.domain.fields import Entity
from nixflow.store import custom_fields

FIELDS: list[dict[str, Any]] = [
    {"key": "contract", "label": "Contract number", "type": "text", "max_length": 10, "requester_visible": True},
    {"key": "seats", "label": "Seats", "type": "number", "minimum": 1, "maximum": 500},
    {"key": "renewal", "label": "Renewal", "type": "date", "requester_visible": True},
    {"key": "plan", "label": "Plan", "type": "select", "options": ["basic", "pro"]},
    {"key": "modules", "label": "Modules", "type": "multiselect", "options": ["mail", "chat", "voice"]},
    {"key": "vip", "label": "VIP", "type": "checkbox"},
]
GOOD = {
    "contract": "C-42",
    "seats": 12,
    "renewal": "2027-02-28",
    "plan": "pro",
    "modules": ["voice", "mail"],
    "vip": True,
}
BAD = [
    ("contract", "C-123456789X"),
    ("contract", 42),
    ("seats", 0),
    ("seats", "12"),
    ("seats", True),
    ("renewal", "2027-02-30"),
    ("renewal", "28.02.2027"),
    ("plan", "gold"),
    ("modules", ["mail", "fax"]),
    ("modules", "mail"),
    ("vip", "yes"),
    ("nope", "x"),
]


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _define(h: Harness, admin: User, *fields: dict[str, Any]) -> list[dict[str, Any]]:
    return [await _ok(await h.client.post("/api/fields", json=f, headers=admin.headers), 201) for f in fields]


async def _open(h: Harness, user: User, **body: Any) -> Any:
    return await h.client.post("/api/tickets", json={"title": "Renewal", **body}, headers=user.headers)


async def _state(h: Harness, agent: User, ticket_id: int) -> tuple[Any, Any]:
    base = f"/api/tickets/{ticket_id}"
    return await _ok(await h.client.get(base, headers=agent.headers)), await _ok(
        await h.client.get(f"{base}/events", headers=agent.headers)
    )


async def _patch(h: Harness, user: User, ticket: dict[str, Any], fields: dict[str, Any]) -> Any:
    current = await _ok(await h.client.get(f"/api/tickets/{ticket['id']}", headers=user.headers))
    body = {"version": current["version"], "fields": fields}
    return await h.client.patch(f"/api/tickets/{ticket['id']}", json=body, headers=user.headers)


async def test_definitions_are_admins_and_say_their_schema(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    h = harness
    made = await _define(h, admin, *FIELDS)
    assert made[1]["schema"]["anyOf"][0] == {"type": "number", "minimum": 1, "maximum": 500}
    assert made[3]["schema"]["anyOf"][0] == {"type": "string", "enum": ["basic", "pro"]}
    assert made[2]["schema"]["anyOf"][0] == {"type": "string", "format": "date"}
    assert (await h.client.post("/api/fields", json=FIELDS[0], headers=admin.headers)).status_code == 409
    no_options = {"key": "tier", "label": "Tier", "type": "select"}
    refused = await h.client.post("/api/fields", json=no_options, headers=admin.headers)
    assert refused.status_code == 422 and "tier" in refused.json()["detail"]
    assert (await h.client.post("/api/fields", json=no_options, headers=agent.headers)).status_code == 403
    staff = await _ok(await h.client.get("/api/fields", headers=agent.headers))
    assert [f["key"] for f in staff] == [f["key"] for f in FIELDS]
    form = await _ok(await h.client.get("/api/fields", headers=requester.headers))
    assert [f["key"] for f in form] == ["contract", "renewal"]
    key_change = {"key": "other"}
    assert (
        await h.client.patch(f"/api/fields/{made[0]['id']}", json=key_change, headers=admin.headers)
    ).status_code == 422
    relabelled = await _ok(
        await h.client.patch(f"/api/fields/{made[0]['id']}", json={"label": "Contract"}, headers=admin.headers)
    )
    assert relabelled["label"] == "Contract" and relabelled["key"] == "contract"
    archived = await _ok(await h.client.delete(f"/api/fields/{made[5]['id']}", headers=admin.headers))
    assert archived["archived"] is True
    assert "vip" not in [f["key"] for f in await _ok(await h.client.get("/api/fields", headers=agent.headers))]
    kinds = [e["type"] for e in await h.events(aggregate_type="field_definition")]
    assert kinds == ["workflow.field_created"] * 6 + ["workflow.field_updated", "workflow.field_archived"]


@pytest.mark.parametrize(("key", "value"), BAD)
async def test_a_bad_value_is_a_422_naming_the_field_and_stores_nothing(
    harness: Harness, admin: User, agent: User, key: str, value: Any
) -> None:
    h = harness
    await _define(h, admin, *FIELDS)
    refused = await _open(h, agent, fields={**GOOD, key: value})
    assert refused.status_code == 422 and key in refused.text, refused.text
    assert (await _ok(await h.client.get("/api/tickets", headers=agent.headers)))["items"] == []
    ticket = await _ok(await _open(h, agent, fields=GOOD), 201)
    assert ticket["fields"] == {**GOOD, "modules": ["mail", "voice"]}  # a multi select in its options' order
    before = await _state(h, agent, ticket["id"])
    patched = await _patch(h, agent, ticket, {"plan": "basic", key: value})
    assert patched.status_code == 422 and key in patched.text
    assert await _state(h, agent, ticket["id"]) == before


async def test_required_of_requesters_on_opening(harness: Harness, admin: User, agent: User, requester: User) -> None:
    h = harness
    await _define(h, admin, {**FIELDS[0], "required_for_requesters": True}, FIELDS[1])
    missing = await _open(h, requester)
    assert missing.status_code == 422 and "contract" in missing.json()["detail"]
    staff_only = await _open(h, requester, fields={"contract": "C-1", "seats": 3})
    assert staff_only.status_code == 422 and "seats" in staff_only.text
    assert (await _ok(await h.client.get("/api/tickets", headers=agent.headers)))["items"] == []
    mine = await _ok(await _open(h, requester, fields={"contract": "C-1"}), 201)
    assert mine["fields"] == {"contract": "C-1"}
    assert (await _open(h, agent)).status_code == 201  # agents open tickets for others without it


async def test_change_merges_and_the_event_carries_only_changed_keys(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    h = harness
    await _define(h, admin, *FIELDS)
    ticket = await _ok(await _open(h, agent, fields={"contract": "C-1", "seats": 5}), 201)
    changed = await _ok(await _patch(h, agent, ticket, {"seats": 6, "contract": None, "plan": "pro"}))
    assert changed["fields"] == {"seats": 6, "plan": "pro"} and changed["version"] == ticket["version"] + 1
    again = await _ok(await _patch(h, agent, ticket, {"seats": 6}))
    assert again == changed  # nothing new: no event, no version
    own = await _ok(await _open(h, requester, fields={"contract": "C-1"}), 201)
    assert (await _patch(h, requester, own, {"contract": "C-2"})).status_code == 403  # read-only once opened
    _, timeline = await _state(h, agent, ticket["id"])
    events = [e["data"] for e in timeline if e["type"] == "ticket.fields_changed"]
    assert [(e["before"], e["after"]) for e in events] == [
        ({"contract": None, "seats": None}, {"contract": "C-1", "seats": 5}),  # opened with them
        ({"seats": 5, "contract": "C-1", "plan": None}, {"seats": 6, "contract": None, "plan": "pro"}),
    ]


async def test_requesters_see_only_their_fields_in_reads_and_events(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    h = harness
    await _define(h, admin, *FIELDS)
    ticket = await _ok(await _open(h, requester, fields={"contract": "C-1"}), 201)
    await _ok(await _patch(h, agent, ticket, {"seats": 9}))
    await _ok(await _patch(h, agent, ticket, {"renewal": "2027-01-01", "vip": True}))
    mine = await _ok(await h.client.get(f"/api/tickets/{ticket['id']}", headers=requester.headers))
    assert mine["fields"] == {"contract": "C-1", "renewal": "2027-01-01"}
    listed = await _ok(await h.client.get("/api/tickets", headers=requester.headers))
    assert [t["fields"] for t in listed["items"]] == [mine["fields"]]
    timeline = await _ok(await h.client.get(f"/api/tickets/{ticket['id']}/events", headers=requester.headers))
    shown = [(e["type"], e["data"].get("before"), e["data"].get("after")) for e in timeline]
    assert shown == [
        ("ticket.created", None, None),
        ("ticket.fields_changed", {"contract": None}, {"contract": "C-1"}),  # opened with it
        ("ticket.fields_changed", {"renewal": None}, {"renewal": "2027-01-01"}),
    ]
    staff = await _ok(await h.client.get(f"/api/tickets/{ticket['id']}", headers=agent.headers))
    assert staff["fields"] == {"contract": "C-1", "seats": 9, "renewal": "2027-01-01", "vip": True}


async def test_queue_filters_by_field(harness: Harness, admin: User, agent: User, requester: User) -> None:
    h = harness
    await _define(h, admin, *FIELDS)
    values = [
        {"plan": "pro", "seats": 10, "modules": ["mail", "chat"], "vip": True},
        {"plan": "basic", "seats": 10, "modules": ["chat"]},
        {"plan": "pro", "seats": 2.5, "vip": False, "contract": "C-7"},
    ]
    made = [await _ok(await _open(h, agent, fields=v), 201) for v in values]
    ids = [t["id"] for t in made]
    await _ok(await _patch(h, agent, made[1], {"modules": ["voice"]}))

    async def found(*terms: str, user: User = agent) -> list[int]:
        page = await _ok(await h.client.get("/api/tickets", params={"field": list(terms)}, headers=user.headers))
        return [t["id"] for t in page["items"]]

    assert await found("plan:pro") == [ids[2], ids[0]]
    assert await found("seats:10") == [ids[1], ids[0]]
    assert await found("seats:2.5") == [ids[2]]
    assert await found("modules:chat") == [ids[0]]  # the second ticket's chat was taken off
    assert await found("modules:voice") == [ids[1]]
    assert await found("vip:false") == [ids[2]]
    assert await found("plan:pro", "seats:10") == [ids[0]]
    assert await found("contract:C-7") == [ids[2]]
    for bad in ("seats:many", "plan:gold", "nope:1", "vip:yes"):
        response = await h.client.get("/api/tickets", params={"field": bad}, headers=agent.headers)
        assert response.status_code == 422 and bad.split(":")[0] in response.text
    hidden = await h.client.get("/api/tickets", params={"field": "plan:pro"}, headers=requester.headers)
    assert hidden.status_code == 422  # a staff-only field is no field to a requester


async def test_agents_fill_required_fields_before_resolving(harness: Harness, admin: User, agent: User) -> None:
    h = harness
    await _define(h, admin, {**FIELDS[3], "required_for_agents": True})
    ticket = await _ok(await _open(h, agent), 201)
    base = f"/api/tickets/{ticket['id']}"
    await _ok(await h.client.post(f"{base}/transition", json={"status": "open"}, headers=agent.headers))
    refused = await h.client.post(f"{base}/transition", json={"status": "resolved"}, headers=agent.headers)
    assert refused.status_code == 422 and "plan" in refused.json()["detail"]
    assert (await _ok(await h.client.get(base, headers=agent.headers)))["status"] == "open"
    done = await _ok(
        await h.client.post(
            f"{base}/update", json={"fields": {"plan": "basic"}, "status": "resolved"}, headers=agent.headers
        )
    )
    assert done["ticket"]["status"] == "resolved" and done["ticket"]["fields"] == {"plan": "basic"}


async def test_time_travel_shows_fields_as_they_were(harness: Harness, admin: User, agent: User) -> None:
    h = harness
    await _define(h, admin, *FIELDS)
    ticket = await _ok(await _open(h, agent, fields={"seats": 1}), 201)
    await _ok(await _patch(h, agent, ticket, {"seats": 2, "plan": "pro"}))
    await _ok(await _patch(h, agent, ticket, {"plan": None}))
    _, timeline = await _state(h, agent, ticket["id"])
    seen = []
    for event in timeline:
        then = await _ok(
            await h.client.get(
                f"/api/tickets/{ticket['id']}", params={"as_of": event["event_id"]}, headers=agent.headers
            )
        )
        seen.append(then["fields"])
    # Opened with its fields: `ticket.created` as it always was, then their `ticket.fields_changed` (one version).
    assert seen == [{}, {"seats": 1}, {"seats": 2, "plan": "pro"}, {"seats": 2}]


async def test_the_queue_filter_reads_the_index(harness: Harness, admin: User, agent: User) -> None:
    """Both engines can answer `?field=` from `ticket_field_values`' (key, value) indexes, not the table."""
    h = harness
    await _define(h, admin, *FIELDS)
    for i in range(30):
        await _ok(await _open(h, agent, fields={"plan": ["basic", "pro"][i % 2], "seats": i + 1}), 201)
    definitions = await h.nixflow.db.read(lambda conn: custom_fields.definitions(conn, Entity.TICKET))

    def plan(conn: Any, key: str, value: Any) -> str:
        statement = custom_fields.tickets_with(definitions[key], value)
        sql = str(statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        conn.exec_driver_sql("ANALYZE ticket_field_values")  # the planner's statistics, as a live database has
        if conn.dialect.name == "sqlite":
            return " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a small table: say whether the index can serve
        return " ".join(str(r[0]) for r in conn.exec_driver_sql(f"EXPLAIN {sql}"))

    text_plan = await h.nixflow.db.read(lambda conn: plan(conn, "plan", "pro"))
    assert "ix_ticket_field_values_text" in text_plan
    assert "ix_ticket_field_values_num" in await h.nixflow.db.read(lambda conn: plan(conn, "seats", 7.0))
