"""Canned replies and macros: making and keeping them (scoped: `domain/macros.py`), rendering a reply for a
ticket, and applying a macro as one unit of work caused by `macro.applied` (the ordinary submit path)."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import Connection

from nixflow.domain.errors import Forbidden, NotFound, ValidationFailed
from nixflow.domain.fields import Entity
from nixflow.domain.macros import FIELD_ACTIONS, Kind, Scope, changes_on, may_change, may_see
from nixflow.domain.tags import check_allowed, normalise_all
from nixflow.domain.tickets import Status
from nixflow.services import field_definitions, macro_templates, ticket_submit, tickets
from nixflow.services.users import Principal
from nixflow.store import custom_fields, ticket_tags
from nixflow.store import macros as store
from nixflow.store.db import Tx


def _require_staff(user: Principal) -> None:
    if not user.is_staff:
        raise Forbidden("replies and macros are for agents and admins")


def _teams(conn: Connection, user: Principal) -> frozenset[int]:
    return frozenset() if user.is_admin else store.categories_of(conn, user.id)


def listing(conn: Connection, *, viewer: Principal, kind: Kind, q: str | None = None) -> list[dict[str, Any]]:
    """The replies or macros `viewer` may use, those whose name starts with `q` first, then those containing it."""
    _require_staff(viewer)
    teams = _teams(conn, viewer)
    return store.visible(conn, kind=kind, user_id=viewer.id, admin=viewer.is_admin, categories=teams, q=q)


def get(conn: Connection, *, viewer: Principal, kind: Kind, item_id: int) -> dict[str, Any]:
    """One reply or macro `viewer` may use; NotFound for one they may not see, as for a missing one."""
    _require_staff(viewer)
    item = store.load(conn, kind=kind, item_id=item_id)
    if item is None or not may_see(role=viewer.role, user_id=viewer.id, categories=_teams(conn, viewer), item=item):
        raise NotFound(f"{kind} {item_id} not found")
    return item


def _refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[{"loc": ["body", field], "msg": message}])


def _checked_actions(conn: Connection, actor: Principal, actions: dict[str, Any]) -> dict[str, Any]:
    """The actions as stored: tags normalised, tags to add on the allow list, custom field values as their
    definitions store them (a 422 naming a bad one). Assignee and category are checked when applied, as any change
    is (they may go away meanwhile); field values are checked again then (a definition may change meanwhile)."""
    out = dict(actions)
    for key in ("add_tags", "remove_tags"):
        if key in out:
            out[key] = normalise_all(out[key])
    check_allowed(out.get("add_tags", []), ticket_tags.allow_list(conn))
    if out.get("fields"):
        out["fields"] = field_definitions.validate_values(conn, Entity.TICKET, out["fields"], role=actor.role)
    return out


def _checked(conn: Connection, actor: Principal, kind: Kind, fields: dict[str, Any], owner_id: int) -> dict[str, Any]:
    """The columns of a reply or macro from what a user sent; Forbidden for a scope they may not use,
    ValidationFailed naming the field for anything else, before anything is stored."""
    scope = Scope(fields["scope"])
    if not may_change(role=actor.role, user_id=actor.id, scope=scope, owner_id=owner_id):
        raise Forbidden("agents keep personal replies and macros; shared ones (team, everyone) are the admins'")
    category_id = fields.get("category_id")
    if (scope == Scope.TEAM) != (category_id is not None):
        raise _refuse("category_id", "a team reply or macro names its category (category_id); no other one does")
    if category_id is not None and not store.category_exists(conn, category_id):
        raise _refuse("category_id", f"category {category_id} does not exist")
    body = (fields.get("body") or "").strip() or None
    if body is not None:
        macro_templates.check(body, field_keys=custom_fields.definitions(conn, Entity.TICKET).keys())
    actions = _checked_actions(conn, actor, fields.get("actions") or {}) if kind == Kind.MACRO else {}
    if body is None and (kind == Kind.REPLY or not actions):
        raise _refuse("body", "a reply needs a body" if kind == Kind.REPLY else "a macro needs a reply or a change")
    name = fields["name"].strip()
    if not name:
        raise _refuse("name", "the name must not be empty")
    internal = bool(fields.get("internal")) and kind == Kind.MACRO
    return {"name": name, "scope": scope.value, "category_id": category_id, "body": body, "internal": internal} | {
        "actions": actions
    }


def _emit(tx: Tx, event_type: str, item: dict[str, Any]) -> None:
    data = {k: item[k] for k in ("kind", "name", "scope", "category_id")} | {"macro_id": item["id"]}
    tx.emit(event_type, aggregate_type="macro", aggregate_id=item["id"], data=data)


def create(tx: Tx, *, actor: Principal, kind: Kind, fields: dict[str, Any]) -> dict[str, Any]:
    """Make a reply or macro owned by `actor`; `macro.created`."""
    _require_staff(actor)
    values = _checked(tx.conn, actor, kind, fields, owner_id=actor.id)
    stamps = {"kind": kind.value, "owner_id": actor.id, "created_at": tx.now, "updated_at": tx.now}
    item_id = store.add(tx.conn, values | stamps)
    item = get(tx.conn, viewer=actor, kind=kind, item_id=item_id)
    _emit(tx, "macro.created", item)
    return item


def _changeable(tx: Tx, actor: Principal, kind: Kind, item_id: int) -> dict[str, Any]:
    """One the actor sees (else NotFound) and may change (else Forbidden)."""
    item = get(tx.conn, viewer=actor, kind=kind, item_id=item_id)
    if not may_change(role=actor.role, user_id=actor.id, scope=Scope(item["scope"]), owner_id=item["owner_id"]):
        raise Forbidden(f"only admins change shared {kind}s")
    return item


def update(tx: Tx, *, actor: Principal, kind: Kind, item_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    """Replace a reply or macro's name, scope, body and actions; `macro.updated`."""
    item = _changeable(tx, actor, kind, item_id)
    values = _checked(tx.conn, actor, kind, fields, owner_id=item["owner_id"])
    store.change(tx.conn, item_id=item_id, values=values | {"updated_at": tx.now})
    item = store.load(tx.conn, kind=kind, item_id=item_id) or item
    _emit(tx, "macro.updated", item)
    return item


