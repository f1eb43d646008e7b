"""Approval workflows: definitions (admins), a ticket's workflow (state, start, decisions), delegation while away,
and the signed link of the approval mail (public: the token is the credential)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, BeforeValidator, Field, StrictBool, StringConstraints

from nixflow import crypto
from nixflow.api import security
from nixflow.api.deps import AdminUser, App, Ctx, CurrentUser, GuardedRoute, PathId, StaffUser
from nixflow.api.schemas import Instant, Strict
from nixflow.domain.envelope import EventContext
from nixflow.domain.json_types import MAX_ID, integral
from nixflow.ids import uuid7
from nixflow.services import ticket_workflow, workflow_links, workflows

router = APIRouter(prefix="/api/workflows", tags=["workflows"], route_class=GuardedRoute)
tickets_router = APIRouter(prefix="/api/tickets", tags=["workflows"], route_class=GuardedRoute)
delegation_router = APIRouter(prefix="/api/workflow-delegation", tags=["workflows"], route_class=GuardedRoute)
links_router = APIRouter(prefix="/api/workflow-links", tags=["workflows"], route_class=GuardedRoute)

Reason = Annotated[str, StringConstraints(strict=True, max_length=1000)]
Name = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=100, pattern=r"\S")]
# JSON integers (2 or 2.0), never `true`: lax pydantic would read a boolean as 1.
UserId = Annotated[int, Field(strict=True, ge=1, le=MAX_ID), BeforeValidator(integral)]
Approvals = Annotated[int, Field(strict=True, ge=1, le=50), BeforeValidator(integral)]
StepIndex = Annotated[int, Field(strict=True, ge=0, le=1000), BeforeValidator(integral)]
Days = Annotated[int, Field(strict=True, ge=1, le=366), BeforeValidator(integral)]
Hours = Annotated[float, Field(strict=True, gt=0, le=24 * 365)]


class Approvers(Strict):
    """Who decides a step: `users` (`user_ids`), a `role` (admin, agent, approver), the requester's `manager`
    (the user custom field `field` holding their id or email), or a category's `team` (`category_id`)."""

    kind: Literal["users", "role", "manager", "team"]
    user_ids: list[UserId] | None = Field(default=None, max_length=50)
    role: Literal["admin", "agent", "approver"] | None = None
    field: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=40)] | None = None
    category_id: UserId | None = None


class Step(Strict):
    name: Name
    approvers: Approvers
    rule: Literal["all", "any", "n_of_m"] = "all"
    required: Approvals | None = None  # n of `n_of_m`
    deadline_hours: Hours | None = None
    escalate_to: list[UserId] = Field(default=[], max_length=50)  # join the step at its deadline; none: it ends


class Outcome(Strict):
    status: Literal["open", "pending", "resolved", "closed"] | None = None
    assignee_id: UserId | None = None
    macro_id: UserId | None = None


class WorkflowWrite(Strict):
    name: Name
    steps: list[Step] = Field(min_length=1, max_length=10)
    on_approved: Outcome = Outcome()
    on_rejected: Outcome = Outcome()
    active: StrictBool = True


class WorkflowRead(BaseModel):
    id: int
    name: str
    active: bool
    steps: list[dict[str, Any]]
    on_approved: dict[str, Any]
    on_rejected: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class CategoryWorkflow(Strict):
    workflow_id: UserId | None  # none: the category's new tickets start no workflow


class StartWorkflow(Strict):
    workflow_id: UserId


class WorkflowDecision(Strict):
    approve: StrictBool
    reason: Reason | None = None
    step: StepIndex | None = None  # the step decided; refused (409) if it is no longer the current one


class RunRead(BaseModel):
    run_id: int
    ticket_id: int
    workflow_id: int
    name: str
    status: Literal["running", "approved", "rejected", "expired"]
    current_step: int
    steps: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    started_at: datetime
    finished_at: datetime | None
    may_decide: bool


class Delegation(Strict):
    """Who decides for you, from `starts_at` for `days` days."""

    delegate_id: UserId
    starts_at: Instant
    days: Days


class DelegationRead(BaseModel):
    user_id: int
    delegate_id: int
    starts_at: datetime
    ends_at: datetime


class LinkToken(Strict):
    token: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=1000)]


class LinkDecision(LinkToken):
    approve: StrictBool
    reason: Reason | None = None


class LinkPreview(BaseModel):
    ticket_id: int
    ticket_title: str
    workflow: str
    step: int
    step_name: str
    approver_name: str


def _body(write: WorkflowWrite) -> dict[str, Any]:
    return write.model_dump(exclude_none=True)


@router.get("", response_model=list[WorkflowRead])
async def list_workflows(user: AdminUser, app: App) -> list[dict[str, Any]]:
    """Every approval workflow definition (admins)."""
    return await app.db.read(lambda conn: workflows.listing(conn, viewer=user))


@router.post("", response_model=WorkflowRead, status_code=201)
async def create_workflow(body: WorkflowWrite, user: AdminUser, app: App, ctx: Ctx) -> dict[str, Any]:
    """Define a workflow (admins). 422 naming what is wrong (a step without approvers, N of M beyond M, an unknown
    user, category, macro or user field), 409 for a taken name; nothing stored then."""
    return await app.writer.run(lambda tx: workflows.create(tx, actor=user, body=_body(body)), ctx)


@router.get("/{workflow_id}", response_model=WorkflowRead)
async def get_workflow(workflow_id: PathId, user: AdminUser, app: App) -> dict[str, Any]:
    """One definition (admins)."""
    return await app.db.read(lambda conn: workflows.get(conn, viewer=user, workflow_id=workflow_id))


