"""Canned replies and macros: their kinds and scopes, who sees and who changes one, and what a macro would change
on a ticket. Pure, no I/O.

Scopes as Zendesk has them: an agent keeps personal ones; shared ones (a team, that is a category's agents, or
everyone) are the admins' to make and change, because a shared reply speaks for the desk. Nobody sees another
person's personal ones, admins included.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum
from typing import Any

from nixflow.domain.values import Role
from nixflow.domain.visibility import STAFF

# The changes a macro may make, in the order `services/ticket_submit.submit` applies them.
FIELD_ACTIONS = ("priority", "category_id", "assignee_id")
ACTIONS = (*FIELD_ACTIONS, "add_tags", "remove_tags", "fields", "status")


class Kind(StrEnum):
    REPLY = "reply"
    MACRO = "macro"


class Scope(StrEnum):
    PERSONAL = "personal"
    TEAM = "team"
    EVERYONE = "everyone"


def may_see(*, role: Role, user_id: int, categories: Collection[int], item: Mapping[str, Any]) -> bool:
    """Whether a user may see (and use) a reply or macro: their own, their teams', everyone's; admins all teams'."""
    if role not in STAFF:
        return False
    scope = Scope(item["scope"])
    if scope == Scope.PERSONAL:
        return bool(item["owner_id"] == user_id)
    if scope == Scope.TEAM:
        return role != Role.AGENT or item["category_id"] in categories
    return True


def may_change(*, role: Role, user_id: int, scope: Scope, owner_id: int) -> bool:
    """Whether a user may make, change or delete one of `scope`: their personal ones; shared ones if admin."""
    if scope == Scope.PERSONAL:
        return owner_id == user_id
    return role in (Role.ADMIN, Role.SYSTEM)


def changes_on(ticket: Mapping[str, Any], actions: Mapping[str, Any]) -> dict[str, Any]:
    """What a macro's `actions` would change on `ticket`: `{field: {"old", "new"}}` for the fields and the status
    that would move, `add_tags` / `remove_tags` for the tags that would come and go (as normalised when saved),
    `fields` `{key: {"old", "new"}}` for the custom fields that would change (a null clears one)."""
    out: dict[str, Any] = {}
    for field in (*FIELD_ACTIONS, "status"):
        if field in actions and actions[field] != ticket[field]:
            out[field] = {"old": ticket[field], "new": actions[field]}
    removing = [t for t in actions.get("remove_tags", ()) if t in ticket["tags"]]
    adding = [t for t in actions.get("add_tags", ()) if t not in ticket["tags"] and t not in removing]
    if adding:
        out["add_tags"] = adding
    if removing:
        out["remove_tags"] = removing
    current = ticket.get("fields") or {}
    custom = {k: {"old": current.get(k), "new": v} for k, v in actions.get("fields", {}).items() if current.get(k) != v}
    if custom:
        out["fields"] = custom
    return out
