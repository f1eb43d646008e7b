"""Users and categories: who may work which tickets."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from nixflow.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from nixflow.domain.json_types import EMAIL_PATTERN
from nixflow.domain.organizations import domain_of
from nixflow.domain.values import Role
from nixflow.domain.visibility import STAFF
from nixflow.services import calendars, reset_links
from nixflow.services.calendars import Retime
from nixflow.store import local_passwords, organizations
from nixflow.store.db import Tx, insert_returning_id
from nixflow.store.tables import SYSTEM_USER_ID, categories, category_agents, users

EMAIL = re.compile(EMAIL_PATTERN)
HUMAN_ROLES = (Role.ADMIN, Role.AGENT, Role.REQUESTER)


@dataclass(frozen=True)
class Principal:
    """The user a request acts for."""

    id: int
    role: Role
    email: str
    name: str
    can_approve: bool = False
    locale: str | None = None  # chosen language and zone (None: not chosen; see nixflow.i18n)
    timezone: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    @property
    def is_admin(self) -> bool:
        return self.role in (Role.ADMIN, Role.SYSTEM)


# The system user (id 0): the authority automation acts with.
SYSTEM = Principal(id=SYSTEM_USER_ID, role=Role.SYSTEM, email="system@nixflow.invalid", name="NixFlow automation")


def require_admin(actor: Principal) -> None:
    """Raise Forbidden unless `actor` is an admin."""
    if not actor.is_admin:
        raise Forbidden("admin role required")


def _user_dict(conn: Connection, row: Any) -> dict[str, Any]:
    m = dict(row._mapping)
    m.pop("password_hash", None)
    m["category_ids"] = [
        r[0]
        for r in conn.execute(
            select(category_agents.c.category_id)
            .where(category_agents.c.user_id == m["id"])
            .order_by(category_agents.c.category_id)
        )
    ]
    return m


def get_user(conn: Connection, *, user_id: int) -> dict[str, Any]:
    """One user (without the password hash)."""
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    if row is None:
        raise NotFound(f"user {user_id} not found")
    return _user_dict(conn, row)


def remember_requester_email(tx: Tx, requester_id: int, email: str) -> None:
    """What `with_requester_email` would read, known already (the unit of work acts for that requester)."""
    tx.memo[("requester_email", requester_id)] = email


def with_requester_email(tx: Tx, ticket: Mapping[str, Any]) -> dict[str, Any]:
    """The ticket with its requester's address beside it, for the rules' `sender` conditions (read once a unit)."""
    requester_id = int(ticket["requester_id"])
    email = tx.memoized(("requester_email", requester_id), lambda: _email_of(tx.conn, requester_id))
    return {**ticket, "requester_email": email}


def _email_of(conn: Connection, user_id: int) -> str:
    """One user's address: the only column the rules read (not the whole user with its categories)."""
    email = conn.execute(select(users.c.email).where(users.c.id == user_id)).scalar()
    if email is None:
        raise NotFound(f"user {user_id} not found")
    return str(email)


def find_by_email(conn: Connection, *, email: str) -> Any | None:
    """The user row with that email (any case), password hash included."""
    return conn.execute(select(users).where(users.c.email == email.strip().lower())).first()


def list_users(conn: Connection) -> list[dict[str, Any]]:
    """Every user, by id."""
    return [_user_dict(conn, r) for r in conn.execute(select(users).order_by(users.c.id))]


def principal_of(row: Any) -> Principal:
    """The Principal for a users row."""
    m = row._mapping
    return Principal(
        id=m["id"],
        role=Role(m["role"]),
        email=m["email"],
        name=m["name"],
        can_approve=m["can_approve"],
        locale=m.get("locale"),
        timezone=m.get("timezone"),
    )


def _check_categories(conn: Connection, category_ids: Sequence[int]) -> None:
    known = {r[0] for r in conn.execute(select(categories.c.id).where(categories.c.id.in_(category_ids)))}
    missing = sorted(set(category_ids) - known)
    if missing:
        raise NotFound(f"unknown category id(s): {missing}")


