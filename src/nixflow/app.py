"""The ASGI application: `create_app(settings)` builds everything; nothing happens at import.

The composition of the floors below it: the JSON API (`api`), the web UI (`web`) and the running NixFlow
(`bootstrap`), on one FastAPI app.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from starlette.routing import BaseRoute

from nixflow.api import app as api
from nixflow.api import metrics, security
from nixflow.bootstrap import NixFlow, build, upgrade_database
from nixflow.config import Settings
from nixflow.web import site

_APP: dict[str, Any] = {"title": "NixFlow", "version": "1.0", "docs_url": "/api/docs", "redoc_url": None}


@functools.cache
def _routes() -> tuple[tuple[BaseRoute, ...], tuple[BaseRoute, ...]]:
    """The API's and the pages' routes, included once per process in an app made for that alone, and shared by
    every app `create_app` makes. FastAPI builds an included route's handler (its dependencies' and models'
    validators) on the first request that passes it, per app: about a second of CPU for NixFlow's 270 routes,
    which each new app would pay again (a test suite makes thousands). A route holds nothing of its app's: the
    running NixFlow, the settings and the middleware are each app's own. So `app.dependency_overrides` has no effect
    on these routes; NixFlow uses none."""
    template = FastAPI(**_APP)
    own = len(template.router.routes)  # its OpenAPI and docs routes: each app makes its own
    api.include_routes(template)
    pages = len(template.router.routes)
    site.include_routes(template)
    routes = template.router.routes
    return tuple(routes[own:pages]), tuple(routes[pages:])


def create_app(
    settings: Settings,
    *,
    nixflow: NixFlow | None = None,
    run_worker: bool = True,
    migrate: bool = True,
    extra_startup: list[Callable[[NixFlow], Awaitable[None]]] | None = None,
) -> FastAPI:
    """The NixFlow web app for `settings` (or an already built `nixflow`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            await anyio.to_thread.run_sync(upgrade_database, settings)
        running = nixflow or build(settings)
        app.state.nixflow = running
        await running.start(consume=run_worker, tick=run_worker)
        for hook in extra_startup or []:
            await hook(running)
        try:
            yield
        finally:
            await running.stop()

    app = FastAPI(**_APP, lifespan=lifespan)
    api_routes, page_routes = _routes()
    api.install(app, api_routes)
    site.install(app, page_routes)
    app.add_middleware(api.BodyLimit, max_bytes=settings.max_body_bytes, upload_bytes=settings.max_attachment_bytes)
    app.add_middleware(metrics.Observed, allow=settings.metrics_allow)  # times every answer, 413s included
    security.install(app, settings)  # outermost: its headers reach every response, 413s included
    return app
