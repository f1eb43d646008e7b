"""The `/search` page over HTTP: results page by page, each ticket once, the query kept in the links."""

from __future__ import annotations

import re

from tests.conftest import Harness, User
from tests.integration.test_pages import open_tickets, page_headers

from nixflow.web.search import PAGE_SIZE


def _hits(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li data-ticket-id="(\d+)"', html)]


async def test_the_search_page_pages_through_every_match_once(harness: Harness, agent: User, requester: User) -> None:
    made = await open_tickets(harness, requester, [f"Toner cartridge {n}" for n in range(PAGE_SIZE + 3)])
    await open_tickets(harness, requester, ["Paper jam"])
    first = await harness.client.get("/search?q=toner+status%3Anew", headers=page_headers(agent))
    assert first.status_code == 200, first.text
    link = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', first.text)
    assert link is not None and "First page" not in first.text
    assert link.group(1).replace("&amp;", "&") == f"/search?q=toner+status%3Anew&cursor={PAGE_SIZE}"
    second = await harness.client.get(link.group(1).replace("&amp;", "&"), headers=page_headers(agent))
    assert second.status_code == 200, second.text
    assert 'rel="next"' not in second.text
    assert f'<ol class="kb-list search-hits" start="{PAGE_SIZE + 1}">' in second.text
    assert 'href="/search?q=toner+status%3Anew">First page</a>' in second.text
    seen = _hits(first.text) + _hits(second.text)
    assert len(_hits(first.text)) == PAGE_SIZE and sorted(seen) == sorted(made)


async def test_a_refused_search_says_why_in_the_readers_language(harness: Harness, agent: User) -> None:
    cookie = {"Cookie": f"nixflow_session={agent.token}"}
    english = await harness.client.get("/search", params={"q": "printer status:bogus"}, headers=cookie)
    assert "status:bogus is not a status (open, new, open, pending, resolved, closed)" in english.text
    await harness.client.patch("/api/auth/me", json={"locale": "de"}, headers=agent.headers)
    german = await harness.client.get("/search", params={"q": "printer status:bogus"}, headers=cookie)
    assert german.status_code == 200
    assert "status:bogus ist kein Status (open, new, open, pending, resolved, closed)" in german.text
    unknown = await harness.client.get("/search", params={"q": "colour:red"}, headers=cookie)
    assert "Unbekannter Suchfilter „colour“ (bekannt: " in unknown.text
    empty = await harness.client.get("/search", params={"q": 'priority:""'}, headers=cookie)
    assert "Der Suchfilter „priority“ braucht einen Wert." in empty.text
    # The API's detail is machine-facing and stays as it was.
    api = await harness.client.get("/api/search", params={"q": "status:bogus"}, headers=agent.headers)
    assert api.status_code == 422 and api.json()["detail"].startswith("status:bogus is not a status")
