"""The JSON API on an ASGI app: `install(app)` adds its routers and problem+json errors; `BodyLimit` guards bodies."""

from __future__ import annotations

import re
from collections.abc import Sequence

from fastapi import FastAPI
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nixflow.api import problems
from nixflow.api.routes import (
    attachments,
    auth,
    bulk,
    calendars,
    csat,
    events,
    fields,
    health,
    held_mail,
    identity_providers,
    kb,
    kb_reading,
    local_passwords,
    macros,
    mail_oauth,
    mail_quarantine,
    mfa,
    notifications,
    oidc,
    organizations,
    passkeys,
    password_reset,
    personal_data,
    relations,
    replies,
    reports,
    requester_context,
    round_robin,
    rules,
    saml,
    search,
    sessions,
    sla,
    tags,
    tickets,
    time_entries,
    user_admin,
    users,
    views,
    watchers,
    webhooks,
    workflows,
    ws,
)
from nixflow.domain.errors import PayloadTooLarge

UPLOAD_PATH = re.compile(r"^/api/tickets/[0-9]+/attachments$")


class BodyLimit:
    """Refuse request bodies over `max_bytes` with 413, before anything reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int, upload_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # A file upload may carry a file up to the attachment limit, plus its multipart envelope.
        self.upload_bytes = max(max_bytes, (upload_bytes or 0) + 64 * 1024)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_bytes if UPLOAD_PATH.match(str(scope.get("path", ""))) else self.max_bytes
        await self._limited(scope, receive, send, limit)

    async def _limited(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
            await _too_large(send, max_bytes)
            return
        seen = 0
        overflowed = False

        async def limited() -> Message:
            nonlocal seen, overflowed
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    overflowed = True
                    raise PayloadTooLarge(f"request body over {max_bytes} bytes")
            return message

        async def answer(message: Message) -> None:
            # A body cut off mid-stream (chunked, no Content-Length): whatever the app makes of it, the answer is 413.
            if not overflowed:
                await send(message)
            elif message["type"] == "http.response.start":
                await _too_large(send, max_bytes)

        await self.app(scope, limited, answer)


async def _too_large(send: Send, limit: int) -> None:
    response = problems.problem(413, PayloadTooLarge.title, f"request body over {limit} bytes")
    await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


def install(app: FastAPI, routes: Sequence[BaseRoute]) -> None:
    """Serve the API's routes (`include_routes`, done once in another app: `nixflow.app`) from `app`, its errors as
    problem+json."""
    problems.install(app)
    app.router.routes.extend(routes)


def include_routes(app: FastAPI) -> None:
    """Include every router of the API in `app`."""
    for router in (
        auth.router,
        password_reset.router,
        passkeys.router,
        bulk.router,  # before tickets: `/api/tickets/ids` is not a ticket id
        tickets.router,
        attachments.tickets_router,
        attachments.router,
        user_admin.router,
        users.router,
        personal_data.router,
        events.router,
        health.router,
        rules.router,
        round_robin.router,
        sla.router,
        calendars.router,
        notifications.router,
        reports.router,
        watchers.router,
        tags.router,
        tags.tickets_router,
        relations.router,
        relations.options_router,
        views.router,
        organizations.router,
        organizations.me_router,
        fields.router,
        held_mail.router,
        webhooks.router,
        mail_quarantine.router,
        mail_oauth.router,
        kb.router,
        kb_reading.router,
        search.router,
        replies.router,
        macros.replies_router,
        macros.macros_router,
        macros.tickets_router,
        requester_context.router,
        csat.router,
        time_entries.router,
        time_entries.reports_router,
        workflows.router,
        workflows.tickets_router,
        workflows.delegation_router,
        workflows.links_router,
        identity_providers.router,
        oidc.router,
        sessions.router,
        sessions.admin_router,
        local_passwords.router,
        saml.router,
        ws.router,
        mfa.signing_router,
        mfa.enrol_router,
        mfa.router,
        mfa.users_router,
    ):
        app.include_router(router)
