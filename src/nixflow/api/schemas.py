"""Request and response bodies, named by purpose."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import UploadFile
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    computed_field,
)
from pydantic.json_schema import SkipJsonSchema, WithJsonSchema

from nixflow.domain import tags
from nixflow.domain.csat import MAX_MINUTES, MAX_NOTE
from nixflow.domain.fields import KEY_PATTERN, MAX_OPTION, MAX_TEXT
from nixflow.domain.json_types import EMAIL_PATTERN, NOT_BLANK, Id, integral
from nixflow.domain.kb_languages import Language
from nixflow.domain.tags import MAX_TAGS
from nixflow.markup import render_reply

# The services strip text before checking it is not empty: so does the schema, by its pattern.
Title = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=200, pattern=NOT_BLANK)]
LongText = Annotated[str, StringConstraints(strict=True, max_length=20_000)]
Name = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=200, pattern=NOT_BLANK)]
Email = Annotated[str, StringConstraints(strict=True, min_length=3, max_length=254)]
# Exactly what the server takes, as a pattern: `format: email` would be stricter (a generated client would refuse
# addresses the server takes) in some places and looser in others.
NewEmail = Annotated[str, StringConstraints(strict=True, min_length=3, max_length=254, pattern=EMAIL_PATTERN)]
Password = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=1024)]
PriorityName = Literal["low", "normal", "high", "critical"]
StatusName = Literal["new", "open", "pending", "resolved", "closed"]
RoleName = Literal["admin", "agent", "requester"]
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$")


def rfc3339(value: Any) -> Any:
    """Refuse a string that is not an RFC 3339 time (left alone, pydantic reads "-2305274" as a Unix timestamp)."""
    if isinstance(value, str) and not RFC3339.match(value):
        raise ValueError("not an RFC 3339 time (e.g. 2026-01-01T00:00:00Z)")
    return value


Rfc3339 = Annotated[datetime, BeforeValidator(rfc3339)]


def rfc3339_string(value: Any) -> Any:
    """A time in a JSON body is an RFC 3339 string: left alone, pydantic would take 1893456000 for one."""
    if not isinstance(value, str) or not RFC3339.match(value):
        raise ValueError("not an RFC 3339 time (e.g. 2026-01-01T00:00:00Z)")
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(rfc3339_string)]
"""An RFC 3339 time with its offset, in a request body."""


class Strict(BaseModel):
    # Patterns are checked with Python's `re`, the engine schema-driven clients generate from.
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")


class LoginRequest(Strict):
    email: Email
    password: Password


NewPassword = Annotated[str, StringConstraints(strict=True, min_length=8, max_length=1024)]


class PasswordChange(Strict):
    current_password: Password
    new_password: NewPassword


class PasswordResetRequest(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"email": "sam@example.com"}]})

    email: Email


class PasswordResetAccepted(BaseModel):
    """The same answer whether or not an account uses the address."""

    model_config = ConfigDict(extra="forbid")

    detail: str


ResetToken = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=200)]


class PasswordResetConfirm(Strict):
    token: ResetToken
    password: NewPassword


class UserRead(BaseModel):
    id: int
    email: str
    name: str
    role: str
    active: bool
    can_approve: bool
    category_ids: list[int]
    created_at: datetime
    updated_at: datetime
    locale: str | None = None  # the language they chose; null: their browser's, then the instance default
    timezone: str | None = None  # the IANA zone they chose; null: the instance default


class LanguageChange(Strict):
    """Your language and time zone: a field left out stays, null clears the choice."""

    locale: Language | None = None
    timezone: (
        Annotated[
            str,
            StringConstraints(strict=True, max_length=64, pattern=r"^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$"),
            Field(description="An IANA zone this server's time zone database knows (422 otherwise)."),
        ]
        | None
    ) = None


class UserAdminRead(UserRead):
    """A user as admins see them: with their custom field values."""

    fields: dict[str, Any] = Field(default_factory=dict)
    erased_at: datetime | None = Field(default=None, description="When their personal data was erased, or null.")


class UserErase(Strict):
    """`POST /api/users/{id}/erase`: the person's email typed again, so a wrong id erases nobody."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"confirm": "sam@example.com", "reason": "asked"}]})

    confirm: str = Field(min_length=1, max_length=254, description="The user's email address, typed again.")
    reason: str | None = Field(default=None, max_length=500, description="Why (kept in `user.erased`).")


