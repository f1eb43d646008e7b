"""Importing users from CSV: every row checked and answered on its own; a dry run writes nothing.

Columns `name,email,role[,categories]` (a header row with those names is optional; categories by name, separated
by `;`). UTF-8, with or without a byte-order mark. New accounts have no password: their owners set one through
the password-reset link ("Forgot your password?"), as any user can.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from sqlalchemy import Connection, select

from nixflow.domain.errors import PayloadTooLarge, ValidationFailed
from nixflow.domain.values import Role
from nixflow.services import users
from nixflow.store.db import Tx
from nixflow.store.tables import categories

MAX_BYTES = 1_000_000  # as the API takes any body (`NIXFLOW_MAX_BODY_BYTES` default)
MAX_ROWS = 1000
HEADER = ("name", "email", "role", "categories")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet would run, were a cell echoed into one

RowStatus = Literal["would_create", "created", "exists", "invalid"]


@dataclass
class RowResult:
    line: int
    name: str
    email: str
    role: str
    categories: list[str] = field(default_factory=list)
    status: RowStatus = "invalid"
    reason: str | None = None
    user_id: int | None = None


def parse(raw: bytes) -> list[tuple[int, list[str]]]:
    """The file's data rows with their line numbers; the whole file refused when it is not a CSV we take."""
    if len(raw) > MAX_BYTES:
        raise PayloadTooLarge(f"the file is over {MAX_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed("the file is not UTF-8 text") from None
    try:
        rows = [
            (n, r)
            for n, r in enumerate(csv.reader(io.StringIO(text, newline="")), start=1)
            if any(c.strip() for c in r)
        ]
    except csv.Error as error:
        raise ValidationFailed(f"the file is not valid CSV: {error}") from None
    if rows and [c.strip().lower() for c in rows[0][1]] in (list(HEADER[:3]), list(HEADER)):
        rows = rows[1:]
    if not rows:
        raise ValidationFailed("the file has no rows (columns: name,email,role[,categories])")
    if len(rows) > MAX_ROWS:
        raise ValidationFailed(f"the file has {len(rows)} rows; at most {MAX_ROWS} at a time")
    return rows


def _category_ids(conn: Connection) -> dict[str, int]:
    return {str(r[1]).lower(): int(r[0]) for r in conn.execute(select(categories.c.id, categories.c.name))}


def _check(
    conn: Connection, line: int, cells: Sequence[str], known: dict[str, int], seen: dict[str, int]
) -> tuple[RowResult, list[int]]:
    """One row's verdict and its category ids; `seen` collects the file's emails."""
    name, email, role, cats = ([c.strip() for c in cells] + ["", "", "", ""])[:4]
    wanted = [c.strip() for c in cats.split(";") if c.strip()]
    row = RowResult(line=line, name=name, email=email.lower(), role=role.lower(), categories=wanted)

    def invalid(reason: str) -> tuple[RowResult, list[int]]:
        row.reason = reason
        return row, []

    if len(cells) > len(HEADER):
        return invalid(f"{len(cells)} columns; expected name,email,role[,categories]")
    if not name or len(name) > 200:
        return invalid("name is empty" if not name else "name is over 200 characters")
    if name.startswith(FORMULA_START):
        return invalid("name starts like a spreadsheet formula (= + - @)")
    if row.role not in (r.value for r in users.HUMAN_ROLES):
        return invalid(f"role must be one of {', '.join(r.value for r in users.HUMAN_ROLES)}")
    if not users.EMAIL.match(row.email) or len(row.email) > 254:
        return invalid("not an email address")
    if row.email in seen:
        return invalid(f"the same email as line {seen[row.email]}")
    seen[row.email] = line
    missing = [c for c in wanted if c.lower() not in known]
    if missing:
        return invalid(f"unknown categories: {', '.join(missing)}")
    if wanted and row.role == Role.REQUESTER.value:
        return invalid("only agents and admins belong to categories")
    existing = users.find_by_email(conn, email=row.email)
    if existing is not None:
        row.status, row.reason, row.user_id = "exists", "a user with this email exists already", int(existing.id)
        return row, []
    row.status = "would_create"
    return row, [known[c.lower()] for c in wanted]


def dry_run(conn: Connection, rows: list[tuple[int, list[str]]]) -> list[RowResult]:
    """What importing the rows would do, row by row, writing nothing."""
    known, seen = _category_ids(conn), dict[str, int]()
    return [_check(conn, line, cells, known, seen)[0] for line, cells in rows]


def run(tx: Tx, rows: list[tuple[int, list[str]]]) -> list[RowResult]:
    """Create the valid rows' users (`user.created` each, no password); other rows are answered, not written."""
    known, seen = _category_ids(tx.conn), dict[str, int]()
    results = []
    for line, cells in rows:
        row, category_ids = _check(tx.conn, line, cells, known, seen)
        if row.status == "would_create":
            made = users.create_user(
                tx,
                email=row.email,
                name=row.name,
                role=Role(row.role),
                password_hash=None,
                category_ids=category_ids,
            )
            row.status, row.user_id = "created", int(made["id"])
        results.append(row)
    return results


def summary(results: list[RowResult], *, dry: bool) -> dict[str, Any]:
    """The answer: counts per status and every row's result."""
    counts = {s: sum(1 for r in results if r.status == s) for s in ("would_create", "created", "exists", "invalid")}
    return {"dry_run": dry, "counts": counts, "rows": [asdict(r) for r in results]}
