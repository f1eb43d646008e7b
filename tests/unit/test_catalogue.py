import ast
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import nixflow
from nixflow.domain.catalogue import (
    CATALOGUE,
    catalogue_json,
    spec_for,
    validate_data,
)
from nixflow.domain.errors import ValidationFailed
from nixflow.domain.values import EVENT_CATEGORIES, Priority

TYPE_PATTERN = re.compile(r"^[a-z]+\.[a-z_]+$")
PASSWORD_LIKE = re.compile(r"pass(?!key)|pwd|secret|credential", re.IGNORECASE)  # a passkey's id is no secret

# Ticket changes carry the SLA due times they leave, so a ticket's history is rebuilt from its events alone.
DUE_TIMES = ("first_response_due", "resolution_due")

# The shapes services emit; a changed field name breaks a consumer silently.
FEED = ("ical_url", "closed_periods")
EMITTED_FIELDS: dict[str, set[str]] = {
    "ticket.created": {
        "ticket_id",
        "title",
        "description",
        "status",
        "priority",
        "category_id",
        "requester_id",
        "approval",
        "channel",
        "organization_id",
        *DUE_TIMES,
    },
    "ticket.updated": {"ticket_id", "changes"},
    "ticket.status_changed": {"ticket_id", "old_status", "new_status", *DUE_TIMES},
    "ticket.assigned": {"ticket_id", "assignee_id", "previous_assignee_id"},
    "ticket.priority_changed": {"ticket_id", "old_priority", "new_priority", *DUE_TIMES},
    "ticket.category_changed": {"ticket_id", "old_category_id", "new_category_id"},
    "ticket.commented": {"ticket_id", "comment_id", "author_id", "body", "internal", "first_response", *DUE_TIMES},
    "ticket.approval_requested": {"ticket_id", "requester_id"},
    "ticket.approved": {"ticket_id", "approver_id", "reason"},
    "ticket.rejected": {"ticket_id", "approver_id", "reason"},
    "ticket.escalated": {"ticket_id", "level", "reason", "rule_id"},
    "ticket.reopened": {"ticket_id", "by_id"},
    "ticket.resolved": {"ticket_id", "by_id"},
    "ticket.closed": {"ticket_id", "by_id"},
    "automation.rule_applied": {
        "ticket_id",
        "rule_id",
        "rule_name",
        "actions",
        "trigger_event_id",
    },
    "automation.rule_failed": {
        "ticket_id",
        "rule_id",
        "rule_name",
        "error",
        "trigger_event_id",
    },
    "automation.rule_shadowed": {
        "ticket_id",
        "rule_id",
        "rule_name",
        "actions",
        "trigger_event_id",
    },
    "automation.assignment_skipped": {"ticket_id", "category_id", "reason"},
    "automation.counter_reset": {"key"},
    "automation.rule_created": {"rule_id", "rule_name", "changes"},
    "automation.rule_updated": {"rule_id", "rule_name", "changes"},
    "automation.rule_deleted": {"rule_id", "rule_name", "changes"},
    "automation.chain_stopped": {"ticket_id", "rule_id", "depth", "reason"},
    "sla.warning": {"ticket_id", "target", "due_at", "percent"},
    "sla.breached": {"ticket_id", "target", "due_at", "met_at"},  # met_at: met late, the breach fires then
    "sla.met": {"ticket_id", "target", "due_at", "met_at"},
    "sla.paused": {"ticket_id", "at"},
    "sla.resumed": {"ticket_id", "at"},
    "sla.retimed": {"ticket_id", "priority", *DUE_TIMES},
    "sla.policy_updated": {
        "priority",
        "first_response_minutes",
        "resolution_minutes",
        "warning_percent",
        "calendar_id",
    },
    "calendar.created": {"calendar_id", "name", "version", "effective_from", "timezone", "hours", "holidays", *FEED},
    "calendar.updated": {"calendar_id", "name", "version", "effective_from", "timezone", "hours", "holidays", *FEED},
    "calendar.deleted": {"calendar_id", "name"},
    "user.created": {"user_id", "email", "name", "role"},
    "user.updated": {"user_id", "changes"},
    "user.login": {"user_id"},
    "user.logout": {"user_id"},
    "user.login_failed": {"email", "reason"},
    "user.token_created": {"user_id", "token_id"},
    "user.token_revoked": {"user_id", "token_id"},
    "workflow.category_created": {"category_id", "name", "agent_ids", "calendar_id"},
    "workflow.category_updated": {"category_id", "changes"},
    "notification.requested": {"ticket_id", "recipient_role", "recipient_id", "reason"},
    "ticket.attachment_added": {
        "ticket_id",
        "attachment_id",
        "comment_id",
        "filename",
        "content_type",
        "size",
        "internal",
    },
    "email.received": {"inbound_id", "message_id", "sender", "subject", "size", "auto"},
    "email.threaded": {
        "inbound_id",
        "message_id",
        "ticket_id",
        "comment_id",
        "method",
        "matched",
        "sender_id",
        "skipped_files",
    },
    "email.suppressed": {"inbound_id", "message_id", "sender", "reason", "action", "ticket_id"},
    "email.bounced": {"inbound_id", "message_id", "addresses"},
}

