"""The catalogue of event types: data model, default priority and meaning of each."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, ValidationError

from nixflow.domain.errors import ValidationFailed
from nixflow.domain.values import EVENT_CATEGORIES, Priority, Role

# field -> {"old": ..., "new": ...}
FieldChanges = dict[str, dict[str, Any]]

SlaTarget = Literal["first_response", "resolution"]

# An alias, because inside EventSpec the field `type` hides the builtin.
DataModel: TypeAlias = type[BaseModel]


class EventData(BaseModel):
    """Base of every event's `data`: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


# Shared shapes: most events name one aggregate and add a few fields.


class TicketRef(EventData):
    ticket_id: int


class TicketActor(TicketRef):
    by_id: int | None = None


class TicketRuleRef(TicketRef):
    rule_id: int
    rule_name: str


class RuleRef(EventData):
    rule_id: int
    rule_name: str


class UserRef(EventData):
    user_id: int


class UserActor(UserRef):
    by_id: int | None = None


# ticket


class SlaDueTimes(TicketRef):
    """The SLA due times the change left the ticket with: a ticket's history is rebuilt from its events
    alone (`services/ticket_history.py`), and due times depend on policies that may change later."""

    first_response_due: datetime | None = None
    resolution_due: datetime | None = None


class TicketCreated(SlaDueTimes):
    title: str
    description: str
    status: str
    priority: Priority
    category_id: int | None = None
    requester_id: int
    approval: str
    channel: Literal["web", "mail", "api"] | None = None
    organization_id: int | None = None  # the requester's first organization when it was opened


class TicketUpdated(TicketRef):
    changes: FieldChanges


class TicketStatusChanged(SlaDueTimes):
    old_status: str
    new_status: str


class TicketAssigned(TicketRef):
    assignee_id: int | None = None
    previous_assignee_id: int | None = None


class TicketPriorityChanged(SlaDueTimes):
    old_priority: Priority
    new_priority: Priority


class TicketCategoryChanged(TicketRef):
    old_category_id: int | None = None
    new_category_id: int | None = None


class TicketCommented(SlaDueTimes):
    comment_id: int
    author_id: int
    body: str
    internal: bool
    first_response: bool = False  # this comment met the first-response target (sets `sla.first_response_at`)


class TicketApprovalRequested(TicketRef):
    requester_id: int


class TicketDecision(TicketRef):
    approver_id: int
    reason: str | None = None


class TicketEscalated(TicketRef):
    level: int
    reason: str | None = None
    rule_id: int | None = None


class TicketWatcherAdded(TicketActor):
    watcher_id: int


class TicketWatcherRemoved(TicketActor):
    watcher_id: int


class TicketTags(TicketActor):
    tags: list[str]  # normalised (domain/tags.py); only those that changed


class TicketFieldsChanged(TicketActor):
    """Custom field values: only the keys that changed, before and after (null: not set)."""

    before: dict[str, Any]
    after: dict[str, Any]
    requester_visible: list[str] = []  # of the changed keys, those requesters could see when it was made


class TicketMerged(TicketActor):
    """On both tickets: the source became a pointer to the target; what moved from the source to the target."""

    source_id: int
    target_id: int
    comments: int
    attachments: int
    watchers: int


class TicketItemMoved(TicketActor):
    """On the survivor of a merge: one comment or file of the source now belongs to it."""

    from_ticket_id: int
    comment_id: int | None = None
    attachment_id: int | None = None
    internal: bool  # an internal note (or a file on one): staff only


class TicketSplit(TicketActor):
    """On the origin: a new ticket was opened from one of its comments."""

    comment_id: int
    new_ticket_id: int


class TicketLinked(TicketActor):
    """On each ticket of the link: the kind is seen from this ticket (`parent`: the other is its parent)."""

    link_id: int
    kind: Literal["parent", "child", "related", "duplicate_of", "duplicated_by"]
    other_id: int


class TimeEntry(TicketRef):
    """A time entry as it is after the change (`ticket.time_entry_deleted`: as it was)."""

    entry_id: int
    agent_id: int
    minutes: int
    billable: bool
    note: str = ""
    moved_from: int | None = None  # the ticket it was logged on, when a merge moved it here


# automation


class RuleActions(TicketRuleRef):
    actions: list[dict[str, Any]]
    trigger_event_id: str | None = None


