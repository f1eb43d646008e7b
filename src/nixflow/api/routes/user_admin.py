"""User admin beyond the basics: what deactivating someone does, and importing users from CSV (admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from nixflow.api.deps import App, Ctx, GuardedRoute, PathId, admin_only
from nixflow.api.routes.reports import csv_cell
from nixflow.api.schemas import DeactivationPreview, UserImportResult
from nixflow.services import user_admin, user_import

router = APIRouter(prefix="/api/users", tags=["users"], route_class=GuardedRoute, dependencies=[Depends(admin_only)])

CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "CSV, UTF-8 (a byte-order mark is fine): name,email,role[,categories separated by ';'], "
        f"an optional header row, at most {user_import.MAX_ROWS} rows.",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


@router.get("/{user_id}/deactivation-preview", response_model=DeactivationPreview)
async def deactivation_preview(user_id: PathId, app: App) -> DeactivationPreview:
    """What `PATCH /api/users/{id}` `{"active": false}` would do: the open tickets it unassigns, the categories
    whose round-robin it leaves, the sessions and API tokens it ends; `blocked` says why it would be refused."""
    now = app.clock()
    found = await app.db.read(lambda conn: user_admin.deactivation_preview(conn, user_id=user_id, now=now))
    return DeactivationPreview(**found)


@router.post("/import", response_model=UserImportResult, openapi_extra=CSV_BODY)
async def import_users(
    request: Request,
    app: App,
    ctx: Ctx,
    dry_run: Annotated[bool, Query(description="Answer what would happen, row by row, and write nothing.")] = False,
) -> UserImportResult:
    """Create users from CSV; every row answered (`would_create`/`created`, `exists`, `invalid` with the reason).
    Invalid rows are skipped, valid ones created (no password: they use the reset link). Cells are echoed quoted
    where a spreadsheet would run them."""
    rows = user_import.parse(await request.body())
    if dry_run:
        results = await app.db.read(lambda conn: user_import.dry_run(conn, rows))
    else:
        results = await app.writer.run(lambda tx: user_import.run(tx, rows), ctx)
    answer = user_import.summary(results, dry=dry_run)
    for row in answer["rows"]:
        row["name"], row["email"] = csv_cell(row["name"]), csv_cell(row["email"])
        row["categories"] = [csv_cell(c) for c in row["categories"]]
    return UserImportResult(**answer)
