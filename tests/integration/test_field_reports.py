"""Reports' drill-down carries the tickets' custom fields, in both modes: in JSON as `fields`, in CSV a
`field:<key>` column per active ticket field (a multi select's options joined by `; `)."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.conftest import Harness, User


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response


async def test_the_drilldown_shows_field_values(harness: Harness, admin: User, agent: User) -> None:
    h = harness
    for field in (
        {"key": "plan", "label": "Plan", "type": "select", "options": ["basic", "pro"]},
        {"key": "modules", "label": "Modules", "type": "multiselect", "options": ["mail", "chat"]},
        {"key": "vip", "label": "VIP", "type": "checkbox"},
    ):
        await _ok(await h.client.post("/api/fields", json=field, headers=admin.headers), 201)
    values = [{"plan": "pro", "modules": ["mail", "chat"], "vip": True}, {"vip": False}]
    for fields in values:
        await _ok(
            await h.client.post("/api/tickets", json={"title": "t", "fields": fields}, headers=agent.headers), 201
        )
    await h.settle()
    url = "/api/reports/drilldown?metric=tickets_created"
    found = (await _ok(await h.client.get(url, headers=agent.headers))).json()
    assert [i["fields"] for i in found["items"]] == values
    as_csv = await _ok(await h.client.get(f"{url}&format=csv", headers=agent.headers))
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert "fields" not in rows[0]
    assert [(r["field:plan"], r["field:modules"], r["field:vip"]) for r in rows] == [
        ("pro", "mail; chat", "true"),
        ("", "", "false"),
    ]
