"""A password reset link ends when the password changes any other way or the account is deactivated (issue 22):
used afterwards it is refused like an expired one and changes nothing; its mail, if not yet sent, is cancelled."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import Connection, select
from tests.cli_helpers import run_cli
from tests.conftest import PASSWORD, Harness, User
from tests.integration.test_password_reset import ask, confirm, desk, desk_by_hand, login, mails, problem, token_in
from tests.smtp_server import SmtpServer

from nixflow.store.tables import notifications, password_resets

__all__ = ["desk", "desk_by_hand"]  # fixtures
CHANGED = "changed-another-way"
FROM_LINK = "set-through-the-old-link"


async def mailed_link(h: Harness, smtp: SmtpServer, user: User) -> str:
    assert (await ask(h, user.email)).status_code == 202
    [mail] = await mails(h, smtp, user.email, 1)
    return token_in(mail)


async def refused_and_nothing_changed(h: Harness, token: str, user: User, password: str) -> None:
    problem(await confirm(h, token, password=FROM_LINK), says="expired")
    assert (await login(h, user.email, FROM_LINK)).status_code == 401
    assert (await login(h, user.email, password)).status_code == 200


async def test_a_self_service_password_change_ends_the_link(desk: Harness, smtp: SmtpServer) -> None:
    user = await desk.user("agent")
    token = await mailed_link(desk, smtp, user)
    body = {"current_password": PASSWORD, "new_password": CHANGED}
    assert (await desk.client.post("/api/auth/password", json=body, headers=user.headers)).status_code == 204
    await refused_and_nothing_changed(desk, token, user, CHANGED)
    outcome = await desk.nixflow.db.read(lambda c: c.execute(select(password_resets.c.outcome)).scalar_one())
    assert outcome == "password_changed"


async def test_an_operator_setting_the_password_ends_the_link(desk: Harness, smtp: SmtpServer, tmp_path: Path) -> None:
    user = await desk.user("requester")
    token = await mailed_link(desk, smtp, user)
    env = {"NIXFLOW_DATABASE_URL": desk.nixflow.settings.database_url}
    args = ("users", "set-password", "--email", user.email, "--password", CHANGED)
    done = await asyncio.to_thread(run_cli, tmp_path, *args, env=env)
    assert done.returncode == 0, done.stderr
    await refused_and_nothing_changed(desk, token, user, CHANGED)


async def test_deactivation_ends_the_link_for_good(desk: Harness, smtp: SmtpServer) -> None:
    admin = await desk.user("admin")
    user = await desk.user("agent")
    token = await mailed_link(desk, smtp, user)
    for active in (False, True):  # reactivated: the link does not wake up with the account
        changed = await desk.client.patch(f"/api/users/{user.id}", json={"active": active}, headers=admin.headers)
        assert changed.status_code == 200, changed.text
    await refused_and_nothing_changed(desk, token, user, PASSWORD)


async def test_a_link_whose_mail_has_not_gone_yet_is_cancelled_with_it(desk_by_hand: Harness, smtp: SmtpServer) -> None:
    h = desk_by_hand
    user = await h.user("agent")
    assert (await ask(h, user.email)).status_code == 202
    body = {"current_password": PASSWORD, "new_password": CHANGED}
    assert (await h.client.post("/api/auth/password", json=body, headers=user.headers)).status_code == 204
    await h.nixflow.scheduler.run_due()  # the sender's turn: it finds nothing to send

    def mail_and_link(conn: Connection) -> tuple[str, str | None]:
        status = conn.execute(select(notifications.c.email_status)).scalar_one()
        sealed = conn.execute(select(password_resets.c.token_sealed)).scalar_one()
        return str(status), sealed

    assert await h.nixflow.db.read(mail_and_link) == ("cancelled", None)
    assert smtp.inbox.to(user.email) == []
