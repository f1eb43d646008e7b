"""Reading tickets in bulk: filtered, cursor-paginated lists and who requested what."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Select, and_, func, or_, select, text

from nixflow.domain import tags
from nixflow.domain.errors import Forbidden
from nixflow.domain.fields import Entity, FieldDefinition, FieldType, check_values
from nixflow.domain.tickets import OPEN_STATUSES, Status
from nixflow.domain.values import Priority
from nixflow.services.ticket_order import NEWEST_FIRST, Order, assignees
from nixflow.services.users import Principal
from nixflow.services.visibility import Audience
from nixflow.store import custom_fields, organizations, ticket_counts, ticket_tags
from nixflow.store.tables import OPEN_SQL, tickets


@dataclass(frozen=True)
class TicketFilter:
    status: Status | None = None
    statuses: frozenset[Status] | None = None  # any of these (the queue's "open" view)
    priority: Priority | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    category_id: int | None = None
    q: str | None = None
    tag: str | None = None  # normalised (domain/tags.py)
    organization_id: int | None = None  # the organization it was opened under
    fields: tuple[tuple[FieldDefinition, Any], ...] = ()  # custom field and value (`field_filter`)
    field_terms: tuple[str, ...] = ()  # `key:value` as asked (`?field=`), read into `fields` by `field_filter`


def filter_from(params: Mapping[str, Any]) -> TicketFilter:
    """The filter of the queue's query parameters (as the API took them, or as a saved view stored them)."""
    status, priority, tag = params.get("status"), params.get("priority"), params.get("tag")
    statuses = params.get("statuses")
    return TicketFilter(
        status=Status(status) if status else None,
        statuses=frozenset(Status(s) for s in statuses) if statuses else None,
        priority=Priority(priority) if priority else None,
        assignee_id=params.get("assignee_id"),
        unassigned=bool(params.get("unassigned")),
        category_id=params.get("category_id"),
        q=params.get("q") or None,
        tag=tags.normalise(tag) if tag else None,
        organization_id=params.get("organization_id"),
        field_terms=tuple(params.get("field") or ()),
    )


def list_tickets(
    conn: Connection,
    *,
    viewer: Principal,
    flt: TicketFilter,
    limit: int = 50,
    cursor: str | None = None,
    order: Order = NEWEST_FIRST,
) -> tuple[list[dict[str, Any]], str | None]:
    """Tickets the viewer may see in `order` (default newest first), and the next page's cursor."""
    query = queue_page(conn, viewer=viewer, flt=flt, limit=limit, cursor=cursor, order=order)
    rows = conn.execute(query).all()
    items = [dict(r._mapping) for r in rows[:limit]]
    values = [item.pop("sort_value") for item in items]
    next_cursor = order.cursor(values[-1], items[-1]["id"]) if len(rows) > limit else None
    return items, next_cursor


def queue_page(
    conn: Connection,
    *,
    viewer: Principal,
    flt: TicketFilter,
    limit: int,
    cursor: str | None = None,
    order: Order = NEWEST_FIRST,
) -> Select[Any]:
    """The statement of a queue page (one row more than `limit`, telling whether there is a next page): what
    `list_tickets` runs and the plan tests (tests/integration/test_query_plans.py) explain."""
    flt = _read_fields(conn, viewer, flt)
    clauses = _clauses(conn, viewer, flt)
    if cursor:
        clauses.append(order.after(cursor))
    query = select(tickets, order.expression.label("sort_value"))
    if order.joins_assignee:
        query = query.select_from(tickets.outerjoin(assignees, assignees.c.id == tickets.c.assignee_id))
    return query.where(and_(True, *clauses)).order_by(*order.order_by()).limit(limit + 1)


def _read_fields(conn: Connection, viewer: Principal, flt: TicketFilter) -> TicketFilter:
    """`flt` with its `?field=` terms read into typed field filters (a 422 naming a bad one)."""
    if not flt.field_terms:
        return flt
    return field_filter(conn, viewer=viewer, flt=replace(flt, field_terms=()), terms=flt.field_terms)


def _clauses(conn: Connection, viewer: Principal, flt: TicketFilter) -> list[Any]:
    """The WHERE clauses of `flt` for `viewer` (a requester: their own tickets only)."""
    clauses: list[Any] = []
    if not viewer.is_staff:
        clauses.append(organizations.requester_scope_read(conn, viewer.id))
    if flt.status:
        clauses.append(tickets.c.status == flt.status.value)
    if flt.statuses == frozenset(OPEN_STATUSES):
        clauses.append(
            text(f"tickets.{OPEN_SQL}")
        )  # as written in `ix_tickets_open`, so both databases read the view by it
    elif flt.statuses:
        clauses.append(tickets.c.status.in_(sorted(s.value for s in flt.statuses)))
    if flt.priority:
        clauses.append(tickets.c.priority == flt.priority.value)
    if flt.assignee_id is not None:
        clauses.append(tickets.c.assignee_id == flt.assignee_id)
    if flt.unassigned:
        clauses.append(tickets.c.assignee_id.is_(None))
    if flt.category_id is not None:
        clauses.append(tickets.c.category_id == flt.category_id)
    if flt.tag is not None:
        if not viewer.is_staff:
            raise Forbidden("tags are for agents and admins")
        clauses.append(tickets.c.id.in_(ticket_tags.tickets_tagged(flt.tag)))
    if flt.organization_id is not None:
        clauses.append(tickets.c.organization_id == flt.organization_id)
    for definition, value in flt.fields:
        clauses.append(tickets.c.id.in_(custom_fields.tickets_with(definition, value)))
    if flt.q:
        pattern = "%" + flt.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append(
            or_(tickets.c.title.ilike(pattern, escape="\\"), tickets.c.description.ilike(pattern, escape="\\"))
        )
    return clauses