class RuleFailed(TicketRuleRef):
    error: str
    trigger_event_id: str | None = None


class AssignmentSkipped(TicketRef):
    category_id: int | None = None
    reason: str


class CounterReset(EventData):
    key: str | None = None  # None: every counter


class RuleChanged(RuleRef):
    changes: dict[str, Any] | None = None


class RuleToggled(RuleRef):
    by_id: int | None = None


class ChainStopped(TicketRef):
    rule_id: int | None = None
    depth: int
    reason: str


# sla


class SlaDue(TicketRef):
    target: SlaTarget
    due_at: datetime


class SlaWarning(SlaDue):
    percent: int


class SlaMet(SlaDue):
    met_at: datetime


class SlaBreached(SlaDue):
    met_at: datetime | None = None  # set when the target was met late: the breach fires as it is met


class SlaClock(TicketRef):
    at: datetime


class SlaRetimed(SlaDueTimes):
    """A policy change moved an open ticket's due times."""

    priority: Priority


class SlaPolicy(EventData):
    priority: Priority
    first_response_minutes: int
    resolution_minutes: int
    warning_percent: int
    calendar_id: int | None = None


class CalendarChanged(EventData):
    """A business-hours calendar's new version (the first one when created)."""

    calendar_id: int
    name: str
    version: int
    effective_from: datetime
    timezone: str
    hours: dict[str, list[list[str]]]
    holidays: dict[str, Any]
    ical_url: str | None = None
    closed_periods: int = 0  # events of the iCal feed kept as closed time


class CalendarDeleted(EventData):
    calendar_id: int
    name: str


# user


class UserCreated(UserRef):
    email: str
    name: str
    role: Role


class UserUpdated(UserRef):
    changes: FieldChanges


class UserFieldsChanged(UserActor):
    """A user's custom field values: only the keys that changed, before and after (null: not set)."""

    before: dict[str, Any]
    after: dict[str, Any]


class LoginFailed(EventData):
    email: str
    reason: str


class PasswordResetRequested(EventData):
    """Never the token: only who asked, and what came of it."""

    email: str
    user_id: int | None = None
    outcome: Literal[
        "mailed",
        "unknown email",
        "inactive or system user",
        "mail is not configured",
        "too many requests",
        "local passwords off",
    ]
    reset_id: int | None = None


class PasswordReset(UserActor):
    reset_id: int
    sessions_ended: int


class AccessEnded(UserActor):
    sessions_ended: int
    api_tokens_revoked: int


class MfaChallengeFailed(UserRef):
    """Never the code: only whose it was and why it was refused."""

    reason: str


class MfaRecoveryUsed(UserRef):
    remaining: int


class MfaPolicyChanged(EventData):
    required_roles: list[str]
    remember_device_days: int


class UserToken(UserRef):
    token_id: int


class PasskeyChanged(UserActor):
    """A passkey by its id and the name its owner gave it: never its key or credential id."""

    passkey_id: int
    name: str


class PasskeySignInFailed(EventData):
    user_id: int | None = None
    passkey_id: int | None = None
    reason: str


class RoleChanged(UserActor):
    old_role: Role
    new_role: Role


class IdentityLinked(UserRef):
    """A provider's subject now signs in as this user: `via` a new account (just in time) or a verified email."""

    provider_id: int
    provider_slug: str
    via: Literal["created", "email"]


class LocalPasswordsChanged(EventData):
    """The roles whose local passwords are now off (their people sign in through a directory or single sign-on)."""

    off: list[Role]
    by_id: int | None = None


class IdentityProviderChanged(EventData):
    """Never a secret or a config value: which fields changed."""

    provider_id: int
    slug: str
    kind: str
    changed: list[str]
    by_id: int | None = None


class UserErased(UserActor):
    """Who erased whom, when (the event's time) and why; never what: the ids whose text went, for projections."""

    reason: str | None = None
    tickets: list[int] = []  # whose searchable text changed
    attachments: list[int] = []  # files removed


# workflow


class CategoryCreated(EventData):
    category_id: int
    name: str
    agent_ids: list[int]
    calendar_id: int | None = None


class CategoryUpdated(EventData):
    category_id: int
    changes: FieldChanges


class TagAllowListChanged(EventData):
    tags: list[str]  # empty: any tag is allowed
    previous: list[str]


