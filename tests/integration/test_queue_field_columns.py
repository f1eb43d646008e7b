"""Custom fields as queue columns, in both modes: a saved view's `field:<key>` columns ride on its queue link
(`?columns=`), and the queue shows a column per field asked for with each ticket's value (a multi select joined);
a column of a field not defined is passed over, and the filter form keeps the columns."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import Harness, User

FIELDS = [
    {"key": "contract_number", "label": "Contract number", "type": "text"},
    {"key": "modules", "label": "Modules", "type": "multiselect", "options": ["mail", "chat", "voice"]},
    {"key": "vip", "label": "VIP", "type": "checkbox"},
]


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _cells(page: str, ticket_id: int) -> dict[str, str]:
    """The custom field cells of one ticket's row, by column."""
    row = re.search(rf'<tr data-ticket-id="{ticket_id}">(.*?)</tr>', page, re.S)
    assert row is not None, page
    return dict(re.findall(r'data-field="field:([a-z_]+)">([^<]*)</td>', row.group(1)))


async def test_the_queue_shows_the_field_columns_a_view_names(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    h = harness
    for field in FIELDS:
        await _ok(await h.client.post("/api/fields", json=field, headers=admin.headers), 201)
    filled = await _ok(await h.client.post("/api/tickets", json={"title": "Filled"}, headers=requester.headers), 201)
    empty = await _ok(await h.client.post("/api/tickets", json={"title": "Empty"}, headers=requester.headers), 201)
    values = {"contract_number": "C-42", "modules": ["voice", "mail"], "vip": True}
    body = {"fields": values, "version": filled["version"]}
    await _ok(await h.client.patch(f"/api/tickets/{filled['id']}", json=body, headers=agent.headers))
    view = {"name": "Contracts", "columns": ["title", "field:contract_number", "field:modules", "field:gone"]}
    await _ok(await h.client.post("/api/views", json=view, headers=agent.headers), 201)
    cookie = {"Cookie": f"nixflow_session={agent.token}"}
    queue = await h.client.get("/queue", headers=cookie)
    link = "/queue?status=all&columns=field%3Acontract_number%2Cfield%3Amodules%2Cfield%3Agone"
    assert f'<a href="{link.replace("&", "&amp;")}">Contracts</a>' in queue.text
    assert "data-column" not in queue.text  # no columns asked for: none shown
    page = (await h.client.get(link, headers=cookie)).text
    headers = re.findall(r'<th scope="col" data-column="field:([a-z_]+)">([^<]*)</th>', page)
    assert headers == [("contract_number", "Contract number"), ("modules", "Modules")]
    assert _cells(page, filled["id"]) == {"contract_number": "C-42", "modules": "mail, voice"}
    assert _cells(page, empty["id"]) == {"contract_number": "—", "modules": "—"}
    assert '<input type="hidden" name="columns" value="field:contract_number,field:modules,field:gone">' in page
    vip = (await h.client.get("/queue?columns=field:vip", headers=cookie)).text
    assert _cells(vip, filled["id"]) == {"vip": "yes"}
