"""Approval workflow pages: the admins' definitions, the confirmation page of the mail's signed link, and the
workflow card of the ticket page (its state as a timeline, and the approver's buttons)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from nixflow import i18n
from nixflow.api.deps import App
from nixflow.domain.errors import NotFound
from nixflow.services import ticket_workflow, users, workflows
from nixflow.services.users import Principal, require_admin
from nixflow.web import lookups
from nixflow.web.rendering import PageRoute, PageUser, render, translator_of

router = APIRouter(include_in_schema=False, route_class=PageRoute)

STEP_EXAMPLE = """[
  {"name": "Manager", "approvers": {"kind": "manager", "field": "manager"}, "deadline_hours": 48},
  {"name": "IT", "approvers": {"kind": "team", "category_id": 1}, "rule": "any"}
]"""


def ticket_card(conn: Connection, *, viewer: Principal, ticket_id: int) -> dict[str, Any] | None:
    """The ticket's workflow as the page shows it (None: none, or the viewer takes no part in it), with the
    names of everyone it mentions."""
    try:
        state = ticket_workflow.state(conn, viewer=viewer, ticket_id=ticket_id)
    except NotFound:
        return None
    ids = {i for s in state["steps"] for i in s["approver_ids"]}
    ids |= {d["by_id"] for d in state["decisions"]} | {d["for_id"] for d in state["decisions"]}
    # A decision's time is stored as RFC 3339 text; the page shows it in the reader's language and zone.
    decisions = [d | {"at": datetime.fromisoformat(d["at"])} for d in state["decisions"]]
    return state | {"decisions": decisions, "names": lookups.user_names(conn, ids)}


@router.get("/admin/workflows", response_class=HTMLResponse)
async def workflows_page(request: Request, user: PageUser, app: App) -> Response:
    """Approval workflows: their steps and outcomes, a new one, and which category starts which."""
    require_admin(user)

    def read(conn: Connection) -> dict[str, Any]:
        return {
            "workflows": workflows.listing(conn, viewer=user),
            "categories": users.list_categories(conn),
            "started_by": workflows.started_by_categories(conn),
        }

    data = await app.db.read(read)
    title = i18n.translator(request.state.locale).gettext("Approval workflows")
    return await render(request, "admin_workflows.html", user, title=title, example=STEP_EXAMPLE, **data)


@router.get("/workflow/decide", response_class=HTMLResponse)
async def decide_page(request: Request) -> Response:
    """The approval mail's link: what it asks, and Approve / Reject to confirm. The token rides in the fragment
    (no server sees it); the page's script reads it and asks the API what it is for. Opening decides nothing."""
    return await render(request, "workflow_decide.html", None, title=translator_of(request).gettext("Approval"))
