"""The one handler table: every consumer's own table of event types is listed in it, in the one order."""

from __future__ import annotations

from nixflow.automation.engine import DEPARTURES as DEPARTURE_EVENTS
from nixflow.automation.engine import TRIGGERS
from nixflow.automation.workflow_start import STARTS
from nixflow.event_handlers import EVENT_HANDLERS, Consumer, subscriptions
from nixflow.events.bus import Handler, HandlerRegistry
from nixflow.notifications.recipients import PLANNERS, TICKETLESS
from nixflow.reports.projection import PROJECTORS
from nixflow.search.projection import INDEXED

HANDLES = {
    Consumer.RULES: set(TRIGGERS),
    Consumer.DEPARTURES: set(DEPARTURE_EVENTS),
    Consumer.NOTIFICATIONS: {*PLANNERS, *TICKETLESS},
    Consumer.REPORTS: set(PROJECTORS),
    Consumer.SEARCH: set(INDEXED),
    Consumer.WORKFLOWS: set(STARTS),
}


def test_the_table_lists_exactly_what_each_consumer_handles() -> None:
    for consumer, handled in HANDLES.items():
        listed = {event_type for event_type, order in EVENT_HANDLERS.items() if consumer in order}
        assert listed == handled, consumer


def test_rules_run_before_notifications_and_reports_last() -> None:
    # Notifications are planned on the ticket as the rules left it; reports project what was decided.
    rank = {
        Consumer.RULES: 0,
        Consumer.DEPARTURES: 0,
        Consumer.WORKFLOWS: 0,
        Consumer.NOTIFICATIONS: 1,
        Consumer.REPORTS: 2,
        Consumer.SEARCH: 2,
    }
    for event_type, order in EVENT_HANDLERS.items():
        assert [rank[c] for c in order] == sorted(rank[c] for c in order), event_type
        assert len(set(order)) == len(order), event_type


def _noop(tx: object, record: object) -> None:
    return None


def test_the_registry_runs_the_consumers_in_the_table_order() -> None:
    consumers = {c: Handler(c.value, _noop) for c in Consumer}
    registry = HandlerRegistry()
    for event_type, handler in subscriptions(consumers):
        registry.subscribe(event_type, handler)
    assert [h.name for h in registry.for_type("ticket.commented")] == ["rules", "notifications", "reports", "search"]
    assert [h.name for h in registry.for_type("user.role_changed")] == ["departures", "reports"]
    for event_type, order in EVENT_HANDLERS.items():
        assert [h.name for h in registry.for_type(event_type)] == [c.value for c in order]
