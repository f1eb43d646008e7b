"""Satisfaction surveys: the signed link's survey and answer (public: the link is the credential), the ticket
page's answer (the requester only), and the results with the comments behind them (agents and admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from nixflow import crypto
from nixflow.api import security
from nixflow.api.deps import App, Ctx, CurrentUser, GuardedRoute, PathId, RoleGate, context_for, credential_of
from nixflow.api.routes.events import Time
from nixflow.api.routes.reports import CSV_RESPONSE, StaffUser, _csv, _utc
from nixflow.api.schemas import Strict
from nixflow.domain.csat import MAX_COMMENT, Rating
from nixflow.reports.drilldown import csat_comments
from nixflow.reports.satisfaction import CsatDimension, results
from nixflow.services import csat, tickets
from nixflow.services.users import Principal

router = APIRouter(prefix="/api/csat", tags=["csat"], route_class=GuardedRoute)
requesters_only = RoleGate(lambda user: not user.is_staff, "agents may not answer a survey for the requester")
Requester = Annotated[Principal, Depends(requesters_only)]
Token = Annotated[str, Field(min_length=1, max_length=200, description="The token from the survey link's fragment.")]
Comment = Annotated[str | None, Field(max_length=MAX_COMMENT)]
Format = Annotated[Literal["json", "csv"], Query()]


class SurveyToken(Strict):
    token: Token


class CsatAnswer(Strict):
    rating: Rating
    comment: Comment = None


class LinkAnswer(CsatAnswer):
    token: Token


class CsatSurvey(BaseModel):
    ticket_id: int
    title: str
    status: str
    rating: Rating | None
    comment: str | None
    answered_at: datetime | None
    changed_at: datetime | None
    changeable_until: datetime | None
    can_answer: bool


class CsatRow(BaseModel):
    key: int | str | None
    label: str
    good: int
    bad: int
    answers: int
    score: float | None = Field(description="Percent of answers that are good.")


class CsatResults(BaseModel):
    by: CsatDimension
    rows: list[CsatRow]


class CsatComment(BaseModel):
    ticket_id: int
    title: str | None
    rating: Rating
    comment: str | None
    answered_at: datetime
    changed_at: datetime | None
    assignee_id: int | None
    category_id: int | None
    organization_id: int | None
    events_url: str


class CsatComments(BaseModel):
    by: CsatDimension
    key: str | None
    label: str | None = Field(description="The row's name: the agent's, category's or organization's, else the key.")
    total: int
    items: list[CsatComment]


async def link_caller(request: Request, app: App) -> Principal | None:
    """Who follows a survey link: nobody known (the link is enough; a stale session is no reason to refuse it),
    or a signed-in user, who must be the ticket's requester (`csat.caller_may_answer`)."""
    credential = credential_of(request)
    if credential.token is None or len(credential.token) > 512:
        return None
    found = await app.authenticate(credential.token)
    return None if found is None else found.principal


@router.post("/survey", response_model=CsatSurvey, dependencies=[Depends(security.require_json)])
async def survey_by_link(body: SurveyToken, app: App) -> dict[str, Any]:
    """The survey a link names, and its answer so far (the link's confirm page shows it). 400 for a malformed,
    tampered or expired link."""
    keys, now = crypto.keyring(app.settings), app.clock()

    def read(conn: Connection) -> dict[str, Any]:
        return csat.survey(conn, csat.check_link(conn, keys, body.token, now=now), now=now)

    return await app.db.read(read)


@router.post("/answer", response_model=CsatSurvey, dependencies=[Depends(security.require_json)])
async def answer_by_link(body: LinkAnswer, request: Request, app: App) -> dict[str, Any]:
    """Answer the survey a link names (or change the answer, for 7 days after the first); emits `csat.received`.
    400 for a bad or expired link, 409 once the answer can no longer change, 403 for a signed-in other user."""
    caller = await link_caller(request, app)
    keys = crypto.keyring(app.settings)
    ticket = await app.db.read(lambda conn: csat.check_link(conn, keys, body.token, now=app.clock()))
    ctx = context_for(request, int(ticket["requester_id"]))  # the answer is the requester's, however it came
    return await app.writer.run(
        lambda tx: csat.answer_by_link(
            tx, keys=keys, token=body.token, caller=caller, rating=body.rating, comment=body.comment
        ),
        ctx,
    )


@router.get("/tickets/{ticket_id}", response_model=CsatSurvey)
async def ticket_survey(ticket_id: PathId, user: CurrentUser, app: App) -> dict[str, Any]:
    """A ticket's survey and answer (its requester, and staff; a colleague it is shared with sees no answer)."""
    now = app.clock()
    return await app.db.read(
        lambda conn: csat.survey(conn, tickets.load(conn, ticket_id=ticket_id, viewer=user), now=now, viewer=user)
    )


@router.post("/tickets/{ticket_id}", response_model=CsatSurvey)
async def answer_on_page(ticket_id: PathId, body: CsatAnswer, user: Requester, app: App, ctx: Ctx) -> dict[str, Any]:
    """The signed-in requester answers their resolved ticket's survey (409 before it is resolved or after the
    change window); emits `csat.received`. Agents and admins: 403."""
    return await app.writer.run(
        lambda tx: csat.answer_on_page(tx, actor=user, ticket_id=ticket_id, rating=body.rating, comment=body.comment),
        ctx,
    )


@router.get("/results", response_model=CsatResults, responses=CSV_RESPONSE)
async def csat_results(
    _: StaffUser, app: App, by: CsatDimension = "agent", since: Time = None, until: Time = None, format: Format = "json"
) -> Any:
    """Good and bad answers and the score per agent, category, organization or week of the first answer."""
    rows = await app.db.read(lambda conn: results(conn, by, since=_utc(since), until=_utc(until)))
    if format == "csv":
        return _csv(rows, list(CsatRow.model_fields))
    return {"by": by, "rows": rows}


@router.get("/comments", response_model=CsatComments, responses=CSV_RESPONSE)
async def csat_drilldown(
    _: StaffUser,
    app: App,
    by: CsatDimension = "agent",
    key: Annotated[str | None, Query(max_length=40, description="A row's key as the results show it; `none`.")] = None,
    since: Time = None,
    until: Time = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    format: Format = "json",
) -> Any:
    """The answers behind one row of the results, newest first, with their comments."""
    shown = "none" if key is None else key
    found = await app.db.read(
        lambda conn: csat_comments(conn, by, shown, since=_utc(since), until=_utc(until), limit=limit)
    )
    if format == "csv":
        return _csv(found["items"], list(CsatComment.model_fields))
    return found
