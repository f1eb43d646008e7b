"""A workflow run on a ticket: start it, decide its steps, let a deadline pass, apply the outcome.

One run at a time per ticket, in `workflow_runs` (not ticket state: the run keeps its own row, and its events are
about the ticket, so they sit on its timeline). Each step's approvers are resolved when it begins and kept on the
run, so who may decide never moves under a step. Every decision is `workflow.decided` ("X for Y" when a delegate
stood in); a decided step is `workflow.step_completed` or ends the run (`workflow.approved` / `rejected`), whose
outcome (status, assignee, macro) is applied in the same unit of work by the automation user.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, update

from nixflow.domain.errors import Conflict, Forbidden, InvalidTransition, NotFound
from nixflow.domain.tickets import Status, check_transition
from nixflow.domain.workflows import Decision, step_outcome
from nixflow.services import macros, tickets
from nixflow.services.users import SYSTEM, Principal
from nixflow.store import config_cache
from nixflow.store import workflows as rows
from nixflow.store.db import Tx, insert_returning_id
from nixflow.store.tables import workflow_runs

VIAS = ("page", "api", "mail")


def approvers_of(conn: Connection, step: dict[str, Any], ticket: dict[str, Any]) -> list[int]:
    """Who decides `step` on `ticket` now; nobody found: the active admins (a step nobody can decide would
    hold the ticket for ever)."""
    spec = step["approvers"]
    found: list[int] = []
    if spec["kind"] == "users":
        found = rows.active_users(conn, spec["user_ids"])
    elif spec["kind"] == "role":
        found = rows.users_with_role(conn, spec["role"])
    elif spec["kind"] == "team":
        found = rows.team(conn, spec["category_id"])
    else:  # the requester's manager: a user field holding a user id (number) or an email (text)
        value = rows.user_fields(conn, int(ticket["requester_id"])).get(spec["field"])
        manager = rows.user_by_email(conn, value) if isinstance(value, str) else value
        found = rows.active_users(conn, [int(manager)]) if isinstance(manager, int | float) else []
    return found or rows.users_with_role(conn, "admin")


def _begin_step(tx: Tx, run: dict[str, Any], ticket: dict[str, Any], index: int) -> dict[str, Any]:
    """The run's columns for step `index` and the data its event announces it with."""
    step = run["definition"]["steps"][index]
    approvers = approvers_of(tx.conn, step, ticket)
    hours = step.get("deadline_hours")
    due = None if hours is None else tx.now + timedelta(hours=hours)
    columns = {"step": index, "approver_ids": approvers, "step_due_at": due}
    delegates = sorted(set(rows.standing_in(tx.conn, approvers, tx.now).values()))
    data = {"step": index, "step_name": step["name"], "approver_ids": approvers, "delegate_ids": delegates}
    return columns | {"_event": data | {"due_at": due}}


def _emit(tx: Tx, event_type: str, run: dict[str, Any], data: dict[str, Any]) -> None:
    base = {"ticket_id": run["ticket_id"], "run_id": run["id"], "name": run["name"], "step": run["step"]}
    tx.emit(event_type, aggregate_type="ticket", aggregate_id=run["ticket_id"], data=base | data)


