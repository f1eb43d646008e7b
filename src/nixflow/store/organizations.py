"""Organizations' rows: the organizations, their mail domains and members, and the one SQL statement of which
organizations share their tickets with a user (`SHARING_SQL`), used by every list of tickets a requester reads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Select, column, delete, func, insert, select, text
from sqlalchemy.sql.elements import ColumnElement

from nixflow.store.tables import organization_domains, organization_members, organizations, tickets

# The organizations whose tickets `:sharer` sees: those they belong to that share their tickets. Text, so the
# search's raw SQL and the Core queries below say it in the same words.
SHARING_SQL = (
    "SELECT m.organization_id FROM organization_members AS m JOIN organizations AS o ON o.id = m.organization_id "
    "WHERE m.user_id = :sharer AND o.shares_tickets"
)


def requester_scope(user_id: int) -> ColumnElement[bool]:
    """The tickets a requester sees: their own, and those opened under an organization that shares with them."""
    shared = text(SHARING_SQL).bindparams(sharer=user_id).columns(column("organization_id"))
    return (tickets.c.requester_id == user_id) | tickets.c.organization_id.in_(shared.subquery().select())


def requester_scope_read(conn: Connection, user_id: int) -> ColumnElement[bool]:
    """`requester_scope` with the sharing organizations read first: an OR of two indexed terms, which both
    databases serve from the two indexes; with the subquery inside, PostgreSQL walks every ticket instead."""
    shared = [int(o) for o in conn.execute(text(SHARING_SQL), {"sharer": user_id}).scalars()]
    own = tickets.c.requester_id == user_id
    return own | tickets.c.organization_id.in_(shared) if shared else own


def tickets_of(organization_id: int) -> Select[Any]:
    """The ids of the tickets opened under the organization (by the index on `tickets.organization_id`)."""
    return select(tickets.c.id).where(tickets.c.organization_id == organization_id)


def shares_with(conn: Connection, *, user_id: int, organization_id: int) -> bool:
    """Whether the organization `organization_id` shares its tickets with `user_id` (a member of it)."""
    found = conn.execute(
        text(SHARING_SQL + " AND m.organization_id = :org"), {"sharer": user_id, "org": organization_id}
    )
    return found.first() is not None


def sharers(conn: Connection, *, organization_ids: Iterable[int], user_ids: Iterable[int]) -> set[tuple[int, int]]:
    """(organization id, user id) for each of `user_ids` that one of `organization_ids` shares its tickets with."""
    orgs, people = sorted(set(organization_ids)), sorted(set(user_ids))
    if not orgs or not people:
        return set()
    m = organization_members
    query = (
        select(m.c.organization_id, m.c.user_id)
        .join(organizations, organizations.c.id == m.c.organization_id)
        .where(m.c.organization_id.in_(orgs), m.c.user_id.in_(people), organizations.c.shares_tickets.is_(True))
    )
    return {(int(o), int(u)) for o, u in conn.execute(query)}


def get(conn: Connection, organization_id: int) -> dict[str, Any] | None:
    """One organization with its domains (sorted) and member count, or None."""
    found = list_all(conn, ids=[organization_id])
    return found[0] if found else None


def list_all(conn: Connection, *, ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Organizations by name, each with its domains and member count (only `ids`, when given)."""
    query = select(organizations).order_by(organizations.c.name_key)
    if ids is not None:
        query = query.where(organizations.c.id.in_(ids))
    rows = [dict(r._mapping) for r in conn.execute(query)]
    wanted = [r["id"] for r in rows]
    domains: dict[int, list[str]] = {}
    d = organization_domains
    for org, domain in conn.execute(select(d.c.organization_id, d.c.domain).where(d.c.organization_id.in_(wanted))):
        domains.setdefault(int(org), []).append(str(domain))
    m = organization_members
    counted = select(m.c.organization_id, func.count()).where(m.c.organization_id.in_(wanted))
    counts = {int(o): int(n) for o, n in conn.execute(counted.group_by(m.c.organization_id))}
    for row in rows:
        row.pop("name_key")
        row["domains"] = sorted(domains.get(row["id"], []))
        row["member_count"] = counts.get(row["id"], 0)
    return rows


def by_name(conn: Connection, key: str) -> int | None:
    """The organization with this `name_key`, if any."""
    found = conn.execute(select(organizations.c.id).where(organizations.c.name_key == key)).scalar()
    return None if found is None else int(found)


def owners_of(conn: Connection, domains: Sequence[str]) -> dict[str, int]:
    """Domain → the organization that has it, for those of `domains` one has."""
    d = organization_domains
    rows = conn.execute(select(d.c.domain, d.c.organization_id).where(d.c.domain.in_(sorted(set(domains)))))
    return {str(domain): int(org) for domain, org in rows}


def set_domains(conn: Connection, organization_id: int, domains: Sequence[str]) -> None:
    """Replace the organization's domains (clean, and free of other organizations' already)."""
    conn.execute(delete(organization_domains).where(organization_domains.c.organization_id == organization_id))
    if domains:
        conn.execute(insert(organization_domains), [{"domain": d, "organization_id": organization_id} for d in domains])


def member_ids(conn: Connection, organization_id: int) -> list[int]:
    """The organization's members' user ids, in order."""
    m = organization_members
    query = select(m.c.user_id).where(m.c.organization_id == organization_id).order_by(m.c.user_id)
    return [int(u) for u in conn.execute(query).scalars()]


def of_user(conn: Connection, user_id: int) -> list[int]:
    """The ids of the organizations `user_id` belongs to, lowest (the first, a ticket's) first."""
    m = organization_members
    query = select(m.c.organization_id).where(m.c.user_id == user_id).order_by(m.c.organization_id)
    return [int(o) for o in conn.execute(query).scalars()]


def is_member(conn: Connection, *, organization_id: int, user_id: int) -> bool:
    """Whether `user_id` belongs to the organization."""
    m = organization_members
    query = select(m.c.user_id).where(m.c.organization_id == organization_id, m.c.user_id == user_id)
    return conn.execute(query).first() is not None


def add_member(conn: Connection, *, organization_id: int, user_id: int, at: Any) -> None:
    """Make `user_id` a member (not one already)."""
    conn.execute(insert(organization_members).values(organization_id=organization_id, user_id=user_id, created_at=at))