class UserErasure(BaseModel):
    user_id: int
    erased_at: datetime
    events_rewritten: int = Field(description="Events whose payload held the person's data, rewritten in place.")
    tickets: int = Field(description="Tickets they asked: title, description and conversation erased.")
    comments: int = Field(description="Comments erased: theirs, and every comment of the tickets they asked.")
    attachments: int = Field(description="Files deleted: theirs, and every file of the tickets they asked.")
    mails: int = Field(description="Mails from them or on their tickets, stored or quarantined: bytes dropped.")


class LoginResponse(BaseModel):
    """A session (`token`, `csrf_token`, `user`), or a sign-in that still owes its second step: `mfa_required`
    (a code, to `POST /api/auth/mfa/verify`) or `mfa_enrolment_required` (a factor to set up first), with
    `mfa_token`, which opens only `/api/auth/mfa/*` (also set as the `nixflow_mfa` cookie)."""

    token: str | None = None
    csrf_token: str | None = None
    user: UserRead | None = None
    mfa_required: bool = False
    mfa_enrolment_required: bool = False
    mfa_token: str | None = None


class UserCreate(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"email": "sam@example.com", "name": "Sam", "role": "agent", "password": "change-me-now"}]
        }
    )

    email: NewEmail
    name: Name
    role: RoleName
    password: NewPassword
    category_ids: list[Id] = Field(default_factory=list, max_length=1000)
    can_approve: StrictBool = False


class UserUpdate(Strict):
    name: Name | None = None
    email: NewEmail | None = None  # unique: 409 when another user has it
    role: RoleName | None = None
    active: StrictBool | None = None
    can_approve: StrictBool | None = None
    category_ids: list[Id] | None = Field(default=None, max_length=1000)
    fields: FieldValues | None = None  # custom user fields, merged (a null clears one)


class PreviewTicket(BaseModel):
    id: int
    title: str
    status: StatusName
    priority: PriorityName


class PreviewCategory(BaseModel):
    id: int
    name: str


class DeactivationPreview(BaseModel):
    user_id: int
    name: str
    active: bool
    open_tickets: int = Field(description="Open (new, open, pending) tickets assigned to the user.")
    tickets: list[PreviewTicket] = Field(description="The first 50 of them, by id.")
    tickets_become: Literal["reassigned"] = Field(
        description="What happens to them: the assignment rules hand each to another agent (round-robin in its "
        "category), or it goes back to the Unassigned queue where no rule assigns it."
    )
    categories: list[PreviewCategory] = Field(description="Categories whose round-robin stops picking the user.")
    sessions: int = Field(description="Sessions that end.")
    api_tokens: int = Field(description="API tokens revoked.")
    blocked: str | None = Field(description="Why deactivating would be refused (the last active admin), or null.")


class ImportRow(BaseModel):
    line: int
    name: str
    email: str
    role: str
    categories: list[str]
    status: Literal["would_create", "created", "exists", "invalid"]
    reason: str | None
    user_id: int | None


class UserImportResult(BaseModel):
    dry_run: bool
    counts: dict[str, int]
    rows: list[ImportRow]


class CategoryCreate(Strict):
    name: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=100, pattern=NOT_BLANK)]
    agent_ids: list[Id] = Field(default_factory=list, max_length=1000)
    calendar_id: Id | None = None  # business hours of its tickets' SLA when their policy has none


class CategoryUpdate(Strict):
    name: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=100, pattern=NOT_BLANK)] | None = None
    agent_ids: list[Id] | None = Field(default=None, max_length=1000)
    calendar_id: Id | None = None  # given (even null): set; left out: unchanged


class CategoryRead(BaseModel):
    id: int
    name: str
    agent_ids: list[int]
    calendar_id: int | None
    created_at: datetime


