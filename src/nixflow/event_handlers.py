"""Who consumes which event, and in what order: the one table (cosmicpython's `EVENT_HANDLERS`).

A unit of work hands each of its events to these consumers in the order listed, in the same transaction
(`events/dispatch.py`). The order is behaviour: the rules run first, so the notifications of an event are
planned on the ticket as the rules left it (the assignee a rule set is the one told), and the reports
project last. A consumer's own table says what it does with an event (`automation.engine.TRIGGERS`,
`notifications.recipients.PLANNERS`, `reports.projection.PROJECTORS`); `tests/unit/test_event_handlers.py`
holds each of them to this table, so an event type cannot be handled without a line here.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from nixflow.events.bus import Handler


class Consumer(StrEnum):
    RULES = "rules"  # automation.engine.RuleEngine.handler: prioritization and assignment rules
    DEPARTURES = "departures"  # automation.engine.RuleEngine.departures_handler: reassign who left
    NOTIFICATIONS = "notifications"  # notifications.consumer.NotificationConsumer.handler
    REPORTS = "reports"  # reports.projection.handler: the report read models
    SEARCH = "search"  # search.projection.handler: the tickets' full-text index
    WORKFLOWS = "workflows"  # automation.workflow_start.handler: a category's approval workflow on new tickets


RULES, DEPARTURES, NOTIFICATIONS, REPORTS, SEARCH, WORKFLOWS = Consumer

EVENT_HANDLERS: dict[str, tuple[Consumer, ...]] = {
    "ticket.created": (RULES, WORKFLOWS, REPORTS, SEARCH),
    "ticket.updated": (RULES, SEARCH),
    "ticket.status_changed": (RULES, NOTIFICATIONS),
    "ticket.commented": (RULES, NOTIFICATIONS, REPORTS, SEARCH),
    "ticket.approval_requested": (NOTIFICATIONS,),
    "ticket.approved": (RULES, NOTIFICATIONS),
    "ticket.rejected": (RULES, NOTIFICATIONS),
    "ticket.priority_changed": (RULES, REPORTS),
    "ticket.category_changed": (RULES, REPORTS),
    "ticket.assigned": (NOTIFICATIONS, REPORTS),
    "ticket.escalated": (NOTIFICATIONS,),
    "ticket.resolved": (REPORTS,),
    "ticket.reopened": (REPORTS,),
    "ticket.tagged": (RULES,),
    "ticket.untagged": (RULES,),
    "ticket.fields_changed": (RULES,),
    "ticket.attachment_added": (SEARCH,),
    "ticket.merged": (REPORTS, SEARCH),
    "sla.warning": (NOTIFICATIONS,),
    "sla.breached": (NOTIFICATIONS, REPORTS),
    "sla.met": (REPORTS,),
    "notification.requested": (NOTIFICATIONS,),
    "webhook.disabled": (NOTIFICATIONS,),
    "mailbox.paused": (NOTIFICATIONS,),
    "email.unverified": (SEARCH,),
    "email.unverified_discarded": (SEARCH,),
    "user.created": (REPORTS,),
    "user.updated": (SEARCH,),
    "user.deactivated": (DEPARTURES,),
    "user.role_changed": (DEPARTURES, REPORTS),
    "user.erased": (SEARCH,),
    "workflow.started": (NOTIFICATIONS,),
    "workflow.step_completed": (NOTIFICATIONS,),
    "workflow.expired": (NOTIFICATIONS,),
    "workflow.approved": (NOTIFICATIONS,),
    "workflow.rejected": (NOTIFICATIONS,),
}


def subscriptions(consumers: Mapping[Consumer, Handler]) -> list[tuple[str, Handler]]:
    """(event type, handler) in the table's order, for the handler registry."""
    return [(event_type, consumers[c]) for event_type, order in EVENT_HANDLERS.items() for c in order]