def new_email(conn: Connection, email: str) -> str:
    """`email` normalised, if it is an address no user has yet: 422 when malformed, 409 when taken."""
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise ValidationFailed(f"'{email}' is not an email address")
    if find_by_email(conn, email=email) is not None:
        raise Conflict(f"a user with email {email} exists already")
    return email


def create_user(
    tx: Tx,
    *,
    email: str,
    name: str,
    role: Role,
    password_hash: str | None,
    category_ids: Sequence[int] = (),
    can_approve: bool = False,
) -> dict[str, Any]:
    """Create a user; emits `user.created`."""
    email = new_email(tx.conn, email)
    if role not in HUMAN_ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(HUMAN_ROLES)}")
    if not name.strip():
        raise ValidationFailed("name must not be empty")
    _check_categories(tx.conn, category_ids)
    tx.memo.clear()  # people read earlier in this unit of work (notification planning) are out of date
    user_id = insert_returning_id(
        tx.conn,
        insert(users).values(
            email=email,
            name=name.strip(),
            role=role.value,
            active=True,
            can_approve=can_approve,
            password_hash=password_hash,
            created_at=tx.now,
            updated_at=tx.now,
        ),
    )
    for category_id in sorted(set(category_ids)):
        tx.conn.execute(insert(category_agents).values(category_id=category_id, user_id=user_id))
    tx.emit(
        "user.created",
        aggregate_type="user",
        aggregate_id=user_id,
        data={"user_id": user_id, "email": email, "name": name.strip(), "role": role.value},
    )
    if role == Role.REQUESTER:
        _join_by_domain(tx, user_id=user_id, email=email)
    return get_user(tx.conn, user_id=int(user_id))


def _join_by_domain(tx: Tx, *, user_id: int, email: str) -> None:
    """A new requester whose mail domain an organization lists becomes its member (the mail intake's unknown
    senders, the API, the CSV import alike)."""
    domain = domain_of(email)
    organization_id = organizations.owners_of(tx.conn, [domain]).get(domain)
    if organization_id is None:
        return
    organizations.add_member(tx.conn, organization_id=organization_id, user_id=user_id, at=tx.now)
    tx.emit(
        "organization.member_added",
        aggregate_type="organization",
        aggregate_id=organization_id,
        data={"organization_id": organization_id, "user_id": user_id, "by_id": None, "via": "domain"},
    )