class LinkOptionsChanged(EventData):
    block_parent_close: bool  # a parent cannot be resolved or closed while a child is open
    by_id: int


class SavedViewChanged(EventData):
    view_id: int
    name: str
    scope: str  # team | everyone (personal views are their owner's, not events)
    category_id: int | None = None
    by_id: int


class WorkflowDefinitionChanged(EventData):
    workflow_id: int
    name: str
    by_id: int


class WorkflowRunRef(TicketRef):
    run_id: int
    name: str
    step: int  # the step (0-based) the event is about


class WorkflowStepBegun(WorkflowRunRef):
    """A step waits for its approvers (`delegate_ids`: who may stand in for them now). In `step_completed`, `step`
    is the step that now waits: the one before it was approved."""

    step_name: str
    approver_ids: list[int]
    delegate_ids: list[int] = []
    due_at: datetime | None = None
    by_id: int | None = None


class WorkflowDecided(WorkflowRunRef):
    by_id: int  # who decided
    for_id: int  # the approver it counts for: `by_id` itself, or whom a delegate stood in for
    approve: bool
    reason: str | None = None
    via: Literal["page", "api", "mail"] = "api"


class WorkflowEnded(WorkflowRunRef):
    by_id: int | None = None  # whose decision ended it; none: the deadline
    reason: str | None = None
    unapplied: str | None = None  # why the outcome's status was left out (a move the ticket could not make)


class WorkflowExpired(WorkflowRunRef):
    escalated_to: list[int]  # empty: nobody to escalate to, so the workflow ends rejected


class WorkflowDelegation(EventData):
    user_id: int
    delegate_id: int | None = None  # none: the delegation was ended
    starts_at: datetime | None = None
    ends_at: datetime | None = None


# macro


class MacroChanged(EventData):
    macro_id: int
    kind: str  # reply | macro
    name: str
    scope: str  # personal | team | everyone
    category_id: int | None = None


class MacroApplied(TicketRef):
    """The cause of each change a macro made: its comment, field, tag and status events name this event."""

    macro_id: int
    name: str


class FieldDefinitionChanged(EventData):
    """A custom field's definition as saved (domain/fields.py)."""

    field_id: int
    entity: str
    key: str
    label: str
    type: str
    options: list[str]
    required_for_requesters: bool
    required_for_agents: bool
    requester_visible: bool
    position: int
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    archived: bool = False


# kb


class ArticleRef(EventData):
    article_id: int


class ArticleCreated(ArticleRef):
    title: str
    status: str
    visibility: str
    author_id: int
    source_ticket_id: int | None = None  # written from this resolved ticket
    language: str = "en"  # absent in events from before translations: those articles are English
    translation_of: int | None = None  # a translation: the article it translates


class ArticleUpdated(ArticleRef):
    version: int
    changed: list[str]  # the fields this save changed
    editor_id: int
    restored_from: int | None = None  # the version it restored


class ArticleStatusChanged(ArticleRef):
    version: int
    title: str
    by_id: int


class ArticleDeleted(ArticleRef):
    title: str
    by_id: int


class ArticleViewed(ArticleRef):
    version: int
    viewer_id: int | None = None  # None: an anonymous reader of a public article


class ArticleSuggested(ArticleRef):
    version: int
    query: str
    rank: int  # 1 = the first suggestion
    user_id: int | None = None


class ArticleFeedback(ArticleRef):
    version: int
    helpful: bool
    comment: str | None = None
    user_id: int
    ticket_id: int | None = None


class TicketDeflected(ArticleRef):
    version: int
    user_id: int
    query: str | None = None


class ArticleResolvedTicket(TicketRef):
    article_id: int
    version: int
    by_id: int


# notification


class NotificationRef(EventData):
    notification_id: int
    recipient_id: int


class NotificationRequested(EventData):
    ticket_id: int | None = None
    recipient_role: str | None = None
    recipient_id: int | None = None
    reason: str


class NotificationCreated(NotificationRef):
    kind: str
    ticket_id: int | None = None
    title: str
    reason: str
    cause_event_id: str


class NotificationSent(NotificationRef):
    ticket_id: int | None = None
    channel: str
    reason: str
    # One mail may carry several notifications (changes held together); `notification_id` is the first.
    notification_ids: list[int] = []
    message_id: str | None = None


