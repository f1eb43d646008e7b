"""`GET /api/users/{id}/export` and `nixflow users export ID`: everything NixFlow holds about a person, no secrets."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_helpers import run_cli
from tests.conftest import PASSWORD, Harness


async def test_a_person_exports_what_nixflow_holds_about_them(harness: Harness, tmp_path: Path) -> None:
    admin, agent = await harness.user("admin"), await harness.user("agent")
    person = await harness.user("requester", name="Ada Lovelace")
    other = await harness.user("requester")
    signed_in = await harness.client.post("/api/auth/login", json={"email": person.email, "password": PASSWORD})
    assert signed_in.status_code == 200
    failed = await harness.client.post("/api/auth/login", json={"email": person.email, "password": "wrong"})
    assert failed.status_code == 401
    made = await harness.client.post(
        "/api/tickets", json={"title": "my laptop", "description": "it hums"}, headers=person.headers
    )
    ticket = made.json()["id"]
    said = await harness.client.post(
        f"/api/tickets/{ticket}/comments", json={"body": "still humming"}, headers=person.headers
    )
    assert said.status_code == 201
    file = await harness.client.post(
        f"/api/tickets/{ticket}/attachments", files={"file": ("hum.txt", b"mmm", "text/plain")}, headers=person.headers
    )
    await harness.client.post(f"/api/tickets/{ticket}/comments", json={"body": "on it"}, headers=agent.headers)
    await harness.settle()

    for viewer in (admin, person):
        got = await harness.client.get(f"/api/users/{person.id}/export", headers=viewer.headers)
        assert got.status_code == 200, got.text
        data = got.json()
        assert data["profile"]["name"] == "Ada Lovelace" and data["profile"]["email"] == person.email
        assert [t["title"] for t in data["tickets_asked"]] == ["my laptop"]
        assert [c["body"] for c in data["comments_written"]] == ["still humming"]
        assert [w["ticket_id"] for w in data["watching"]] in ([], [ticket])
        assert any(n["ticket_id"] == ticket for n in data["notifications"]), data["notifications"]
        assert len(data["sign_ins"]) == 1 and [a["purpose"] for a in data["sign_in_attempts"]] == ["login"]
        assert {t["kind"] for t in data["sessions_and_tokens"]} == {"api", "session"}
        [attached] = data["attachments"]
        assert attached["download"] == f"/api/attachments/{file.json()['id']}" and attached["filename"] == "hum.txt"
        download = await harness.client.get(attached["download"], headers=person.headers)
        assert download.content == b"mmm"
        text = got.text
        assert "password" not in text and "hash" not in text and person.token not in text

    for stranger in (other, agent):
        refused = await harness.client.get(f"/api/users/{person.id}/export", headers=stranger.headers)
        assert refused.status_code == 403 and "Ada" not in refused.text
    missing = await harness.client.get("/api/users/999999/export", headers=admin.headers)
    assert missing.status_code == 404


def test_users_export_from_the_shell(tmp_path: Path) -> None:
    created = run_cli(
        tmp_path,
        "users",
        "create",
        "--email",
        "ada@example.com",
        "--name",
        "Ada",
        "--role",
        "requester",
        "--password",
        PASSWORD,
    )
    assert created.returncode == 0, created.stderr
    exported = run_cli(tmp_path, "users", "export", created.stdout.strip())
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["profile"]["email"] == "ada@example.com"
    unknown = run_cli(tmp_path, "users", "export", "999999")
    assert unknown.returncode == 1 and "not found" in unknown.stderr and "Traceback" not in unknown.stderr
