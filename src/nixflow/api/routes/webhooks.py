"""Webhook subscriptions (admin): create, list, read, change, delete, rotate the secret, deliveries, replay."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import pydantic
from annotated_types import Interval
from fastapi import APIRouter, Body, Depends, Query, Response
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, StringConstraints, WithJsonSchema

from nixflow import crypto
from nixflow.api.deps import App, Ctx, GuardedRoute, PathId, admin_only
from nixflow.api.schemas import Rfc3339, Strict
from nixflow.domain.errors import NotFound, ValidationFailed
from nixflow.domain.json_types import Id, integral
from nixflow.outbound import targets
from nixflow.store import event_log
from nixflow.webhooks import deliveries, subscriptions
from nixflow.webhooks.model import event_type_filters

router = APIRouter(
    prefix="/api/webhooks", tags=["webhooks"], route_class=GuardedRoute, dependencies=[Depends(admin_only)]
)

Url = Annotated[str, StringConstraints(strict=True, min_length=10, max_length=2000, pattern=targets.URL_PATTERN)]
FILTERS = frozenset(event_type_filters())


def _known_filter(value: str) -> str:
    if value not in FILTERS:
        raise ValueError("not an event type, '<category>.*' or '*' (GET /api/events/types lists the types)")
    return value


EventTypeFilter = Annotated[
    str,
    StringConstraints(strict=True),
    AfterValidator(_known_filter),
    WithJsonSchema({"type": "string", "enum": event_type_filters()}),
]
EventTypes = Annotated[list[EventTypeFilter], Field(min_length=1, max_length=100)]
Description = Annotated[str, StringConstraints(strict=True, max_length=500)]
Mode = Literal["active", "paused", "shadow"]


class WebhookCreate(Strict):
    url: Url
    event_types: EventTypes
    category_id: Id | None = None
    mode: Mode = "active"
    description: Description = ""


class WebhookUpdate(Strict):
    url: Url | None = None
    event_types: EventTypes | None = None
    category_id: Id | None = None  # null: every category
    mode: Mode | None = None
    description: Description | None = None


class WebhookRead(BaseModel):
    id: int
    url: str
    event_types: list[str]
    category_id: int | None
    mode: Mode
    description: str
    # Set while the subscription is paused because its receiver answered 410 or kept failing for 24 h.
    disabled_at: datetime | None
    disabled_reason: str | None
    failing_since: datetime | None
    previous_secret_until: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookRead):
    secret: str  # shown here and on rotation only


# Bounds before the BeforeValidator, so the schema says `minimum`/`maximum` (see domain/json_types.py).
OverlapHours = Annotated[int, pydantic.Strict(), Interval(ge=0, le=168), BeforeValidator(integral)]


class RotateRequest(Strict):
    overlap_hours: OverlapHours = 24


class SecretRotated(BaseModel):
    secret: str
    previous_valid_until: datetime | None


class DeliveryRead(BaseModel):
    id: int
    event_id: str
    event_type: str
    status: Literal["pending", "succeeded", "failed", "retrying"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    shadow: bool
    created_at: datetime


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    next_cursor: str | None


class AttemptRead(BaseModel):
    id: int
    at: datetime
    status_code: int | None
    latency_ms: int | None
    response_excerpt: str | None
    error: str | None


class DeliveryDetail(DeliveryRead):
    history: list[AttemptRead]


Position = Id | Annotated[str, StringConstraints(strict=True, pattern=event_log.CURSOR_PATTERN)]


class ReplayAfter(Strict):
    """Every wanted event after a log position (an event's `seq`)."""

    after: Position


class ReplaySince(Strict):
    """Every wanted event from a time on."""

    since: Rfc3339


class ReplayEvent(Strict):
    """One event (one delivery)."""

    event_id: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=36)]


ReplayRequest = ReplayAfter | ReplaySince | ReplayEvent


class ReplayScheduled(BaseModel):
    scheduled: int


async def _checked_url(app: App, url: str) -> str:
    return await targets.validate(url, allow_private=app.settings.webhook_allow_private)


@router.post("", response_model=WebhookCreated, status_code=201)
async def create_webhook(body: WebhookCreate, app: App, ctx: Ctx) -> WebhookCreated:
    """Subscribe a URL to events; the answer carries the signing secret, the only time it is shown."""
    url = await _checked_url(app, body.url)
    keys = crypto.keyring(app.settings)
    created = await app.writer.run(
        lambda tx: subscriptions.create(
            tx,
            keys=keys,
            url=url,
            event_types=body.event_types,
            category_id=body.category_id,
            mode=body.mode,
            description=body.description,
        ),
        ctx,
    )
    return WebhookCreated(**created)


