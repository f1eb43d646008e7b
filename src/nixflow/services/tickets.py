"""The ticket service: every change to a ticket, by the API, a rule or a timer, goes through here."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from nixflow.domain.envelope import EventRecord
from nixflow.domain.errors import ChangedMeanwhile, Conflict, Forbidden, NotFound, StaleVersion, ValidationFailed
from nixflow.domain.fields import Entity, FieldDefinition, requester_view
from nixflow.domain.ticket import Change, Ticket
from nixflow.domain.tickets import REQUESTER_TRANSITIONS, Approval, Status, check_transition, status_after_comment
from nixflow.domain.values import AUTO_MAIL_SOURCE, Priority, Role
from nixflow.domain.visibility import may_see_ticket
from nixflow.services import field_definitions, signatures
from nixflow.services.ticket_sla import next_check_at, paused_seconds, reach, sla_columns
from nixflow.services.users import SYSTEM, Principal, remember_requester_email
from nixflow.services.visibility import Audience
from nixflow.store import config_cache, custom_fields, organizations, ticket_links, ticket_tags
from nixflow.store.db import Tx, insert_returning_id
from nixflow.store.fast import Fast
from nixflow.store.tables import SYSTEM_USER_ID, categories, comments, tickets, users
from nixflow.store.writer import ReadBack

TEXT_FIELDS = ("title", "description")


def shared_with(conn: Connection, user_id: int, ticket: Mapping[Any, Any]) -> bool:
    """Whether the organization the ticket was opened under shares its tickets with `user_id`."""
    org = ticket["organization_id"]
    return org is not None and organizations.shares_with(conn, user_id=user_id, organization_id=int(org))


def _visible(conn: Connection, viewer: Principal, ticket: Mapping[Any, Any]) -> bool:
    # The API's ticket reads do not look up watchers: a CC'd person hears of the ticket by mail only.
    shared = partial(shared_with, conn, viewer.id, ticket)
    return may_see_ticket(viewer.role, requester=ticket["requester_id"] == viewer.id, shared=shared)


def audience_seen_by(viewer: Principal, ticket: Mapping[str, Any]) -> Audience:
    """Who sees a ticket that `load(viewer=...)` has shown `viewer`: its requester, and `viewer` among them."""
    return Audience(int(ticket["requester_id"]), frozenset({viewer.id}))


_LOAD = Fast(select(tickets).where(tickets.c.id == bindparam("b_id")))  # built once: the hottest read
_LOAD_MANY = select(tickets).where(tickets.c.id.in_(bindparam("b_ids", expanding=True)))
_INSERTS: dict[tuple[str, ...], Fast] = {}


def _insert_statement(columns: tuple[str, ...]) -> Fast:
    """`INSERT INTO tickets (<columns>)`, built once per column set."""
    statement = _INSERTS.get(columns)
    if statement is None:
        statement = _INSERTS[columns] = Fast(insert(tickets).values({c: bindparam(c) for c in columns}))
    return statement


def load(conn: Connection, *, ticket_id: int, viewer: Principal | None = None) -> dict[str, Any]:
    """The ticket as stored; a requester asking for another's ticket gets NotFound, as for a missing one."""
    row = _LOAD.first(conn, {"b_id": ticket_id})
    if row is None or (viewer is not None and not _visible(conn, viewer, row)):
        raise NotFound(f"ticket {ticket_id} not found")
    return row


def current(tx: Tx, *, ticket_id: int, viewer: Principal | None = None) -> dict[str, Any]:
    """The ticket as this unit of work has it: read once, then kept current by the unit's own writes
    (`_save`); a savepoint that rolls back forgets it. A copy: change it through the service only."""
    key = ("ticket", ticket_id)
    ticket: dict[str, Any] | None = tx.memo.get(key)
    if ticket is None:
        ticket = tx.memo[key] = load(tx.conn, ticket_id=ticket_id)
    if viewer is not None and not _visible(tx.conn, viewer, ticket):
        raise NotFound(f"ticket {ticket_id} not found")
    return dict(ticket)


