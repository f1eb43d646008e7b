"""Custom fields on users, in both modes: admins set them through `PATCH /api/users/{id}` (merged, a null clears
one), each value checked by its definition (a 422 naming the field, nothing stored), a change is
`user.fields_changed` with only the changed keys, and a ticket field's key is no user field."""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness, User

USER_FIELDS = [
    {"key": "employee_no", "label": "Employee number", "type": "number", "entity": "user", "minimum": 1},
    {"key": "office", "label": "Office", "type": "select", "entity": "user", "options": ["Berlin", "Lyon"]},
]


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def test_admins_set_user_fields_checked_by_their_definitions(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    h = harness
    for field in USER_FIELDS:
        await _ok(await h.client.post("/api/fields", json=field, headers=admin.headers), 201)
    ticket_only = {"key": "plan", "label": "Plan", "type": "text"}
    await _ok(await h.client.post("/api/fields", json=ticket_only, headers=admin.headers), 201)
    url = f"/api/users/{requester.id}"
    set_ = await _ok(
        await h.client.patch(url, json={"fields": {"employee_no": 7, "office": "Lyon"}}, headers=admin.headers)
    )
    assert set_["fields"] == {"employee_no": 7, "office": "Lyon"}
    for bad in ({"office": "Paris"}, {"employee_no": 0}, {"plan": "pro"}, {"name": "x", "employee_no": "7"}):
        body = {k: v for k, v in bad.items() if k == "name"} | {"fields": {k: v for k, v in bad.items() if k != "name"}}
        refused = await h.client.patch(url, json=body, headers=admin.headers)
        field = next(k for k in bad if k != "name")
        assert refused.status_code == 422 and field in refused.text, refused.text
    unchanged = await _ok(await h.client.get(url, headers=admin.headers))
    assert unchanged["fields"] == set_["fields"] and unchanged["name"] == set_["name"]
    cleared = await _ok(await h.client.patch(url, json={"fields": {"office": None}}, headers=admin.headers))
    assert cleared["fields"] == {"employee_no": 7}
    await _ok(await h.client.patch(url, json={"fields": {"employee_no": 7}}, headers=admin.headers))  # the same
    changes = [(e["data"]["before"], e["data"]["after"]) for e in await h.events(type="user.fields_changed")]
    assert changes == [
        ({"employee_no": None, "office": None}, {"employee_no": 7, "office": "Lyon"}),
        ({"office": "Lyon"}, {"office": None}),
    ]
    assert (await h.client.patch(url, json={"fields": {"office": "Lyon"}}, headers=agent.headers)).status_code == 403
    # The agent sees them beside the requester's ticket.
    ticket = await _ok(await h.client.post("/api/tickets", json={"title": "Hi"}, headers=requester.headers), 201)
    context = await _ok(await h.client.get(f"/api/tickets/{ticket['id']}/requester-context", headers=agent.headers))
    assert context["requester"]["fields"] == {"employee_no": 7}