FieldKey = Annotated[str, StringConstraints(strict=True, pattern=KEY_PATTERN)]
FieldText = Annotated[str, StringConstraints(strict=True, max_length=MAX_TEXT)]
FieldValue = (
    StrictBool
    | StrictInt
    | StrictFloat
    | FieldText
    | list[Annotated[str, StringConstraints(max_length=MAX_OPTION)]]
    | None
)
FieldValues = Annotated[
    dict[FieldKey, FieldValue],
    Field(
        max_length=100,
        description="Custom field values by key (`GET /api/fields`: each field's JSON Schema); null clears one. "
        "A bad value is a 422 naming the field, and nothing is stored.",
    ),
]


class TicketCreate(Strict):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"title": "Core switch is down", "description": "floor 3 is offline"}]}
    )

    title: Title
    description: LongText = ""
    category_id: Id | None = None
    priority: PriorityName | None = None
    requires_approval: StrictBool = False
    fields: FieldValues | None = None  # a requester must fill the fields required of requesters


class TicketUpdate(Strict):
    version: Id
    title: Title | None = None
    description: LongText | None = None
    priority: PriorityName | None = None
    category_id: Id | None = None
    assignee_id: Id | None = None
    requester_id: Id | None = None  # staff only: whose ticket it is (null: unchanged)
    fields: FieldValues | None = None  # staff only: merged (keys not named stay, null clears one)


class TransitionRequest(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "open"}]})

    status: StatusName
    version: Id | None = None


class CommentCreate(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"body": "Restarted the switch; is floor 3 back?"}]})

    body: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=20_000, pattern=NOT_BLANK)]
    internal: StrictBool = False
    # The newest comment the writer's page showed when the reply was begun (0: none): a public comment by
    # someone else after it makes the reply 409 with the new comments in `errors` (issue 26, collision).
    seen_comment_id: Id | None = None


def _tag_as_typed(value: str) -> str:
    """Checked with Python's `re`, as the schema's pattern is (in a query or path too, where pydantic's own
    pattern check would use another engine); the service trims and case-folds it (domain/tags.py)."""
    tags.parse(value)
    return value


TagName = Annotated[
    str,
    StringConstraints(strict=True),
    AfterValidator(_tag_as_typed),
    WithJsonSchema({"type": "string", "pattern": tags.INPUT_PATTERN}),
]
TagList = Annotated[list[TagName], Field(max_length=MAX_TAGS)]


class TagsChange(Strict):
    """Tags to put on a ticket; `version`, when given, must be the ticket's current one (else 409)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"tags": ["vpn", "floor-3"]}]})

    tags: TagList
    version: Id | None = None


# A JSON integer (30 or 30.0), not `true`: lax pydantic reads a boolean as 1.
Minutes = Annotated[
    int,
    Field(strict=True, ge=1, le=MAX_MINUTES, description="Whole minutes spent, 1 to a day."),
    BeforeValidator(integral),
]


class TimeSpent(Strict):
    """Time an agent spent on a ticket: logged alone (`POST /api/tickets/{id}/time-entries`) or with a reply."""

    minutes: Minutes
    billable: StrictBool = False
    note: Annotated[str, Field(max_length=MAX_NOTE)] = ""


class TicketSubmit(Strict):
    """One submit (`POST /api/tickets/{id}/update`): a comment, fields and a status, applied together."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"version": 3, "comment": {"body": "Fixed, please check."}, "status": "resolved"}]
        }
    )

    version: Id | None = None
    comment: CommentCreate | None = None
    status: StatusName | None = None
    title: Title | None = None
    description: LongText | None = None
    priority: PriorityName | None = None
    category_id: Id | None = None
    assignee_id: Id | None = None
    add_tags: TagList | None = None  # staff only, as `POST /api/tickets/{id}/tags`
    remove_tags: TagList | None = None
    fields: FieldValues | None = None  # staff only, as `PATCH /api/tickets/{id}`
    time: TimeSpent | None = None  # staff only: a time entry logged in the same unit of work (`ticket.time_logged`)


class DecisionRequest(Strict):
    reason: Annotated[str, StringConstraints(strict=True, max_length=2000)] | None = None


class SlaRead(BaseModel):
    first_response_due: datetime | None
    resolution_due: datetime | None
    first_response_at: datetime | None
    breached: list[str]
    paused: bool