class NotificationFailed(NotificationRef):
    channel: str
    error: str
    attempt: int
    notification_ids: list[int] = []


class DigestSent(EventData):
    recipient_id: int
    channel: str
    notification_count: int
    period_start: datetime
    period_end: datetime


# ticket attachments and email in


class AttachmentAdded(TicketRef):
    attachment_id: int
    comment_id: int | None = None
    filename: str
    content_type: str
    size: int
    internal: bool  # on an internal note: staff only


class MailRef(EventData):
    inbound_id: int
    message_id: str


class MailReceived(MailRef):
    sender: str
    subject: str
    size: int
    auto: str | None = None  # why the mail is automatic, if it is


ThreadMethod = Literal["subject_tag", "in_reply_to", "references", "new"]


class MailThreaded(MailRef):
    ticket_id: int
    comment_id: int | None = None
    method: ThreadMethod
    matched: str | None = None  # the tag or Message-ID that matched
    sender_id: int
    skipped_files: list[str] = []  # over the size limit, not kept


class MailSuppressed(MailRef):
    sender: str
    reason: str
    action: Literal["stored", "dropped"]
    ticket_id: int | None = None


class MailBounced(MailRef):
    addresses: list[str]


class MailUnverified(MailRef):
    ticket_id: int
    comment_id: int  # the held note
    sender_id: int  # whom the From: names: nothing proves it
    reason: str


class UnverifiedDecided(EventData):
    inbound_id: int | None = None
    message_id: str | None = None
    ticket_id: int
    comment_id: int  # the held note
    published_as: int | None = None  # the sender's comment it became
    by_id: int


class QuarantineRef(EventData):
    quarantine_id: int
    message_id: str | None = None  # None when the message could not even be parsed
    sender: str | None = None


class MailQuarantined(QuarantineRef):
    source: Literal["pipe", "imap"]
    subject: str | None = None
    size: int
    error: str  # the error's type and first line, never a traceback
    attempts: int  # 1 the first time; the same bytes arriving again while held count up


class MailQuarantineRetried(QuarantineRef):
    outcome: str  # what the intake made of it this time: ticket, comment, dropped, bounce, duplicate
    inbound_id: int | None = None
    ticket_id: int | None = None


# webhook


class WebhookRef(EventData):
    webhook_id: int


class WebhookCreated(WebhookRef):
    host: str  # the target's host only: a URL may carry a token in its path or query
    event_types: list[str]
    category_id: int | None = None
    mode: str


class WebhookChanged(WebhookRef):
    changes: dict[str, Any]


class WebhookDeleted(WebhookRef):
    host: str


class WebhookSecretRotated(WebhookRef):
    previous_valid_until: datetime


class WebhookDisabled(WebhookRef):
    host: str
    reason: str


class WebhookReplayed(WebhookRef):
    scheduled: int
    after: int | None = None
    since: datetime | None = None
    event_id: str | None = None


# mailbox: an OAuth2-connected mailbox (never a token in these)


class MailboxRef(EventData):
    mailbox_id: int
    address: str


class MailboxChanged(MailboxRef):
    provider: str
    by_id: int | None = None


class MailboxPaused(MailboxRef):
    """Its grant was revoked or expired at the provider: polling and sending wait until an admin reconnects."""

    reason: str


# organization


class OrganizationRef(EventData):
    organization_id: int


class OrganizationCreated(OrganizationRef):
    name: str
    domains: list[str]
    shares_tickets: bool
    fields: dict[str, Any] = {}  # custom field values it was made with


class OrganizationUpdated(OrganizationRef):
    changes: FieldChanges


class OrganizationFieldsChanged(OrganizationRef):
    """An organization's custom field values: only the keys that changed, before and after (null: not set)."""

    by_id: int | None = None
    before: dict[str, Any]
    after: dict[str, Any]


class OrganizationDeleted(OrganizationRef):
    name: str
    members: int


class OrganizationMember(OrganizationRef):
    user_id: int
    by_id: int | None = None
    via: Literal["admin", "domain"] = "admin"  # an admin, or a new user's mail domain


class OrganizationSlaPolicy(OrganizationRef):
    priority: Priority
    first_response_minutes: int | None = None  # none: removed (its tickets follow the priority's policy)
    resolution_minutes: int | None = None
    warning_percent: int | None = None


