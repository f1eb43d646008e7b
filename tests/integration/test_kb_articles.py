"""Knowledge-base articles: writing, versions, diff and restore, safe HTML, and who reads what (both modes)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness, User
from tests.kb_helpers import VPN, ask, public_harness, write

__all__ = ["public_harness"]  # a fixture, used by name


async def test_an_article_is_created_read_and_listed_with_its_fields(
    harness: Harness, agent: User, requester: User
) -> None:
    made = await write(harness, agent, **VPN)
    assert made["version"] == 1 and made["status"] == "published" and made["visibility"] == "requesters"
    assert made["tags"] == ["vpn", "network"] and made["category_id"] is None
    assert "<strong>TCP</strong>" in made["body_html"]
    assert set(made) == {"id", "title", "body", "body_html", "status", "visibility", "category_id", "tags",
                         "version", "language", "translation_of", "created_at", "updated_at"}  # fmt: skip
    assert made["language"] == "en" and made["translation_of"] is None  # an original, in the source language
    read = await ask(harness, f"/api/kb/articles/{made['id']}", requester)
    assert read == made
    listed = await ask(harness, "/api/kb/articles", requester, tag="vpn")
    assert [a["id"] for a in listed["items"]] == [made["id"]]
    assert (await ask(harness, "/api/kb/articles", requester, tag="printers"))["items"] == []


async def test_defaults_are_a_public_draft(harness: Harness, agent: User) -> None:
    made = await write(harness, agent, title="Draft", body="text", status="draft", visibility="public")
    plain = await harness.client.post("/api/kb/articles", json={"title": "T", "body": "b"}, headers=agent.headers)
    assert plain.status_code == 201 and plain.json()["status"] == "draft" and plain.json()["visibility"] == "public"
    assert made["status"] == "draft"


async def test_requesters_may_not_write(harness: Harness, requester: User, agent: User) -> None:
    made = await write(harness, agent, **VPN)
    refused = await harness.client.post("/api/kb/articles", json=VPN, headers=requester.headers)
    assert refused.status_code == 403
    patch = await harness.client.patch(f"/api/kb/articles/{made['id']}", json={"title": "x"}, headers=requester.headers)
    assert patch.status_code == 403
    assert (await ask(harness, f"/api/kb/articles/{made['id']}", agent))["title"] == VPN["title"]


async def test_every_save_is_a_version_with_history_diff_and_restore(
    harness: Harness, agent: User, admin: User
) -> None:
    made = await write(harness, agent, **VPN)
    path = f"/api/kb/articles/{made['id']}"
    second = await harness.client.patch(path, json={"body": "Reinstall the VPN client."}, headers=admin.headers)
    assert second.status_code == 200 and second.json()["version"] == 2
    assert second.json()["body_html"] == "<p>Reinstall the VPN client.</p>\n"
    same = await harness.client.patch(path, json={"body": "Reinstall the VPN client."}, headers=admin.headers)
    assert same.json()["version"] == 2  # nothing changed: no new version
    stale = await harness.client.patch(path, json={"version": 1, "title": "Old news"}, headers=agent.headers)
    assert stale.status_code == 409

    versions = await ask(harness, f"{path}/versions", agent)
    assert [(v["version"], v["author_id"]) for v in versions] == [(2, admin.id), (1, agent.id)]
    assert versions[1]["body"] == VPN["body"] and versions[0]["created_at"]
    diff = await ask(harness, f"{path}/diff", agent, **{"from": 1, "to": 2})
    assert "-If the VPN drops" in diff["diff"] and "+Reinstall the VPN client." in diff["diff"]

    restored = await harness.client.post(f"{path}/versions/1/restore", headers=agent.headers)
    assert restored.status_code == 200, restored.text
    assert restored.json()["version"] == 3 and restored.json()["body"] == VPN["body"]
    assert (await ask(harness, f"{path}/versions/3", agent))["restored_from"] == 1
    missing = await harness.client.get(f"{path}/versions/9", headers=agent.headers)
    assert missing.status_code == 404
    updated = [e["data"] for e in await harness.events(type="kb.article_updated")]
    assert [(d["version"], d["restored_from"]) for d in updated] == [(2, None), (3, 1)]
    assert updated[0]["changed"] == ["body"] and updated[0]["editor_id"] == admin.id


async def test_status_changes_publish_and_archive(harness: Harness, agent: User, requester: User) -> None:
    made = await write(harness, agent, title="Printer offline", body="Turn it off and on.", status="draft")
    path = f"/api/kb/articles/{made['id']}"
    assert (await harness.client.get(path, headers=requester.headers)).status_code == 404
    await harness.client.patch(path, json={"status": "published"}, headers=agent.headers)
    assert (await harness.client.get(path, headers=requester.headers)).status_code == 200
    await harness.client.patch(path, json={"status": "archived"}, headers=agent.headers)
    assert (await harness.client.get(path, headers=requester.headers)).status_code == 404
    created = await harness.events(type="kb.article_created")
    assert created[0]["data"]["status"] == "draft" and created[0]["aggregate_type"] == "article"
    assert [e["data"]["version"] for e in await harness.events(type="kb.article_published")] == [2]
    assert [e["data"]["version"] for e in await harness.events(type="kb.article_archived")] == [3]


async def test_deleting_removes_the_article_from_reading_and_search(harness: Harness, agent: User) -> None:
    made = await write(harness, agent, **VPN)
    gone = await harness.client.delete(f"/api/kb/articles/{made['id']}", headers=agent.headers)
    assert gone.status_code == 204
    assert (await harness.client.get(f"/api/kb/articles/{made['id']}", headers=agent.headers)).status_code == 404
    assert (await ask(harness, "/api/kb/search", agent, q="vpn"))["items"] == []
    [deleted] = await harness.events(type="kb.article_deleted")
    assert deleted["data"] == {"article_id": made["id"], "title": VPN["title"], "by_id": agent.id}


HOSTILE = (
    "<script>alert(1)</script>\n\n"
    '<img src=x onerror="alert(2)">\n\n'
    "[click](javascript:alert(3)) [data](data:text/html;base64,PHNjcmlwdD4=)\n\n"
    '<a href="javascript:alert(4)" onclick="alert(5)">raw</a>\n\n'
    "![pic](javascript:alert(6))"
)


async def test_body_html_holds_nothing_that_runs(harness: Harness, agent: User) -> None:
    made = await write(harness, agent, title="Hostile", body=HOSTILE)
    html = made["body_html"].lower()
    assert "<script" not in html and "onerror=" not in html and "onclick=" not in html
    assert "javascript:" not in html and "alert(1)" not in html and 'href="data' not in html
    assert '<img src="x"' in html and "[click]" in html  # the harmless rest is kept
    patched = await harness.client.patch(
        f"/api/kb/articles/{made['id']}", json={"body": "[x](JavaScript:alert(1))"}, headers=agent.headers
    )
    assert 'href="javascript' not in patched.json()["body_html"].lower()


async def _catalogue(harness: Harness, agent: User) -> dict[str, dict[str, Any]]:
    return {
        "published": await write(harness, agent, title="Printer paper jam", body="Open tray 2 and pull the paper."),
        "draft": await write(harness, agent, title="Printer draft secret", body="printer jam", status="draft"),
        "internal": await write(harness, agent, title="Printer internal notes", body="printer", visibility="internal"),
        "public": await write(harness, agent, title="Printer toner", body="Replace the toner.", visibility="public"),
        "archived": await write(harness, agent, title="Printer old driver", body="printer", status="archived"),
    }


async def test_drafts_and_internal_articles_never_reach_requesters(
    harness: Harness, agent: User, requester: User
) -> None:
    made = await _catalogue(harness, agent)
    hidden = {made[k]["id"] for k in ("draft", "internal", "archived")}
    for key, article in made.items():
        got = await harness.client.get(f"/api/kb/articles/{article['id']}", headers=requester.headers)
        assert got.status_code == (404 if article["id"] in hidden else 200), key
        page = await harness.client.get(
            f"/kb/{article['id']}", headers={"Cookie": f"nixflow_session={requester.token}"}
        )
        assert page.status_code == (404 if article["id"] in hidden else 200), key
        assert (article["title"] in page.text) is (article["id"] not in hidden)
    for path in ("/api/kb/search", "/api/kb/suggest"):
        ids = {i["id"] for i in (await ask(harness, path, requester, q="printer", limit=10))["items"]}
        assert ids == {made["published"]["id"], made["public"]["id"]}, path
    listed = await ask(harness, "/api/kb/articles", requester)
    assert {a["id"] for a in listed["items"]} == {made["published"]["id"], made["public"]["id"]}
    assert (await ask(harness, "/api/kb/articles", requester, status="draft"))["items"] == []
    listing = await harness.client.get("/kb?q=printer", headers={"Cookie": f"nixflow_session={requester.token}"})
    assert "secret" not in listing.text and "internal notes" not in listing.text and "Printer toner" in listing.text
    staff = {i["id"] for i in (await ask(harness, "/api/kb/search", agent, q="printer", limit=10))["items"]}
    assert staff == {a["id"] for a in made.values()}  # agents find every article, drafts included
    versions = await harness.client.get(f"/api/kb/articles/{made['draft']['id']}/versions", headers=requester.headers)
    assert versions.status_code == 403


async def test_without_signing_in_nothing_is_readable_unless_the_kb_is_public(harness: Harness, agent: User) -> None:
    made = await _catalogue(harness, agent)
    for path in ("/api/kb/search?q=printer", "/api/kb/suggest?q=printer", f"/api/kb/articles/{made['public']['id']}"):
        assert (await harness.client.get(path)).status_code == 401, path
    page = await harness.client.get(f"/kb/{made['public']['id']}")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


async def test_a_public_kb_shows_public_articles_only_to_anonymous_readers(
    public_harness: Harness,
) -> None:
    harness = public_harness
    agent = await harness.user("agent")
    made = await _catalogue(harness, agent)
    for key, article in made.items():
        got = await harness.client.get(f"/api/kb/articles/{article['id']}")
        assert got.status_code == (200 if key == "public" else 404), key
        page = await harness.client.get(f"/kb/{article['id']}")
        assert page.status_code == (200 if key == "public" else 404), key
    for path in ("/api/kb/search", "/api/kb/suggest"):
        assert [i["id"] for i in (await ask(harness, path, None, q="printer"))["items"]] == [made["public"]["id"]]
    viewed = await harness.events(type="kb.article_viewed")
    assert {e["data"]["viewer_id"] for e in viewed} == {None}
    assert (
        await harness.client.post(f"/api/kb/articles/{made['public']['id']}/feedback", json={"helpful": True})
    ).status_code == 401
    assert (await harness.client.get("/api/kb/stats")).status_code == 401
    bad = await harness.client.get("/api/kb/search?q=printer", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401  # a credential that is sent must be valid


async def test_an_unknown_category_is_404_and_a_known_one_is_kept(harness: Harness, admin: User) -> None:
    bad = await harness.client.post(
        "/api/kb/articles", json={"title": "T", "body": "b", "category_id": 999}, headers=admin.headers
    )
    assert bad.status_code == 404
    category = (await harness.client.post("/api/categories", json={"name": "Network"}, headers=admin.headers)).json()
    made = await write(harness, admin, title="T", body="b", category_id=category["id"])
    assert made["category_id"] == category["id"]
    cleared = await harness.client.patch(
        f"/api/kb/articles/{made['id']}", json={"category_id": None}, headers=admin.headers
    )
    assert cleared.json()["category_id"] is None and cleared.json()["version"] == 2


async def test_listing_pages_with_a_cursor(harness: Harness, agent: User) -> None:
    ids = [(await write(harness, agent, title=f"Article {n}", body="b"))["id"] for n in range(5)]
    first = await ask(harness, "/api/kb/articles", agent, limit=2)
    assert [a["id"] for a in first["items"]] == ids[::-1][:2] and first["next_cursor"]
    second = await ask(harness, "/api/kb/articles", agent, limit=2, cursor=first["next_cursor"])
    assert [a["id"] for a in second["items"]] == ids[::-1][2:4]


async def test_nul_characters_and_huge_version_numbers_get_clean_answers(harness: Harness, agent: User) -> None:
    made = await write(harness, agent, title="Null\x00title", body="body\x00text", tags=["t\x00g"])
    assert made["title"] == "Null\ufffdtitle" and made["tags"] == ["t\ufffdg"]  # PostgreSQL stores no NUL
    assert (await ask(harness, "/api/kb/articles", agent, tag="t\x00g"))["items"][0]["id"] == made["id"]
    path = f"/api/kb/articles/{made['id']}"
    for url in (f"{path}/versions/{2**31}", f"{path}/diff?from={2**31}&to=1", f"{path}/versions/{2**31}/restore"):
        method = "POST" if url.endswith("restore") else "GET"
        assert (await harness.client.request(method, url, headers=agent.headers)).status_code == 422, url
    assert (await harness.client.get(f"{path}/versions/{2**31 - 1}", headers=agent.headers)).status_code == 404