TICKET_CREATED: dict[str, Any] = {
    "ticket_id": 42,
    "title": "VPN is down",
    "description": "Nobody can connect",
    "status": "new",
    "priority": "critical",
    "category_id": None,
    "requester_id": 7,
    "approval": "not_required",
    "channel": "mail",
    "organization_id": None,
    "first_response_due": "2024-05-01T12:15:00Z",
    "resolution_due": None,
}


SRC = Path(nixflow.__file__).parent
# Types whose name is put together at run time, with the code that does it and the pieces it is built from.
BUILT_AT_RUN_TIME = {
    "sla.warning": [("automation/timers.py", 'f"sla.{alarm.kind}"'), ("domain/sla.py", 'Alarm("warning"')],
    "sla.breached": [("automation/timers.py", 'f"sla.{alarm.kind}"'), ("domain/sla.py", 'Alarm("breached"')],
    # A target reached: met in time, or breached when reached late (`domain.sla.reached`).
    "sla.met": [("services/tickets.py", "outcome.event_type"), ("domain/sla.py", 'f"sla.{outcome}"')],
}


def _emits(function: ast.AST) -> bool:
    return any(
        isinstance(node, ast.Call) and "emit" in ast.unparse(node.func).rsplit(".", 1)[-1]
        for node in ast.walk(function)
    )


def produced_types() -> dict[str, set[str]]:
    """Each type named by a string literal inside a function that emits events, with the modules doing it."""
    found: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        if path == SRC / "events" / "catalogue.py":
            continue
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef) or not _emits(function):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in CATALOGUE:
                    found.setdefault(node.value, set()).add(str(path.relative_to(SRC)))
    return found


def test_every_declared_type_has_a_producer() -> None:
    """The catalogue lists what NixFlow emits: a feature that comes later adds its own types with its producer."""
    produced = produced_types()
    for event_type, pieces in BUILT_AT_RUN_TIME.items():
        if all(piece in (SRC / module).read_text() for module, piece in pieces):
            produced.setdefault(event_type, set()).add(pieces[0][0])
    unproduced = sorted(set(CATALOGUE) - set(produced))
    assert not unproduced, f"declared event types that nothing emits: {unproduced}"


def test_categories_are_the_documented_ones() -> None:
    # Every category stays a valid name, even one without types yet (kb: the knowledge base comes later).
    assert set(EVENT_CATEGORIES) == {
        "ticket",
        "automation",
        "sla",
        "kb",
        "user",
        "workflow",
        "notification",
        "email",
        "webhook",
        "calendar",
        "macro",
        "organization",
        "csat",  # issue 26: satisfaction surveys
        "mailbox",  # issue 27: OAuth2 mailboxes (connected, paused)
    }
    assert {spec.category for spec in CATALOGUE.values()} <= set(EVENT_CATEGORIES)


def test_contract_types_are_present() -> None:
    assert set(EMITTED_FIELDS) <= set(CATALOGUE)


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_type_is_dotted_lower_case_with_its_category(event_type: str) -> None:
    spec = CATALOGUE[event_type]
    assert TYPE_PATTERN.match(event_type)
    assert spec.type == event_type
    assert event_type.split(".")[0] == spec.category
    assert isinstance(spec.default_priority, Priority)
    assert spec.description.strip()


