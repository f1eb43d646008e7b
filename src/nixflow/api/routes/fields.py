"""Custom fields: admins define them; staff read every definition, requesters the fields of the new-ticket form."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from nixflow.api.deps import AdminUser, App, Ctx, CurrentUser, GuardedRoute, PathId, StaffUser
from nixflow.api.schemas import FieldKey, Strict
from nixflow.domain.fields import MAX_OPTION, MAX_OPTIONS, MAX_TEXT, Entity, FieldDefinition, FieldType
from nixflow.services import field_definitions
from nixflow.store.db import Tx

router = APIRouter(prefix="/api/fields", tags=["fields"], route_class=GuardedRoute)

TypeName = Literal["text", "number", "date", "select", "multiselect", "checkbox"]
EntityName = Literal["ticket", "user", "organization"]
Label = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=100, pattern=r"\S")]
Options = Annotated[
    list[Annotated[str, StringConstraints(strict=True, min_length=1, max_length=MAX_OPTION)]],
    Field(max_length=MAX_OPTIONS),
]
Bound = Annotated[float, Field(strict=True, ge=-1e15, le=1e15)]
Position = Annotated[int, Field(strict=True, ge=0, le=10_000)]
BOUNDS = ("minimum", "maximum", "max_length")
MaxLength = Annotated[int, Field(strict=True, ge=1, le=MAX_TEXT)]


class FieldCreate(Strict):
    """A new field. `key` never changes once made; a select needs `options`."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"key": "contract_number", "label": "Contract number", "type": "text"}]}
    )

    key: FieldKey
    label: Label
    type: TypeName
    entity: EntityName = "ticket"
    options: Options = []
    required_for_requesters: StrictBool = False
    required_for_agents: StrictBool = False
    requester_visible: StrictBool = False
    position: Position = 0
    minimum: Bound | None = None
    maximum: Bound | None = None
    max_length: MaxLength | None = None


class FieldUpdate(Strict):
    """What changes of a field (its key, type and entity never do); `archived` archives or restores it."""

    label: Label | None = None
    options: Options | None = None
    required_for_requesters: StrictBool | None = None
    required_for_agents: StrictBool | None = None
    requester_visible: StrictBool | None = None
    position: Position | None = None
    minimum: Bound | None = None
    maximum: Bound | None = None
    max_length: MaxLength | None = None
    archived: StrictBool | None = None


class FieldRead(BaseModel):
    id: int
    key: str
    label: str
    type: TypeName
    entity: EntityName
    options: list[str]
    required_for_requesters: bool
    required_for_agents: bool
    requester_visible: bool
    position: int
    minimum: float | None
    maximum: float | None
    max_length: int | None
    archived: bool
    archived_at: datetime | None
    created_at: datetime
    schema_: dict[str, Any] = Field(
        alias="schema", serialization_alias="schema", description="The JSON Schema its values are checked against."
    )


def _read(row: dict[str, Any]) -> FieldRead:
    return FieldRead.model_validate(field_definitions.described(row))


@router.get("", response_model=list[FieldRead], response_model_by_alias=True)
async def list_fields(
    user: CurrentUser,
    app: App,
    entity: EntityName | None = None,
    archived: Annotated[bool, Query(description="Staff: archived fields too.")] = False,
) -> list[FieldRead]:
    """The fields in their order: staff every one (of `entity`), requesters the requester-visible ticket fields."""
    rows = await app.db.read(
        lambda conn: field_definitions.listed(
            conn, viewer=user, entity=Entity(entity) if entity else None, archived=archived
        )
    )
    return [_read(r) for r in rows]


@router.post("", response_model=FieldRead, status_code=201, response_model_by_alias=True)
async def create_field(body: FieldCreate, user: AdminUser, app: App, ctx: Ctx) -> FieldRead:
    """Define a field (admins); 409 when its entity has that key already (archived fields keep theirs)."""
    values = body.model_dump()

    def create(tx: Tx) -> dict[str, Any]:
        definition = FieldDefinition(
            **{**values, "type": FieldType(values["type"]), "entity": Entity(values["entity"])},
        )
        return field_definitions.create(tx, actor=user, definition=definition)

    return _read(await app.writer.run(create, ctx))


@router.get("/{field_id}", response_model=FieldRead, response_model_by_alias=True)
async def get_field(field_id: PathId, user: StaffUser, app: App) -> FieldRead:
    """One field's definition (staff)."""
    return _read(await app.db.read(lambda conn: field_definitions.found(conn, field_id)))


@router.patch("/{field_id}", response_model=FieldRead, response_model_by_alias=True)
async def update_field(field_id: PathId, body: FieldUpdate, user: AdminUser, app: App, ctx: Ctx) -> FieldRead:
    """Change a field (admins). Stored values stay as they were, even one the new definition would refuse."""
    # A null clears a bound; for the rest it means "unchanged".
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None or k in BOUNDS}
    return _read(
        await app.writer.run(
            lambda tx: field_definitions.update(tx, actor=user, field_id=field_id, changes=changes), ctx
        )
    )


@router.delete("/{field_id}", response_model=FieldRead, response_model_by_alias=True)
async def archive_field(field_id: PathId, user: AdminUser, app: App, ctx: Ctx) -> FieldRead:
    """Archive a field (admins): no longer offered or written; the values stay on the tickets and in their history,
    and its key stays taken. `PATCH` with `archived: false` restores it."""
    return _read(
        await app.writer.run(
            lambda tx: field_definitions.update(tx, actor=user, field_id=field_id, changes={"archived": True}), ctx
        )
    )
