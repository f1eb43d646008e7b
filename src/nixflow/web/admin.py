"""Admin pages: users and categories (rendered here), and rules, SLA policies, round-robin counters and webhooks
(rendered in the browser from their APIs, so the pages follow the API, not the tables behind it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from nixflow.api.deps import App
from nixflow.domain.values import Priority
from nixflow.services import users
from nixflow.services.users import require_admin
from nixflow.web.rendering import PageRoute, PageUser, render

router = APIRouter(prefix="/admin", include_in_schema=False, route_class=PageRoute)
ROLES = ["requester", "agent", "admin"]
RULE_KINDS = ["prioritization", "assignment", "escalation"]


@router.get("/users", response_class=HTMLResponse)
async def users_page(request: Request, user: PageUser, app: App) -> Response:
    """Every user: create one, change role, activate or deactivate."""
    require_admin(user)

    def read(conn: Connection) -> dict[str, Any]:
        return {"users": users.list_users(conn), "categories": users.list_categories(conn)}

    data = await app.db.read(read)
    data["users"] = [u for u in data["users"] if u["role"] != "system"]
    return await render(request, "admin_users.html", user, title="Users", roles=ROLES, **data)


@router.get("/categories", response_class=HTMLResponse)
async def categories_page(request: Request, user: PageUser, app: App) -> Response:
    """Categories and the agents eligible for round-robin in each."""
    require_admin(user)

    def read(conn: Connection) -> dict[str, Any]:
        every = users.list_users(conn)
        return {
            "categories": users.list_categories(conn),
            "agents": [u for u in every if u["role"] == "agent"],
            "names": {u["id"]: u["name"] for u in every},
        }

    data = await app.db.read(read)
    return await render(request, "admin_categories.html", user, title="Categories", **data)


@router.get("/rules", response_class=HTMLResponse)
async def rules_page(request: Request, user: PageUser) -> Response:
    """Automation rules: create, edit, enable or disable, shadow, roll out."""
    require_admin(user)
    return await render(request, "admin_rules.html", user, title="Automation rules", kinds=RULE_KINDS)


@router.get("/sla", response_class=HTMLResponse)
async def sla_page(request: Request, user: PageUser) -> Response:
    """SLA policies per priority."""
    require_admin(user)
    priorities = [p.value for p in Priority]
    return await render(request, "admin_sla.html", user, title="SLA policies", priorities=priorities)


@router.get("/round-robin", response_class=HTMLResponse)
async def round_robin_page(request: Request, user: PageUser) -> Response:
    """Round-robin counters: view and reset."""
    require_admin(user)
    return await render(request, "admin_round_robin.html", user, title="Round-robin counters")


@router.get("/webhooks", response_class=HTMLResponse)
async def webhooks_page(request: Request, user: PageUser, app: App) -> Response:
    """Webhook subscriptions: create (the secret shown once), pause, resume, shadow, rotate, deliveries, replay."""
    require_admin(user)
    found = await app.db.read(users.list_categories)
    return await render(request, "admin_webhooks.html", user, title="Webhooks", categories=found)