class TicketRead(BaseModel):
    id: int
    title: str
    description: str
    status: StatusName
    priority: PriorityName
    category_id: int | None
    requester_id: int
    assignee_id: int | None
    approval: Literal["not_required", "pending", "approved", "rejected"]
    escalation_level: int
    version: int
    created_at: datetime
    updated_at: datetime
    sla: SlaRead | None
    tags: list[str] = Field(
        default_factory=list, description="Staff only (internal routing): normalised tags; requesters: always []."
    )
    channel: Literal["web", "mail", "api"] | None = Field(
        default=None, description="Where it was opened: the web UI, mail or the API (null: before this was recorded)."
    )
    organization_id: int | None = Field(
        default=None, description="The organization it was opened under (the requester's first); never changes."
    )
    fields: dict[str, Any] = Field(
        default_factory=dict, description="Custom field values by key; requesters see the requester-visible ones."
    )
    merged_into: int | None = Field(
        default=None,
        description="Set when this ticket was merged into another: the survivor's id. A merged ticket is closed "
        "and read-only (writes answer 409); its conversation moved to the survivor.",
    )


class TicketListItem(TicketRead):
    unread: Literal["new", "updated"] | None = Field(
        default=None,
        description="For staff: 'new' (never opened by you), 'updated' (changed by someone else since you last "
        "opened it), else null. Requesters: always null.",
    )


class TicketPage(BaseModel):
    items: list[TicketListItem]
    next_cursor: str | None


def _no_default(schema: dict[str, Any]) -> None:
    """An optional form field without a `default` in the schema (a null default is no string)."""
    schema.pop("default", None)


class AttachmentUpload(Strict):
    """The multipart form of an upload: the file, and the comment it belongs to (none: the ticket)."""

    file: UploadFile = Field(description="The file; its type is read from its content.")
    # A form field is text: the id as digits (absent: the ticket itself), so no client sends `null`.
    comment_id: Annotated[str, StringConstraints(pattern="^[0-9]{1,15}$")] | SkipJsonSchema[None] = Field(
        default=None, description="The comment's id.", json_schema_extra=_no_default
    )


class AttachmentRead(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    comment_id: int | None


class CommentRead(BaseModel):
    id: int
    ticket_id: int
    author_id: int
    body: str
    internal: bool
    created_at: datetime
    source: Literal["web", "api", "email"]
    attachments: list[AttachmentRead]
    # `held`: a mail whose sender proved nothing, kept as an internal note until an agent publishes or discards it
    unverified: Literal["held"] | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def body_html(self) -> str:
        """The body's Markdown rendered and sanitised, as the ticket page shows it."""
        return render_reply(self.body)


class TicketSubmitRead(BaseModel):
    ticket: TicketRead = Field(description="The ticket as committed, after the automation it set off.")
    comment: CommentRead | None = Field(description="The comment made, or null when the submit had none.")


class EventMetadata(BaseModel):
    model_config = ConfigDict(extra="allow")
    correlation_id: str
    causation_id: str | None
    source: str
    version: int
    actor_id: int | None


class EventRead(BaseModel):
    event_id: str
    seq: int | None = None
    type: str
    category: str
    priority: PriorityName
    status: Literal["pending", "processing", "completed", "failed", "retrying"]
    retry_count: int
    timestamp: datetime
    aggregate_type: str
    aggregate_id: str
    data: dict[str, Any]
    metadata: EventMetadata
    error: str | None
    duplicate_of: str | None = None


class EventPage(BaseModel):
    items: list[EventRead]
    next_cursor: str | None


class EventStats(BaseModel):
    total: int
    by_type: dict[str, int]
    by_status: dict[str, int]
    by_priority: dict[str, int]


class EventTypeRead(BaseModel):
    type: str
    category: str
    priority: str
    description: str
    schema_: dict[str, Any] = Field(alias="schema")

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class ReplayAccepted(BaseModel):
    event_id: str
    status: str


class Health(BaseModel):
    status: str
    database: str
    bus: str


class TokenCreated(BaseModel):
    id: int
    token: str
