"""Languages (issue 30): a person's chosen language and zone, the pages and mail in it, in both modes."""

from __future__ import annotations

from tests.conftest import Harness, User


async def test_a_person_chooses_their_language_and_zone_and_bad_values_change_nothing(
    harness: Harness, requester: User
) -> None:
    me = await harness.client.get("/api/auth/me", headers=requester.headers)
    assert me.json()["locale"] is None and me.json()["timezone"] is None  # not chosen: browser, then default
    chosen = await harness.client.patch(
        "/api/auth/me", json={"locale": "de", "timezone": "Europe/Berlin"}, headers=requester.headers
    )
    assert chosen.status_code == 200, chosen.text
    assert (chosen.json()["locale"], chosen.json()["timezone"]) == ("de", "Europe/Berlin")
    for bad in ({"locale": "xx"}, {"timezone": "Mars/Olympus"}, {"locale": "fr", "timezone": "Nowhere"}):
        refused = await harness.client.patch("/api/auth/me", json=bad, headers=requester.headers)
        assert refused.status_code == 422, refused.text
    zone_only = await harness.client.patch("/api/auth/me", json={"timezone": "Asia/Tokyo"}, headers=requester.headers)
    assert (zone_only.json()["locale"], zone_only.json()["timezone"]) == ("de", "Asia/Tokyo")  # left out: kept
    cleared = await harness.client.patch("/api/auth/me", json={"locale": None}, headers=requester.headers)
    assert (cleared.json()["locale"], cleared.json()["timezone"]) == (None, "Asia/Tokyo")
