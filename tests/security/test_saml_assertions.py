"""What an attacker brings to the SAML ACS, in both modes: an unsigned assertion, one signed by another key, one
issued to another service provider or addressed to another ACS, an expired one, a replayed or unsolicited
response. Each is refused (401), signs nobody in and creates nothing."""

from __future__ import annotations

import pytest
from tests.conftest import Harness, User
from tests.saml_helpers import browser, idp_answer, idp_process, people, saml_provider  # noqa: F401 (a fixture)
from tests.saml_idp import RunningIdp

from nixflow.api.deps import SESSION_COOKIE

REFUSALS = {
    "unsigned": "not signed",
    "other-key": "not signed by the identity provider",
    "wrong-audience": "meant for another service provider",
    "wrong-destination": "sent to another address",
    "expired": "expired",
}


@pytest.mark.parametrize("defect", sorted(REFUSALS))
async def test_a_forged_or_stale_assertion_is_refused_and_creates_nothing(
    harness: Harness, admin: User, idp: RunningIdp, defect: str
) -> None:
    h = harness
    slug = await saml_provider(h, admin, idp)
    before = await people(h)
    async with browser(h) as attacker:
        acs, form = await idp_answer(attacker, slug, user="adam", defect=defect)
        refused = await attacker.post(acs, data=form)
        assert refused.status_code == 401, refused.text
        assert REFUSALS[defect] in refused.json()["detail"]
        assert SESSION_COOKIE not in attacker.cookies
        assert (await attacker.get("/api/auth/me")).status_code == 401
    assert await people(h) == before
    assert await h.events(type="user.identity_linked") == []


async def test_a_response_is_accepted_once_and_only_for_a_request_we_sent(
    harness: Harness, admin: User, idp: RunningIdp
) -> None:
    h = harness
    slug = await saml_provider(h, admin, idp)
    async with browser(h) as first:
        acs, form = await idp_answer(first, slug, user="alice")
        assert (await first.post(acs, data=form)).status_code == 303
    after_first = await people(h)
    async with browser(h) as replayer:
        replayed = await replayer.post(acs, data=form)
        assert replayed.status_code == 401 and "InResponseTo" in replayed.json()["detail"]
        assert SESSION_COOKIE not in replayer.cookies
    assert await people(h) == after_first

    # The same IdP's valid answer to a request of another NixFlow provider (slug) is not for this one.
    other = await saml_provider(h, admin, idp)
    async with browser(h) as crossed:
        _, other_form = await idp_answer(crossed, other, user="rita")
        refused = await crossed.post(acs, data=other_form)
        assert refused.status_code == 401, refused.text
    assert await people(h) == after_first


async def test_garbage_at_the_acs_is_a_clear_refusal(harness: Harness, admin: User, idp: RunningIdp) -> None:
    h = harness
    slug = await saml_provider(h, admin, idp)
    before = await people(h)
    for body in ({"SAMLResponse": "not base64 !"}, {"SAMLResponse": "PHNhbWw+"}, {}):
        answer = await h.client.post(f"/api/auth/saml/{slug}/acs", data=body)
        assert answer.status_code in (401, 422), answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert await people(h) == before