@router.put("/{workflow_id}", response_model=WorkflowRead)
async def replace_workflow(
    workflow_id: PathId, body: WorkflowWrite, user: AdminUser, app: App, ctx: Ctx
) -> dict[str, Any]:
    """Replace a definition whole (admins); running workflows keep the one they started with."""
    return await app.writer.run(
        lambda tx: workflows.replace(tx, actor=user, workflow_id=workflow_id, body=_body(body)), ctx
    )


@router.delete("/{workflow_id}", status_code=204)
async def delete_workflow(workflow_id: PathId, user: AdminUser, app: App, ctx: Ctx) -> Response:
    """Delete a definition (admins); running workflows run on, categories starting it start none."""
    await app.writer.run(lambda tx: workflows.remove(tx, actor=user, workflow_id=workflow_id), ctx)
    return Response(status_code=204)


@router.put("/categories/{category_id}", status_code=204)
async def set_category_workflow(
    category_id: PathId, body: CategoryWorkflow, user: AdminUser, app: App, ctx: Ctx
) -> Response:
    """Make every new ticket of a category start a workflow, or none (admins)."""
    await app.writer.run(
        lambda tx: workflows.set_category_workflow(
            tx, actor=user, category_id=category_id, workflow_id=body.workflow_id
        ),
        ctx,
    )
    return Response(status_code=204)


@tickets_router.get("/{ticket_id}/workflow", response_model=RunRead)
async def ticket_workflow_state(ticket_id: PathId, user: CurrentUser, app: App) -> dict[str, Any]:
    """The ticket's workflow: its steps, decisions and whether you may decide now (staff and the people it asks)."""
    return await app.db.read(lambda conn: ticket_workflow.state(conn, viewer=user, ticket_id=ticket_id))


@tickets_router.post("/{ticket_id}/workflow", response_model=RunRead)
async def decide_workflow_step(
    ticket_id: PathId, body: WorkflowDecision, user: CurrentUser, app: App, ctx: Ctx
) -> dict[str, Any]:
    """Approve or reject the current step, for yourself or for the approver you stand in for. 403 when the step
    does not ask you; 409 for a second decision, a finished workflow or a `step` that is no longer current."""
    return await app.writer.run(
        lambda tx: ticket_workflow.decide(
            tx, actor=user, ticket_id=ticket_id, approve=body.approve, reason=body.reason, via="api", step=body.step
        ),
        ctx,
    )


@tickets_router.post("/{ticket_id}/workflow/start", response_model=RunRead, status_code=201)
async def start_ticket_workflow(
    ticket_id: PathId, body: StartWorkflow, user: StaffUser, app: App, ctx: Ctx
) -> dict[str, Any]:
    """Start a workflow on the ticket (staff); 409 while another runs on it."""

    def start(tx: Any) -> dict[str, Any]:
        run = ticket_workflow.start(tx, actor=user, ticket_id=ticket_id, workflow_id=body.workflow_id)
        return ticket_workflow.described(tx.conn, run, viewer=user)

    return await app.writer.run(start, ctx)


@delegation_router.get("", response_model=DelegationRead | None)
async def get_delegation(user: CurrentUser, app: App) -> dict[str, Any] | None:
    """Your delegation, if you named one (null otherwise)."""
    return await app.db.read(lambda conn: workflows.delegation_of(conn, user=user))


@delegation_router.put("", response_model=DelegationRead)
async def set_delegation(body: Delegation, user: CurrentUser, app: App, ctx: Ctx) -> dict[str, Any]:
    """Let another active user decide your approvals from `starts_at` for `days` days (replaces an earlier one);
    their decisions are recorded as theirs, for you. 404 for a user who is not there or not active, 409 for
    yourself."""
    starts = body.starts_at.astimezone(UTC)
    ends = starts + timedelta(days=body.days)
    return await app.writer.run(
        lambda tx: workflows.delegate(tx, user=user, delegate_id=body.delegate_id, starts_at=starts, ends_at=ends),
        ctx,
    )


@delegation_router.delete("", status_code=204)
async def end_delegation(user: CurrentUser, app: App, ctx: Ctx) -> Response:
    """End your delegation now; idempotent."""
    await app.writer.run(lambda tx: workflows.end_delegation(tx, user=user), ctx)
    return Response(status_code=204)


@links_router.post("/preview", response_model=LinkPreview, dependencies=[Depends(security.require_json)])
async def preview_link(body: LinkToken, app: App) -> dict[str, Any]:
    """What an approval mail's link asks (public: the signed token is the credential); 422 for an altered or
    expired token, 409 once its step is decided. Decides nothing."""
    keys, now = crypto.keyring(app.settings), datetime.now(UTC)
    return await app.db.read(lambda conn: workflow_links.preview(conn, keys=keys, token=body.token, now=now))


@links_router.post("/decide", response_model=RunRead, dependencies=[Depends(security.require_json)])
async def decide_by_link(body: LinkDecision, app: App) -> dict[str, Any]:
    """Decide as the approver the link was mailed to (public: the signed token is the credential); 422 for an
    altered or expired token, 409 for a used one."""
    keys = crypto.keyring(app.settings)
    ctx = EventContext(correlation_id=uuid7(), actor_id=None, source="api")
    return await app.writer.run(
        lambda tx: workflow_links.decide(tx, keys=keys, token=body.token, approve=body.approve, reason=body.reason),
        ctx,
    )
