"""The second step's pages without a browser: every way of signing in reaches /login/mfa through /login, and a
stale pending sign-in sends the browser back to the form once, not round in circles."""

from __future__ import annotations

from tests.conftest import PASSWORD, Harness, ManualClock
from tests.mfa_helpers import enrol


async def test_a_waiting_sign_in_goes_on_to_its_second_step_and_an_expired_one_starts_again(
    timed_harness: Harness, clock: ManualClock
) -> None:
    h = timed_harness
    agent = await h.user("agent")
    await enrol(h, agent, clock.now)
    plain = await h.client.get("/login", params={"next": "/queue"})
    assert plain.status_code == 200  # nothing waits: the form
    await h.client.post("/api/auth/login", json={"email": agent.email, "password": PASSWORD})
    onward = await h.client.get("/login", params={"next": "/queue"})
    assert onward.status_code == 303 and onward.headers["location"] == "/login/mfa?next=/queue"
    step = await h.client.get("/login/mfa", params={"next": "/queue"})
    assert step.status_code == 200 and "Enter your code" in step.text
    assert (await h.client.get("/login", params={"restart": "1"})).status_code == 200  # someone else signs in

    clock.advance(minutes=11)
    stale = await h.client.get("/login/mfa", params={"next": "/queue"})
    assert stale.status_code == 303 and stale.headers["location"] == "/login?restart=1&next=/queue"
    assert 'nixflow_mfa=""' in stale.headers["set-cookie"]  # the stale cookie is forgotten
    h.client.cookies.clear()
    assert (await h.client.get("/login", params={"next": "/queue"})).status_code == 200


async def test_the_admin_page_lists_who_has_a_factor(timed_harness: Harness, clock: ManualClock) -> None:
    h = timed_harness
    admin, agent = await h.user("admin"), await h.user("agent", name="Otto Agent")
    await enrol(h, agent, clock.now)
    login = await h.client.post("/api/auth/login", json={"email": admin.email, "password": PASSWORD})
    assert login.json()["token"]
    page = await h.client.get("/admin/mfa")
    assert page.status_code == 200
    assert f'data-api="/api/users/{agent.id}/mfa"' in page.text and "Reset Otto Agent" in page.text
