"""A password reset token never reaches a log: a real `nixflow serve` (access log on, debug logging of the mail
path included) mails a link through a real SMTP server, the link is used, and the whole log is searched."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import httpx
from tests.conftest import PASSWORD
from tests.security.serving import cli, embedded_env, serve
from tests.smtp_server import SmtpServer


def test_no_log_line_and_no_stored_value_holds_the_reset_token(tmp_path: Path, smtp: SmtpServer) -> None:
    env = embedded_env(tmp_path)
    env |= {"NIXFLOW_SMTP_URL": smtp.url, "NIXFLOW_MAIL_FROM": "NixFlow <help@example.com>"}
    env |= {"NIXFLOW_BASE_URL": "https://help.example.com", "NIXFLOW_TICK_SECONDS": "0.2"}
    cli(tmp_path, env, "db", "upgrade")
    email = "forgetful@example.com"
    cli(tmp_path, env, "users", "create", "--email", email, "--name", "F", "--role", "agent", "--password", PASSWORD)
    with serve(tmp_path, env, "--access-log") as (base, log):
        asked = httpx.post(f"{base}/api/auth/password-reset", json={"email": email}, timeout=10)
        assert asked.status_code == 202
        [mail] = smtp.inbox.wait_for(1, address=email, timeout=30)
        body = mail.get_body(preferencelist=("plain",))
        assert body is not None
        [token] = re.findall(r"/password-reset/confirm#token=([A-Za-z0-9_-]+)", body.get_content())
        page = httpx.get(f"{base}/password-reset/confirm", timeout=10)
        assert page.status_code == 200 and page.headers["referrer-policy"] == "no-referrer"
        done = httpx.post(
            f"{base}/api/auth/password-reset/confirm", json={"token": token, "password": "new-passphrase"}, timeout=10
        )
        assert done.status_code == 204
        login = httpx.post(f"{base}/api/auth/login", json={"email": email, "password": "new-passphrase"}, timeout=10)
        assert login.status_code == 200
    text = log.read_text()
    assert "POST /api/auth/password-reset/confirm" in text  # the lines are there, the token is not
    assert token not in text
    with sqlite3.connect(tmp_path / "nixflow.db") as db:
        dump = "\n".join(db.iterdump())
    assert "password_resets" in dump and token not in dump
