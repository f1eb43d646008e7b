"""Pages everyone uses: sign in, my tickets, open a ticket, a ticket with its comments and timeline."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection
from starlette.background import BackgroundTask

from nixflow import i18n
from nixflow.api.deps import MFA_COOKIE, App, PathId, context_for
from nixflow.domain.envelope import EventRecord
from nixflow.domain.fields import Entity
from nixflow.domain.kb import readable, suggestible
from nixflow.domain.redirects import safe_next
from nixflow.domain.tickets import REQUESTER_TRANSITIONS, TRANSITIONS, Approval, Status
from nixflow.domain.values import Priority, Role
from nixflow.i18n import N_
from nixflow.kb import reading, search
from nixflow.notifications import watchers
from nixflow.services import (
    attachments,
    csat,
    directory_sign_in,
    field_definitions,
    identity_providers,
    mfa,
    requester_context,
    sessions,
    signatures,
    ticket_history,
    ticket_links,
    ticket_merge,
    ticket_queries,
    ticket_reads,
    ticket_tags,
    tickets,
    time_entries,
    visibility,
)
from nixflow.services.users import Principal
from nixflow.store import event_log
from nixflow.web import conversation, lookups, workflows
from nixflow.web.rendering import PAGE_SIZE, PageCredential, PageRoute, PageUser, pages, render, translator_of

router = APIRouter(include_in_schema=False, route_class=PageRoute)

STATUSES = [s.value for s in Status]
KB_MATCHES = 3
PRIORITIES = [p.value for p in Priority]
REDIRECT_KINDS = ("oidc", "saml")  # sign in at the provider's own page, from a button (LDAP uses the form above)


@router.get("/login", response_class=HTMLResponse)
async def login_page(
    request: Request,
    app: App,
    next: Annotated[str | None, Query(max_length=500)] = None,
    reset: Annotated[str | None, Query(max_length=8)] = None,
    restart: Annotated[str | None, Query(max_length=8)] = None,
) -> Response:
    """The sign-in form (after a password reset, saying so), with a button per enabled single sign-on provider
    that signs in by redirecting the browser (OpenID Connect, SAML); it takes a directory user name where LDAP is
    on. A browser whose sign-in waits for its second step goes on to it (how every way of signing in reaches
    `/login/mfa`), unless it asks to start again (`restart`)."""
    if restart is None and request.cookies.get(MFA_COOKIE):
        return RedirectResponse(f"/login/mfa?next={quote(safe_next(next), safe='/')}", status_code=303)
    enabled = await app.db.read(lambda conn: identity_providers.enabled(conn))
    sso = [p for p in enabled if p["kind"] in REDIRECT_KINDS]
    directory = bool(await app.db.read(directory_sign_in.providers))
    return await render(
        request,
        "login.html",
        None,
        next=safe_next(next),
        reset=reset == "done",
        sso=sso,
        directory=directory,
        title=translator_of(request).gettext("Sign in"),
    )


@router.get("/")
async def home(user: PageUser) -> Response:
    """Staff start at the queue, requesters at their tickets."""
    return RedirectResponse("/queue" if user.is_staff else "/tickets", status_code=303)


@router.get("/tickets", response_class=HTMLResponse)
async def my_tickets(
    request: Request, user: PageUser, app: App, cursor: Annotated[str | None, Query(max_length=64)] = None
) -> Response:
    """The tickets the user opened, and their colleagues' that an organization shares with them (marked with who
    opened them), newest first, a page at a time."""

    def read(conn: Connection) -> dict[str, Any]:
        # Listed as their requester, whatever the role: the tickets they opened, and those shared with them.
        mine = Principal(user.id, Role.REQUESTER, user.email, user.name)
        flt = ticket_queries.TicketFilter()
        items, next_cursor = ticket_queries.list_tickets(conn, viewer=mine, flt=flt, limit=PAGE_SIZE, cursor=cursor)
        return {
            "items": items,
            "pages": pages(request, next_cursor),
            "names": lookups.user_names(conn, [t[k] for t in items for k in ("assignee_id", "requester_id")]),
        }

    data = await app.db.read(read)
    return await render(request, "my_tickets.html", user, title=translator_of(request).gettext("My tickets"), **data)


@router.get("/account", response_class=HTMLResponse)
async def account(
    request: Request, user: PageUser, credential: PageCredential, app: App, changed: bool = False
) -> Response:
    """Who you are, your signature (staff), changing your password, your sessions, and what you are told."""
    kinds = [
        ("assigned", N_("Tickets assigned to you")),
        ("comments", N_("Comments on your tickets")),
        ("status", N_("Status changes")),
        ("approvals", N_("Approvals")),
        ("sla", N_("SLA warnings, breaches and escalations")),
        ("rules", N_("Automation rules")),
    ]
    signature = await app.db.read(lambda conn: signatures.get(conn, user_id=user.id)) if user.is_staff else ""
    now = app.clock()
    live = await app.db.read(
        lambda conn: sessions.listed(conn, user_id=user.id, now=now, current_id=credential.token_id)
    )
    second_factor = await app.db.read(lambda conn: mfa.status(conn, user=user))
    return await render(
        request,
        "account.html",
        user,
        title=translator_of(request).gettext("Your account"),
        languages=i18n.language_names(),
        timezones=i18n.timezones(),
        changed=changed,
        notification_kinds=kinds,
        signature=signature,
        sessions=live,
        mfa=second_factor,
    )


@router.get("/tickets/new", response_class=HTMLResponse)
async def new_ticket(request: Request, user: PageUser, app: App) -> Response:
    """The form to open a ticket."""
    names = await app.db.read(lookups.category_names)
    defined = await app.db.read(lambda conn: field_definitions.listed(conn, viewer=user, entity=Entity.TICKET))
    return await render(
        request,
        "ticket_new.html",
        user,
        title=translator_of(request).gettext("Open a ticket"),
        categories=names,
        custom_fields=defined,
    )


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
async def ticket_page(
    request: Request,
    ticket_id: PathId,
    user: PageUser,
    app: App,
    as_of: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """One ticket: details, SLA, actions, comments and its timeline with what caused each change; with `as_of`
    (an event of its timeline), the ticket as it stood right after that event, read-only."""
    point = ticket_history.parse_point(as_of) if as_of else None
    now = app.clock()
    tr = translator_of(request)

    def read(conn: Connection) -> dict[str, Any]:
        ticket = tickets.load(conn, ticket_id=ticket_id, viewer=user)
        comments = tickets.list_comments(conn, viewer=user, ticket_id=ticket_id)
        records = [
            r
            for r in event_log.timeline(conn, "ticket", str(ticket_id))
            if visibility.may_see(user, r, tickets.audience_seen_by(user, ticket))
        ]
        then: EventRecord | None = None
        watching = watchers.list_watchers(conn, viewer=user, ticket_id=ticket_id)
        told = records
        if point is not None:
            ticket, upto = ticket_history.as_of(conn, ticket_id=ticket_id, viewer=user, point=point)
            said = {r.data["comment_id"] for r in upto if r.type in ("ticket.commented", "ticket.comment_moved")}
            comments = [c for c in comments if c["id"] in said]
            seen = {r.event_id for r in upto}
            then = next((r for r in reversed(records) if r.event_id in seen), None)
            watching = _watchers_then(conn, upto)
            told = [r for r in records if r.event_id in seen]
        ids = lookups.people_of(records) | {c["author_id"] for c in comments}
        ids |= {ticket["requester_id"], ticket["assignee_id"] or 0}
        names = lookups.user_names(conn, ids)
        rules = lookups.rule_names(conn) if user.is_staff else {}
        categories = lookups.category_names(conn)
        return {
            "thread": conversation.thread(
                comments, told, names=names, categories=categories, rules=rules, staff=user.is_staff, tr=tr
            ),
            "ticket": tickets.public_to(user, ticket, shown=field_definitions.requester_visible(conn)),
            "custom_fields": field_definitions.listed(conn, viewer=user, entity=Entity.TICKET),
            "comments": comments,
            "timeline": records,
            "by_id": {r.event_id: r for r in records},
            "names": names,
            "rules": rules,
            "categories": categories,
            "organization": lookups.organization_name(conn, ticket["organization_id"]) if user.is_staff else None,
            "agents": lookups.assignable(conn) if user.is_staff else [],
            "people": lookups.people(conn) if user.is_staff and point is None else [],
            "known_tags": [t["tag"] for t in ticket_tags.known(conn)] if user.is_staff and point is None else [],
            "context": requester_context.context(conn, viewer=user, ticket_id=ticket_id) if user.is_staff else None,
            "watchers": watching,
            "links": ticket_links.links(conn, viewer=user, ticket_id=ticket_id),
            "merge_candidates": ticket_merge.candidates(conn, ticket) if user.is_staff and point is None else [],
            "watching": any(w["user_id"] == user.id for w in watching),
            "files": attachments.list_for_ticket(conn, viewer=user, ticket_id=ticket_id),
            # Published articles matching the ticket that its requester may read: they may say one solved it,
            # agents link one in a reply (a link to an internal article would be a 404 to the requester).
            "kb_matches": search.search(
                conn,
                query=ticket["title"],
                may=suggestible(lookups.role_of(conn, ticket["requester_id"])),
                limit=KB_MATCHES,
            ),
            "kb_linked": reading.linked_articles(conn, ticket_id=ticket_id, may=readable(user.role)),
            "workflow": workflows.ticket_card(conn, viewer=user, ticket_id=ticket_id) if point is None else None,
            "then": then,
            "survey": csat.survey(conn, ticket, now=now, viewer=user) if point is None else None,
            "time_spent": time_entries.listed(conn, ticket_id=ticket_id) if user.is_staff else None,
        }

    data = await app.db.read(read)
    ticket = data["ticket"]
    past = point is not None  # a past state is shown read-only
    moves = [] if past else _moves(user, Status(ticket["status"]))
    may_decide = not past and ticket["approval"] == Approval.PENDING.value and (user.is_admin or user.can_approve)
    page = await render(
        request,
        "ticket.html",
        user,
        title=f"#{ticket['id']} {ticket['title']}",
        moves=moves,
        may_decide=may_decide,
        past=past,
        priorities=PRIORITIES,
        rule_of=lookups.caused_by_rule,
        by_person=visibility.by_person,
        **data,
    )
    if not past:  # the look is recorded once the page is sent (the queue's unread marker)
        ctx = context_for(request, user.id)
        page.background = BackgroundTask(
            ticket_reads.note_look, app.db, app.writer, viewer=user, ticket_id=ticket_id, ctx=ctx
        )
    return page


def _watchers_then(conn: Connection, upto: list[EventRecord]) -> list[dict[str, Any]]:
    """Who watched the ticket right after these events (today's watchers may not have, then)."""
    ids = ticket_history.watchers_after(upto)
    names = lookups.user_names(conn, ids)
    return [{"user_id": i, "name": names.get(i, f"#{i}")} for i in ids]


def _moves(user: Principal, current: Status) -> list[str]:
    """The statuses this user may move the ticket to."""
    allowed = [s for s in Status if s in TRANSITIONS[current]]
    if not user.is_staff:
        allowed = [s for s in allowed if (current, s) in REQUESTER_TRANSITIONS]
    return [s.value for s in allowed]
