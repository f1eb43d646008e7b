"""`nixflow webhooks ...` as an operator runs it, on a SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_helpers import run_cli

ALLOW = {"NIXFLOW_WEBHOOK_ALLOW_PRIVATE": "true"}
URL = "http://127.0.0.1:9/hooks"


def test_the_cli_subscribes_lists_pauses_rotates_replays_and_deletes(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "db", "upgrade").returncode == 0
    assert run_cli(tmp_path, "users", "create", "--email", "a@example.com", "--name", "A", "--role", "admin",
                   "--password", "long enough pw").returncode == 0  # fmt: skip
    refused = run_cli(tmp_path, "webhooks", "create", "--url", URL, "--event-type", "ticket.*")
    assert refused.returncode == 1 and "NIXFLOW_WEBHOOK_ALLOW_PRIVATE" in refused.stderr
    unknown = run_cli(tmp_path, "webhooks", "create", "--url", URL, "--event-type", "ticket.nope", env=ALLOW)
    assert unknown.returncode == 1 and "ticket.nope" in unknown.stderr

    made = run_cli(
        tmp_path, "webhooks", "create", "--url", URL, "--event-type", "ticket.*", "--event-type", "user.*", env=ALLOW
    )
    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)
    assert created["secret"].startswith("whsec_") and created["event_types"] == ["ticket.*", "user.*"]
    webhook_id = str(created["id"])

    listed = run_cli(tmp_path, "webhooks", "list", env=ALLOW)
    assert URL in listed.stdout and "ticket.*,user.*" in listed.stdout
    assert "is paused" in run_cli(tmp_path, "webhooks", "pause", webhook_id, env=ALLOW).stdout
    shown = json.loads(run_cli(tmp_path, "webhooks", "show", webhook_id, env=ALLOW).stdout)
    assert shown["mode"] == "paused" and "secret" not in shown

    rotated = json.loads(run_cli(tmp_path, "webhooks", "rotate-secret", webhook_id, env=ALLOW).stdout)
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]

    replayed = run_cli(tmp_path, "webhooks", "replay", webhook_id, "--since", "2020-01-01T00:00:00Z", env=ALLOW)
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.strip() == "1 deliveries scheduled"  # the user.created event, from before it existed
    deliveries = run_cli(tmp_path, "webhooks", "deliveries", webhook_id, env=ALLOW)
    assert "user.created" in deliveries.stdout and "pending" in deliveries.stdout
    assert run_cli(tmp_path, "webhooks", "replay", webhook_id, env=ALLOW).returncode == 1

    assert "deleted" in run_cli(tmp_path, "webhooks", "delete", webhook_id, env=ALLOW).stdout
    assert run_cli(tmp_path, "webhooks", "show", webhook_id, env=ALLOW).returncode == 1
