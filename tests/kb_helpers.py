"""Knowledge-base test helpers: write articles, ask the API, a NixFlow whose knowledge base is public."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from nixflow.config import Settings
from tests.conftest import Harness, User, start

VPN = {
    "title": "VPN keeps disconnecting",
    "body": "If the VPN drops every few minutes, update the client and switch to the **TCP** profile.",
    "status": "published",
    "visibility": "requesters",
    "tags": ["vpn", "network"],
}


async def write(harness: Harness, staff: User, **fields: Any) -> dict[str, Any]:
    """A new article (published, for requesters, unless `fields` say otherwise)."""
    body = {"status": "published", "visibility": "requesters", **fields}
    made = await harness.client.post("/api/kb/articles", json=body, headers=staff.headers)
    assert made.status_code == 201, made.text
    article: dict[str, Any] = made.json()
    return article


async def ask(harness: Harness, path: str, who: User | None, **params: Any) -> Any:
    """GET `path` as `who` (None: no credential); the JSON answer of a 200."""
    got = await harness.client.get(path, params=params, headers=who.headers if who else {})
    assert got.status_code == 200, got.text
    return got.json()


async def titles(harness: Harness, path: str, who: User | None, **params: Any) -> list[str]:
    """The titles of the items a search or suggestion answers, in order."""
    return [item["title"] for item in (await ask(harness, path, who, **params))["items"]]


@pytest.fixture
async def public_harness(settings: Settings) -> AsyncIterator[Harness]:
    """NixFlow with NIXFLOW_KB_PUBLIC=true: public articles are readable without signing in."""
    async for h in start(settings.model_copy(update={"kb_public": True})):
        yield h
