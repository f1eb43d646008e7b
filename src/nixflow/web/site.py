"""The web UI: `install(app)` serves the pages, the static files, and sends signed-out browsers to the login page."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute

from nixflow.web import (
    admin,
    csat,
    kb,
    macros,
    mfa,
    notifications,
    pages,
    password_reset,
    reports,
    satisfaction,
    search,
    staff,
    workflows,
    workload,
)
from nixflow.web.language import ReaderLanguage
from nixflow.web.rendering import HERE, LoginRequired, make_environment


def install(app: FastAPI, routes: Sequence[BaseRoute]) -> None:
    """Serve the pages (`include_routes`, done once in another app: `nixflow.app`) and static files from `app`."""
    app.state.web_templates = make_environment()
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(ReaderLanguage)  # request.state.locale/timezone before any page code
    app.router.routes.extend(routes)

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, _exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def include_routes(app: FastAPI) -> None:
    """Include every router of the pages in `app`."""
    routers = (
        pages,
        password_reset,
        csat,
        staff,
        workload,
        reports,
        satisfaction,
        admin,
        notifications,
        kb,
        search,
        macros,
        workflows,
        mfa,
    )
    for module in routers:
        app.include_router(module.router)
