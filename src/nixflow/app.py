"""The ASGI application: `create_app(settings)` builds everything; nothing happens at import.

The composition of the floors below it: the JSON API (`api`), the web UI (`web`) and the running NixFlow
(`bootstrap`), on one FastAPI app.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from nixflow.api import app as api
from nixflow.api import metrics, security
from nixflow.bootstrap import NixFlow, build, upgrade_database
from nixflow.config import Settings
from nixflow.web import site


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

    app = FastAPI(title="NixFlow", version="1.0", lifespan=lifespan, docs_url="/api/docs", redoc_url=None)
    api.install(app)
    site.install(app)
    app.add_middleware(api.BodyLimit, max_bytes=settings.max_body_bytes, upload_bytes=settings.max_attachment_bytes)
    app.add_middleware(metrics.Observed, allow=settings.metrics_allow)  # times every answer, 413s included
    security.install(app, settings)  # outermost: its headers reach every response, 413s included
    return app
