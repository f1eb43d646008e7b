"""Who is told what: the drafts of notifications one event makes, before preferences and the holding window.

A recipient must be an active person who may see the ticket (staff, the ticket's requester, or someone CC'd on
it, who hears what the requester hears); internal notes and SLA alarms are for staff only. Excluding whoever
caused the change is the consumer's job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, or_, select

from nixflow.domain.envelope import EventRecord
from nixflow.domain.errors import NotFound
from nixflow.domain.values import Role
from nixflow.domain.visibility import may_see_ticket
from nixflow.i18n import N_
from nixflow.notifications.model import Draft
from nixflow.notifications.titles import Title
from nixflow.services import tickets
from nixflow.store.db import Tx
from nixflow.store.fast import Fast
from nixflow.store.tables import SYSTEM_USER_ID, ticket_watchers, users

STAFF = (Role.ADMIN.value, Role.AGENT.value)
REQUESTER_STATUSES = ("resolved", "closed")


@dataclass(frozen=True)
class Person:
    id: int
    role: str
    name: str
    active: bool

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF


_PERSON_COLUMNS = (users.c.id, users.c.role, users.c.name, users.c.active)
# Built once: planning runs for most events of a busy unit of work (an SLA tick makes thousands).
_PERSON = Fast(select(*_PERSON_COLUMNS).where(users.c.id == bindparam("b_id")))
_WITH_ROLE = select(*_PERSON_COLUMNS).where(
    users.c.role.in_(bindparam("b_roles", expanding=True)), users.c.active.is_(True)
)
_APPROVERS = select(*_PERSON_COLUMNS).where(
    or_(users.c.role == Role.ADMIN.value, users.c.can_approve.is_(True)), users.c.active.is_(True)
)
_WATCHERS = Fast(select(ticket_watchers.c.user_id).where(ticket_watchers.c.ticket_id == bindparam("b_ticket")))


def _people(conn: Connection, statement: Any, params: dict[str, Any] | None = None) -> list[Person]:
    return [Person(int(r.id), r.role, r.name, bool(r.active)) for r in conn.execute(statement, params or {})]


class Facts:
    """The ticket an event is about and the people around it. People are read once per unit of work (kept in
    `tx.memo`, which the user services clear when they change a user), the ticket through `tickets.current`."""

    def __init__(self, tx: Tx, record: EventRecord) -> None:
        self.tx = tx
        self.conn = tx.conn
        self.record = record
        ticket_id = record.data.get("ticket_id")
        self.ticket: dict[str, Any] | None = None
        if ticket_id is not None:
            try:
                self.ticket = tickets.current(tx, ticket_id=int(ticket_id))
            except NotFound:
                self.ticket = None

    @property
    def ticket_id(self) -> int:
        assert self.ticket is not None
        return int(self.ticket["id"])

    def person(self, user_id: int | None) -> Person | None:
        if user_id is None:
            return None

        def read() -> Person | None:
            r = _PERSON.first(self.conn, {"b_id": user_id})
            return None if r is None else Person(int(r["id"]), r["role"], r["name"], bool(r["active"]))

        return self.tx.memoized(("notify.person", user_id), read)

    def name(self, user_id: int | None) -> str:
        person = self.person(user_id)
        return "NixFlow automation" if person is None or user_id == SYSTEM_USER_ID else person.name

    def may_see(self, person: Person | None, *, staff_only: bool = False) -> bool:
        if person is None or person.id == SYSTEM_USER_ID or self.ticket is None:
            return False
        # A CC (a non-staff watcher) hears what the requester who brought them hears.
        return may_see_ticket(
            Role(person.role),
            requester=person.id == self.ticket["requester_id"],
            watches=lambda: person.id in self.watchers(),
            internal=staff_only,
            active=person.active,
        )

    def watchers(self) -> list[int]:
        rows = _WATCHERS.all(self.conn, {"b_ticket": self.ticket_id})
        return sorted(int(r["user_id"]) for r in rows)

    def with_role(self, *roles: str) -> list[int]:
        def read() -> list[int]:
            people = _people(self.conn, _WITH_ROLE, {"b_roles": list(roles)})
            return sorted(p.id for p in people if p.id != SYSTEM_USER_ID)

        return list(self.tx.memoized(("notify.with_role", roles), read))

    def approvers(self) -> list[int]:
        def read() -> list[int]:
            return sorted(p.id for p in _people(self.conn, _APPROVERS) if p.id != SYSTEM_USER_ID)

        return list(self.tx.memoized(("notify.approvers",), read))

    def assignee_or_admins(self) -> list[tuple[int, str]]:
        assert self.ticket is not None
        if self.ticket["assignee_id"] is not None:
            return [(int(self.ticket["assignee_id"]), "you are assigned to this ticket")]
        return [(a, "nobody is assigned to this ticket and you are an admin") for a in self.with_role("admin")]

    def title(self, key: str, **params: str | int) -> Title:
        """`key` (filled with `params`) about this ticket: "New comment from Ana: #12 Printer"."""
        assert self.ticket is not None
        return Title(key, {**params, "ticket_id": self.ticket_id, "ticket_title": str(self.ticket["title"])})


def _drafts(
    facts: Facts,
    targets: Iterable[tuple[int | None, str]],
    *,
    kind: str,
    title: Title,
    body: str,
    staff_only: bool = False,
    change: dict[str, Any] | None = None,
) -> list[Draft]:
    """One draft per visible recipient, with the first reason that applies to them."""
    out: dict[int, Draft] = {}
    for user_id, reason in targets:
        if user_id is None or user_id in out or not facts.may_see(facts.person(user_id), staff_only=staff_only):
            continue
        out[user_id] = Draft(user_id, kind, reason, title, body, change)
    return list(out.values())


def _staff(person: Person | None) -> bool:
    return person is not None and person.is_staff


def _around(facts: Facts, *, requester: bool = True) -> list[tuple[int | None, str]]:
    """The assignee, the requester (unless not) and the watchers of the ticket."""
    assert facts.ticket is not None
    targets: list[tuple[int | None, str]] = [(facts.ticket["assignee_id"], "you are assigned to this ticket")]
    if requester:
        targets.append((int(facts.ticket["requester_id"]), "you requested this ticket"))
    watching = [w for w in facts.watchers() if requester or _staff(facts.person(w))]
    targets += [(w, "you watch this ticket") for w in watching]
    return targets


def assigned(facts: Facts) -> list[Draft]:
    data = facts.record.data
    new = data.get("assignee_id")
    change = {"field": "assignee", "old": data.get("previous_assignee_id"), "new": new}
    return _drafts(
        facts,
        [(new, "the ticket was assigned to you")],
        kind="assigned",
        title=facts.title(N_("Assigned to you")),
        body=f"Assigned to {facts.name(new)}",
        staff_only=True,
        change=change,
    )


def commented(facts: Facts) -> list[Draft]:
    data = facts.record.data
    internal = bool(data["internal"])
    what = N_("Internal note from %(name)s") if internal else N_("New comment from %(name)s")
    return _drafts(
        facts,
        _around(facts, requester=not internal),
        kind="comments",
        title=facts.title(what, name=facts.name(data["author_id"])),
        body=str(data["body"]),
        staff_only=internal,
    )


def status_changed(facts: Facts) -> list[Draft]:
    old, new = facts.record.data["old_status"], facts.record.data["new_status"]
    requester_told = new in REQUESTER_STATUSES or (old in REQUESTER_STATUSES and new == "open")
    return _drafts(
        facts,
        _around(facts, requester=requester_told),
        kind="status",
        title=facts.title(N_("Status changed to %(status)s"), status=new),
        body=f"Status: {new} (was {old})",
        change={"field": "status", "old": old, "new": new},
    )


def approval_requested(facts: Facts) -> list[Draft]:
    requester = facts.record.data["requester_id"]
    return _drafts(
        facts,
        [(a, "you approve tickets") for a in facts.approvers()],
        kind="approvals",
        title=facts.title(N_("Approval requested")),
        body=f"{facts.name(requester)} asks for approval of this ticket",
        staff_only=False,
    )


def decided(facts: Facts) -> list[Draft]:
    data = facts.record.data
    approved = facts.record.type == "ticket.approved"
    verb = "Approved" if approved else "Rejected"
    reason = f": {data['reason']}" if data.get("reason") else ""
    return _drafts(
        facts,
        _around(facts)[:2],
        kind="approvals",
        title=facts.title(N_("Approved") if approved else N_("Rejected")),
        body=f"{verb} by {facts.name(data['approver_id'])}{reason}",
    )


def sla_alarm(facts: Facts) -> list[Draft]:
    data = facts.record.data
    target = str(data["target"]).replace("_", " ")
    if facts.record.type == "sla.warning":
        what, body = (
            N_("SLA warning (%(target)s)"),
            f"{data['percent']}% of the {target} time is used; due {data['due_at']}",
        )
    elif data.get("met_at"):
        what, body = N_("SLA breached (%(target)s)"), f"The {target} target was met late: due {data['due_at']}"
    else:
        what, body = N_("SLA breached (%(target)s)"), f"The {target} target passed its due time {data['due_at']}"
    title = facts.title(what, target=str(data["target"]))
    return _drafts(facts, facts.assignee_or_admins(), kind="sla", title=title, body=body, staff_only=True)


def escalated(facts: Facts) -> list[Draft]:
    data = facts.record.data
    why = f": {data['reason']}" if data.get("reason") else ""
    return _drafts(
        facts,
        facts.assignee_or_admins(),
        kind="sla",
        title=facts.title(N_("Escalated to level %(level)s"), level=int(data["level"])),
        body=f"Escalated to level {data['level']}{why}",
        staff_only=True,
    )


def requested(facts: Facts) -> list[Draft]:
    """The `notify` rule action: to a role, the assignee, or one user."""
    data = facts.record.data
    reason = f"rule '{data['reason']}' asked for it"
    role, user_id = data.get("recipient_role"), data.get("recipient_id")
    targets: list[tuple[int | None, str]] = []
    if user_id is not None:
        targets.append((int(user_id), reason))
    if role == "assignee":
        assert facts.ticket is not None
        targets.append((facts.ticket["assignee_id"], reason))
    elif role == "requester":
        assert facts.ticket is not None
        targets.append((int(facts.ticket["requester_id"]), reason))
    elif role is not None:
        targets += [(u, reason) for u in facts.with_role(role)]
    return _drafts(
        facts,
        targets,
        kind="rules",
        title=facts.title(N_("Rule: %(rule)s"), rule=str(data["reason"])),
        body=str(data["reason"]),
    )


def approval_asked(facts: Facts) -> list[Draft]:
    """A workflow step waits: its approvers and whoever stands in for them, each with the step to decide (the mail
    carries their signed link). Asked by the workflow, they are told even when they may not read the ticket (a
    requester's manager): the mail names the ticket and the step, the link decides only that step."""
    data = facts.record.data
    escalated = facts.record.type == "workflow.expired"
    asked = data["escalated_to"] if escalated else [*data["approver_ids"], *data.get("delegate_ids", [])]
    step = facts.record.data.get("step_name") or f"step {int(data['step']) + 1}"
    why = "the step's deadline passed and you are asked too" if escalated else "an approval workflow asks you"
    body = (
        f"{facts.name(facts.ticket['requester_id'] if facts.ticket else None)} needs approval: {data['name']}, {step}"
    )
    change = {"field": "workflow", "workflow_run_id": data["run_id"], "step": data["step"]}
    out: dict[int, Draft] = {}
    for user_id in asked:
        person = facts.person(int(user_id))
        if person is not None and person.active and person.id != SYSTEM_USER_ID and person.id not in out:
            out[person.id] = Draft(person.id, "approvals", why, facts.title(N_("Approval needed")), body, change)
    return list(out.values())


def workflow_ended(facts: Facts) -> list[Draft]:
    """The workflow's answer, to the requester, the assignee and the watchers."""
    data = facts.record.data
    verb = "approved" if facts.record.type == "workflow.approved" else "rejected"
    why = f": {data['reason']}" if data.get("reason") else ""
    body = f"{data['name']} was {verb}" + (f" by {facts.name(data['by_id'])}" if data.get("by_id") else "") + why
    title = facts.title(N_("Request approved") if verb == "approved" else N_("Request rejected"))
    return _drafts(facts, _around(facts), kind="approvals", title=title, body=body)


PLANNERS: dict[str, Callable[[Facts], list[Draft]]] = {
    "ticket.assigned": assigned,
    "ticket.commented": commented,
    "ticket.status_changed": status_changed,
    "ticket.approval_requested": approval_requested,
    "ticket.approved": decided,
    "ticket.rejected": decided,
    "sla.warning": sla_alarm,
    "sla.breached": sla_alarm,
    "ticket.escalated": escalated,
    "notification.requested": requested,
    "workflow.started": approval_asked,
    "workflow.step_completed": approval_asked,
    "workflow.expired": approval_asked,
    "workflow.approved": workflow_ended,
    "workflow.rejected": workflow_ended,
}


def webhook_disabled(facts: Facts) -> list[Draft]:
    """A webhook paused because its receiver is gone or kept failing: every admin, in the app (no ticket)."""
    data = facts.record.data
    title = Title(
        N_("Webhook %(webhook)s to %(host)s was disabled"), {"webhook": data["webhook_id"], "host": data["host"]}
    )
    body = f"{data['reason']}. Resume it on the Webhooks page once the receiver works; replay sends what it missed."
    reason = "you are an admin"
    return [Draft(a, "system", reason, title, body) for a in facts.with_role("admin")]


def mailbox_paused(facts: Facts) -> list[Draft]:
    """An OAuth2 mailbox whose grant was refused: every admin, in the app (its mail may be what is stuck)."""
    data = facts.record.data
    title = Title(N_("Mailbox %(address)s is paused"), {"address": str(data["address"])})
    body = f"{data['reason']}. Its mail waits, unread and queued: reconnect it and nothing is lost."
    return [Draft(a, "system", "you are an admin", title, body) for a in facts.with_role("admin")]


# Events about no ticket: told in the app only (mail is about tickets).
TICKETLESS: dict[str, Callable[[Facts], list[Draft]]] = {
    "webhook.disabled": webhook_disabled,
    "mailbox.paused": mailbox_paused,
}


def plan(tx: Tx, record: EventRecord) -> list[Draft]:
    """The drafts `record` makes (none for an event about a ticket no longer there)."""
    ticketless = TICKETLESS.get(record.type)
    if ticketless is not None:
        return ticketless(Facts(tx, record))
    planner = PLANNERS.get(record.type)
    if planner is None:
        return []
    facts = Facts(tx, record)
    return [] if facts.ticket is None else planner(facts)
