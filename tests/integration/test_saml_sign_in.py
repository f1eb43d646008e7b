"""SAML 2.0 sign-in against a real IdP process (pysaml2's Server), in both modes: the SP's metadata, the signed
AuthnRequest, the ACS that signs a person in with the role of their group, re-applied at each sign-in."""

from __future__ import annotations

from sqlalchemy import select
from tests.conftest import Harness, User
from tests.saml_helpers import (  # noqa: F401 (idp_process: a fixture)
    MAPPING,
    browser,
    idp_answer,
    idp_process,
    offline_saml_config,
    people,
    saml_provider,
)
from tests.saml_idp import RunningIdp

from nixflow.store.tables import saml_sp_keys


async def test_a_person_signs_in_through_saml_and_gets_the_role_of_their_group(
    harness: Harness, admin: User, idp: RunningIdp
) -> None:
    h = harness
    slug = await saml_provider(h, admin, idp)
    async with browser(h) as alice:
        acs, form = await idp_answer(alice, slug, user="alice", next="/tickets?status=open")
        landed = await alice.post(acs, data=form)
        assert landed.status_code == 303, landed.text
        assert landed.headers["location"] == "/tickets?status=open"
        me = (await alice.get("/api/auth/me")).json()
    assert (me["email"], me["name"], me["role"]) == ("alice@idp.example", "Alice Agent", "agent")
    linked = [e for e in await h.events(type="user.identity_linked")]
    assert [(e["data"]["user_id"], e["data"]["via"]) for e in linked] == [(me["id"], "created")]

    # Removed from the group (here: the group no longer maps to agent), she is a requester at her next sign-in,
    # the same account (her persistent NameID is linked), nobody new.
    provider = (await h.client.get("/api/identity-providers", headers=admin.headers)).json()[0]
    mapping = {"rules": [{"group": "helpdesk-admins", "role": "admin"}]}
    patched = await h.client.patch(
        f"/api/identity-providers/{provider['id']}", json={"role_mapping": mapping}, headers=admin.headers
    )
    assert patched.status_code == 200, patched.text
    before = await people(h)
    async with browser(h) as alice_again:
        acs, form = await idp_answer(alice_again, slug, user="alice")
        assert (await alice_again.post(acs, data=form)).status_code == 303
        again = (await alice_again.get("/api/auth/me")).json()
    assert (again["id"], again["role"]) == (me["id"], "requester")
    assert await people(h) == before


async def test_an_admin_group_makes_an_admin_and_next_stays_on_this_site(
    harness: Harness, admin: User, idp: RunningIdp
) -> None:
    h = harness
    slug = await saml_provider(h, admin, idp, idp_metadata={"url": f"{idp.url}/metadata"})  # read from the IdP
    async with browser(h) as adam:
        acs, form = await idp_answer(adam, slug, user="adam", next="//evil.example/phish")
        landed = await adam.post(acs, data=form)
        assert (landed.status_code, landed.headers["location"]) == (303, "/")
        assert (await adam.get("/api/auth/me")).json()["role"] == "admin"


async def test_the_metadata_is_stable_and_the_private_key_is_stored_encrypted(
    harness: Harness, admin: User, idp: RunningIdp
) -> None:
    h = harness
    slug = await saml_provider(h, admin, idp)
    first = await h.client.get(f"/api/auth/saml/{slug}/metadata")
    second = await h.client.get(f"/api/auth/saml/{slug}/metadata")
    assert first.headers["content-type"].startswith("application/samlmetadata+xml")
    assert first.text == second.text
    root = f"{h.nixflow.settings.base_url}/api/auth/saml/{slug}"
    assert f'entityID="{root}/metadata"' in first.text and f'Location="{root}/acs"' in first.text
    assert "X509Certificate" in first.text and "PRIVATE" not in first.text
    rows = await h.nixflow.db.read(lambda conn: conn.execute(select(saml_sp_keys)).all())
    assert len(rows) == 1 and "PRIVATE KEY" not in rows[0].private_key
    assert "".join(rows[0].certificate.splitlines()[1:-1]) in first.text.replace("\n", "")


async def test_an_unknown_or_disabled_provider_is_not_found(harness: Harness, admin: User, idp: RunningIdp) -> None:
    h = harness
    slug = await saml_provider(h, admin, idp)
    assert (await h.client.get("/api/auth/saml/nobody/start")).status_code == 404
    provider = (await h.client.get("/api/identity-providers", headers=admin.headers)).json()[0]
    await h.client.patch(f"/api/identity-providers/{provider['id']}", json={"enabled": False}, headers=admin.headers)
    for path in ("start", "metadata"):
        assert (await h.client.get(f"/api/auth/saml/{slug}/{path}")).status_code == 404


async def test_the_sign_in_page_has_a_button_per_enabled_provider(harness: Harness, admin: User) -> None:
    h = harness
    body = {"slug": "corp", "name": "Corp <account>", "config": offline_saml_config(), "role_mapping": MAPPING}
    made = (await h.client.post("/api/identity-providers", json=body, headers=admin.headers)).json()
    page = (await h.client.get("/login", params={"next": "/tickets?status=open&q=vpn"})).text
    assert 'href="/api/auth/saml/corp/start?next=/tickets%3Fstatus%3Dopen%26q%3Dvpn"' in page
    assert ">Sign in with Corp &lt;account&gt;</a>" in page
    await h.client.patch(f"/api/identity-providers/{made['id']}", json={"enabled": False}, headers=admin.headers)
    assert "/api/auth/saml/corp/start" not in (await h.client.get("/login")).text


async def test_a_saml_config_takes_one_metadata_source_and_plain_attribute_names(harness: Harness, admin: User) -> None:
    h = harness
    inline = offline_saml_config()["idp_metadata"]
    for config in (
        {"kind": "saml"},
        {"kind": "saml", "idp_metadata": {**inline, "url": "https://idp.example/metadata"}},
        {"kind": "saml", "idp_metadata": {"url": "ftp://idp.example/metadata"}},
        {"kind": "saml", "idp_metadata": {"xml": " "}},
        {"kind": "saml", "idp_metadata": inline, "email_attribute": "mail address"},
    ):
        body = {"slug": "corp", "name": "Corp", "config": config}
        refused = await h.client.post("/api/identity-providers", json=body, headers=admin.headers)
        assert refused.status_code == 422, (config, refused.text)
    assert (await h.client.get("/api/identity-providers", headers=admin.headers)).json() == []
