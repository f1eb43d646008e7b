"""Bulk actions on 1,000 tickets (200 with --quick) against a real embedded-mode server, beside the single-ticket
rate: bulk-applying a macro (a reply with the requester's name filled in, a tag, an assignee, a move to open) and
plain field changes (status, priority, a tag). The measurement is bench/bulk.py's, over HTTP with httpx from the
runner's process (a closed loop: each bulk request of 50 ids waits for its answer, as the queue page does)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from bench.bulk import DEFAULT_ACTIONS, PLANS, measure
from bench.common import server
from bench.scenarios import Ctx
from bench.tools import log

CHUNK = 50
CLIENTS = 16


def run(ctx: Ctx) -> None:
    tickets = 200 if ctx.quick else 1000
    for variant, macro in (("macro", True), ("fields", False)):
        with tempfile.TemporaryDirectory(dir=ctx.workdir) as tmp, server(Path(tmp)) as (base, headers):
            log(f"bulk: {variant} on {tickets} tickets")
            actions, rates = asyncio.run(
                measure(
                    base, headers, macro=macro, actions=DEFAULT_ACTIONS, tickets=tickets, chunk=CHUNK, clients=CLIENTS
                )
            )
        what = "a macro (reply, tag, assignee, status)" if macro else "status, priority and a tag"
        bulk, single = rates[PLANS[0]], rates[PLANS[2]]
        ctx.results.add(
            f"nf.bulk.{variant}.bulk",
            f"bulk-apply {what}, {tickets:,} tickets, {CHUNK} a request",
            "tickets/s",
            bulk,
            note=f"{bulk / single:.2f}x the single-ticket rate; actions {actions}",
            group="bulk",
        )
        ctx.results.add(
            f"nf.bulk.{variant}.single",
            "the same, one ticket a request, one at a time",
            "tickets/s",
            single,
            note=f"{CLIENTS} concurrent clients: {rates[PLANS[3]]:.0f} tickets/s",
            group="bulk",
        )
