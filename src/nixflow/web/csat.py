"""The survey link's page: it shows the ticket and the chosen rating and asks to confirm; nothing is recorded
until the person presses the button (a mail scanner that follows links answers nothing)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from nixflow.web.rendering import PageRoute, render, translator_of

router = APIRouter(include_in_schema=False, route_class=PageRoute)


@router.get("/csat", response_class=HTMLResponse)
async def survey_page(request: Request) -> Response:
    """The survey form. The link's token is in the URL's fragment, which never reaches a server: the page's script
    reads it, asks the API for the survey, and posts the answer with it."""
    return await render(request, "csat.html", None, title=translator_of(request).gettext("How did we do?"))
