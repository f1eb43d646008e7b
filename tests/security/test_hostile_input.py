"""Hostile bodies and headers: oversized, chunked, mistyped, malformed, script-laden; the headers every page wears."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.conftest import Harness, User

LIMIT = 1_000_000  # Settings.max_body_bytes default


async def ticket_count(harness: Harness, user: User) -> int:
    return len((await harness.client.get("/api/tickets", headers=user.headers)).json()["items"])


async def test_an_oversized_body_with_content_length_gets_413(harness: Harness, requester: User) -> None:
    body = b'{"title": "big", "description": "' + b"a" * LIMIT + b'"}'
    response = await harness.client.post(
        "/api/tickets", content=body, headers={**requester.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert await ticket_count(harness, requester) == 0


async def test_an_oversized_chunked_body_without_content_length_gets_413(harness: Harness, requester: User) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"title": "big", "description": "'
        for _ in range(20):
            yield b"a" * 100_000
        yield b'"}'

    response = await harness.client.post(
        "/api/tickets", content=chunks(), headers={**requester.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 413, response.text
    assert await ticket_count(harness, requester) == 0


async def test_a_small_chunked_body_is_accepted(harness: Harness, requester: User) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"title": "chunked",'
        yield b' "description": "fine"}'

    response = await harness.client.post(
        "/api/tickets", content=chunks(), headers={**requester.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 201 and response.json()["description"] == "fine"


@pytest.mark.parametrize("declared", ["abc", "-1", "99999999999999999999"])
async def test_a_lying_content_length_gets_413(harness: Harness, requester: User, declared: str) -> None:
    response = await harness.client.post(
        "/api/tickets", content=b'{"title": "x"}', headers={**requester.headers, "Content-Length": declared}
    )
    assert response.status_code == 413, response.text
    assert await ticket_count(harness, requester) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"title": 123},
        {"title": ["a"]},
        {"title": None},
        {"title": "x", "priority": "urgent"},
        {"title": "x", "category_id": "1"},
        {"title": "x", "category_id": 1.5},
        {"title": "x", "category_id": True},
        {"title": "x", "category_id": 2**64},
        {"title": "x", "category_id": -1},
        {"title": "x", "requires_approval": "yes"},
        {"title": "x", "requires_approval": 1},
        {"title": "x", "requester_id": 1},  # unknown fields are refused, not ignored
        {"title": "x", "status": "closed"},
        {"title": "t" * 201},
        {"title": "x", "description": "d" * 20_001},
        {"title": ""},
        {},
        [],
        "title",
    ],
)
async def test_mistyped_or_oversized_fields_get_422_and_change_nothing(
    harness: Harness, requester: User, body: object
) -> None:
    response = await harness.client.post("/api/tickets", json=body, headers=requester.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 422 and response.json()["errors"]
    assert await ticket_count(harness, requester) == 0


@pytest.mark.parametrize(
    "raw",
    [b"{", b'{"title": "x",}', b"\xff\xfe\x00", b'{"title": "\\ud800"}', b"NaN", b'{"title": "x"} trailing', b""],
)
async def test_malformed_json_gets_4xx_not_500(harness: Harness, requester: User, raw: bytes) -> None:
    response = await harness.client.post(
        "/api/tickets", content=raw, headers={**requester.headers, "Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422), (raw, response.status_code, response.text)
    assert await ticket_count(harness, requester) == 0


@pytest.mark.parametrize("path", ["/api/tickets/99999999999999999999999", "/api/tickets/-1", "/api/tickets/1e3"])
async def test_absurd_ids_are_4xx(harness: Harness, admin: User, path: str) -> None:
    response = await harness.client.get(path, headers=admin.headers)
    assert response.status_code in (404, 422), response.text


async def test_a_script_title_is_stored_verbatim_and_returned_as_json_text(
    harness: Harness, requester: User, agent: User
) -> None:
    title = "<script>alert(1)</script>"
    description = "<img src=x onerror=alert(2)> '; DROP TABLE tickets; --"
    created = await harness.client.post(
        "/api/tickets", json={"title": title, "description": description}, headers=requester.headers
    )
    assert created.status_code == 201
    read = await harness.client.get(f"/api/tickets/{created.json()['id']}", headers=agent.headers)
    assert read.headers["content-type"] == "application/json"
    assert read.json()["title"] == title and read.json()["description"] == description
    found = await harness.client.get("/api/tickets", params={"q": "'; DROP TABLE"}, headers=agent.headers)
    assert [t["id"] for t in found.json()["items"]] == [created.json()["id"]]


@pytest.mark.parametrize("q", ["%", "_", "' OR 1=1 --", "\\", "%%%%%%%%%%%%%%%%%%%%"])
async def test_search_treats_wildcards_and_quotes_as_text(harness: Harness, requester: User, q: str) -> None:
    await harness.client.post("/api/tickets", json={"title": "printer"}, headers=requester.headers)
    found = await harness.client.get("/api/tickets", params={"q": q}, headers=requester.headers)
    assert found.status_code == 200 and found.json()["items"] == []


CSP_PARTS = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self' ws: wss:",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
]


@pytest.mark.parametrize(
    "method, path, authed",
    [
        ("GET", "/api/health", False),
        ("GET", "/api/tickets", True),
        ("GET", "/api/tickets", False),  # a 401
        ("GET", "/api/nope", False),  # a 404
        ("POST", "/api/auth/login", False),  # a 422/415
        ("GET", "/openapi.json", False),
    ],
)
async def test_every_response_wears_the_security_headers(
    harness: Harness, requester: User, method: str, path: str, authed: bool
) -> None:
    response = await harness.client.request(method, path, headers=requester.headers if authed else {})
    csp = response.headers["content-security-policy"]
    assert [p.strip() for p in csp.split(";")] == CSP_PARTS
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in response.headers  # plain HTTP here


async def test_api_answers_are_not_cached(harness: Harness, requester: User) -> None:
    response = await harness.client.get("/api/auth/me", headers=requester.headers)
    assert response.headers["cache-control"] == "no-store"


async def test_the_docs_page_allows_only_its_own_inline_script(harness: Harness) -> None:
    response = await harness.client.get("/api/docs")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    script_src = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
    assert "'sha256-" in script_src and "unsafe-inline" not in script_src
    assert "frame-ancestors 'none'" in csp


@pytest.mark.parametrize("path", ["/api/events", "/api/events/stats"])
@pytest.mark.parametrize("since", ["-2305274", "1700000000", "yesterday", "2026-13-01T00:00:00Z"])
async def test_event_times_must_be_rfc3339(harness: Harness, admin: User, path: str, since: str) -> None:
    # Found by schemathesis: a bare number was read as a Unix timestamp and answered 200.
    response = await harness.client.get(path, params={"since": since}, headers=admin.headers)
    assert response.status_code == 422, response.text
    ok = await harness.client.get(path, params={"since": "2026-01-01T00:00:00Z"}, headers=admin.headers)
    assert ok.status_code == 200
