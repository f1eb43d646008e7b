"""The pages of a forgotten password: ask for a link by mail, then choose a new password with it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from nixflow.api.deps import App
from nixflow.web.rendering import PageRoute, render, translator_of

router = APIRouter(include_in_schema=False, route_class=PageRoute)


@router.get("/password-reset", response_class=HTMLResponse)
async def ask_page(request: Request, app: App, sent: Annotated[bool, Query()] = False) -> Response:
    """The form asking for a reset link; after sending, what happens next."""
    settings = app.settings
    return await render(
        request,
        "password_reset.html",
        None,
        sent=sent,
        minutes=settings.password_reset_minutes,
        mail_on=settings.smtp_url is not None,
        title=translator_of(request).gettext("Forgot your password?"),
    )


@router.get("/password-reset/confirm", response_class=HTMLResponse)
async def confirm_page(request: Request) -> Response:
    """The form choosing a new password. The link's token is in the URL's fragment, which never reaches a server:
    the page's script reads it, takes it out of the address bar and sends it with the new password."""
    return await render(
        request, "password_reset_confirm.html", None, title=translator_of(request).gettext("Choose a new password")
    )
