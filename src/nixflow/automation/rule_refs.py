"""What a rule's actions refer to, checked when the rule is saved: what the schema cannot know.

Beside the rules service rather than in it: the macros a rule applies write tickets, and the ticket service
reads the rules (escalation timing), so the rules service cannot import the macros."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from nixflow.domain.errors import NotFound, ValidationFailed
from nixflow.domain.fields import Entity
from nixflow.domain.macros import Kind
from nixflow.domain.rules import Action, actions_json
from nixflow.services import macro_templates, macros, workflows
from nixflow.services.users import SYSTEM
from nixflow.store import custom_fields


def check(conn: Connection, actions: Sequence[Action] | None) -> None:
    """Refuse (422 naming the action) a reply's template that reaches past the allow-list, or a macro that is not
    there or not shared (rules act as NixFlow, which sees the shared macros only)."""
    for index, action in enumerate(actions_json(list(actions or ()))):
        _check_one(conn, index, action)


def _check_one(conn: Connection, index: int, action: dict[str, Any]) -> None:
    where: list[str | int] = ["body", "actions", index]
    try:
        if action["type"] == "send_reply":
            macro_templates.check(action["text"], field_keys=custom_fields.definitions(conn, Entity.TICKET).keys())
        elif action["type"] == "apply_macro":
            macros.get(conn, viewer=SYSTEM, kind=Kind.MACRO, item_id=action["macro_id"])
        elif action["type"] == "start_workflow":
            workflows.get(conn, viewer=SYSTEM, workflow_id=action["workflow_id"])
    except NotFound:
        what = "workflow" if action["type"] == "start_workflow" else "shared macro"
        message = f"action {index}: no {what} {action.get('workflow_id', action.get('macro_id'))}"
        raise ValidationFailed(message, errors=[{"loc": where, "msg": message}]) from None
    except ValidationFailed as exc:
        message = f"action {index}: {exc.detail}"
        raise ValidationFailed(message, errors=[{"loc": where, "msg": message}]) from None