def committed(tx: Tx, *, ticket_id: int) -> ReadBack[dict[str, Any]]:
    """The ticket as this unit of work commits it, read after the events it caused were handled (automation
    included): what a write answers with (`Writer.run_read_back`)."""
    return ReadBack(lambda: current(tx, ticket_id=ticket_id))


def public(ticket: dict[str, Any]) -> dict[str, Any]:
    """The ticket as the API shows it (`TicketRead` in the OpenAPI schema)."""
    out = {
        k: ticket[k]
        for k in (
            "id",
            "title",
            "description",
            "status",
            "priority",
            "category_id",
            "requester_id",
            "assignee_id",
            "approval",
            "escalation_level",
            "organization_id",
            "merged_into",
            "version",
            "created_at",
            "updated_at",
        )
    }
    out["tags"] = list(ticket["tags"])
    out["channel"] = ticket.get("channel")
    out["fields"] = dict(ticket["fields"] or {})
    if ticket["first_response_due"] is None and ticket["resolution_due"] is None:
        out["sla"] = None
    else:
        state = ticket["sla_state"] or {}
        out["sla"] = {
            "first_response_due": ticket["first_response_due"],
            "resolution_due": ticket["resolution_due"],
            "first_response_at": ticket["first_response_at"],
            "breached": list(state.get("breached", [])),
            "paused": ticket["sla_paused_since"] is not None,
        }
    return out


def public_to(
    viewer: Principal, ticket: dict[str, Any], *, shown: Mapping[str, FieldDefinition] | None = None
) -> dict[str, Any]:
    """`public` as `viewer` may see it: tags are internal routing, so a requester sees none; of the custom
    fields, a requester sees those of `shown` (`field_definitions.requester_visible`; none when not given)."""
    out = public(ticket)
    if not viewer.is_staff:
        out["tags"] = []
        out["fields"] = requester_view(shown or {}, out["fields"])
    return out


_UPDATES: dict[tuple[Any, ...], Fast] = {}


def _update_statement(columns: tuple[str, ...], *, escalation_below: bool) -> Fast:
    """`UPDATE tickets SET <columns> WHERE id AND version AND next_check_at [AND escalation_level < level]` with
    bind parameters, built once per column set.

    `next_check_at` too: the SLA job's claim, the re-timing after a policy change and a rule's reschedule change
    a ticket without a version bump (docs/architecture.md says why), and each moves it; a save built on the row
    as it was before them loses the race (`ChangedMeanwhile`: the writer runs the unit again) instead of writing
    back the SLA marks and due times it read."""
    key = (columns, escalation_below)
    found = _UPDATES.get(key)
    if found is None:
        scheduled = tickets.c.next_check_at.is_not_distinct_from(
            bindparam("b_next_check_at", type_=tickets.c.next_check_at.type)
        )
        statement = (
            update(tickets)
            .where(tickets.c.id == bindparam("b_id"), tickets.c.version == bindparam("b_version"), scheduled)
            .values({c: bindparam(f"v_{c}", type_=tickets.c[c].type) for c in columns})
        )
        if escalation_below:
            statement = statement.where(tickets.c.escalation_level < bindparam("b_level"))
        found = _UPDATES[key] = Fast(statement)
    return found


def _save(
    tx: Tx, before: dict[str, Any], values: dict[str, Any], *, escalation_below: int | None = None
) -> dict[str, Any]:
    """Write `values` (the version they make included) if `before` is still current (optimistic lock; with
    `escalation_below`, only while the ticket is below that escalation level); return the new row.

    Every change goes through here, so `next_check_at` (SLA and escalation) is recomputed on every change.
    Within `held_saves` the write waits for the others of the batch (`HeldSaves`).
    """
    held: HeldSaves | None = tx.memo.get(_HELD)
    if held is not None and before["id"] in held.first:
        return held.hold(tx, before, values)
    values = {**values, "next_check_at": next_check_at(tx, {**before, **values})}
    columns = tuple(sorted(values))
    params = {f"v_{c}": values[c] for c in columns}
    params.update(b_id=before["id"], b_version=before["version"], b_level=escalation_below)
    params["b_next_check_at"] = before["next_check_at"]
    statement = _update_statement(columns, escalation_below=escalation_below is not None)
    if statement.rowcount(tx.conn, params) != 1:
        raise ChangedMeanwhile(f"ticket {before['id']} was changed by someone else; reload it")
    after = {**before, **values}
    remember(tx, after)
    return dict(after)