@pytest.mark.parametrize("event_type", sorted(EMITTED_FIELDS))
def test_model_fields_match_what_services_emit(event_type: str) -> None:
    assert set(spec_for(event_type).data_model.model_fields) == EMITTED_FIELDS[event_type]


def test_catalogue_json_lists_object_schemas_sorted_by_type() -> None:
    entries = catalogue_json()
    assert [e["type"] for e in entries] == sorted(CATALOGUE)
    for entry in entries:
        assert set(entry) == {"type", "category", "priority", "description", "schema"}
        schema = entry["schema"]
        assert schema["type"] == "object", entry["type"]
        assert schema["properties"], entry["type"]
        assert schema["additionalProperties"] is False, entry["type"]
        assert entry["priority"] in {p.value for p in Priority}
    json.dumps(entries)  # served as-is by GET /api/events/types


def test_default_priorities() -> None:
    assert spec_for("sla.breached").default_priority is Priority.HIGH
    assert spec_for("ticket.escalated").default_priority is Priority.HIGH
    assert spec_for("automation.rule_failed").default_priority is Priority.HIGH
    assert spec_for("user.login_failed").default_priority is Priority.NORMAL
    assert spec_for("ticket.created").default_priority is Priority.NORMAL
    notification = [s for s in CATALOGUE.values() if s.category == "notification"]
    assert {s.default_priority for s in notification} == {Priority.LOW}


def test_login_failed_schema_has_no_password_like_property() -> None:
    properties = spec_for("user.login_failed").data_model.model_json_schema()["properties"]
    assert not [name for name in properties if PASSWORD_LIKE.search(name)]


def test_no_event_type_carries_a_password_like_field() -> None:
    for spec in CATALOGUE.values():
        fields = spec.data_model.model_fields
        assert not [f for f in fields if PASSWORD_LIKE.search(f)], spec.type


def test_good_payload_is_returned_as_json_values() -> None:
    assert validate_data("ticket.created", TICKET_CREATED) == TICKET_CREATED

    due = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    data = validate_data(
        "sla.warning",
        {"ticket_id": 42, "target": "resolution", "due_at": due, "percent": 80},
    )
    assert data == {
        "ticket_id": 42,
        "target": "resolution",
        "due_at": "2024-05-01T12:00:00Z",
        "percent": 80,
    }


def test_missing_optional_fields_come_back_as_none() -> None:
    assert validate_data("ticket.assigned", {"ticket_id": 1, "assignee_id": 5}) == {
        "ticket_id": 1,
        "assignee_id": 5,
        "previous_assignee_id": None,
    }
    assert validate_data("automation.counter_reset", {}) == {"key": None}


def test_unknown_field_is_rejected() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_data("ticket.created", {**TICKET_CREATED, "password": "hunter2"})
    assert caught.value.detail == "invalid data for event type 'ticket.created'"
    assert caught.value.errors is not None
    assert [e["loc"] for e in caught.value.errors] == [["password"]]
    assert caught.value.errors[0]["type"] == "extra_forbidden"


def test_wrong_type_is_rejected_with_its_location() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_data(
            "ticket.status_changed",
            {"ticket_id": "abc", "old_status": "new", "new_status": "open"},
        )
    errors = caught.value.errors
    assert errors is not None
    assert len(errors) == 1
    assert errors[0]["loc"] == ["ticket_id"]
    assert errors[0]["type"] == "int_parsing"
    assert errors[0]["msg"]


def test_missing_required_field_and_bad_literal_are_rejected() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_data("sla.breached", {"ticket_id": 1, "target": "lunch"})
    assert caught.value.errors is not None
    assert sorted(e["loc"][0] for e in caught.value.errors) == ["due_at", "target"]


def test_unknown_priority_is_rejected() -> None:
    with pytest.raises(ValidationFailed):
        validate_data(
            "ticket.priority_changed",
            {"ticket_id": 1, "old_priority": "low", "new_priority": "urgent"},
        )


def test_unknown_type_is_rejected() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_data("ticket.teleported", {"ticket_id": 1})
    assert caught.value.detail == "unknown event type 'ticket.teleported'"
    with pytest.raises(ValidationFailed):
        spec_for("nope")


def test_catalogue_cannot_be_changed_at_runtime() -> None:
    with pytest.raises(TypeError):
        CATALOGUE["ticket.created"] = CATALOGUE["ticket.closed"]  # type: ignore[index]