def matching_ids(conn: Connection, *, viewer: Principal, flt: TicketFilter, limit: int) -> tuple[list[int], int]:
    """The ids of the tickets `flt` matches that the viewer may see (newest first, at most `limit`), and how
    many match in all."""
    flt = _read_fields(conn, viewer, flt)
    where = and_(True, *_clauses(conn, viewer, flt))
    ids = conn.execute(select(tickets.c.id).where(where).order_by(tickets.c.id.desc()).limit(limit)).scalars()
    return [int(i) for i in ids], count(conn, viewer=viewer, flt=flt, cap=None).n


COUNT_CAP = 1000  # a count that needs the tickets themselves stops here: "1,000+"


@dataclass(frozen=True)
class Count:
    """How many tickets a filter matches: exactly `n`, or at least `n` when `more` (the cap was reached)."""

    n: int
    more: bool = False

    def __str__(self) -> str:
        return f"{self.n:,}+" if self.more else f"{self.n:,}"


def count(conn: Connection, *, viewer: Principal, flt: TicketFilter, cap: int | None = COUNT_CAP) -> Count:
    """How many tickets `flt` matches that the viewer may see. A staff filter on status, priority, category and
    assignee only is read from the maintained counters (exact, any size); any other filter counts matching
    tickets up to `cap` (None: all of them, for callers that need the exact number)."""
    flt = _read_fields(conn, viewer, flt)
    if viewer.is_staff and _counted_by_columns(flt):
        statuses = {flt.status.value} if flt.status else None
        if flt.statuses:
            statuses = {s.value for s in flt.statuses} & statuses if statuses else {s.value for s in flt.statuses}
        return Count(
            ticket_counts.matching(
                conn,
                statuses=statuses,
                priority=flt.priority.value if flt.priority else None,
                category_id=flt.category_id,
                assignee_id=flt.assignee_id,
                unassigned=flt.unassigned,
            )
        )
    matches = select(tickets.c.id).where(and_(True, *_clauses(conn, viewer, flt)))
    if cap is not None:
        matches = matches.limit(cap + 1)
    n = int(conn.execute(select(func.count()).select_from(matches.subquery())).scalar_one())
    return Count(cap, more=True) if cap is not None and n > cap else Count(n)


def _counted_by_columns(flt: TicketFilter) -> bool:
    """Whether `flt` filters only on the columns `ticket_counts` is keyed by."""
    return not (flt.q or flt.tag or flt.organization_id is not None or flt.fields or flt.field_terms)


FIELD_FILTER_PATTERN = r"^[a-z][a-z0-9_]{0,39}:.+$"


def field_filter(conn: Connection, *, viewer: Principal, flt: TicketFilter, terms: Sequence[str]) -> TicketFilter:
    """`flt` narrowed by `key:value` terms (the queue's `?field=`), each value read and checked as its field's
    type; a field the viewer may not write (a requester: a staff-only one) or a bad value is a 422 naming it."""
    if not terms:
        return flt
    definitions = custom_fields.definitions(conn, Entity.TICKET)
    found: list[tuple[FieldDefinition, Any]] = []
    for term in terms:
        key, _, text = term.partition(":")
        d = definitions.get(key)
        value = _typed(d, text)
        check_values(
            definitions, {key: [value] if d and d.type == FieldType.MULTISELECT else value}, staff=viewer.is_staff
        )
        found.append((definitions[key], value))
    return replace(flt, fields=flt.fields + tuple(found))


def _typed(d: FieldDefinition | None, text: str) -> Any:
    """A filter's value as its field's type (a query string is text); what is not one is left for the check."""
    if d is not None and d.type == FieldType.CHECKBOX:
        return {"true": True, "false": False}.get(text, text)
    if d is not None and d.type == FieldType.NUMBER:
        try:
            return float(text)
        except ValueError:
            return text
    return text


def audience_of(conn: Connection, ticket_ids: Sequence[int], people: Sequence[int]) -> dict[int, Audience]:
    """Ticket id → who besides staff sees it (of `people`, the colleagues it is shared with), for deciding who
    may see a ticket's events: two queries, whatever the number of tickets and people."""
    if not ticket_ids:
        return {}
    columns = tickets.c.id, tickets.c.requester_id, tickets.c.organization_id
    found = conn.execute(select(*columns).where(tickets.c.id.in_(ticket_ids))).all()
    pairs = organizations.sharers(conn, organization_ids=[o for _, _, o in found if o is not None], user_ids=people)
    return {int(t): Audience(int(r), frozenset(u for org, u in pairs if org == o)) for t, r, o in found}