@router.get("", response_model=list[WebhookRead])
async def list_webhooks(app: App) -> list[WebhookRead]:
    """Every subscription (never a secret)."""
    return [WebhookRead(**w) for w in await app.db.read(subscriptions.list_all)]


@router.get("/{webhook_id}", response_model=WebhookRead)
async def get_webhook(webhook_id: PathId, app: App) -> WebhookRead:
    """One subscription."""
    return WebhookRead(**await app.db.read(lambda conn: subscriptions.get(conn, webhook_id=webhook_id)))


@router.patch("/{webhook_id}", response_model=WebhookRead)
async def update_webhook(webhook_id: PathId, body: WebhookUpdate, app: App, ctx: Ctx) -> WebhookRead:
    """Change some fields; `mode: active` resumes a subscription that was paused or disabled."""
    changes: dict[str, Any] = {
        k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None or k == "category_id"
    }
    if "url" in changes:
        await _checked_url(app, changes["url"])
    updated = await app.writer.run(lambda tx: subscriptions.update_one(tx, webhook_id=webhook_id, changes=changes), ctx)
    return WebhookRead(**updated)


@router.delete("/{webhook_id}", status_code=204)
async def delete_webhook(webhook_id: PathId, app: App, ctx: Ctx) -> Response:
    """Delete a subscription, its deliveries and their attempts."""
    await app.writer.run(lambda tx: subscriptions.delete(tx, webhook_id=webhook_id), ctx)
    return Response(status_code=204)


@router.post("/{webhook_id}/rotate-secret", response_model=SecretRotated)
async def rotate_secret(
    webhook_id: PathId, app: App, ctx: Ctx, body: Annotated[RotateRequest | None, Body()] = None
) -> SecretRotated:
    """A new signing secret, shown this once; the old one also signs for `overlap_hours` (default 24)."""
    overlap = timedelta(hours=(body or RotateRequest()).overlap_hours)
    keys = crypto.keyring(app.settings)
    rotated = await app.writer.run(
        lambda tx: subscriptions.rotate(tx, keys=keys, webhook_id=webhook_id, overlap=overlap), ctx
    )
    return SecretRotated(**rotated)


@router.get("/{webhook_id}/deliveries", response_model=DeliveryPage)
async def list_deliveries(
    webhook_id: PathId,
    app: App,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(pattern=event_log.CURSOR_PATTERN)] = None,
) -> DeliveryPage:
    """The subscription's deliveries, newest first."""

    def read(conn: Any) -> tuple[list[dict[str, Any]], str | None]:
        subscriptions.get(conn, webhook_id=webhook_id)
        return deliveries.page(conn, webhook_id=webhook_id, limit=limit, cursor=cursor)

    items, next_cursor = await app.db.read(read)
    return DeliveryPage(items=[DeliveryRead(**i) for i in items], next_cursor=next_cursor)


@router.get("/{webhook_id}/deliveries/{delivery_id}", response_model=DeliveryDetail)
async def get_delivery(webhook_id: PathId, delivery_id: PathId, app: App) -> DeliveryDetail:
    """One delivery with every attempt made: time, status code, latency, response excerpt, error."""

    def read(conn: Any) -> dict[str, Any]:
        found = deliveries.one(conn, webhook_id=webhook_id, delivery_id=delivery_id)
        if found is None:
            raise NotFound(f"delivery {delivery_id} of webhook {webhook_id} not found")
        return {**found, "history": deliveries.attempts_of(conn, delivery_id=delivery_id)}

    return DeliveryDetail(**await app.db.read(read))


@router.post("/{webhook_id}/replay", response_model=ReplayScheduled, status_code=202)
async def replay(webhook_id: PathId, body: ReplayRequest, app: App, ctx: Ctx) -> ReplayScheduled:
    """Deliver again, with the same webhook-id: one event (`event_id`), or every event the subscription wants
    after a log position (`after`, an event's `seq`) or from a time (`since`)."""
    after = int(body.after) if isinstance(body, ReplayAfter) else None
    since = body.since if isinstance(body, ReplaySince) else None
    event_id = body.event_id if isinstance(body, ReplayEvent) else None
    if since is not None and since.tzinfo is None:
        raise ValidationFailed("since needs a time zone (RFC 3339, e.g. 2026-01-01T00:00:00Z)")
    scheduled = await app.writer.run(
        lambda tx: subscriptions.replay(tx, webhook_id=webhook_id, after=after, since=since, event_id=event_id), ctx
    )
    return ReplayScheduled(scheduled=scheduled)
