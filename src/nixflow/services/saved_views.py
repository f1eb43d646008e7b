"""Saved views: a named queue filter + sort + columns, personal, shared with a team (a category's agents) or with
everyone, each listed with how many tickets it matches.

Agents manage their own personal views; admins manage the shared ones. Another's personal view is 404 (even to
an admin: it is that agent's desk), a team's view is 404 outside the team. Shared views are changes to what a
team sees, so they are events (`workflow.view_saved` / `workflow.view_deleted`); a personal view is not, since
staff read the event log and a personal view is nobody else's business.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection

from nixflow.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from nixflow.services import ticket_queries, users
from nixflow.services.users import Principal
from nixflow.store import saved_views
from nixflow.store.db import Tx

# A viewer sees at most MAX_PERSONAL of their own and MAX_SHARED shared views, each counted with one COUNT query
# on the tickets' indexes when the views are listed: at most 50 counts a listing.
MAX_PERSONAL = 25
MAX_SHARED = 25


@dataclass(frozen=True)
class ViewSpec:
    """What a view is: its name, who shares it, and the queue's query parameters, sort and columns."""

    name: str
    scope: str = "personal"  # personal | team | everyone
    category_id: int | None = None  # the team, when scope is team
    filters: dict[str, Any] = field(default_factory=dict)
    sort: str = "-id"
    columns: list[str] = field(default_factory=list)


def _may_see(conn: Connection, viewer: Principal, view: dict[str, Any]) -> bool:
    if view["scope"] == "personal":
        return bool(view["owner_id"] == viewer.id)
    if view["scope"] == "team" and not viewer.is_admin:
        return view["category_id"] in users.get_user(conn, user_id=viewer.id)["category_ids"]
    return viewer.is_staff


def _check_rights(conn: Connection, actor: Principal, spec: ViewSpec) -> None:
    if spec.scope != "personal" and not actor.is_admin:
        raise Forbidden("only admins share views with a team or everyone")
    if (spec.scope == "team") != (spec.category_id is not None):
        raise ValidationFailed(
            "a team view names its team (category_id); a personal or everyone's view does not",
            errors=[{"loc": ["body", "category_id"], "msg": "category_id goes with scope 'team' only"}],
        )
    if spec.category_id is not None:
        users.get_category(conn, category_id=spec.category_id)


def counted(conn: Connection, *, viewer: Principal) -> list[dict[str, Any]]:
    """The views `viewer` sees (their own first, then by name), each with how many tickets it matches now."""
    views = saved_views.visible_to(conn, user_id=viewer.id, admin=viewer.is_admin, limit=MAX_PERSONAL + MAX_SHARED)
    for view in views:
        _count(conn, viewer, view)
    return views


def get(conn: Connection, *, viewer: Principal, view_id: int) -> dict[str, Any]:
    """One view `viewer` may see, with its count; NotFound otherwise."""
    view = saved_views.get(conn, view_id)
    if view is None or not _may_see(conn, viewer, view):
        raise NotFound(f"view {view_id} not found")
    _count(conn, viewer, view)
    return view


def _count(conn: Connection, viewer: Principal, view: dict[str, Any]) -> None:
    """`count` (and `count_more`: at least that many) of the tickets the view matches for `viewer`."""
    found = ticket_queries.count(conn, viewer=viewer, flt=ticket_queries.filter_from(view["filters"]))
    view["count"], view["count_more"] = found.n, found.more


def _emit(tx: Tx, event_type: str, view: dict[str, Any], actor: Principal) -> None:
    if view["scope"] == "personal":
        return
    data = {"view_id": view["id"], "name": view["name"], "scope": view["scope"], "category_id": view["category_id"]}
    tx.emit(event_type, aggregate_type="saved_view", aggregate_id=view["id"], data={**data, "by_id": actor.id})


def create(tx: Tx, *, actor: Principal, spec: ViewSpec) -> dict[str, Any]:
    """Save a new view (staff: personal; admins: shared too)."""
    _check_rights(tx.conn, actor, spec)
    shared = spec.scope != "personal"
    limit = MAX_SHARED if shared else MAX_PERSONAL
    if saved_views.count_owned(tx.conn, owner_id=actor.id, shared=shared) >= limit:
        kind = "shared views in all" if shared else "personal views each"
        raise Conflict(f"at most {limit} {kind}; delete one first")
    view_id = saved_views.add(
        tx.conn, {**asdict(spec), "owner_id": actor.id, "created_at": tx.now, "updated_at": tx.now}
    )
    view = get(tx.conn, viewer=actor, view_id=view_id)
    _emit(tx, "workflow.view_saved", view, actor)
    return view


def _managed(tx: Tx, actor: Principal, view_id: int) -> dict[str, Any]:
    view = get(tx.conn, viewer=actor, view_id=view_id)
    if view["scope"] != "personal" and not actor.is_admin:
        raise Forbidden("only admins change shared views")
    return view


def update(tx: Tx, *, actor: Principal, view_id: int, spec: ViewSpec) -> dict[str, Any]:
    """Replace a view's definition (its owner for a personal view, an admin for a shared one)."""
    before = _managed(tx, actor, view_id)
    _check_rights(tx.conn, actor, spec)
    if (before["scope"] == "personal") != (spec.scope == "personal") and before["owner_id"] != actor.id:
        raise Forbidden("only its owner turns a personal view into a shared one or back")
    saved_views.change(tx.conn, view_id, {**asdict(spec), "updated_at": tx.now})
    view = get(tx.conn, viewer=actor, view_id=view_id)
    if view["scope"] != "personal":
        _emit(tx, "workflow.view_saved", view, actor)
    else:  # a shared view made personal is gone for its team
        _emit(tx, "workflow.view_deleted", before, actor)
    return view


def delete(tx: Tx, *, actor: Principal, view_id: int) -> None:
    """Delete a view (its owner for a personal view, an admin for a shared one)."""
    view = _managed(tx, actor, view_id)
    saved_views.remove(tx.conn, view_id)
    _emit(tx, "workflow.view_deleted", view, actor)
