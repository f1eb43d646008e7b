"""Anonymous reading of a public knowledge base (issue 22): a reload or a keystroke is not an event, one
`kb.article_suggested` per reader, article version and window, and a clear 429 past the rate (both modes)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from tests.conftest import Harness, start
from tests.kb_helpers import VPN, ask, write

from nixflow.config import Settings
from nixflow.store.tables import events


@pytest.fixture
async def public_harness(settings: Settings) -> AsyncIterator[Harness]:
    """A public knowledge base behind a proxy that names the client (X-Forwarded-For)."""
    async for h in start(settings.model_copy(update={"kb_public": True, "trust_proxy_headers": True})):
        yield h


async def _logged(h: Harness) -> int:
    return int(await h.nixflow.db.read(lambda conn: conn.execute(select(func.count()).select_from(events)).scalar()))


async def test_keystrokes_and_reloads_are_recorded_once_per_reader(public_harness: Harness) -> None:
    h = public_harness
    agent = await h.user("agent")
    vpn = await write(h, agent, **{**VPN, "visibility": "public"})
    for typed in ("vpn", "vpn k", "vpn ke", "vpn kee", "vpn keeps"):
        assert [i["id"] for i in (await ask(h, "/api/kb/suggest", None, q=typed))["items"]] == [vpn["id"]]
    for _ in range(3):
        await ask(h, f"/api/kb/articles/{vpn['id']}", None)
    assert (await h.client.get(f"/kb/{vpn['id']}")).status_code == 200  # the page counts as the same reader
    await h.settle()
    [suggested] = await h.events(type="kb.article_suggested")
    assert suggested["data"]["query"] == "vpn" and suggested["data"]["user_id"] is None
    assert len(await h.events(type="kb.article_viewed")) == 1

    before = await _logged(h)
    await ask(h, "/api/kb/suggest", None, q="vpn keeps disconnecting")
    await ask(h, f"/api/kb/articles/{vpn['id']}", None)
    await h.settle()
    assert await _logged(h) == before  # nothing written at all for a reading already counted

    # Another client is another reader; a signed-in requester is one too.
    other = {"X-Forwarded-For": "198.51.100.9"}
    assert (await h.client.get("/api/kb/suggest", params={"q": "vpn"}, headers=other)).status_code == 200
    await ask(h, "/api/kb/suggest", await h.user("requester"), q="vpn")
    await h.settle()
    assert len(await h.events(type="kb.article_suggested")) == 3


async def test_a_client_reading_too_fast_gets_a_clear_429(public_harness: Harness) -> None:
    h = public_harness
    agent = await h.user("agent")
    vpn = await write(h, agent, **{**VPN, "visibility": "public"})
    answers = [(await h.client.get(f"/api/kb/articles/{vpn['id']}")).status_code for _ in range(120)]
    assert answers == [200] * 120
    refused = await h.client.get("/api/kb/suggest", params={"q": "vpn"})
    assert refused.status_code == 429 and refused.headers["content-type"].startswith("application/problem+json")
    assert int(refused.headers["retry-after"]) >= 1 and "at most 120 a minute" in refused.json()["detail"]
    assert (await h.client.get(f"/api/kb/articles/{vpn['id']}", headers=agent.headers)).status_code == 200
