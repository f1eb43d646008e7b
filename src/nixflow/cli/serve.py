"""Running NixFlow: `serve`, `worker` and `db upgrade`."""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
from contextlib import suppress
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from nixflow.cli._common import _fail, _reach_database, _settings, _trace
from nixflow.observe import logs

if TYPE_CHECKING:
    from nixflow.bootstrap import NixFlow

db_cli = typer.Typer(help="The database.", no_args_is_help=True)


SWITCH_INTERVAL_SECONDS = 0.0005


def _share_the_interpreter() -> None:
    """Hand the GIL over every 0.5 ms instead of Python's 5 ms.

    The event loop and the writer thread share one interpreter. Each gives the GIL up on every statement
    (`sqlite3` releases it while SQLite works) and on every socket call, and then waits to get it back until
    the other thread, if busy, is made to yield: up to the switch interval each time, dozens of times per
    request. A shorter interval bounds that wait; the extra switches cost far less (bench: `python -m bench`).
    """
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="API only; run `nixflow worker` elsewhere.")] = False,
    access_log: Annotated[bool, typer.Option("--access-log", help="Log every request.")] = False,
) -> None:
    """Run the API, web UI, WebSocket and (unless --no-worker) the worker, in one process."""
    import uvicorn

    from nixflow.api import redaction
    from nixflow.app import create_app

    settings = _settings()
    _share_the_interpreter()
    logs.configure(settings.log_format)
    redaction.install_on_root()  # URLs carry `?token=` or `?ticket=`: no log line may show them
    _reach_database(settings)
    _trace(settings, "nixflow-serve")
    app = create_app(settings, run_worker=not no_worker, migrate=False)
    _tune_gc()
    # No per-message compression: a live event goes to every connection, and deflating it once per
    # connection cost more than sending it (events are small JSON).
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        log_config=redaction.uvicorn_log_config(settings.log_format),
        access_log=access_log,
        ws_ping_interval=20,
        ws_per_message_deflate=False,
    )


# With thousands of WebSocket connections the process holds millions of long-lived objects: at the default
# thresholds a full collection (about a second with 5,000 connections) ran every few events and stalled the loop
# mid fan-out, and young collections took a quarter of its CPU. Collect young objects less often, full ones rarely.
GC_THRESHOLDS = (50_000, 20, 100)


def _tune_gc() -> None:
    """Fewer, larger collections; what was built at start-up is never scanned again."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def worker(
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve GET /metrics on this port (127.0.0.1 unless --metrics-host).")
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Address the metrics port listens on.")] = "127.0.0.1",
) -> None:
    """Run event consumers and periodic jobs (SLA, escalation, outbox sweep) in this process."""
    from nixflow.api import redaction
    from nixflow.bootstrap import build

    settings = _settings()
    _share_the_interpreter()
    logs.configure(settings.log_format)
    redaction.install_on_root()
    _reach_database(settings)
    _trace(settings, "nixflow-worker")

    async def run() -> None:
        app = build(settings)
        await app.start()
        try:
            if metrics_port is None:
                await _until_terminated()
            else:
                await _serve_metrics(app, metrics_host, metrics_port, settings.log_format)
        finally:
            await app.stop()

    with suppress(KeyboardInterrupt):
        asyncio.run(run())


async def _until_terminated() -> None:
    """Wait for SIGTERM or SIGINT, so the worker stops cleanly (its writes finished, its spans flushed)."""
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    await stopped.wait()


async def _serve_metrics(app: NixFlow, host: str, port: int, log_format: Literal["text", "json"]) -> None:
    """Serve the worker's `/metrics` until the process is stopped."""
    import uvicorn

    from nixflow.api import metrics, redaction

    config = uvicorn.Config(
        metrics.metrics_only(app),
        host=host,
        port=port,
        access_log=False,
        log_config=redaction.uvicorn_log_config(log_format),
        lifespan="off",  # the worker's own start and stop run around it
    )
    await uvicorn.Server(config).serve()


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations."""
    from nixflow.bootstrap import upgrade_database

    settings = _settings()
    try:
        upgrade_database(settings)
    except Exception as exc:
        raise _fail(f"migration failed: {type(exc).__name__}: {exc}".splitlines()[0]) from None
    typer.echo("database is up to date")