# csat


class CsatReceived(TicketRef):
    """A requester's survey answer; `changed`: it replaces their earlier answer (`previous_rating`)."""

    requester_id: int
    rating: Literal["good", "bad"]
    comment: str | None = None
    changed: bool = False
    previous_rating: Literal["good", "bad"] | None = None
    via: Literal["link", "page"]


@dataclass(frozen=True)
class EventSpec:
    """One event type: its data model, default priority and meaning."""

    type: str
    category: str
    data_model: DataModel
    default_priority: Priority
    description: str


_TABLE: tuple[tuple[str, type[BaseModel], str], ...] = (
    ("ticket.created", TicketCreated, "A ticket was opened."),
    ("ticket.updated", TicketUpdated, "Ticket fields were edited."),
    ("ticket.status_changed", TicketStatusChanged, "The ticket's status moved."),
    ("ticket.assigned", TicketAssigned, "The assignee was set or changed."),
    ("ticket.priority_changed", TicketPriorityChanged, "The priority changed."),
    ("ticket.category_changed", TicketCategoryChanged, "The category changed."),
    ("ticket.commented", TicketCommented, "A comment or internal note was added."),
    ("ticket.approval_requested", TicketApprovalRequested, "It awaits approval."),
    ("ticket.approved", TicketDecision, "An approver approved the ticket."),
    ("ticket.rejected", TicketDecision, "An approver rejected the ticket."),
    ("ticket.escalated", TicketEscalated, "It was escalated to a higher level."),
    ("ticket.reopened", TicketActor, "A resolved or closed ticket was reopened."),
    ("ticket.resolved", TicketActor, "The ticket was resolved."),
    ("ticket.closed", TicketActor, "The ticket was closed."),
    ("ticket.watcher_added", TicketWatcherAdded, "A user started watching it."),
    ("ticket.watcher_removed", TicketWatcherRemoved, "A user stopped watching it."),
    ("ticket.attachment_added", AttachmentAdded, "A file was attached to the ticket or one of its comments."),
    ("ticket.tagged", TicketTags, "Tags were put on the ticket (staff only)."),
    ("ticket.untagged", TicketTags, "Tags were taken off the ticket (staff only)."),
    ("ticket.fields_changed", TicketFieldsChanged, "Custom field values changed (requesters see their fields')."),
    ("ticket.merged", TicketMerged, "The ticket was merged into another, or another into it (on both)."),
    ("ticket.comment_moved", TicketItemMoved, "A merge moved a comment of the source to this ticket."),
    ("ticket.attachment_moved", TicketItemMoved, "A merge moved a file of the source to this ticket."),
    ("ticket.split", TicketSplit, "A new ticket was opened from one of its comments."),
    ("ticket.linked", TicketLinked, "A link to another ticket was made (on both tickets)."),
    ("ticket.unlinked", TicketLinked, "A link to another ticket was removed (on both tickets)."),
    ("ticket.time_logged", TimeEntry, "An agent logged time spent on the ticket (staff only)."),
    ("ticket.time_entry_changed", TimeEntry, "An agent changed their time entry (staff only)."),
    ("ticket.time_entry_deleted", TimeEntry, "An agent deleted their time entry (staff only)."),
    ("automation.rule_applied", RuleActions, "A rule matched and took its actions."),
    ("automation.rule_failed", RuleFailed, "A rule raised an error."),
    ("automation.rule_shadowed", RuleActions, "A shadow rule matched; nothing done."),
    ("automation.assignment_skipped", AssignmentSkipped, "No eligible agent."),
    ("automation.counter_reset", CounterReset, "Round-robin counters were reset."),
    ("automation.rule_created", RuleChanged, "An admin created a rule."),
    ("automation.rule_updated", RuleChanged, "An admin edited a rule."),
    ("automation.rule_deleted", RuleChanged, "An admin deleted a rule."),
    ("automation.rule_enabled", RuleToggled, "A rule was made active."),
    ("automation.rule_disabled", RuleToggled, "A rule was made inactive."),
    ("automation.chain_stopped", ChainStopped, "A rule chain hit the depth limit."),
    ("sla.warning", SlaWarning, "An SLA target is close to its due time."),
    ("sla.breached", SlaBreached, "An SLA target passed its due time unmet, or was met late (`met_at`)."),
    ("sla.met", SlaMet, "An SLA target was met in time."),
    ("sla.paused", SlaClock, "The SLA clock stopped (awaiting the user)."),
    ("sla.resumed", SlaClock, "The SLA clock started again."),
    ("sla.retimed", SlaRetimed, "A policy change moved the ticket's due times."),
    ("sla.policy_created", SlaPolicy, "An SLA policy was created."),
    ("sla.policy_updated", SlaPolicy, "An SLA policy was changed."),
    ("calendar.created", CalendarChanged, "A business-hours calendar was created."),
    ("calendar.updated", CalendarChanged, "A business-hours calendar got a new version."),
    ("calendar.deleted", CalendarDeleted, "A business-hours calendar was deleted."),
    ("user.created", UserCreated, "An account was created."),
    ("user.updated", UserUpdated, "Account fields were edited."),
    ("user.login", UserRef, "A user signed in."),
    ("user.logout", UserRef, "A user signed out."),
    ("user.login_failed", LoginFailed, "A sign-in attempt was refused."),
    ("user.token_created", UserToken, "An API token was issued."),
    ("user.token_revoked", UserToken, "An API token was revoked."),
    ("user.deactivated", UserActor, "An account was deactivated."),
    ("user.activated", UserActor, "An account was activated again."),
    ("user.role_changed", RoleChanged, "A user's role changed."),
    ("user.password_changed", UserActor, "A user's password was changed."),
    ("user.password_reset_requested", PasswordResetRequested, "Someone asked for a password reset link."),
    ("user.password_reset", PasswordReset, "A password was set through a reset link; every session ended."),
    ("user.fields_changed", UserFieldsChanged, "An admin changed a user's custom field values."),
    (
        "user.access_ended",
        AccessEnded,
        "A deactivated account's sessions and API tokens were ended and its open tickets unassigned.",
    ),
    ("user.passkey_added", PasskeyChanged, "A user registered a passkey (WebAuthn) to sign in with."),
    ("user.passkey_removed", PasskeyChanged, "A passkey was deleted: it signs nobody in any more."),
    ("user.passkey_sign_in_failed", PasskeySignInFailed, "A passkey assertion was refused (`reason` says why)."),
    ("user.identity_linked", IdentityLinked, "A single sign-on identity was linked to an account."),
    ("user.identity_provider_created", IdentityProviderChanged, "An admin added a single sign-on provider."),
    ("user.identity_provider_updated", IdentityProviderChanged, "An admin changed a single sign-on provider."),
    ("user.identity_provider_deleted", IdentityProviderChanged, "An admin removed a single sign-on provider."),
    (
        "user.sessions_ended",
        AccessEnded,
        "A user (or an admin, for them) ended all their sessions and API tokens, or all but the current one.",
    ),
    ("user.local_passwords_changed", LocalPasswordsChanged, "An admin turned local passwords on or off per role."),
    ("user.break_glass_marked", UserActor, "An admin keeps a local password whatever the policy (break-glass)."),
    ("user.break_glass_unmarked", UserActor, "An admin is no longer break-glass."),
    ("user.mfa_enrolled", UserRef, "A user set up a second factor (TOTP) and got new recovery codes."),
    ("user.mfa_challenge_failed", MfaChallengeFailed, "A second-factor code was refused."),
    ("user.mfa_recovery_used", MfaRecoveryUsed, "A user signed in with one of their recovery codes."),
    ("user.mfa_disabled", UserActor, "A user turned their second factor off."),
    ("user.mfa_reset", UserActor, "An admin removed a user's second factor."),
    ("user.mfa_policy_changed", MfaPolicyChanged, "An admin changed which roles need a second factor."),
    ("user.erased", UserErased, "A person's personal data was erased, from the tables and the event log's payloads."),
    ("workflow.category_created", CategoryCreated, "A ticket category was added."),
    ("workflow.category_updated", CategoryUpdated, "A ticket category was edited."),
    ("workflow.tag_allow_list_changed", TagAllowListChanged, "An admin set the tags agents and rules may use."),
    ("workflow.view_saved", SavedViewChanged, "An admin saved a view shared with a team or everyone."),
    ("workflow.view_deleted", SavedViewChanged, "A shared view was deleted (or made personal)."),
    ("workflow.definition_created", WorkflowDefinitionChanged, "An admin defined an approval workflow."),
    ("workflow.definition_updated", WorkflowDefinitionChanged, "An admin changed an approval workflow."),
    ("workflow.definition_deleted", WorkflowDefinitionChanged, "An admin deleted an approval workflow."),
    ("workflow.started", WorkflowStepBegun, "An approval workflow started on a ticket; its first step waits."),
    ("workflow.decided", WorkflowDecided, "An approver (or their delegate) approved or rejected a step."),
    ("workflow.step_completed", WorkflowStepBegun, "A step was approved; the next one waits."),
    ("workflow.approved", WorkflowEnded, "Every step was approved: the workflow's approval outcome applies."),
    ("workflow.rejected", WorkflowEnded, "A step was rejected (or expired): the rejection outcome applies."),
    ("workflow.expired", WorkflowExpired, "A step's deadline passed undecided: escalated, or the workflow ended."),
    ("workflow.delegation_set", WorkflowDelegation, "An approver named a delegate for a period, or ended it."),
    ("macro.created", MacroChanged, "A canned reply or a macro was made."),
    ("macro.updated", MacroChanged, "A canned reply or a macro was changed."),
    ("macro.deleted", MacroChanged, "A canned reply or a macro was deleted."),
    ("macro.applied", MacroApplied, "A macro was applied to a ticket, in one unit of work with the changes it caused."),
    ("workflow.field_created", FieldDefinitionChanged, "An admin defined a custom field."),
    ("workflow.field_updated", FieldDefinitionChanged, "An admin changed a custom field's definition."),
    ("workflow.field_archived", FieldDefinitionChanged, "An admin archived a custom field; its values stay."),
    ("workflow.link_options_changed", LinkOptionsChanged, "An admin set whether open children block their parent."),
    ("kb.article_created", ArticleCreated, "An article was written (a draft, from a ticket, or a translation)."),
    ("kb.article_updated", ArticleUpdated, "An article was saved as a new version (or an old one restored)."),
    ("kb.article_published", ArticleStatusChanged, "An article was published."),
    ("kb.article_archived", ArticleStatusChanged, "An article was withdrawn."),
    ("kb.article_deleted", ArticleDeleted, "An article and its versions were deleted."),
    ("kb.article_viewed", ArticleViewed, "Someone read an article."),
    ("kb.article_suggested", ArticleSuggested, "An article was suggested for what someone typed."),
    ("kb.feedback_received", ArticleFeedback, "A reader said whether an article helped."),
    ("kb.ticket_deflected", TicketDeflected, "An article solved the problem before a ticket was opened."),
    ("kb.article_resolved_ticket", ArticleResolvedTicket, "An article solved an open ticket, which was resolved."),
    ("notification.requested", NotificationRequested, "Someone should be told."),
    ("notification.created", NotificationCreated, "A notification was made for one recipient."),
    ("notification.sent", NotificationSent, "A notification was sent."),
    ("notification.failed", NotificationFailed, "Sending a notification failed."),
    ("notification.read", NotificationRef, "The recipient read it."),
    ("notification.digest_sent", DigestSent, "A periodic digest was sent."),
    ("email.received", MailReceived, "A mail arrived (piped in or polled) and was stored."),
    ("email.threaded", MailThreaded, "A mail opened a ticket or became a comment; `method` says how it was matched."),
    ("email.suppressed", MailSuppressed, "A mail is never answered (automatic, throttled, refused sender)."),
    ("email.bounced", MailBounced, "A delivery report: these addresses bounce, and get no more mail."),
    ("email.unverified", MailUnverified, "A mail whose sender proved nothing is held on its ticket as a note."),
    ("email.unverified_published", UnverifiedDecided, "An agent made a held mail its sender's public comment."),
    ("email.unverified_discarded", UnverifiedDecided, "An agent discarded a held mail."),
    ("email.quarantined", MailQuarantined, "A mail the intake could not store is held for an admin, bytes and error."),
    ("email.quarantine_retried", MailQuarantineRetried, "An admin retried a held mail, and the intake stored it."),
    ("email.quarantine_discarded", QuarantineRef, "An admin discarded a held mail: its bytes are dropped."),
    ("webhook.created", WebhookCreated, "An admin subscribed a URL to events."),
    ("webhook.updated", WebhookChanged, "A webhook subscription was changed (paused, resumed, ...)."),
    ("webhook.deleted", WebhookDeleted, "A webhook subscription was deleted."),
    ("webhook.secret_rotated", WebhookSecretRotated, "A webhook's signing secret was replaced."),
    ("webhook.disabled", WebhookDisabled, "A webhook was paused: its receiver is gone or kept failing."),
    ("webhook.replayed", WebhookReplayed, "Past events were scheduled for delivery to a webhook again."),
    ("mailbox.added", MailboxChanged, "An admin set up an OAuth2 mailbox (not connected yet)."),
    ("mailbox.connected", MailboxChanged, "An admin connected (or reconnected) an OAuth2 mailbox at its provider."),
    ("mailbox.paused", MailboxPaused, "An OAuth2 mailbox's grant was refused: its mail waits for a reconnection."),
    ("mailbox.removed", MailboxChanged, "An admin removed an OAuth2 mailbox and its tokens."),
    ("organization.created", OrganizationCreated, "An admin added an organization."),
    ("organization.updated", OrganizationUpdated, "An organization's name, domains or sharing changed."),
    ("organization.deleted", OrganizationDeleted, "An organization was deleted; its tickets keep its id."),
    ("organization.member_added", OrganizationMember, "A user joined an organization (an admin, or their domain)."),
    ("organization.member_removed", OrganizationMember, "A user left an organization."),
    (
        "organization.sla_policy_set",
        OrganizationSlaPolicy,
        "An organization got SLA targets of its own for a priority.",
    ),
    (
        "organization.sla_policy_removed",
        OrganizationSlaPolicy,
        "An organization's tickets follow the priority's SLA again.",
    ),
    ("organization.fields_changed", OrganizationFieldsChanged, "An admin changed an organization's custom fields."),
    ("csat.received", CsatReceived, "A requester rated a resolved ticket, or changed their rating (`changed`)."),
)