def _store(tx: Tx, run: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    tx.conn.execute(update(workflow_runs).where(workflow_runs.c.id == run["id"]).values(values))
    return run | values


def start(tx: Tx, *, actor: Principal, ticket_id: int, workflow_id: int) -> dict[str, Any]:
    """Start a workflow on a ticket: `workflow.started`, its first step's approvers told. 409 while another runs,
    for an inactive workflow or a closed ticket; 404 for a workflow or ticket that is not there."""
    ticket = tickets.current(tx, ticket_id=ticket_id, viewer=actor)
    definition = rows.definition(tx.conn, workflow_id)
    if definition is None:
        raise NotFound(f"workflow {workflow_id} not found")
    if not definition["active"]:
        raise Conflict(f"workflow {definition['name']!r} is not active")
    if ticket["status"] == Status.CLOSED.value:
        raise Conflict(f"ticket {ticket_id} is closed")
    running = rows.run_of(tx.conn, ticket_id)
    if running is not None and running["status"] == "running":
        raise Conflict(f"ticket {ticket_id} already runs workflow {running['name']!r}")
    kept = {k: definition[k] for k in ("steps", "on_approved", "on_rejected")}
    values: dict[str, Any] = {"ticket_id": ticket_id, "workflow_id": workflow_id, "name": definition["name"]}
    values |= {"definition": kept, "status": "running", "step": 0, "approver_ids": [], "decisions": []}
    values |= {"started_at": tx.now}
    run = values | {"id": insert_returning_id(tx.conn, workflow_runs.insert(), values)}
    begun = _begin_step(tx, run, ticket, 0)
    event = begun.pop("_event")
    run = _store(tx, run, begun)
    _emit(tx, "workflow.started", run, event | {"by_id": actor.id})
    stored = rows.run_by_id(tx.conn, run["id"])
    assert stored is not None
    return stored


def start_unless_running(tx: Tx, *, actor: Principal, ticket_id: int, workflow_id: int) -> None:
    """Start a workflow unless the ticket runs one already, or it is inactive or gone (a rule action and a
    category's workflow: a ticket they meet again starts nothing twice)."""
    running = rows.run_of(tx.conn, ticket_id)
    definition = rows.definition(tx.conn, workflow_id)
    if (running is None or running["status"] != "running") and definition is not None and definition["active"]:
        start(tx, actor=actor, ticket_id=ticket_id, workflow_id=workflow_id)


def start_for_category(tx: Tx, *, ticket_id: int) -> None:
    """Start the workflow the ticket's category names, if any (on `ticket.created`)."""
    category_id = tickets.current(tx, ticket_id=ticket_id)["category_id"]
    started = config_cache.cached(tx, "category_workflows", ("categories",), rows.started_by_categories)
    workflow_id = None if category_id is None else started.get(int(category_id))
    if workflow_id is not None:
        start_unless_running(tx, actor=SYSTEM, ticket_id=ticket_id, workflow_id=int(workflow_id))


def state(conn: Connection, *, viewer: Principal, ticket_id: int) -> dict[str, Any]:
    """The ticket's newest run and its decisions, for staff and for the people it asks; 404 to anyone else
    (and when the ticket never ran one)."""
    run = rows.run_of(conn, ticket_id)
    asked = run is not None and (viewer.id in run["approver_ids"] or viewer.id in _delegates(conn, run))
    if not viewer.is_staff and not asked:
        tickets.load(conn, ticket_id=ticket_id, viewer=viewer)  # 404 when the viewer may not see the ticket
        raise NotFound(f"ticket {ticket_id} has no workflow you take part in")
    if run is None:
        raise NotFound(f"ticket {ticket_id} has no workflow")
    return described(conn, run, viewer=viewer)


def _delegates(conn: Connection, run: dict[str, Any]) -> list[int]:
    return list(rows.standing_in(conn, run["approver_ids"], datetime.now(UTC)).values())


def described(conn: Connection, run: dict[str, Any], *, viewer: Principal) -> dict[str, Any]:
    """The API form of a run: its steps with their state, and what `viewer` may do now."""
    steps = run["definition"]["steps"]
    decisions = list(run["decisions"])
    out_steps = []
    for i, step in enumerate(steps):
        if i < run["step"] or (i == run["step"] and run["status"] == "approved"):
            status = "approved"
        elif i == run["step"]:
            status = "pending" if run["status"] == "running" else run["status"]
        else:
            status = "waiting" if run["status"] == "running" else "skipped"
        out_steps.append(
            {
                "name": step["name"],
                "rule": step["rule"],
                "required": step.get("required"),
                "status": status,
                "approver_ids": run["approver_ids"] if i == run["step"] else [],
                "due_at": run["step_due_at"] if i == run["step"] and run["status"] == "running" else None,
            }
        )
    may_decide = run["status"] == "running" and _for_whom(conn, run, viewer) is not None
    return {
        "run_id": run["id"],
        "ticket_id": run["ticket_id"],
        "workflow_id": run["workflow_id"],
        "name": run["name"],
        "status": run["status"],
        "current_step": run["step"],
        "steps": out_steps,
        "decisions": decisions,
        "started_at": run["started_at"],
        "finished_at": run["finished_at"],
        "may_decide": may_decide,
    }


def _undecided(run: dict[str, Any]) -> list[int]:
    decided = {d["for_id"] for d in run["decisions"] if d["step"] == run["step"]}
    return [a for a in run["approver_ids"] if a not in decided]


def _for_whom(conn: Connection, run: dict[str, Any], actor: Principal, now: datetime | None = None) -> int | None:
    """Whom `actor` decides for on the run's current step: themself, or an away approver who named them."""
    open_ = _undecided(run)
    if actor.id in open_:
        return actor.id
    at = now or datetime.now(UTC)
    for approver, delegate in sorted(rows.standing_in(conn, open_, at).items()):
        if delegate == actor.id:
            return approver
    return None


def decide(
    tx: Tx, *, actor: Principal, ticket_id: int, approve: bool, reason: str | None, via: str, step: int | None = None
) -> dict[str, Any]:
    """Record `actor`'s decision on the current step (`step`, when given, must still be it): `workflow.decided`,
    then the step's or the run's end if it decided it. 403 for someone the step does not ask (or who stands in for
    nobody now), 409 for a second decision, a finished run, or a step that moved on."""
    run = rows.run_of(tx.conn, ticket_id, for_update=True)
    if run is None:
        raise NotFound(f"ticket {ticket_id} has no workflow")  # the same answer as for a ticket one may not see
    if run["status"] != "running" or (step is not None and step != run["step"]):
        raise Conflict(f"this decision is no longer open: the workflow is {run['status']}, at step {run['step'] + 1}")
    for_id = _for_whom(tx.conn, run, actor, tx.now)
    if for_id is None:
        if actor.id in run["approver_ids"]:
            raise Conflict("you decided this step already")
        if not actor.is_staff:
            tickets.load(tx.conn, ticket_id=ticket_id, viewer=actor)  # 404 for a ticket they may not see
        raise Forbidden("you are not an approver of this step, nor standing in for one")
    reason = (reason or "").strip()[:1000] or None
    decision = {"step": run["step"], "by_id": actor.id, "for_id": for_id, "approve": approve, "reason": reason}
    decision |= {"via": via, "at": tx.now.isoformat()}
    run = _store(tx, run, {"decisions": [*run["decisions"], decision]})
    _emit(tx, "workflow.decided", run, {k: decision[k] for k in ("by_id", "for_id", "approve", "reason", "via")})
    mine = [Decision(d["for_id"], d["approve"]) for d in run["decisions"] if d["step"] == run["step"]]
    outcome = step_outcome(run["definition"]["steps"][run["step"]], run["approver_ids"], mine)
    if outcome == "approved":
        _advance(tx, run, by_id=actor.id)
    elif outcome == "rejected":
        _finish(tx, run, "rejected", by_id=actor.id, reason=reason)
    found = rows.run_by_id(tx.conn, run["id"])
    assert found is not None
    return described(tx.conn, found, viewer=actor)


def _advance(tx: Tx, run: dict[str, Any], *, by_id: int) -> None:
    if run["step"] + 1 >= len(run["definition"]["steps"]):
        _finish(tx, run, "approved", by_id=by_id, reason=None)
        return
    ticket = tickets.current(tx, ticket_id=run["ticket_id"])
    begun = _begin_step(tx, run, ticket, run["step"] + 1)
    event = begun.pop("_event")
    run = _store(tx, run, begun)
    _emit(tx, "workflow.step_completed", run, event | {"by_id": by_id})


def _finish(tx: Tx, run: dict[str, Any], status: str, *, by_id: int | None, reason: str | None) -> None:
    """End the run and apply its outcome (`approved`, or `rejected`/`expired`: the rejection outcome). A status
    the ticket cannot move to from where it is now is left out (the event says so) rather than undo the decision."""
    run = _store(tx, run, {"status": status, "finished_at": tx.now, "step_due_at": None})
    outcome = run["definition"]["on_approved" if status == "approved" else "on_rejected"]
    ticket_id = int(run["ticket_id"])
    wanted = outcome.get("status")
    was = Status(tickets.current(tx, ticket_id=ticket_id)["status"])
    unapplied = None
    if wanted is not None and wanted != was.value:
        try:
            check_transition(was, Status(wanted))
        except InvalidTransition as refused:
            unapplied, wanted = refused.detail, None
    event = "workflow.approved" if status == "approved" else "workflow.rejected"
    _emit(tx, event, run, {"by_id": by_id, "reason": reason, "unapplied": unapplied})
    if "assignee_id" in outcome:
        changes = {"assignee_id": outcome["assignee_id"]}
        tickets.update_fields(tx, actor=SYSTEM, ticket_id=ticket_id, version=None, changes=changes)
    if "macro_id" in outcome:
        macros.apply_macro(tx, actor=SYSTEM, ticket_id=ticket_id, macro_id=outcome["macro_id"], source="api")
    if wanted is not None and tickets.current(tx, ticket_id=ticket_id)["status"] != wanted:
        tickets.transition(tx, actor=SYSTEM, ticket_id=ticket_id, status=Status(wanted))


def expire(tx: Tx, *, run_id: int) -> bool:
    """The current step's deadline passed (`tx.now`): `workflow.expired`, then the step is escalated to its
    `escalate_to` people (who join its approvers; the deadline is not renewed) or, with nobody to escalate to,
    the run ends rejected. False when the run moved on meanwhile (nothing done)."""
    run = rows.run_by_id(tx.conn, run_id, for_update=True)
    if run is None or run["status"] != "running" or run["step_due_at"] is None or run["step_due_at"] > tx.now:
        return False
    step = run["definition"]["steps"][run["step"]]
    extra = [u for u in rows.active_users(tx.conn, step.get("escalate_to", [])) if u not in run["approver_ids"]]
    _emit(tx, "workflow.expired", run, {"escalated_to": extra})
    if not extra:
        _finish(tx, run, "expired", by_id=None, reason="the step's deadline passed")
        return True
    _store(tx, run, {"approver_ids": [*run["approver_ids"], *extra], "step_due_at": None})
    return True
