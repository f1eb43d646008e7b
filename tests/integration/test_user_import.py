"""Importing users from CSV: a dry run answers every row and writes nothing; the import creates the good rows and
refuses the bad ones, each with its reason (SQLite, and PostgreSQL + Redis)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from tests.conftest import PASSWORD, Harness, User

from nixflow.store.tables import events, users

CSV = (
    "name,email,role,categories\r\n"
    "Nia Agent,Nia@Example.com,agent,Network;Desk\r\n"
    "Ola Requester,ola@example.com,requester,\r\n"
    "Bad Mail,not-an-email,agent,\r\n"
    "Twice,nia@example.com,agent,\r\n"
    "Boss,boss@example.com,owner,\r\n"
    '=HYPERLINK("http://x"),evil@example.com,agent,\r\n'
    "Lost,lost@example.com,agent,=cmd|' /C calc'!A0\r\n"
    "Known,{known},agent,\r\n"
    "Req In Cat,req@example.com,requester,Network\r\n"
)


async def _counts(harness: Harness) -> tuple[int, int]:
    def read(conn: Any) -> tuple[int, int]:
        return (
            int(conn.execute(select(func.count()).select_from(users)).scalar_one()),
            int(conn.execute(select(func.count()).select_from(events)).scalar_one()),
        )

    return await harness.nixflow.db.read(read)


async def _import(harness: Harness, admin: User, body: bytes, *, dry_run: bool) -> Any:
    return await harness.client.post(
        "/api/users/import",
        params={"dry_run": str(dry_run).lower()},
        content=body,
        headers=admin.headers | {"Content-Type": "text/csv"},
    )


async def test_a_dry_run_answers_each_row_and_writes_nothing_then_the_import_does_it(
    harness: Harness, admin: User, agent: User
) -> None:
    for name in ("Network", "Desk"):
        assert (await harness.client.post("/api/categories", json={"name": name}, headers=admin.headers)).is_success
    await harness.settle()
    body = ("\ufeff" + CSV.format(known=agent.email.upper())).encode()  # with a byte-order mark, as Excel saves
    before = await _counts(harness)
    dry = await _import(harness, admin, body, dry_run=True)
    assert dry.status_code == 200, dry.text
    assert await _counts(harness) == before
    verdicts = [(r["line"], r["status"], r["reason"]) for r in dry.json()["rows"]]
    assert verdicts == [
        (2, "would_create", None),
        (3, "would_create", None),
        (4, "invalid", "not an email address"),
        (5, "invalid", "the same email as line 2"),
        (6, "invalid", "role must be one of admin, agent, requester"),
        (7, "invalid", "name starts like a spreadsheet formula (= + - @)"),
        (8, "invalid", "unknown categories: =cmd|' /C calc'!A0"),
        (9, "exists", "a user with this email exists already"),
        (10, "invalid", "only agents and admins belong to categories"),
    ]
    assert dry.json()["counts"] == {"would_create": 2, "created": 0, "exists": 1, "invalid": 6}
    echoed = {r["line"]: r for r in dry.json()["rows"]}
    assert echoed[7]["name"] == '\'=HYPERLINK("http://x")'  # what a spreadsheet would run comes back quoted
    assert echoed[8]["categories"] == ["'=cmd|' /C calc'!A0"]

    done = await _import(harness, admin, body, dry_run=False)
    assert done.status_code == 200, done.text
    rows = {r["line"]: r for r in done.json()["rows"]}
    assert [rows[n]["status"] for n in (2, 3, 4, 9)] == ["created", "created", "invalid", "exists"]
    nia = (await harness.client.get(f"/api/users/{rows[2]['user_id']}", headers=admin.headers)).json()
    categories = {
        c["name"]: c["id"] for c in (await harness.client.get("/api/categories", headers=admin.headers)).json()
    }
    assert (nia["email"], nia["role"], nia["category_ids"]) == (
        "nia@example.com",
        "agent",
        sorted([categories["Network"], categories["Desk"]]),
    )
    assert (await _counts(harness))[0] == before[0] + 2
    # No password: nobody signs in until the owner sets one through a reset link.
    login = await harness.client.post("/api/auth/login", json={"email": "nia@example.com", "password": PASSWORD})
    assert login.status_code == 401
    await harness.settle()
    created = [e["data"]["email"] for e in await harness.events(type="user.created")]
    assert created[-2:] == ["nia@example.com", "ola@example.com"]
    again = await _import(harness, admin, body, dry_run=True)
    assert {r["line"]: r["status"] for r in again.json()["rows"]}[2] == "exists"


async def test_a_file_we_cannot_take_is_refused_whole(harness: Harness, admin: User) -> None:
    before = await _counts(harness)
    too_many = "".join(f"U{i},u{i}@example.com,requester\n" for i in range(1001)).encode()
    for body, status, words in (
        (too_many, 422, "at most 1000"),
        ("Zoë,zoe@example.com,agent\n".encode("latin-1"), 422, "not UTF-8"),
        (b"name,email,role\n", 422, "no rows"),
        (b"", 422, "no rows"),
        (b"x" * 1_000_001, 413, ""),
    ):
        answer = await _import(harness, admin, body, dry_run=False)
        assert answer.status_code == status, (words, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert words in answer.json()["detail"]
    assert await _counts(harness) == before
    header_less = await _import(harness, admin, "Zoë,zoe@example.com,agent\n".encode(), dry_run=False)
    assert [r["status"] for r in header_less.json()["rows"]] == ["created"]
    assert header_less.json()["rows"][0]["name"] == "Zoë"