def update_user(tx: Tx, *, user_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Change a user's name, email, role, active flag, approver right or categories.

    Emits `user.updated` with the whole diff, and the audit events of its own for what changes access:
    `user.role_changed`, `user.deactivated` / `user.activated` (open live connections react to those).
    """
    if user_id == SYSTEM_USER_ID:
        raise Forbidden("the system user cannot be changed")
    before = get_user(tx.conn, user_id=user_id)
    if before.get("erased_at") is not None:  # a pseudonym without a person: nobody to rename or let back in
        raise Conflict(f"user {user_id} was erased: their account cannot change")
    values: dict[str, Any] = {}
    diff: dict[str, dict[str, Any]] = {}
    if changes.get("email") is not None and changes["email"].strip().lower() != before["email"]:
        changes = {**changes, "email": new_email(tx.conn, changes["email"])}
    for field in ("name", "email", "role", "active", "can_approve"):
        if field in changes and changes[field] is not None and changes[field] != before[field]:
            value = changes[field]
            if field == "role" and Role(value) not in HUMAN_ROLES:
                raise ValidationFailed(f"role must be one of {', '.join(HUMAN_ROLES)}")
            values[field] = value.value if isinstance(value, Role) else value
            diff[field] = {"old": before[field], "new": values[field]}
    if changes.get("category_ids") is not None:
        wanted = sorted(set(changes["category_ids"]))
        if wanted != before["category_ids"]:
            _check_categories(tx.conn, wanted)
            tx.conn.execute(delete(category_agents).where(category_agents.c.user_id == user_id))
            for category_id in wanted:
                tx.conn.execute(insert(category_agents).values(category_id=category_id, user_id=user_id))
            diff["category_ids"] = {"old": before["category_ids"], "new": wanted}
    if not diff:
        return before
    _keep_an_admin(tx.conn, before, values)
    tx.memo.clear()  # people read earlier in this unit of work (notification planning) are out of date
    tx.conn.execute(update(users).where(users.c.id == user_id).values(updated_at=tx.now, **values))
    tx.emit("user.updated", aggregate_type="user", aggregate_id=user_id, data={"user_id": user_id, "changes": diff})
    by = {"user_id": user_id, "by_id": tx.ctx.actor_id}
    if "role" in diff:
        roles = {"old_role": diff["role"]["old"], "new_role": diff["role"]["new"]}
        tx.emit("user.role_changed", aggregate_type="user", aggregate_id=user_id, data=by | roles)
    if "active" in diff:
        kind = "user.activated" if diff["active"]["new"] else "user.deactivated"
        tx.emit(kind, aggregate_type="user", aggregate_id=user_id, data=by)
        if not diff["active"]["new"]:  # a link must not outlive the account's deactivation, or wake with it
            reset_links.end_open_links(tx, user_id=user_id, outcome="deactivated")
    return get_user(tx.conn, user_id=user_id)


def keep_an_admin_leaving(conn: Connection, person: Mapping[str, Any]) -> None:
    """Refuse taking `person` away for good (erasure): as deactivating them, when it would leave no active admin,
    or no break-glass admin while admins' local passwords are off."""
    _keep_an_admin(conn, dict(person), {"active": False})


def _keep_an_admin(conn: Connection, before: dict[str, Any], values: dict[str, Any]) -> None:
    """Refuse the change that would leave NixFlow without an active admin: nobody could configure it again."""
    was_admin = before["role"] == Role.ADMIN.value and before["active"]
    stays_admin = values.get("role", before["role"]) == Role.ADMIN.value and values.get("active", before["active"])
    if not was_admin or stays_admin:
        return
    # Locked (PostgreSQL): two admins demoting each other at once cannot both pass this check.
    admins = conn.execute(
        select(users.c.id).where(users.c.role == Role.ADMIN.value, users.c.active.is_(True)).with_for_update()
    ).all()
    if len(admins) <= 1:
        raise Conflict("this is the last active admin: make another user an admin first")
    keep_a_local_admin(conn, leaving=int(before["id"]))


def keep_a_local_admin(conn: Connection, *, leaving: int) -> None:
    """Refuse a change that takes `leaving` away from the break-glass admins (unmarked, demoted, deactivated) when
    nobody else could then sign in locally as an admin while admins' local passwords are off."""
    if Role.ADMIN.value in local_passwords.roles_off(conn) and local_passwords.local_admins(conn, besides=leaving) == 0:
        raise Conflict(
            "this is the last break-glass admin while local passwords are off for admins: mark another first, "
            "or turn admins' local passwords back on"
        )


def _category_dict(conn: Connection, row: Any) -> dict[str, Any]:
    m = dict(row._mapping)
    m["agent_ids"] = [
        r[0]
        for r in conn.execute(
            select(category_agents.c.user_id)
            .where(category_agents.c.category_id == m["id"])
            .order_by(category_agents.c.user_id)
        )
    ]
    return m


def get_category(conn: Connection, *, category_id: int) -> dict[str, Any]:
    """One category with its eligible agents."""
    row = conn.execute(select(categories).where(categories.c.id == category_id)).first()
    if row is None:
        raise NotFound(f"category {category_id} not found")
    return _category_dict(conn, row)


def list_categories(conn: Connection) -> list[dict[str, Any]]:
    """Every category, by id."""
    return [_category_dict(conn, r) for r in conn.execute(select(categories).order_by(categories.c.id))]


def _check_agents(conn: Connection, agent_ids: Sequence[int]) -> None:
    rows = conn.execute(select(users.c.id, users.c.role).where(users.c.id.in_(agent_ids))).all()
    found = {r[0]: r[1] for r in rows}
    missing = sorted(set(agent_ids) - set(found))
    if missing:
        raise NotFound(f"unknown user id(s): {missing}")
    bad = sorted(i for i in set(agent_ids) if found[i] not in (Role.AGENT.value, Role.ADMIN.value))
    if bad:
        raise Conflict(f"not agents: {bad}")


def create_category(
    tx: Tx, *, name: str, agent_ids: Sequence[int] = (), calendar_id: int | None = None
) -> dict[str, Any]:
    """Create a category (its tickets' SLA counts in `calendar_id` when their policy has no calendar);
    emits `workflow.category_created`."""
    name = name.strip()
    if not name:
        raise ValidationFailed("name must not be empty")
    if tx.conn.execute(select(categories.c.id).where(categories.c.name == name)).first():
        raise Conflict(f"a category named '{name}' exists already")
    _check_agents(tx.conn, agent_ids)
    calendars.check_exists(tx.conn, calendar_id)
    category_id = insert_returning_id(
        tx.conn, insert(categories).values(name=name, created_at=tx.now, calendar_id=calendar_id)
    )
    agents = sorted(set(agent_ids))
    for user_id in agents:
        tx.conn.execute(insert(category_agents).values(category_id=category_id, user_id=user_id))
    tx.memo.clear()  # configuration this unit of work read (`store.config_cache`) is stale now
    tx.emit(
        "workflow.category_created",
        aggregate_type="category",
        aggregate_id=category_id,
        data={"category_id": category_id, "name": name, "agent_ids": agents, "calendar_id": calendar_id},
    )
    return get_category(tx.conn, category_id=int(category_id))


def update_category(
    tx: Tx,
    *,
    category_id: int,
    name: str | None,
    agent_ids: Sequence[int] | None,
    calendar: dict[str, int | None] | None = None,
    retime: Retime,
) -> dict[str, Any]:
    """Rename a category, set its eligible agents or (`calendar={"calendar_id": ..}`) its business-hours
    calendar, which re-times its open tickets (`retime`: `sla_policies.retime_category`, which sits above this
    module); emits `workflow.category_updated`."""
    before = get_category(tx.conn, category_id=category_id)
    diff: dict[str, dict[str, Any]] = {}
    if name is not None and name.strip() != before["name"]:
        if not name.strip():
            raise ValidationFailed("name must not be empty")
        clash = tx.conn.execute(select(categories.c.id).where(categories.c.name == name.strip())).first()
        if clash:
            raise Conflict(f"a category named '{name.strip()}' exists already")
        tx.conn.execute(update(categories).where(categories.c.id == category_id).values(name=name.strip()))
        diff["name"] = {"old": before["name"], "new": name.strip()}
    if agent_ids is not None and sorted(set(agent_ids)) != before["agent_ids"]:
        _check_agents(tx.conn, agent_ids)
        tx.conn.execute(delete(category_agents).where(category_agents.c.category_id == category_id))
        for user_id in sorted(set(agent_ids)):
            tx.conn.execute(insert(category_agents).values(category_id=category_id, user_id=user_id))
        diff["agent_ids"] = {"old": before["agent_ids"], "new": sorted(set(agent_ids))}
    if calendar is not None and calendar["calendar_id"] != before["calendar_id"]:
        calendars.check_exists(tx.conn, calendar["calendar_id"])
        tx.conn.execute(
            update(categories).where(categories.c.id == category_id).values(calendar_id=calendar["calendar_id"])
        )
        diff["calendar_id"] = {"old": before["calendar_id"], "new": calendar["calendar_id"]}
        tx.memo.clear()
        retime(tx, category_id)
    if diff:
        tx.emit(
            "workflow.category_updated",
            aggregate_type="category",
            aggregate_id=category_id,
            data={"category_id": category_id, "changes": diff},
        )
    return get_category(tx.conn, category_id=category_id)