_HELD = ("tickets", "held saves")  # beside the ticket copies it made current: a rolled-back savepoint drops both


@dataclasses.dataclass
class HeldSaves:
    """Saves of a batch of tickets held back and written together, one row per ticket, in one statement per
    set of changed columns (the SLA job's batch: `automation/timers.py`).

    Each held ticket's first row is the one its writes are conditional on (the version and `next_check_at`
    read); every save in between bumps the version and is applied to the unit's copy as `_save` does, so the
    events, versions and copies are those of saves one by one. `next_check_at` is worked out once, on the last
    state, which is what the last of those saves would have written.
    """

    first: dict[int, dict[str, Any]] = dataclasses.field(default_factory=dict)
    values: dict[int, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def claim(self, tx: Tx, before: dict[str, Any], values: dict[str, Any]) -> None:
        """Hold `values` (SLA bookkeeping) for a ticket as read, conditional on it being unchanged since."""
        self.first[before["id"]] = before
        self.values[before["id"]] = dict(values)
        remember(tx, {**before, **values})

    def hold(self, tx: Tx, before: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        """`_save` for a held ticket: the unit's copy changes now, the row when the batch is written."""
        self.values[before["id"]].update(values)
        after = {**before, **values}
        remember(tx, after)
        return dict(after)

    def write(self, tx: Tx) -> int:
        """Write every held ticket (its `next_check_at` from its last state); return how many rows matched."""
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for ticket_id, first in self.first.items():
            after = {**first, **self.values[ticket_id]}
            after["next_check_at"] = next_check_at(tx, after)
            remember(tx, after)
            values = {**self.values[ticket_id], "next_check_at": after["next_check_at"]}
            params = {f"v_{c}": v for c, v in values.items()}
            params.update(b_id=ticket_id, b_version=first["version"], b_next_check_at=first["next_check_at"])
            groups.setdefault(tuple(sorted(values)), []).append(params)
        return sum(_update_statement(c, escalation_below=False).many(tx.conn, rows) for c, rows in groups.items())


@contextmanager
def held_saves(tx: Tx) -> Iterator[HeldSaves]:
    """Hold the saves of the tickets claimed through the yielded `HeldSaves` until its `write`; a savepoint
    rolled back within (which forgets the copies the held saves made current) fails the batch."""
    held = tx.memo[_HELD] = HeldSaves()
    try:
        yield held
    finally:
        found = tx.memo.pop(_HELD, None)
    if found is not held:
        raise RuntimeError("held ticket saves were dropped by a savepoint rolled back within")


Changes = list[tuple[str, dict[str, Any]]]
"""A command's events, in order: type and data (the ticket id is added)."""


def _apply_and_emit(
    tx: Tx,
    before: dict[str, Any],
    changes: Changes,
    bookkeeping: dict[str, Any] | None = None,
    *,
    escalation_below: int | None = None,
) -> tuple[dict[str, Any], list[EventRecord]]:
    """Apply a command's events to the ticket (`Ticket.apply`, the one place its state changes), store the
    result with the SLA job's `bookkeeping` in the one version-checked save, and emit the events."""
    version = before["version"] + 1
    ticket = Ticket.from_row(before)
    events = [Change(kind, {"ticket_id": before["id"], **data}, tx.now, version) for kind, data in changes]
    values = ticket.apply_all(events).changed_from(ticket) | (bookkeeping or {})
    after = _save(tx, before, values, escalation_below=escalation_below)
    if "tags" in values:
        ticket_tags.sync(tx.conn, ticket_id=before["id"], before=ticket.tags, after=values["tags"])
    if "fields" in values:
        custom_fields.sync(tx.conn, ticket_id=before["id"], before=ticket.fields, after=values["fields"])
    return after, [_emit(tx, after, kind, data) for kind, data in changes]


def emit_changes(tx: Tx, before: dict[str, Any], changes: Changes) -> dict[str, Any]:
    """`_apply_and_emit` for a command that lives in its own module (`services/ticket_tags.py`)."""
    return _apply_and_emit(tx, before, changes)[0]


def remember(tx: Tx, ticket: dict[str, Any]) -> None:
    """Keep `ticket` as this unit of work's current copy (after a write that went around `_save`)."""
    tx.memo[("ticket", ticket["id"])] = ticket


def load_many(tx: Tx, ticket_ids: list[int]) -> None:
    """Read several tickets at once into the unit of work's copies (a periodic job's batch)."""
    for row in tx.conn.execute(_LOAD_MANY, {"b_ids": ticket_ids}):
        remember(tx, dict(row._mapping))


def check_version(ticket: dict[str, Any], version: int | None) -> None:
    """Raise StaleVersion unless `version` (when given) is the ticket's current one."""
    if version is not None and version != ticket["version"]:
        raise StaleVersion(f"ticket {ticket['id']} is at version {ticket['version']}, not {version}")


def _check_text(field: str, value: str, limit: int) -> str:
    value = value.strip()
    if not value and field == "title":
        raise ValidationFailed("title must not be empty", errors=[{"loc": ["body", field], "msg": "empty"}])
    if len(value) > limit:
        raise ValidationFailed(f"{field} is longer than {limit} characters")
    return value


_CATEGORY_IDS = Fast(select(categories.c.id))
_ASSIGNEE = Fast(select(users.c.role, users.c.active).where(users.c.id == bindparam("b_id")))


def _category_ids(conn: Connection) -> frozenset[int]:
    return frozenset(int(r["id"]) for r in _CATEGORY_IDS.all(conn, {}))


def _check_category(tx: Tx, category_id: int | None) -> None:
    known = config_cache.cached(tx, "category_ids", ("categories",), _category_ids)
    if category_id is not None and category_id not in known:
        raise NotFound(
            f"category {category_id} does not exist", errors=[{"loc": ["body", "category_id"], "msg": "unknown"}]
        )


def _check_requester(conn: Connection, requester_id: int) -> None:
    # As for an assignee and a category: an unknown user is 404, one who cannot be a requester now is 409.
    row = _ASSIGNEE.first(conn, {"b_id": requester_id})
    if row is None:
        raise NotFound(
            f"user {requester_id} does not exist", errors=[{"loc": ["body", "requester_id"], "msg": "unknown"}]
        )
    if requester_id == SYSTEM_USER_ID or not row["active"]:
        raise Conflict(
            f"user {requester_id} is not an active user",
            errors=[{"loc": ["body", "requester_id"], "msg": "not an active user"}],
        )


def assignable(tx: Tx, user_id: int) -> bool:
    """Whether a change may assign tickets to `user_id` (an active agent or admin), read once per unit of work."""

    def check() -> bool:
        try:
            _check_assignee(tx, user_id)
        except Conflict:
            return False
        return True

    return tx.memoized(("assignable", user_id), check)


_ASSIGNABLE = "tickets.assignable"  # (_ASSIGNABLE, user id) in a unit of work's memo: known to be an active agent


def known_assignable(tx: Tx, user_id: int) -> None:
    """This unit of work read `user_id` as an active agent (round-robin's pick): assigning them reads it no more."""
    tx.memo[(_ASSIGNABLE, user_id)] = True


def _check_assignee(tx: Tx, assignee_id: int | None) -> None:
    if assignee_id is None or (_ASSIGNABLE, assignee_id) in tx.memo:
        return
    row = _ASSIGNEE.first(tx.conn, {"b_id": assignee_id})
    if (
        row is None
        or assignee_id == SYSTEM_USER_ID
        or not row["active"]
        or row["role"] not in (Role.AGENT.value, Role.ADMIN.value)
    ):
        raise Conflict(
            f"user {assignee_id} is not an active agent",
            errors=[{"loc": ["body", "assignee_id"], "msg": "not assignable"}],
        )


def create(
    tx: Tx,
    *,
    requester: Principal,
    title: str,
    description: str,
    category_id: int | None = None,
    priority: Priority = Priority.NORMAL,
    requires_approval: bool = False,
    channel: str = "api",
    fields: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Open a ticket with its custom `fields` (a requester must fill those required of requesters); emits
    `ticket.created` (and `ticket.approval_requested`). `channel`: where it was opened (web, mail, api), for
    rules that route by it."""
    title = _check_text("title", title, 200)
    description = _check_text("description", description, 20_000)
    _check_category(tx, category_id)
    remember_requester_email(tx, requester.id, requester.email)  # the rules' `sender` conditions need it
    values = {
        k: v
        for k, v in field_definitions.validate_values(tx, Entity.TICKET, fields or {}, role=requester.role).items()
        if v is not None
    }
    if not requester.is_staff:
        field_definitions.require_filled(tx, Entity.TICKET, values, requesters=True, when="to open a ticket")
    approval = Approval.PENDING if requires_approval else Approval.NOT_REQUIRED
    opening: dict[str, Any] = {
        "title": title,
        "description": description,
        "status": Status.NEW.value,
        "priority": priority.value,
        "category_id": category_id,
        "requester_id": requester.id,
        "approval": approval.value,
        "channel": channel,
        "organization_id": next(iter(organizations.of_user(tx.conn, requester.id)), None),
    }
    clock = {"created_at": tx.now, "sla_paused_seconds": 0, "sla_paused_since": None, "sla_state": {}}
    opening.update(due_times(sla_columns(tx, {**opening, **clock, "first_response_at": None})))
    draft = Ticket.start(Change("ticket.created", {"ticket_id": 0, **opening}, tx.now, 1))
    ticket = {k: v for k, v in draft.as_row().items() if k != "id"}
    ticket["sla_paused_seconds"] = 0
    ticket["fields"] = values  # told by a `ticket.fields_changed` of the same version (ticket.created is as it was)
    # Before the insert (no id yet): a partial-rollout escalation rule is scheduled, and checked when due.
    ticket["next_check_at"] = next_check_at(tx, {**ticket, "id": None})
    ticket["id"] = _insert_statement(tuple(ticket)).inserted_id(tx.conn, ticket)
    tx.created("ticket", ticket["id"])  # ids are never reused (tickets are never deleted; PostgreSQL's sequence)
    remember(tx, dict(ticket))
    tx.emit(
        "ticket.created",
        aggregate_type="ticket",
        aggregate_id=ticket["id"],
        priority=priority,
        aggregate_version=1,
        data={"ticket_id": ticket["id"], **opening},
    )
    if values:
        custom_fields.sync(tx.conn, ticket_id=ticket["id"], before={}, after=values)
        changed = field_definitions.fields_changed(tx.conn, {}, values, by_id=requester.id)
        _emit(tx, ticket, "ticket.fields_changed", changed)
    if requires_approval:
        tx.emit(
            "ticket.approval_requested",
            aggregate_type="ticket",
            aggregate_id=ticket["id"],
            priority=priority,
            aggregate_version=1,
            data={"ticket_id": ticket["id"], "requester_id": requester.id},
        )
    return ticket


def due_times(ticket: Mapping[str, Any]) -> dict[str, Any]:
    """The SLA due times a change leaves the ticket with, as its events carry them."""
    return {"first_response_due": ticket["first_response_due"], "resolution_due": ticket["resolution_due"]}


def _emit(tx: Tx, ticket: dict[str, Any], event_type: str, data: dict[str, Any]) -> EventRecord:
    return tx.emit(
        event_type,
        aggregate_type="ticket",
        aggregate_id=ticket["id"],
        priority=Priority(ticket["priority"]),
        data={"ticket_id": ticket["id"], **data},
        aggregate_version=ticket["version"],
    )


def update_fields(
    tx: Tx, *, actor: Principal, ticket_id: int, version: int | None, changes: dict[str, Any]
) -> dict[str, Any]:
    """Change title, description, requester, priority, category or assignee; one event per kind of change
    (title, description and requester edits are one `ticket.updated`)."""
    ticket = current(tx, ticket_id=ticket_id, viewer=actor)
    check_version(ticket, version)
    if not actor.is_staff and set(changes) - set(TEXT_FIELDS):
        raise Forbidden("requesters may only edit the title and description of their tickets")
    if ticket["status"] == Status.CLOSED.value:
        refuse_closed(ticket)
    values: dict[str, Any] = {}
    text_diff: dict[str, dict[str, Any]] = {}
    for field in TEXT_FIELDS:
        if changes.get(field) is not None:
            value = _check_text(field, changes[field], 200 if field == "title" else 20_000)
            if value != ticket[field]:
                values[field] = value
                text_diff[field] = {"old": ticket[field], "new": value}
    if changes.get("requester_id") is not None and changes["requester_id"] != ticket["requester_id"]:
        _check_requester(tx.conn, changes["requester_id"])
        values["requester_id"] = changes["requester_id"]
        text_diff["requester_id"] = {"old": ticket["requester_id"], "new": changes["requester_id"]}
    if "category_id" in changes and changes["category_id"] != ticket["category_id"]:
        _check_category(tx, changes["category_id"])
        values["category_id"] = changes["category_id"]
    if changes.get("priority") is not None and changes["priority"] != ticket["priority"]:
        values["priority"] = Priority(changes["priority"]).value
    if "assignee_id" in changes and changes["assignee_id"] != ticket["assignee_id"]:
        _check_assignee(tx, changes["assignee_id"])
        values["assignee_id"] = changes["assignee_id"]
    if not values:
        return ticket
    # One event per kind of change; a new priority brings the due times of its policy.
    events: Changes = [("ticket.updated", {"changes": text_diff})] if text_diff else []
    if "priority" in values:
        moved = due_times(sla_columns(tx, {**ticket, **values}))
        old_new = {"old_priority": ticket["priority"], "new_priority": values["priority"]}
        events.append(("ticket.priority_changed", {**old_new, **moved}))
    if "category_id" in values:
        category = {"old_category_id": ticket["category_id"], "new_category_id": values["category_id"]}
        events.append(("ticket.category_changed", category))
    if "assignee_id" in values:
        assigned = {"assignee_id": values["assignee_id"], "previous_assignee_id": ticket["assignee_id"]}
        events.append(("ticket.assigned", assigned))
    return _apply_and_emit(tx, ticket, events)[0]


def refuse_closed(ticket: Mapping[str, Any]) -> None:
    """Raise the 409 a closed ticket answers to a write; a merged one names where it went."""
    if ticket["merged_into"] is not None:
        raise Conflict(f"ticket {ticket['id']} was merged into #{ticket['merged_into']}; write there instead")
    raise Conflict(f"ticket {ticket['id']} is closed; closed tickets cannot change")


def _children_done(conn: Connection, ticket_id: int, status: Status) -> None:
    """With the admins' option on, a parent is not resolved or closed while a child is open (409 naming them)."""
    if status not in (Status.RESOLVED, Status.CLOSED) or not ticket_links.block_parent_close(conn):
        return
    waiting = ticket_links.open_children(conn, ticket_id)
    if waiting:
        named = ", ".join(f"#{i}" for i in waiting)
        raise Conflict(
            f"ticket {ticket_id} has open children ({named}); resolve or close them first",
            errors=[{"loc": ["body", "status"], "msg": "open children", "children": waiting}],
        )


def transition(
    tx: Tx,
    *,
    actor: Principal,
    ticket_id: int,
    status: Status,
    version: int | None = None,
    on_behalf_of: int | None = None,
) -> dict[str, Any]:
    """Move a ticket to another status; pauses the SLA clock while `pending`. `on_behalf_of`: the person whose
    action made the system move it (a requester's reply), named as `by_id` instead of the system."""
    ticket = current(tx, ticket_id=ticket_id, viewer=actor)
    check_version(ticket, version)
    if ticket["merged_into"] is not None:
        refuse_closed(ticket)
    was = Status(ticket["status"])
    check_transition(was, status)
    if not actor.is_staff and (was, status) not in REQUESTER_TRANSITIONS:
        raise Forbidden("requesters may only close or reopen a resolved ticket")
    if status == Status.RESOLVED and actor.is_staff and actor.id != SYSTEM_USER_ID:
        # As Zendesk: an agent cannot solve a ticket until the fields required of agents are filled.
        field_definitions.require_filled(
            tx, Entity.TICKET, ticket["fields"] or {}, requesters=False, when="to resolve the ticket"
        )
    _children_done(tx.conn, ticket_id, status)
    return move_status(tx, ticket, status, by_id=actor.id if on_behalf_of is None else on_behalf_of)


def move_status(
    tx: Tx, ticket: dict[str, Any], status: Status, *, by_id: int, first: Changes | None = None
) -> dict[str, Any]:
    """Move `ticket` to `status` (checked by the caller), after the events `first` (a merge's) in the same save."""
    was = Status(ticket["status"])
    # What the status change does to the SLA clock, worked out here for the due times its event carries;
    # `Ticket.apply` makes the same change to the ticket.
    values: dict[str, Any] = {"status": status.value}
    bookkeeping: dict[str, Any] = {}
    if status == Status.PENDING:
        values["sla_paused_since"] = tx.now
    if was == Status.PENDING and ticket["sla_paused_since"] is not None:
        values["sla_paused_since"] = None
        bookkeeping["sla_paused_seconds"] = ticket["sla_paused_seconds"] + paused_seconds(tx, ticket)
    moved = {**ticket, **values, **bookkeeping}
    moved.update(sla_columns(tx, moved))
    changed = {"old_status": was.value, "new_status": status.value, **due_times(moved)}
    events: Changes = [("ticket.status_changed", changed)]
    if moved["first_response_due"] is not None:
        if status == Status.PENDING:
            events.append(("sla.paused", {"at": tx.now}))
        if was == Status.PENDING and status == Status.OPEN:  # to resolved, the clock stops for good
            events.append(("sla.resumed", {"at": tx.now}))
    outcome = reach(moved, "resolution", tx.now) if status == Status.RESOLVED else None
    if outcome is not None:
        events.append((outcome.event_type, outcome.data))
    named = {Status.RESOLVED: "ticket.resolved", Status.CLOSED: "ticket.closed"}
    if was == Status.RESOLVED and status == Status.OPEN:
        events.append(("ticket.reopened", {"by_id": by_id}))
    elif status in named:
        events.append((named[status], {"by_id": by_id}))
    return _apply_and_emit(tx, ticket, [*(first or []), *events], bookkeeping)[0]


COMMENT_SOURCES = ("web", "api", "email")


def add_comment(
    tx: Tx,
    *,
    actor: Principal,
    ticket_id: int,
    body: str,
    internal: bool = False,
    source: str = "api",
    trusted: bool = False,
) -> dict[str, Any]:
    """Comment on a ticket; the first public staff comment meets the first-response SLA (late: breaches it), and
    a reply may move the ticket (`_status_after_comment`).

    `source` says where it was written (web, api, email); `trusted`: the caller (the mail intake) has decided
    already that `actor` may write on the ticket (a watcher's reply by mail).
    """
    ticket = current(tx, ticket_id=ticket_id, viewer=None if trusted else actor)
    if source not in COMMENT_SOURCES:
        raise ValueError(f"unknown comment source {source!r}")
    if ticket["status"] == Status.CLOSED.value:
        refuse_closed(ticket)
    if internal and not actor.is_staff:
        raise Forbidden("only agents and admins write internal comments")
    body = body.strip()
    if not body:
        raise ValidationFailed("body must not be empty", errors=[{"loc": ["body", "body"], "msg": "empty"}])
    if len(body) > 20_000:
        raise ValidationFailed("body is longer than 20000 characters")
    # After the check: a reply the schema takes is never refused for the signature it is given.
    body = signatures.signed(tx.conn, author=actor, body=body, internal=internal, source=source)
    comment = {
        "ticket_id": ticket_id,
        "author_id": actor.id,
        "body": body,
        "internal": internal,
        "created_at": tx.now,
        "source": source,
    }
    comment["id"] = insert_returning_id(tx.conn, insert(comments), comment)
    first_response = (
        actor.is_staff and actor.id != SYSTEM_USER_ID and not internal and ticket["first_response_at"] is None
    )
    moved = dict(ticket)
    if first_response:
        moved["first_response_at"] = tx.now
        moved.update(sla_columns(tx, moved))
    said = {"comment_id": comment["id"], "author_id": actor.id, "body": body, "internal": internal}
    events: Changes = [("ticket.commented", {**said, "first_response": first_response, **due_times(moved)})]
    outcome = reach(moved, "first_response", tx.now) if first_response else None
    if outcome is not None:
        events.append((outcome.event_type, outcome.data))
    after, (commented, *_) = _apply_and_emit(tx, ticket, events)
    _status_after_comment(tx, after, actor, internal, commented)
    return comment


def _status_after_comment(
    tx: Tx, ticket: dict[str, Any], author: Principal, internal: bool, commented: EventRecord
) -> None:
    """Move the ticket as the comment implies (`domain.tickets.status_after_comment`), caused by the comment and
    with the system's authority: a requester or watcher may reply without being allowed to move the ticket."""
    automatic = tx.ctx.source == AUTO_MAIL_SOURCE
    target = status_after_comment(Status(ticket["status"]), author=author.role, internal=internal, automatic=automatic)
    if target is None:
        return
    follow = tx.child(tx.ctx.caused_by(commented, source=tx.ctx.source))
    transition(follow, actor=SYSTEM, ticket_id=int(ticket["id"]), status=target, on_behalf_of=author.id)


def list_comments(conn: Connection, *, viewer: Principal, ticket_id: int) -> list[dict[str, Any]]:
    """A ticket's comments, oldest first; internal ones only for staff."""
    load(conn, ticket_id=ticket_id, viewer=viewer)
    # A held mail an agent published or discarded has left the conversation (see email_in/held.py).
    held_or_none = comments.c.unverified.is_(None) | (comments.c.unverified == "held")
    query = select(comments).where(comments.c.ticket_id == ticket_id, held_or_none).order_by(comments.c.id)
    if not viewer.is_staff:
        query = query.where(comments.c.internal.is_(False))
    return [dict(r._mapping) for r in conn.execute(query)]


def decide_approval(tx: Tx, *, actor: Principal, ticket_id: int, approve: bool, reason: str | None) -> dict[str, Any]:
    """Approve or reject a ticket waiting for approval."""
    ticket = current(tx, ticket_id=ticket_id, viewer=actor)  # first: a requester learns nothing of others' tickets
    if not (actor.role == Role.ADMIN or actor.can_approve):
        raise Forbidden("only admins and approvers decide approvals")
    if ticket["approval"] != Approval.PENDING.value:
        raise Conflict(f"ticket {ticket_id} is not waiting for approval (approval is '{ticket['approval']}')")
    if reason is not None and len(reason) > 2000:
        raise ValidationFailed("reason is longer than 2000 characters")
    decided = {"approver_id": actor.id, "reason": reason}
    return _apply_and_emit(tx, ticket, [("ticket.approved" if approve else "ticket.rejected", decided)])[0]


def escalate(
    tx: Tx, *, actor: Principal, ticket_id: int, level: int, reason: str | None = None, rule_id: int | None = None
) -> dict[str, Any] | None:
    """Raise a ticket to escalation `level`; emits `ticket.escalated`. None if it is there already (fires once)."""
    ticket = current(tx, ticket_id=ticket_id, viewer=actor)
    if ticket["escalation_level"] >= level or ticket["status"] in (Status.RESOLVED.value, Status.CLOSED.value):
        return None
    # The guard makes the write conditional: two jobs racing on one ticket cannot both raise it to `level`.
    escalated = {"level": level, "reason": reason, "rule_id": rule_id}
    return _apply_and_emit(tx, ticket, [("ticket.escalated", escalated)], escalation_below=level)[0]
