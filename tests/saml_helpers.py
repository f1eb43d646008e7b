"""Driving a SAML sign-in as a browser would: NixFlow's start redirect, the test IdP's form, the post to the ACS."""

from __future__ import annotations

import functools
import html
import re
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from saml2.metadata import create_metadata_string
from sqlalchemy import func, select

from nixflow.ids import uuid7
from nixflow.store.tables import user_identities, users
from tests.conftest import Harness, User
from tests.saml_idp import Idp, RunningIdp, running_idp

MAPPING = {"rules": [{"group": "helpdesk-agents", "role": "agent"}, {"group": "helpdesk-admins", "role": "admin"}]}
_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')
_ACTION = re.compile(r'<form method="post" action="([^"]*)">')


@pytest.fixture(scope="session", name="idp")
def idp_process() -> Iterator[RunningIdp]:
    """The test IdP, one process for the session (it trusts each SP a test uploads)."""
    with running_idp() as running:
        yield running


async def saml_provider(h: Harness, admin: User, idp: RunningIdp, **config: Any) -> str:
    """A new enabled SAML provider for the test IdP (its metadata inline unless `config` says otherwise), whose
    metadata the IdP trusts; its slug."""
    slug = f"corp-{uuid7()[-8:]}"
    body = {
        "slug": slug,
        "name": "Corp SAML",
        "config": {"kind": "saml", **(config or {"idp_metadata": {"xml": idp.metadata()}})},
        "role_mapping": MAPPING,
    }
    made = await h.client.post("/api/identity-providers", json=body, headers=admin.headers)
    assert made.status_code == 201, made.text
    metadata = await h.client.get(f"/api/auth/saml/{slug}/metadata")
    assert metadata.status_code == 200, metadata.text
    idp.trust(metadata.text)
    return slug


@functools.cache
def offline_saml_config() -> dict[str, Any]:
    """A SAML provider's config for an IdP that is not running (its metadata made here): for calls that never
    reach the IdP."""
    idp = Idp(url="https://idp.example", folder=Path(tempfile.mkdtemp(prefix="nixflow-offline-idp-")))
    metadata = create_metadata_string(None, idp.config(), valid=None).decode()
    return {"kind": "saml", "idp_metadata": {"xml": metadata}}


@asynccontextmanager
async def browser(h: Harness) -> AsyncIterator[httpx.AsyncClient]:
    """A client with a cookie jar of its own, on the harness's app."""
    transport = httpx.ASGITransport(app=h.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def idp_answer(
    client: httpx.AsyncClient, slug: str, *, user: str = "alice", defect: str = "", next: str = "/tickets"
) -> tuple[str, dict[str, str]]:
    """Start a sign-in at NixFlow and sign in at the IdP: the ACS path and the form the IdP's page posts to it."""
    started = await client.get(f"/api/auth/saml/{slug}/start", params={"next": next})
    assert started.status_code == 303, started.text
    async with httpx.AsyncClient(timeout=30) as at_idp:
        login = await at_idp.get(started.headers["location"])
        assert login.status_code == 200, login.text
        answer = await at_idp.post(
            started.headers["location"].split("?")[0], data={**_fields(login.text), "user": user, "defect": defect}
        )
        assert answer.status_code == 200, answer.text
    match = _ACTION.search(answer.text)
    assert match is not None, answer.text
    return urlsplit(html.unescape(match.group(1))).path, _fields(answer.text)


def _fields(page: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(page)}


async def people(h: Harness) -> tuple[int, int]:
    """How many users and identity links there are."""

    def count(conn: Any) -> tuple[int, int]:
        return (
            int(conn.execute(select(func.count()).select_from(users)).scalar_one()),
            int(conn.execute(select(func.count()).select_from(user_identities)).scalar_one()),
        )

    result: tuple[int, int] = await h.nixflow.db.read(count)
    return result