# Every type is normal priority unless its category or the type itself says otherwise.
_CATEGORY_PRIORITY: Mapping[str, Priority] = {"notification": Priority.LOW}
_TYPE_PRIORITY: Mapping[str, Priority] = {
    "ticket.escalated": Priority.HIGH,
    "sla.breached": Priority.HIGH,
    "automation.rule_failed": Priority.HIGH,
    "webhook.disabled": Priority.HIGH,
    "mailbox.paused": Priority.HIGH,
    "kb.article_viewed": Priority.LOW,
    "kb.article_suggested": Priority.LOW,
}


def _build(
    table: tuple[tuple[str, type[BaseModel], str], ...],
) -> Mapping[str, EventSpec]:
    """Turn the plain table into specs, checking names and categories once."""
    specs: dict[str, EventSpec] = {}
    for event_type, model, description in table:
        category = event_type.split(".", 1)[0]
        if category not in EVENT_CATEGORIES or event_type in specs:
            raise ValueError(f"bad or duplicate event type {event_type!r}")
        priority = _TYPE_PRIORITY.get(event_type, _CATEGORY_PRIORITY.get(category, Priority.NORMAL))
        specs[event_type] = EventSpec(event_type, category, model, priority, description)
    return MappingProxyType(specs)


CATALOGUE: Mapping[str, EventSpec] = _build(_TABLE)


def spec_for(event_type: str) -> EventSpec:
    """Return the spec of a known event type; ValidationFailed for an unknown one."""
    try:
        return CATALOGUE[event_type]
    except KeyError:
        raise ValidationFailed(f"unknown event type '{event_type}'") from None


def validate_data(event_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate `data` for `event_type` and return it as JSON-ready values."""
    model = spec_for(event_type).data_model
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        errors = [{"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]} for err in exc.errors()]
        raise ValidationFailed(f"invalid data for event type '{event_type}'", errors=errors) from None
    return parsed.model_dump(mode="json", exclude_none=False)


def catalogue_json() -> list[dict[str, Any]]:
    """List every event type with its priority, description and JSON Schema."""
    return [
        {
            "type": spec.type,
            "category": spec.category,
            "priority": spec.default_priority.value,
            "description": spec.description,
            "schema": spec.data_model.model_json_schema(),
        }
        for spec in sorted(CATALOGUE.values(), key=lambda s: s.type)
    ]