def delete(tx: Tx, *, actor: Principal, kind: Kind, item_id: int) -> None:
    """Delete a reply or macro; `macro.deleted`."""
    item = _changeable(tx, actor, kind, item_id)
    store.remove(tx.conn, item_id=item_id)
    _emit(tx, "macro.deleted", item)


def _rendered(conn: Connection, item: dict[str, Any], ticket: dict[str, Any], agent: Principal) -> str | None:
    if item["body"] is None:
        return None
    return macro_templates.render(item["body"], macro_templates.context(conn, ticket=ticket, agent=agent))


def render_reply(conn: Connection, *, actor: Principal, ticket_id: int, reply_id: int) -> str:
    """A canned reply's text for `actor` writing on the ticket (for the reply box); nothing is stored."""
    reply = get(conn, viewer=actor, kind=Kind.REPLY, item_id=reply_id)
    ticket = tickets.load(conn, ticket_id=ticket_id, viewer=actor)
    return _rendered(conn, reply, ticket, actor) or ""


def preview(conn: Connection, *, actor: Principal, ticket_id: int, macro_id: int) -> dict[str, Any]:
    """What applying the macro would do to the ticket now: its reply as rendered, the fields, tags and status that
    would change (`domain.macros.changes_on`), and the version to apply it at. Nothing is stored."""
    macro = get(conn, viewer=actor, kind=Kind.MACRO, item_id=macro_id)
    ticket = tickets.load(conn, ticket_id=ticket_id, viewer=actor)
    body = _rendered(conn, macro, ticket, actor)
    return {
        "macro_id": macro_id,
        "name": macro["name"],
        "ticket_id": ticket_id,
        "version": ticket["version"],
        "reply": None if body is None else {"body": body, "internal": macro["internal"]},
        "changes": changes_on(ticket, macro["actions"]),
    }


def apply_macro(
    tx: Tx,
    *,
    actor: Principal,
    ticket_id: int,
    macro_id: int,
    expected_version: int | None = None,
    source: str = "api",
    leave: frozenset[str] = frozenset(),
) -> dict[str, Any] | None:
    """Apply a macro `actor` may use to a ticket: `macro.applied`, then its reply, fields, tags and status through
    `ticket_submit.submit`, each event caused by `macro.applied`. One unit of work: any refusal (a stale
    `expected_version`, a closed ticket, a tag off the allow list, an illegal move) raises and the caller's unit
    stores nothing. `source`: where a reply is written (`tickets.COMMENT_SOURCES`). `leave`: fields (as rule
    conditions name them: `priority`, `assignee_id`, `category_id`, `status`, `tag`, `custom`) a rule applying the
    macro must not touch, because a person just set them. Returns the comment made."""
    macro = get(tx.conn, viewer=actor, kind=Kind.MACRO, item_id=macro_id)
    ticket = tickets.current(tx, ticket_id=ticket_id, viewer=actor)
    tickets.check_version(ticket, expected_version)
    body = _rendered(tx.conn, macro, ticket, actor)
    actions = macro["actions"]
    submission = ticket_submit.Submission(
        reply=None if body is None else ticket_submit.Reply(body, macro["internal"]),
        changes={k: actions[k] for k in FIELD_ACTIONS if k in actions and k not in leave},
        status=Status(actions["status"]) if "status" in actions and "status" not in leave else None,
        add_tags=() if "tag" in leave else tuple(actions.get("add_tags", ())),
        remove_tags=() if "tag" in leave else tuple(actions.get("remove_tags", ())),
        fields={} if "custom" in leave else actions.get("fields", {}),
    )
    applied = tx.emit(
        "macro.applied",
        aggregate_type="ticket",
        aggregate_id=ticket_id,
        data={"ticket_id": ticket_id, "macro_id": macro_id, "name": macro["name"]},
    )
    # Caused by `macro.applied`, still acting for the rule that applied it, if one did (a rule's changes start no
    # cycle of their own, and pages name the rule).
    ctx = tx.ctx.caused_by(applied, source=tx.ctx.source, rule_id=tx.ctx.rule_id)
    caused = tx.child(dataclasses.replace(ctx, rule_name=tx.ctx.rule_name))
    return ticket_submit.submit(caused, actor=actor, ticket_id=ticket_id, submission=submission, source=source)
