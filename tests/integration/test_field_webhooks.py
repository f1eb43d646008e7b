"""`ticket.fields_changed` reaches webhooks like every ticket event, in both modes: the signed envelope carries
the changed keys before and after, exactly as the event API shows it."""

from __future__ import annotations

from tests.conftest import Harness
from tests.integration.test_webhooks import arrived, h, hook_settings, receiver, subscribe  # noqa: F401 (fixtures)
from tests.webhook_receiver import Receiver


async def test_a_field_change_arrives_at_a_webhook(h: Harness, receiver: Receiver) -> None:  # noqa: F811
    admin, agent = await h.user("admin"), await h.user("agent")
    plan = {"key": "plan", "label": "Plan", "type": "select", "options": ["basic", "pro"]}
    assert (await h.client.post("/api/fields", json=plan, headers=admin.headers)).status_code == 201
    await subscribe(h, admin, receiver, "ticket.fields_changed")
    made = await h.client.post("/api/tickets", json={"title": "t", "fields": {"plan": "basic"}}, headers=agent.headers)
    assert made.status_code == 201, made.text
    body = {"version": made.json()["version"], "fields": {"plan": "pro"}}
    changed = await h.client.patch(f"/api/tickets/{made.json()['id']}", json=body, headers=agent.headers)
    assert changed.status_code == 200, changed.text
    await h.settle()
    got = await arrived(receiver, 2)
    assert [(r.body["data"]["before"], r.body["data"]["after"]) for r in got] == [
        ({"plan": None}, {"plan": "basic"}),
        ({"plan": "basic"}, {"plan": "pro"}),
    ]
    shown = await h.client.get(f"/api/events/{got[1].webhook_id}", headers=admin.headers)
    assert got[1].body == shown.json()
