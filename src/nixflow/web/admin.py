"""Admin pages: users, categories, organizations, sign-in providers and quarantined mail (rendered here), and rules, SLA
policies, round-robin counters and webhooks (rendered in the browser from their APIs, so the pages follow the API,
not the tables)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from nixflow import i18n
from nixflow.api.deps import App
from nixflow.domain.identity import RoleMapping
from nixflow.domain.mail_providers import CUSTOM, PRESETS
from nixflow.domain.values import Priority, Role
from nixflow.email_in import quarantine_admin
from nixflow.services import calendars, identity_providers, organizations, sla_policies, user_admin, users
from nixflow.services.users import require_admin
from nixflow.store import event_log
from nixflow.store import mail_oauth as mail_rows
from nixflow.web.rendering import PAGE_SIZE, PageRoute, PageUser, pages, render

router = APIRouter(prefix="/admin", include_in_schema=False, route_class=PageRoute)
ROLES = ["requester", "agent", "admin"]
RULE_KINDS = ["prioritization", "assignment", "escalation"]


@router.get("/users", response_class=HTMLResponse)
async def users_page(
    request: Request,
    user: PageUser,
    app: App,
    q: Annotated[str, Query(max_length=200)] = "",
    role: Literal["", "admin", "agent", "requester"] = "",
    active: Literal["", "true", "false"] = "",
    cursor: Annotated[str | None, Query(pattern=event_log.CURSOR_PATTERN)] = None,
) -> Response:
    """Users, searched by name or email, role and state: create, edit, deactivate (its consequences shown
    first), import from CSV."""
    require_admin(user)
    after = event_log.decode_cursor(cursor) if cursor else None

    def read(conn: Connection) -> dict[str, Any]:
        found, last = user_admin.search(
            conn,
            q=q.strip() or None,
            role=Role(role) if role else None,
            active={"": None, "true": True, "false": False}[active],
            limit=PAGE_SIZE,
            after_id=after,
        )
        listed = users.list_categories(conn)
        return {
            "users": found,
            "next_cursor": event_log.encode_cursor(last) if last is not None else None,
            "categories": listed,
            "category_names": {c["id"]: c["name"] for c in listed},
        }

    data = await app.db.read(read)
    filters = {"q": q, "role": role, "active": active}
    return await render(
        request,
        "admin_users.html",
        user,
        title=i18n.translator(request.state.locale).gettext("Users"),
        roles=ROLES,
        filters=filters,
        pages=pages(request, data.pop("next_cursor")),
        **data,
    )


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
            "calendars": calendars.names(conn),
        }

    data = await app.db.read(read)
    return await render(
        request,
        "admin_categories.html",
        user,
        title=i18n.translator(request.state.locale).gettext("Categories"),
        **data,
    )


@router.get("/organizations", response_class=HTMLResponse)
async def organizations_page(request: Request, user: PageUser, app: App) -> Response:
    """Organizations: their domains, whether they share tickets, their members."""
    require_admin(user)

    def read(conn: Connection) -> dict[str, Any]:
        listed = organizations.visible_to(conn, viewer=user)
        every = users.list_users(conn)
        return {
            "organizations": [organizations.get(conn, viewer=user, organization_id=o["id"]) for o in listed],
            "people": [u for u in every if u["role"] == "requester" and u["active"]],
            "names": {u["id"]: f"{u['name']} <{u['email']}>" for u in every},
        }

    data = await app.db.read(read)
    return await render(
        request,
        "admin_organizations.html",
        user,
        title=i18n.translator(request.state.locale).gettext("Organizations"),
        **data,
    )


@router.get("/identity-providers", response_class=HTMLResponse)
async def identity_providers_page(request: Request, user: PageUser, app: App) -> Response:
    """Single sign-on providers: add, change, enable or disable, remove; their group -> role rules."""
    listed = await app.db.read(lambda conn: identity_providers.list_providers(conn, actor=user))
    data = {"providers": listed, "roles": ROLES, "default_mapping": RoleMapping().model_dump()}
    title = i18n.translator(request.state.locale).gettext("Sign-in providers")
    return await render(request, "admin_identity_providers.html", user, title=title, **data)


@router.get("/mailboxes", response_class=HTMLResponse)
async def mailboxes_page(request: Request, user: PageUser, app: App) -> Response:
    """OAuth2 mailboxes: add one, connect it at its provider's consent screen, see whether it is paused, remove."""
    require_admin(user)
    listed = await app.db.read(mail_rows.listing)
    tr = i18n.translator(request.state.locale)
    presets = [(name, preset.label) for name, preset in PRESETS.items()] + [(CUSTOM, tr.gettext("Any OAuth2 provider"))]
    callback = f"{app.settings.base_url}/api/mail/oauth/callback"
    data = {"mailboxes": listed, "presets": presets, "callback": callback}
    return await render(request, "admin_mailboxes.html", user, title=tr.gettext("Mailboxes"), **data)


