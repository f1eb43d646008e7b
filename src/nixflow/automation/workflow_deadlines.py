"""The periodic job that lets approval steps' deadlines pass: escalate, or end the workflow rejected.

It reads only runs whose step is due (index on `workflow_runs.step_due_at`), each in a unit of work of its own,
"as of" the scheduler's time. `ticket_workflow.expire` re-reads the run in that unit and acts only while its step
is still due, so a second or concurrent run of the job, or a decision that came first, fires nothing twice.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime

from nixflow.domain.envelope import EventContext
from nixflow.services import ticket_workflow
from nixflow.store import workflows as rows
from nixflow.store.db import Database, Tx
from nixflow.store.tables import SYSTEM_USER_ID
from nixflow.store.writer import Writer

log = logging.getLogger(__name__)

_JOB_CTX = EventContext(correlation_id="workflow-deadlines", actor_id=SYSTEM_USER_ID, source="timers")


class WorkflowDeadlines:
    """Every due step, one unit of work each; returns how many it escalated or ended."""

    BATCH = 200

    def __init__(self, *, db: Database, writer: Writer) -> None:
        self.db = db
        self.writer = writer

    async def __call__(self, now: datetime) -> int:
        ids = await self.db.read(lambda conn: rows.due_runs(conn, now, self.BATCH))
        fired = 0
        for run_id in ids:
            try:
                fired += await self.writer.run(functools.partial(_expire, run_id=run_id, now=now), _JOB_CTX)
            except Exception:
                log.exception("workflow deadline failed for run %s", run_id)
        return fired


def _expire(tx: Tx, *, run_id: int, now: datetime) -> int:
    return int(ticket_workflow.expire(tx.at(now), run_id=run_id))
