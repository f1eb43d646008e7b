"""What every page module uses: templates, the signed-in page user, rendering, paging, the page route."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.datastructures import URL
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from sqlalchemy import Connection

from nixflow import crypto, i18n
from nixflow.api import security
from nixflow.api.deps import SESSION_COOKIE, App
from nixflow.domain.errors import DomainError, Forbidden
from nixflow.i18n import N_, templates
from nixflow.i18n.browser import browser_catalogue
from nixflow.markup import render_reply
from nixflow.services import auth
from nixflow.services.users import Principal
from nixflow.store import event_log
from nixflow.web import language

HERE = Path(__file__).parent
# A role as pages show it (`{{ _(user.role) }}`): its value is the English label.
ROLE_LABELS = (i18n.N_("requester"), i18n.N_("agent"), i18n.N_("admin"), i18n.N_("system"))
# The titles of domain errors (domain/errors.py): an error page's heading, in the reader's language.
ERROR_TITLES = (
    i18n.N_("Bad request"),
    i18n.N_("Reset link not valid"),
    i18n.N_("Passkey not accepted"),
    i18n.N_("Validation failed"),
    i18n.N_("Unauthorized"),
    i18n.N_("Forbidden"),
    i18n.N_("Not found"),
    i18n.N_("Conflict"),
    i18n.N_("Illegal status transition"),
    i18n.N_("Stale version"),
    i18n.N_("Payload too large"),
    i18n.N_("Too many requests"),
    i18n.N_("Service unavailable"),
)


class LoginRequired(Exception):
    """A page was asked for without a valid session: send the browser to the login page."""


@functools.cache
def make_environment() -> Environment:
    """The Jinja2 environment of the pages (autoescaped; gettext per render: `reader_context`). One per process,
    shared by its apps: it holds nothing of an app's, and each template is then compiled once, not once per app."""
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        extensions=templates.EXTENSIONS,
    )
    env.filters["markdown"] = lambda body: Markup(render_reply(body))  # render_reply sanitises
    return templates.prepare(env)


async def page_credential(request: Request, app: App) -> auth.Authenticated:
    """The session of the cookie (its use recorded, like an API call's); otherwise redirect to the login page."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 512:
        raise LoginRequired
    now = app.clock()
    keys = crypto.keyring(app.settings)
    found = await app.db.read(lambda conn: auth.authenticate(conn, keys=keys, token=token, now=now))
    if found is None:
        raise LoginRequired
    language.choose(request.state, locale=found.principal.locale, timezone=found.principal.timezone)
    await app.note_use(found, security.origin_of(request, app.settings))
    return found


PageCredential = Annotated[auth.Authenticated, Depends(page_credential)]


async def page_user(credential: PageCredential) -> Principal:
    """The user signed in by the session cookie."""
    return credential.principal


PageUser = Annotated[Principal, Depends(page_user)]


def require_staff(user: Principal) -> None:
    """Agents and admins only."""
    if not user.is_staff:
        raise Forbidden("agents and admins only")


PAGE_SIZE = 100  # tickets per page of a ticket list (queue, my tickets)


def pages(request: Request, next_cursor: str | None) -> dict[str, str | None]:
    """Links from a paged list (filters kept): to the next page unless this is the last, to the first
    unless this is it."""

    def link(url: URL) -> str:
        return f"{url.path}?{url.query}" if url.query else url.path

    return {
        "next": link(request.url.include_query_params(cursor=next_cursor)) if next_cursor else None,
        "first": link(request.url.remove_query_params("cursor")) if "cursor" in request.query_params else None,
    }


def head_event_id(conn: Connection) -> str | None:
    """The newest event's id: a page rendered now follows the live stream from there."""
    records, _ = event_log.find_many(conn, event_log.EventFilter(), limit=1)
    return records[0].event_id if records else None


async def render(request: Request, name: str, user: Principal | None, **context: Any) -> HTMLResponse:
    """A page from `templates/name`, with the user and the live stream's starting point."""
    app = request.app
    after = await app.state.nixflow.db.read(head_event_id) if user is not None else None
    env: Environment = app.state.web_templates
    html = env.get_template(name).render(
        request=request, user=user, after=after, path=request.url.path, **_reader(request), **context
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


def translator_of(request: Request) -> i18n.Translator:
    """gettext for the request's reader (`request.state.locale`), for what a page module writes in Python."""
    return i18n.translator(request.state.locale)


def _reader(request: Request) -> dict[str, Any]:
    """The reader's language for a page: gettext and friends, and the catalogue for the page's scripts."""
    locale, zone = request.state.locale, request.state.timezone
    return {**templates.reader_context(locale, zone), "i18n_catalogue": browser_catalogue(locale, zone)}


# What a refused page means, for a reader not reading English (the error's detail is English and machine-facing:
# it follows, marked lang="en"). The scripts say the same for a refused call (static/api.js).
HEADLINES = {
    400: N_("The request was not understood."),
    401: N_("Please sign in again."),
    403: N_("You may not do this."),
    404: N_("It does not exist, or you may not see it."),
    409: N_("This clashes with a change made meanwhile."),
    413: N_("This is too large."),
    422: N_("Some values are not valid."),
    429: N_("Too many attempts: wait a moment and try again."),
}


class PageRoute(APIRoute):
    """A page route: a refused or missing resource is an HTML page with the same status, not problem+json."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_or_error(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as exc:
                env: Environment = request.app.state.web_templates
                tr = i18n.translator(_reader(request)["locale"])
                html = env.get_template("error.html").render(
                    request=request,
                    user=None,
                    after=None,
                    path=request.url.path,
                    title=tr.gettext(exc.title),
                    error=exc,
                    headline=HEADLINES.get(exc.status, N_("This could not be done.")),
                    **_reader(request),
                )
                return HTMLResponse(html, status_code=exc.status, headers={"Cache-Control": "no-store"})

        return page_or_error