@router.get("/rules", response_class=HTMLResponse)
async def rules_page(request: Request, user: PageUser) -> Response:
    """Automation rules: create, edit, enable or disable, shadow, roll out."""
    require_admin(user)
    title = i18n.translator(request.state.locale).gettext("Automation rules")
    return await render(request, "admin_rules.html", user, title=title, kinds=RULE_KINDS)


@router.get("/sla", response_class=HTMLResponse)
async def sla_page(request: Request, user: PageUser, app: App) -> Response:
    """SLA policies per priority, each with its business-hours calendar."""
    require_admin(user)
    priorities = [p.value for p in Priority]
    found = await app.db.read(calendars.names)
    title = i18n.translator(request.state.locale).gettext("SLA policies")
    return await render(request, "admin_sla.html", user, title=title, priorities=priorities, calendars=found)


@router.get("/calendars", response_class=HTMLResponse)
async def calendars_page(request: Request, user: PageUser, app: App) -> Response:
    """Business-hours calendars: create, add a version, delete; who uses each."""
    require_admin(user)
    now, tr = app.clock(), i18n.translator(request.state.locale)

    def read(conn: Connection) -> dict[str, Any]:
        found = calendars.list_calendars(conn, now=now)
        for c in found:
            c["hours_json"] = json.dumps({day: ranges for day, ranges in c["hours"].items() if ranges})
            holidays = {k: v for k, v in c["holidays"].items() if v}
            c["holidays_json"] = json.dumps(holidays)
        used: dict[int, list[str]] = {}
        for policy in sla_policies.list_policies(conn):
            if policy["calendar_id"] is not None:
                used.setdefault(policy["calendar_id"], []).append(
                    tr.gettext("SLA policy %(priority)s") % {"priority": tr.pgettext("priority", policy["priority"])}
                )
        for category in users.list_categories(conn):
            if category["calendar_id"] is not None:
                used.setdefault(category["calendar_id"], []).append(tr.gettext("category %(name)s") % category)
        return {"calendars": found, "used": used}

    data = await app.db.read(read)
    default = json.dumps({d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")})
    title = tr.gettext("Calendars")
    return await render(request, "admin_calendars.html", user, title=title, default_hours=default, **data)


@router.get("/round-robin", response_class=HTMLResponse)
async def round_robin_page(request: Request, user: PageUser) -> Response:
    """Round-robin counters: view and reset."""
    require_admin(user)
    return await render(
        request,
        "admin_round_robin.html",
        user,
        title=i18n.translator(request.state.locale).gettext("Round-robin counters"),
    )


@router.get("/webhooks", response_class=HTMLResponse)
async def webhooks_page(request: Request, user: PageUser, app: App) -> Response:
    """Webhook subscriptions: create (the secret shown once), pause, resume, shadow, rotate, deliveries, replay."""
    require_admin(user)
    found = await app.db.read(users.list_categories)
    return await render(
        request,
        "admin_webhooks.html",
        user,
        title=i18n.translator(request.state.locale).gettext("Webhooks"),
        categories=found,
    )


@router.get("/fields", response_class=HTMLResponse)
async def fields_page(request: Request, user: PageUser) -> Response:
    """Custom fields on tickets, users and organizations: define, order, archive and restore."""
    require_admin(user)
    return await render(
        request, "admin_fields.html", user, title=i18n.translator(request.state.locale).gettext("Custom fields")
    )


@router.get("/mail-quarantine", response_class=HTMLResponse)
async def mail_quarantine_page(request: Request, user: PageUser, app: App, state: str = "held") -> Response:
    """Mail NixFlow could not store: the newest 100 held (or of every state), to retry, download or discard."""
    require_admin(user)
    wanted = state if state in quarantine_admin.STATES else None

    def read(conn: Connection) -> list[dict[str, Any]]:
        return quarantine_admin.page(conn, state=wanted, limit=100, cursor=None)[0]

    items = await app.db.read(read)
    return await render(
        request,
        "admin_mail_quarantine.html",
        user,
        title=i18n.translator(request.state.locale).gettext("Mail quarantine"),
        items=items,
        state=wanted or "all",
    )
