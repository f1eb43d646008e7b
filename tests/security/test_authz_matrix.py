"""Who may call what: every route of the app x every kind of caller, with the exact status each must get.

The table is checked against `app.routes` both ways: a route without an entry fails
`test_every_route_has_an_entry` (add a row below), and an entry whose route has gone fails
`test_every_entry_has_a_route` (a route must not vanish unnoticed). Every route that takes a body is also
called with malformed bodies: a caller refused for who they are gets the same refusal as with a valid body,
because roles are checked before the body is read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.routing import Mount, Route, WebSocketRoute
from tests import mail_corpus
from tests.conftest import PASSWORD, Harness, User
from tests.mail_helpers import pipe
from tests.quarantine_helpers import held_mail
from tests.saml_helpers import offline_saml_config
from tests.webhook_receiver import stored_subscription

from nixflow.api.deps import GuardedRoute, RoleGate, authenticated, current_user
from nixflow.app import create_app
from nixflow.config import load_settings
from nixflow.crypto import keyring
from nixflow.ids import uuid7
from nixflow.notifications.model import KINDS
from nixflow.services import auth
from nixflow.store import passkeys as passkey_store
from nixflow.store.tables import SYSTEM_USER_ID
from nixflow.webhooks import deliveries, subscriptions

ANON, OWNER, OTHER, AGENT, ADMIN, SYSTEM = "anonymous", "requester", "other-requester", "agent", "admin", "system"
ROLES = (ANON, OWNER, OTHER, AGENT, ADMIN, SYSTEM)
OK_2XX = frozenset(range(200, 300))  # success whose exact code the API leaves open (any 2xx)
Expect = int | frozenset[int]


def public(code: int) -> dict[str, Expect]:
    return dict.fromkeys(ROLES, code)


def signed_in(code: Expect) -> dict[str, Expect]:
    """Any signed-in human; no credential or the system user's token is 401."""
    return {ANON: 401, OWNER: code, OTHER: code, AGENT: code, ADMIN: code, SYSTEM: 401}


def admin_only(code: Expect) -> dict[str, Expect]:
    return {ANON: 401, OWNER: 403, OTHER: 403, AGENT: 403, ADMIN: code, SYSTEM: 401}


def staff_only(code: Expect) -> dict[str, Expect]:
    return {ANON: 401, OWNER: 403, OTHER: 403, AGENT: code, ADMIN: code, SYSTEM: 401}


def page(requester: int, agent: int, admin: int) -> dict[str, Expect]:
    """A web page: signed in by the session cookie only; without one (or as the system user) a 303 to /login."""
    return {ANON: 303, OWNER: requester, OTHER: requester, AGENT: agent, ADMIN: admin, SYSTEM: 303}


def on_ticket(owner: int, agent: int, admin: int) -> dict[str, Expect]:
    """A route on the owner's ticket: another requester learns nothing (404, never 403)."""
    return {ANON: 401, OWNER: owner, OTHER: 404, AGENT: agent, ADMIN: admin, SYSTEM: 401}


@dataclass
class World:
    harness: Harness
    users: dict[str, User]
    counter: int = 0
    other: int = 0  # a second ticket (merge, links) or a comment of the ticket (split), made by `fill`
    workflow_id: int = 0  # the approval workflow `fill` made for a row that needs one

    def unique(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"


Body = Callable[[World, str], Any]


@dataclass
class Row:
    method: str
    path: str
    expect: dict[str, Expect]
    body: Body | None = None
    ticket: dict[str, Any] = field(default_factory=dict)  # fields of the fresh ticket behind {ticket_id}
    # Callers whose refusal depends on the object (the ticket and its state), not only on who they are: the
    # body is validated before the object is loaded, so a malformed body gets them 422.
    object_checked: frozenset[str] = frozenset()
    malformed: dict[str, Expect] | None = None  # when a malformed body gets something else than the rule says
    upload: bool = False  # the body is a multipart/form-data file upload
    query: str = ""  # a query string the route needs, appended to the path

    @property
    def is_page(self) -> bool:
        """Web pages take the session cookie, API routes the bearer token."""
        return not self.path.startswith(("/api", "/openapi", "/docs"))

    @property
    def key(self) -> tuple[str, str]:
        return self.method, normalise(self.path)


RULE = {
    "name": "matrix rule",
    "kind": "prioritization",
    "conditions": {"any": [{"field": "text", "op": "contains_word", "value": ["matrix"]}]},
    "actions": [{"type": "set_priority", "value": "high"}],
}


SHARED = {"name": "Shared", "scope": "everyone", "body": "Hello {{ requester.name }}"}


def field_body(w: World) -> dict[str, Any]:
    return {"key": w.unique("f").replace("-", "_"), "label": "Contract", "type": "text"}


def workflow_body(w: World) -> dict[str, Any]:
    """A workflow the admins decide (the matrix's admin is one)."""
    step = {"name": "Admins", "approvers": {"kind": "role", "role": "admin"}}
    return {"name": w.unique("workflow"), "steps": [step]}


def delegation_body(w: World, role: str) -> dict[str, Any]:
    delegate = w.users[AGENT if role == ADMIN else ADMIN]
    return {"delegate_id": delegate.id, "starts_at": "2020-01-01T00:00:00Z", "days": 30}


def mailbox_body(w: World) -> dict[str, Any]:
    return {"address": f"{w.unique('box')}@example.com", "provider": "microsoft", "client_id": "matrix-app"}


def provider_body(w: World) -> dict[str, Any]:
    config = {"kind": "oidc", "issuer": "https://idp.example.com", "client_id": "nixflow", "client_secret": "s"}
    return {"slug": w.unique("idp"), "name": "Matrix SSO", "config": config}


def calendar_body(w: World) -> dict[str, Any]:
    return {"name": w.unique("cal"), "timezone": "Europe/Berlin", "hours": {"mon": [["09:00", "17:00"]]}}


ROWS = [
    # Public
    Row("GET", "/api/health", public(200)),
    Row("GET", "/openapi.json", public(200)),
    Row("GET", "/api/docs", public(200)),
    Row("GET", "/docs/oauth2-redirect", public(200)),
    Row(
        "POST",
        "/api/auth/login",
        {ANON: 401, OWNER: 200, OTHER: 200, AGENT: 200, ADMIN: 200, SYSTEM: 401},
        malformed=public(422),  # the credentials are the body
        body=lambda w, role: {
            "email": w.users[role].email if role in w.users else "ghost@example.com",
            "password": PASSWORD,
        },
    ),
    # A forgotten password: anyone may ask (the same 202 for every address) and use a link (400: not one of ours)
    Row(
        "POST",
        "/api/auth/password-reset",
        public(202),
        malformed=public(422),
        body=lambda w, role: {"email": w.users[role].email if role in w.users else "ghost@example.com"},
    ),
    Row(
        "POST",
        "/api/auth/password-reset/confirm",
        public(400),
        malformed=public(422),
        body=lambda w, role: {"token": "not-a-link-we-mailed", "password": "a-long-enough-password"},
    ),
    # Your own account
    Row("POST", "/api/auth/logout", signed_in(204)),
    Row("GET", "/api/auth/me", signed_in(200)),
    Row("PATCH", "/api/auth/me", signed_in(200), body=lambda w, r: {"locale": "de", "timezone": "Europe/Berlin"}),
    Row(
        "POST",
        "/api/auth/password",
        signed_in(204),
        body=lambda w, role: {"current_password": PASSWORD, "new_password": PASSWORD},
    ),
    Row("POST", "/api/auth/tokens", signed_in(201)),
    Row("GET", "/api/auth/tokens", signed_in(200)),
    Row("DELETE", "/api/auth/tokens/{token_id}", signed_in(204)),
    # Passkeys: your own (registering needs a verified browser response: an empty one is a 400); signing in is public
    Row("POST", "/api/auth/passkeys/register/options", signed_in(200)),
    Row("POST", "/api/auth/passkeys/register", signed_in(400), body=lambda w, r: {"name": "Key", "credential": {}}),
    Row("GET", "/api/auth/passkeys", signed_in(200)),
    Row("PATCH", "/api/auth/passkeys/{passkey_id}", signed_in(200), body=lambda w, r: {"name": "Renamed"}),
    Row("DELETE", "/api/auth/passkeys/{passkey_id}", signed_in(204)),
    Row("POST", "/api/auth/passkeys/login/options", public(200)),
    Row(
        "POST",
        "/api/auth/passkeys/login",
        public(401),
        malformed=public(422),  # the credential is the body
        body=lambda w, r: {"credential": {}},
    ),
    # Your sessions: each sees and ends only their own (another's is 404, even for an admin); admins a user's
    Row("GET", "/api/auth/sessions", signed_in(200)),
    Row("DELETE", "/api/auth/sessions", signed_in(200)),
    Row("DELETE", "/api/auth/sessions/{session_id}", {**signed_in(404), OWNER: 204}),
    # A second factor: the second step takes a pending sign-in only (an API token is none); the rest is yours
    Row("POST", "/api/auth/mfa/verify", public(401), malformed=public(401), body=lambda w, r: {"code": "000000"}),
    Row("GET", "/api/auth/mfa", signed_in(200)),
    Row("POST", "/api/auth/mfa/totp", signed_in(200)),
    Row(
        "POST",
        "/api/auth/mfa/totp/confirm",
        signed_in(frozenset({403, 409})),  # a wrong code, or no enrolment waiting
        malformed=signed_in(422),  # refused for the code the body carries, not for who calls
        body=lambda w, r: {"code": "000000"},
    ),
    Row(
        "POST",
        "/api/auth/mfa/totp/disable",
        signed_in(404),  # no factor to turn off
        malformed=signed_in(422),
        body=lambda w, r: {"password": PASSWORD},
    ),
    Row(
        "POST",
        "/api/auth/mfa/recovery-codes",
        signed_in(403),  # a wrong code
        malformed=signed_in(422),
        body=lambda w, r: {"code": "000000"},
    ),
    Row("GET", "/api/auth/mfa/policy", admin_only(200)),
    Row(
        "PUT",
        "/api/auth/mfa/policy",
        admin_only(200),
        body=lambda w, r: {"required_roles": [], "remember_device_days": 0},
    ),
    # Writing replies: a preview for anyone who writes comments; a signature for staff, who sign replies
    Row("POST", "/api/markdown/preview", signed_in(200), body=lambda w, r: {"body": "*hi*"}),
    Row("GET", "/api/auth/signature", staff_only(200)),
    Row("PUT", "/api/auth/signature", staff_only(200), body=lambda w, r: {"signature": "Thanks, the desk"}),
    Row("POST", "/api/ws/ticket", signed_in(201)),
    # Tickets
    Row("POST", "/api/tickets", signed_in(201), body=lambda w, r: {"title": "matrix"}),
    Row("GET", "/api/tickets", signed_in(200)),
    Row("GET", "/api/tickets/{ticket_id}", on_ticket(200, 200, 200)),
    Row("PATCH", "/api/tickets/{ticket_id}", on_ticket(200, 200, 200), body=lambda w, r: {"version": 1, "title": "t"}),
    Row(
        "POST",
        "/api/tickets/{ticket_id}/transition",
        on_ticket(403, 200, 200),
        body=lambda w, r: {"status": "open"},
        object_checked=frozenset({OWNER}),  # a requester may close or reopen their resolved ticket
    ),
    Row("POST", "/api/tickets/{ticket_id}/comments", on_ticket(201, 201, 201), body=lambda w, r: {"body": "hi"}),
    Row(
        "POST",
        "/api/tickets/{ticket_id}/update",
        on_ticket(403, 200, 200),
        body=lambda w, r: {"comment": {"body": "hi"}, "priority": "high", "status": "open"},
        object_checked=frozenset({OWNER}),  # a requester comments through it, but sets no priority
    ),
    Row("GET", "/api/tickets/{ticket_id}/comments", on_ticket(200, 200, 200)),
    # Mail from an unverified sender, held on the ticket for an agent
    Row("POST", "/api/tickets/{ticket_id}/comments/{comment_id}/publish", staff_only(200)),
    Row("POST", "/api/tickets/{ticket_id}/comments/{comment_id}/discard", staff_only(204)),
    Row(
        "POST",
        "/api/tickets/{ticket_id}/approve",
        on_ticket(403, 403, 200),
        body=lambda w, r: {},
        ticket={"requires_approval": True},
        object_checked=frozenset({OWNER}),  # requesters go on to the ticket, so another's stays 404
    ),
    Row(
        "POST",
        "/api/tickets/{ticket_id}/reject",
        on_ticket(403, 403, 200),
        body=lambda w, r: {"reason": "no"},
        ticket={"requires_approval": True},
        object_checked=frozenset({OWNER}),
    ),
    Row("GET", "/api/tickets/{ticket_id}/events", on_ticket(200, 200, 200)),
    Row("GET", "/api/tickets/{ticket_id}/requester-context", staff_only(200)),
    # Attachments: whoever sees the ticket (a requester never an internal note's files)
    Row("POST", "/api/tickets/{ticket_id}/attachments", on_ticket(201, 201, 201), upload=True),
    Row("GET", "/api/tickets/{ticket_id}/attachments", on_ticket(200, 200, 200)),
    Row("GET", "/api/attachments/{attachment_id}", on_ticket(200, 200, 200)),
    # Watchers: staff by id, a requester CCs an existing user by email on their own ticket
    Row("GET", "/api/tickets/{ticket_id}/watchers", on_ticket(200, 200, 200)),
    Row(
        "POST",
        "/api/tickets/{ticket_id}/watchers",
        on_ticket(201, 201, 201),
        body=lambda w, r: {"email": w.users[AGENT].email} if r == OWNER else {"user_id": w.users[AGENT].id},
    ),
    Row("DELETE", "/api/tickets/{ticket_id}/watchers/{user_id}", on_ticket(204, 204, 204)),
    # Tags: internal routing, staff only (the allow list: admins set it)
    Row("POST", "/api/tickets/{ticket_id}/tags", staff_only(200), body=lambda w, r: {"tags": ["vpn"]}),
    # Merge, split and link (issue 26)
    Row("POST", "/api/tickets/{ticket_id}/merge", staff_only(200), body=lambda w, r: {"into": w.other}),
    Row("POST", "/api/tickets/{ticket_id}/split", staff_only(201), body=lambda w, r: {"comment_id": w.other}),
    Row("GET", "/api/tickets/{ticket_id}/links", on_ticket(200, 200, 200)),
    Row(
        "POST",
        "/api/tickets/{ticket_id}/links",
        staff_only(201),
        body=lambda w, r: {"ticket_id": w.other, "kind": "related"},
    ),
    Row("DELETE", "/api/tickets/{ticket_id}/links", staff_only(204), query="?ticket_id={other_ticket_id}"),
    Row("GET", "/api/links/options", staff_only(200)),
    Row("PUT", "/api/links/options", admin_only(200), body=lambda w, r: {"block_parent_close": False}),
    Row("DELETE", "/api/tickets/{ticket_id}/tags/{tag}", staff_only(200)),
    Row("GET", "/api/tags", staff_only(200)),
    Row("GET", "/api/tags/allowed", staff_only(200)),
    Row("PUT", "/api/tags/allowed", admin_only(200), body=lambda w, r: {"tags": []}),
    # Canned replies and macros: staff use them; agents make personal ones, admins shared ones (the matrix's are
    # everyone's, so an agent may use but not change them)
    Row("GET", "/api/replies", staff_only(200)),
    Row("POST", "/api/replies", staff_only(201), body=lambda w, r: {"name": "Thanks", "body": "Thanks!"}),
    Row("GET", "/api/replies/{reply_id}", staff_only(200)),
    Row("PUT", "/api/replies/{reply_id}", admin_only(200), body=lambda w, r: SHARED, object_checked=frozenset({AGENT})),
    Row("DELETE", "/api/replies/{reply_id}", admin_only(204)),
    Row("POST", "/api/tickets/{ticket_id}/replies/{reply_id}/render", staff_only(200)),
    Row("GET", "/api/macros", staff_only(200)),
    Row("POST", "/api/macros", staff_only(201), body=lambda w, r: {"name": "Bump", "actions": {"priority": "high"}}),
    Row("GET", "/api/macros/{macro_id}", staff_only(200)),
    Row("PUT", "/api/macros/{macro_id}", admin_only(200), body=lambda w, r: SHARED, object_checked=frozenset({AGENT})),
    Row("DELETE", "/api/macros/{macro_id}", admin_only(204)),
    Row("POST", "/api/tickets/{ticket_id}/macros/{macro_id}/preview", staff_only(200)),
    Row("POST", "/api/tickets/{ticket_id}/macros/{macro_id}/apply", staff_only(200), body=lambda w, r: {}),
    # Bulk actions: staff only, a result per ticket (an unknown id is a 404 in its slot, the request still 200)
    Row("GET", "/api/tickets/ids", staff_only(200)),
    Row(
        "POST",
        "/api/tickets/bulk",
        staff_only(200),
        body=lambda w, r: {"ticket_ids": [1, 2], "actions": {"priority": "high"}},
    ),
    # Saved views: staff; the row's view is shared with everyone by an admin, so only admins change it
    Row("GET", "/api/views", staff_only(200)),
    Row("POST", "/api/views", staff_only(201), body=lambda w, r: {"name": w.unique("view")}),
    Row("GET", "/api/views/{view_id}", staff_only(200)),
    Row(
        "PUT",
        "/api/views/{view_id}",
        admin_only(200),
        body=lambda w, r: {"name": w.unique("view"), "scope": "everyone"},
        object_checked=frozenset({AGENT}),
    ),
    Row("DELETE", "/api/views/{view_id}", admin_only(204)),
    # Organizations: admins write, staff read, anyone the names of their own
    Row("GET", "/api/organizations", staff_only(200)),
    Row("GET", "/api/auth/me/organizations", signed_in(200)),
    Row("POST", "/api/organizations", admin_only(201), body=lambda w, r: {"name": w.unique("org")}),
    Row("GET", "/api/organizations/{organization_id}", staff_only(200)),
    Row("PATCH", "/api/organizations/{organization_id}", admin_only(200), body=lambda w, r: {"shares_tickets": True}),
    Row("DELETE", "/api/organizations/{organization_id}", admin_only(204)),
    Row(
        "POST",
        "/api/organizations/{organization_id}/members",
        admin_only(200),
        body=lambda w, r: {"user_id": w.users[OWNER].id},
    ),
    Row("DELETE", "/api/organizations/{organization_id}/members/{user_id}", admin_only(200)),
    # Identity providers (single sign-on)
    Row("GET", "/api/identity-providers", admin_only(200)),
    Row("POST", "/api/identity-providers", admin_only(201), body=lambda w, r: provider_body(w)),
    Row("GET", "/api/identity-providers/{provider_id}", admin_only(200)),
    Row("PATCH", "/api/identity-providers/{provider_id}", admin_only(200), body=lambda w, r: {"enabled": False}),
    Row("DELETE", "/api/identity-providers/{provider_id}", admin_only(204)),
    Row("GET", "/api/auth/oidc/providers", public(200)),
    Row("GET", "/api/auth/oidc/{slug}/start", public(404)),  # no provider of that slug: nobody learns more
    Row("GET", "/api/auth/oidc/{slug}/callback", public(404)),
    # Local passwords per role, and the break-glass admins who keep theirs
    Row("GET", "/api/auth/local-passwords", admin_only(200)),
    Row("PUT", "/api/auth/local-passwords", admin_only(200), body=lambda w, r: {"requester": True}),
    Row("PUT", "/api/auth/local-passwords/break-glass/{user_id}", admin_only(200)),
    Row("DELETE", "/api/auth/local-passwords/break-glass/{user_id}", admin_only(200)),
    # SAML sign-in: public (the IdP's signed answer is the credential); a JSON body is not the form the ACS takes
    Row("GET", "/api/auth/saml/{saml_slug}/metadata", public(200)),
    Row("GET", "/api/auth/saml/{saml_slug}/start", public(303)),
    Row("POST", "/api/auth/saml/{saml_slug}/acs", public(422), malformed=public(422), body=lambda w, r: {}),
    # Approval workflows: admins define them; staff start one; the people a step asks decide (here: admins);
    # anyone may name a delegate; the mail's signed link is public (its token is the credential)
    Row("GET", "/api/workflows", admin_only(200)),
    Row("POST", "/api/workflows", admin_only(201), body=lambda w, r: workflow_body(w)),
    Row("GET", "/api/workflows/{workflow_id}", admin_only(200)),
    Row("PUT", "/api/workflows/{workflow_id}", admin_only(200), body=lambda w, r: workflow_body(w)),
    Row("DELETE", "/api/workflows/{workflow_id}", admin_only(204)),
    Row("PUT", "/api/workflows/categories/{category_id}", admin_only(204), body=lambda w, r: {"workflow_id": None}),
    Row("GET", "/api/tickets/{ticket_id}/workflow", on_ticket(404, 200, 200)),
    Row(
        "POST",
        "/api/tickets/{ticket_id}/workflow",
        on_ticket(403, 403, 200),
        body=lambda w, r: {"approve": True, "reason": "fine"},
        object_checked=frozenset({OWNER, AGENT}),  # whether the step asks them depends on the workflow
    ),
    Row(
        "POST",
        "/api/tickets/{ticket_id}/workflow/start",
        staff_only(201),
        body=lambda w, r: {"workflow_id": w.workflow_id},
    ),
    Row("GET", "/api/workflow-delegation", signed_in(200)),
    Row("PUT", "/api/workflow-delegation", signed_in(200), body=lambda w, r: delegation_body(w, r)),
    Row("DELETE", "/api/workflow-delegation", signed_in(204)),
    Row(
        "POST",
        "/api/workflow-links/preview",
        public(422),
        malformed=public(422),
        body=lambda w, r: {"token": "not-a-link-we-mailed"},
    ),
    Row(
        "POST",
        "/api/workflow-links/decide",
        public(422),
        malformed=public(422),
        body=lambda w, r: {"token": "not-a-link-we-mailed", "approve": True},
    ),
    Row("GET", "/api/fields", signed_in(200)),
    Row("POST", "/api/fields", admin_only(201), body=lambda w, r: field_body(w)),
    Row("GET", "/api/fields/{field_id}", staff_only(200)),
    Row("PATCH", "/api/fields/{field_id}", admin_only(200), body=lambda w, r: {"label": "Renamed"}),
    Row("DELETE", "/api/fields/{field_id}", admin_only(200)),
    # Notifications: each user's own
    Row("GET", "/api/notifications", signed_in(200)),
    Row("GET", "/api/notifications/unread-count", signed_in(200)),
    Row("POST", "/api/notifications/read-all", signed_in(204)),
    Row(
        "POST",
        "/api/notifications/{notification_id}/read",
        {ANON: 401, OWNER: 204, OTHER: 404, AGENT: 404, ADMIN: 404, SYSTEM: 401},
    ),
    Row("GET", "/api/auth/me/notification-preferences", signed_in(200)),
    Row(
        "PUT",
        "/api/auth/me/notification-preferences",
        signed_in(200),
        body=lambda w, r: {"email": dict.fromkeys(KINDS, True), "in_app": dict.fromkeys(KINDS, False), "digest": "off"},
    ),
    # Users and categories (admin)
    Row(
        "POST",
        "/api/users",
        admin_only(201),
        body=lambda w, r: {
            "email": f"{w.unique('new')}@example.com",
            "name": "N",
            "role": "agent",
            "password": PASSWORD,
        },
    ),
    Row("GET", "/api/users", admin_only(200)),
    Row("GET", "/api/users/{user_id}", admin_only(200)),
    Row("PATCH", "/api/users/{user_id}", admin_only(200), body=lambda w, r: {"name": "Renamed"}),
    Row("GET", "/api/users/{user_id}/deactivation-preview", admin_only(200)),
    Row("GET", "/api/users/{user_id}/sessions", admin_only(200)),
    Row("DELETE", "/api/users/{user_id}/sessions", admin_only(200)),
    Row("GET", "/api/users/{user_id}/export", admin_only(200)),  # the person themselves: test_personal_data.py
    Row("DELETE", "/api/users/{user_id}/mfa", admin_only(204)),
    # A fresh requester each call, whose email the body cannot know: an admin gets past the gate to the 409 of a
    # mistyped confirmation (the erasure itself: test_erasure.py).
    Row("POST", "/api/users/{user_id}/erase", admin_only(409), body=lambda w, r: {"confirm": "nobody@example.com"}),
    Row(
        "POST",
        "/api/users/import",
        admin_only(200),
        body=lambda w, r: "Matrix Person,matrix@example.com,requester",
        query="?dry_run=true",
        malformed=admin_only(200),  # the body is CSV: any text is rows, each answered (here: invalid)
    ),
    Row("POST", "/api/categories", admin_only(201), body=lambda w, r: {"name": w.unique("cat")}),
    Row("GET", "/api/categories", admin_only(200)),
    Row("PATCH", "/api/categories/{category_id}", admin_only(200), body=lambda w, r: {"name": w.unique("renamed")}),
    # The event log (admin; the catalogue is for everyone signed in)
    Row("GET", "/api/events", admin_only(200)),
    Row("GET", "/api/events/stats", admin_only(200)),
    Row("GET", "/api/events/types", signed_in(200)),
    Row("GET", "/api/events/{event_id}", admin_only(200)),
    Row("POST", "/api/events/{event_id}/replay", admin_only(202)),
    # Reports (agents and admins)
    Row("GET", "/api/reports/summary", staff_only(200)),
    Row("GET", "/api/reports/series", staff_only(200)),
    Row("GET", "/api/reports/drilldown", staff_only(200)),
    Row("GET", "/api/reports/workload", staff_only(200)),
    Row("GET", "/api/reports/time", staff_only(200)),
    # Satisfaction surveys: the signed link is the credential (400: not one we mailed); the ticket page's answer is
    # the requester's alone (409: the matrix's ticket is not resolved); results for staff
    Row("POST", "/api/csat/survey", public(400), malformed=public(422), body=lambda w, r: {"token": "1.2.3.nope"}),
    Row(
        "POST",
        "/api/csat/answer",
        public(400),
        malformed=public(422),
        body=lambda w, r: {"token": "1.2.3.nope", "rating": "good"},
    ),
    Row("GET", "/api/csat/tickets/{ticket_id}", on_ticket(200, 200, 200)),
    Row("POST", "/api/csat/tickets/{ticket_id}", on_ticket(409, 403, 403), body=lambda w, r: {"rating": "good"}),
    Row("GET", "/api/csat/results", staff_only(200)),
    Row("GET", "/api/csat/comments", staff_only(200)),
    # Time entries: staff only; each changes and deletes their own (the row's entry is the caller's)
    Row("GET", "/api/tickets/{ticket_id}/time-entries", staff_only(200)),
    Row("POST", "/api/tickets/{ticket_id}/time-entries", staff_only(201), body=lambda w, r: {"minutes": 5}),
    Row("PATCH", "/api/tickets/{ticket_id}/time-entries/{entry_id}", staff_only(200), body=lambda w, r: {"minutes": 7}),
    Row("DELETE", "/api/tickets/{ticket_id}/time-entries/{entry_id}", staff_only(204)),
    # Business-hours calendars (agents read, admins write)
    Row("GET", "/api/calendars", staff_only(200)),
    Row("POST", "/api/calendars", admin_only(201), body=lambda w, r: calendar_body(w)),
    Row("GET", "/api/calendars/{calendar_id}", staff_only(200)),
    Row("PUT", "/api/calendars/{calendar_id}", admin_only(200), body=lambda w, r: calendar_body(w)),
    Row("DELETE", "/api/calendars/{calendar_id}", admin_only(204)),
    # Automation configuration (admin)
    Row("GET", "/api/rules", admin_only(200)),
    Row("POST", "/api/rules", admin_only(201), body=lambda w, r: RULE),
    Row(
        "POST",
        "/api/rules/simulate",
        admin_only(200),
        body=lambda w, r: {"rule": RULE, "since": "2020-01-01T00:00:00Z", "until": "2100-01-01T00:00:00Z"},
    ),
    Row("GET", "/api/rules/vocabulary", admin_only(200)),
    Row("GET", "/api/rules/{rule_id}", admin_only(200)),
    Row("PATCH", "/api/rules/{rule_id}", admin_only(200), body=lambda w, r: {"active": False}),
    Row("DELETE", "/api/rules/{rule_id}", admin_only(OK_2XX)),
    Row("GET", "/api/sla/policies", admin_only(200)),
    Row(
        "PUT",
        "/api/sla/policies/{priority}",
        admin_only(200),
        body=lambda w, r: {"first_response_minutes": 60, "resolution_minutes": 480, "warning_percent": 80},
    ),
    Row("GET", "/api/round-robin/counters", admin_only(200)),
    Row("DELETE", "/api/round-robin/counters/{key}", admin_only(OK_2XX | {404})),
    Row("DELETE", "/api/round-robin/counters", admin_only(OK_2XX)),
    Row("GET", "/api/round-robin/counters/{key}", admin_only(frozenset({200, 404}))),
    Row("GET", "/api/sla/policies/{priority}", admin_only(200)),
    Row("GET", "/api/sla/policies/organizations/{organization_id}", admin_only(200)),
    Row(
        "PUT",
        "/api/sla/policies/organizations/{organization_id}/{priority}",
        admin_only(200),
        body=lambda w, r: {"first_response_minutes": 30, "resolution_minutes": 240, "warning_percent": 80},
    ),
    Row("DELETE", "/api/sla/policies/organizations/{organization_id}/{priority}", admin_only(204)),
    # Webhooks (admin); paused, so nothing is sent anywhere
    Row(
        "POST",
        "/api/webhooks",
        admin_only(201),
        body=lambda w, r: {"url": "https://93.184.216.34/hook", "event_types": ["ticket.*"], "mode": "paused"},
    ),
    Row("GET", "/api/webhooks", admin_only(200)),
    Row("GET", "/api/webhooks/{webhook_id}", admin_only(200)),
    Row("PATCH", "/api/webhooks/{webhook_id}", admin_only(200), body=lambda w, r: {"description": "renamed"}),
    Row("DELETE", "/api/webhooks/{webhook_id}", admin_only(204)),
    Row("POST", "/api/webhooks/{webhook_id}/rotate-secret", admin_only(200), body=lambda w, r: {"overlap_hours": 1}),
    Row("GET", "/api/webhooks/{webhook_id}/deliveries", admin_only(200)),
    Row("GET", "/api/webhooks/{webhook_id}/deliveries/{delivery_id}", admin_only(200)),
    Row(
        "POST",
        "/api/webhooks/{webhook_id}/replay",
        admin_only(202),
        body=lambda w, r: {"since": "2020-01-01T00:00:00Z"},
    ),
    # OAuth2 mailboxes (admin): a Microsoft 365 one behind each {mailbox_id}; nothing here calls Microsoft
    Row("GET", "/api/mail/oauth/providers", admin_only(200)),
    Row("POST", "/api/mail/oauth/mailboxes", admin_only(201), body=lambda w, r: mailbox_body(w)),
    Row("GET", "/api/mail/oauth/mailboxes", admin_only(200)),
    Row("GET", "/api/mail/oauth/mailboxes/{mailbox_id}", admin_only(200)),
    Row("DELETE", "/api/mail/oauth/mailboxes/{mailbox_id}", admin_only(204)),
    Row("GET", "/api/mail/oauth/start", admin_only(303), query="?mailbox_id={mailbox_id}"),
    Row("GET", "/api/mail/oauth/callback", admin_only(400), query="?state=not-one-of-ours&code=x"),
    # Quarantined mail (admin): a fresh held mail behind each {quarantine_id}
    Row("GET", "/api/mail/quarantine", admin_only(200)),
    Row("GET", "/api/mail/quarantine/{quarantine_id}", admin_only(200)),
    Row("GET", "/api/mail/quarantine/{quarantine_id}/raw", admin_only(200)),
    Row("POST", "/api/mail/quarantine/{quarantine_id}/retry", admin_only(200)),
    Row("POST", "/api/mail/quarantine/{quarantine_id}/discard", admin_only(200)),
    # Knowledge base: staff write, everyone signed in reads what visibility allows (a published article here)
    Row("POST", "/api/kb/articles", staff_only(201), body=lambda w, r: {"title": "matrix", "body": "text"}),
    Row("GET", "/api/kb/articles", signed_in(200)),
    Row("GET", "/api/kb/articles/{article_id}", signed_in(200)),
    Row("PATCH", "/api/kb/articles/{article_id}", staff_only(200), body=lambda w, r: {"title": "renamed"}),
    Row("DELETE", "/api/kb/articles/{article_id}", staff_only(204)),
    Row("GET", "/api/kb/articles/{article_id}/versions", staff_only(200)),
    Row("GET", "/api/kb/articles/{article_id}/versions/{version}", staff_only(200)),
    Row("GET", "/api/kb/articles/{article_id}/diff", staff_only(200), query="?from=1&to=1"),
    Row("POST", "/api/kb/articles/{article_id}/versions/{version}/restore", staff_only(200)),
    Row(
        "POST",
        "/api/kb/articles/{article_id}/translations",
        staff_only(201),
        body=lambda w, r: {"language": "de", "title": "Matrix-Artikel", "body": "Text"},
    ),
    Row("GET", "/api/kb/articles/{article_id}/translations", signed_in(200)),
    Row("GET", "/api/kb/search", signed_in(200), query="?q=matrix"),
    Row("GET", "/api/kb/suggest", signed_in(200), query="?q=matrix"),
    Row("GET", "/api/search", signed_in(200), query="?q=matrix"),
    Row("POST", "/api/kb/articles/{article_id}/feedback", signed_in(201), body=lambda w, r: {"helpful": True}),
    Row("POST", "/api/kb/articles/{article_id}/solved", signed_in(200), body=lambda w, r: {"query": "matrix"}),
    Row("GET", "/api/kb/stats", staff_only(200)),
    # A new ticket is not resolved yet: staff get as far as the ticket (409), requesters are refused for their role.
    Row("POST", "/api/tickets/{ticket_id}/kb-article", staff_only(409)),
    # Web pages
    Row("GET", "/login", public(200)),
    Row("GET", "/login/mfa", public(303)),  # no sign-in waits for a second step: back to the sign-in form
    Row("GET", "/password-reset", public(200)),
    Row("GET", "/password-reset/confirm", public(200)),
    Row("GET", "/csat", public(200)),
    Row("GET", "/", page(303, 303, 303)),
    Row("GET", "/tickets", page(200, 200, 200)),
    Row("GET", "/tickets/new", page(200, 200, 200)),
    Row("GET", "/account", page(200, 200, 200)),
    Row("GET", "/notifications", page(200, 200, 200)),
    Row("GET", "/tickets/{ticket_id}", {**page(200, 200, 200), OTHER: 404}),
    Row("GET", "/queue", page(403, 200, 200)),
    Row("GET", "/events/{event_id}", page(403, 200, 200)),
    Row("GET", "/events", page(403, 403, 200)),
    Row("GET", "/events/stats", page(403, 403, 200)),
    Row("GET", "/events/stats/{by}.svg", page(403, 403, 200)),
    Row("GET", "/reports", page(403, 200, 200)),
    Row("GET", "/reports/tickets", page(403, 200, 200)),
    Row("GET", "/reports/workload", page(403, 200, 200)),
    Row("GET", "/reports/satisfaction", page(403, 200, 200)),
    Row("GET", "/reports/satisfaction/comments", page(403, 200, 200)),
    Row("GET", "/macros", page(403, 200, 200)),
    Row("GET", "/reports/charts/{chart}.svg", page(403, 200, 200)),
    Row("GET", "/admin/users", page(403, 403, 200)),
    Row("GET", "/admin/mfa", page(403, 403, 200)),
    Row("GET", "/admin/categories", page(403, 403, 200)),
    Row("GET", "/admin/organizations", page(403, 403, 200)),
    Row("GET", "/admin/identity-providers", page(403, 403, 200)),
    Row("GET", "/admin/mailboxes", page(403, 403, 200)),
    Row("GET", "/admin/fields", page(403, 403, 200)),
    Row("GET", "/admin/workflows", page(403, 403, 200)),
    Row("GET", "/workflow/decide", public(200)),
    Row("GET", "/admin/rules", page(403, 403, 200)),
    Row("GET", "/admin/sla", page(403, 403, 200)),
    Row("GET", "/admin/calendars", page(403, 403, 200)),
    Row("GET", "/admin/round-robin", page(403, 403, 200)),
    Row("GET", "/admin/webhooks", page(403, 403, 200)),
    Row("GET", "/admin/mail-quarantine", page(403, 403, 200)),
    Row("GET", "/kb", page(200, 200, 200)),
    Row("GET", "/search", page(200, 200, 200), query="?q=matrix"),
    Row("GET", "/kb/stats", page(403, 403, 200)),
    Row("GET", "/kb/{article_id}", page(200, 200, 200)),
]

# WebSocket routes obey the same rules; they are tested with a WebSocket client by the web UI's tests.
WEBSOCKETS = {"/api/ws"}


def normalise(path: str) -> str:
    """`/api/rules/{id}` and `/api/rules/{rule_id}` are the same route."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def flatten(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI >= 0.16x keeps included routers whole
        if included is not None:
            yield from flatten(included.routes, prefix + route.include_context.prefix)
        elif isinstance(route, APIWebSocketRoute | WebSocketRoute):
            yield "WEBSOCKET", normalise(prefix + route.path)
        elif isinstance(route, APIRoute | Route):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                yield method, normalise(prefix + route.path)
        elif isinstance(route, Mount):
            yield "MOUNT", normalise(prefix + route.path)
        else:
            yield type(route).__name__, getattr(route, "path", "?")


def app_routes() -> Iterator[tuple[str, str]]:
    app = create_app(load_settings(database_url="sqlite+aiosqlite:///unused.db", env="test"))
    yield from flatten(app.routes)


ROUTES = set(app_routes())
WITH_BODY = [row for row in ROWS if row.body is not None]
# Malformed bodies: broken JSON (refused while parsing) and well-formed JSON of the wrong shape (refused by
# the schema). FastAPI parses JSON before it solves any dependency and validates alongside them.
MALFORMED = (b'{"title": ', b'{"unexpected": [1, 2], "title": 7, "status": {}, "name": [], "version": "x"}')


def test_every_route_has_an_entry() -> None:
    assert ("GET", "/api/tickets/{}") in ROUTES, f"the route walk found only {sorted(ROUTES)}"
    covered = {row.key for row in ROWS} | {("WEBSOCKET", normalise(p)) for p in WEBSOCKETS}
    missing = sorted(r for r in ROUTES if r not in covered and r[0] != "MOUNT")
    where = "tests/security/test_authz_matrix.py"
    assert not missing, f"routes without an authorization-matrix row in {where}: " + ", ".join(
        f"{m} {p}" for m, p in missing
    )


def test_every_entry_has_a_route() -> None:
    gone = sorted(f"{row.method} {row.path}" for row in ROWS if row.key not in ROUTES)
    assert not gone, "authorization-matrix rows whose route has gone (remove the row, or restore the route): " + (
        ", ".join(gone)
    )


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from api_routes(included.routes)
        elif isinstance(route, APIRoute):
            yield route


def dependency_calls(dependant: Any) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from dependency_calls(sub)


def test_every_route_that_needs_a_caller_checks_it_before_reading_the_body() -> None:
    """A new router must use `GuardedRoute`, or its role checks would again come after body validation."""
    app = create_app(load_settings(database_url="sqlite+aiosqlite:///unused.db", env="test"))
    unguarded = []
    for route in api_routes(app.routes):
        calls = set(dependency_calls(route.dependant))
        needs_caller = any(isinstance(c, RoleGate) for c in calls) or calls & {authenticated, current_user}
        if route.path.startswith("/api") and needs_caller and not isinstance(route, GuardedRoute):
            unguarded.append(f"{sorted(route.methods)} {route.path}")
    assert not unguarded, f"API routes checking the caller only after the body: {unguarded}"


def test_the_table_has_no_duplicate_rows() -> None:
    keys = [row.key for row in ROWS]
    assert len(keys) == len(set(keys))


async def world_of(harness: Harness) -> World:
    users = {role: await harness.user(role.replace("other-", "")) for role in (OWNER, OTHER, AGENT, ADMIN)}
    return World(harness, users)


async def token_for(world: World, role: str) -> str | None:
    """A fresh credential per case, so a logout or revocation in one case cannot spoil the next."""
    if role == ANON:
        return None
    user_id = SYSTEM_USER_ID if role == SYSTEM else world.users[role].id
    keys = keyring(world.harness.nixflow.settings)
    issued = await world.harness.write(
        lambda tx: auth.issue_token(tx, keys=keys, user_id=user_id, kind="api", lifetime=None)
    )
    return str(issued.token)


async def fill(world: World, row: Row, role: str) -> str:
    """The row's path with every placeholder bound to a fresh object made for this case."""
    h, admin = world.harness, world.users[ADMIN].headers
    values: dict[str, str] = {}
    for name in re.findall(r"\{([^}]+)\}", row.path + row.query):
        if name == "ticket_id":
            body = {"title": "matrix ticket", **row.ticket}
            created = await h.client.post("/api/tickets", json=body, headers=world.users[OWNER].headers)
            values[name] = str(created.json()["id"])
            world.other = await _related(world, row, int(values[name]))
            if "/workflow" in row.path:
                await _with_workflow(world, int(values[name]), start=not row.path.endswith("/start"))
        elif name == "other_ticket_id":  # linked to the ticket, for the link to be removed
            values[name] = str(world.other)
            link = {"ticket_id": world.other, "kind": "related"}
            added = await h.client.post(f"/api/tickets/{values['ticket_id']}/links", json=link, headers=admin)
            assert added.status_code == 201, added.text
        elif name == "user_id":
            values[name] = str((await h.user("admin" if "/break-glass/" in row.path else "requester")).id)
            if "/watchers/" in row.path:  # someone watching the ticket, to be removed
                url = f"/api/tickets/{values['ticket_id']}/watchers"
                added = await h.client.post(url, json={"user_id": int(values[name])}, headers=admin)
                assert added.status_code == 201, added.text
        elif name == "comment_id":
            # The owner's mail with the ticket's tag proves nothing: it is held on the ticket.
            tagged = mail_corpus.plain(
                sender=world.users[OWNER].email,
                subject=f"[#{values['ticket_id']}] more",
                message_id=f"<{world.unique('held')}@matrix.test>",
            )
            values[name] = str((await pipe(h, tagged)).comment_id)
        elif name == "notification_id":
            # The owner is told about an agent's comment on their ticket.
            created = await h.client.post("/api/tickets", json={"title": "told"}, headers=world.users[OWNER].headers)
            url = f"/api/tickets/{created.json()['id']}/comments"
            await h.client.post(url, json={"body": "news"}, headers=world.users[AGENT].headers)
            await h.settle()
            told = await h.client.get("/api/notifications", headers=world.users[OWNER].headers)
            values[name] = str(told.json()["items"][0]["id"])
        elif name == "attachment_id":
            owner = world.users[OWNER].headers
            created = await h.client.post("/api/tickets", json={"title": "with a file"}, headers=owner)
            url = f"/api/tickets/{created.json()['id']}/attachments"
            added = await h.client.post(url, files={"file": ("a.txt", b"matrix file", "text/plain")}, headers=owner)
            assert added.status_code == 201, added.text
            values[name] = str(added.json()["id"])
        elif name == "category_id":
            created = await h.client.post("/api/categories", json={"name": world.unique("c")}, headers=admin)
            values[name] = str(created.json()["id"])
        elif name == "event_id" and row.is_page:
            # The event page shows ticket events to agents (user events are for admins only).
            await h.client.post("/api/tickets", json={"title": "matrix event"}, headers=world.users[OWNER].headers)
            await h.settle()
            values[name] = (await h.events(type="ticket.created"))[-1]["event_id"]
        elif name == "event_id":
            values[name] = (await h.events(type="user.created"))[0]["event_id"]
        elif name == "token_id":
            owner = world.users[OWNER if role in (ANON, SYSTEM) else role]
            created = await h.client.post("/api/auth/tokens", headers=owner.headers)
            values[name] = str(created.json()["id"])
        elif name == "passkey_id":  # one of the caller's own
            values[name] = str(await a_passkey(h, world.users[OWNER if role in (ANON, SYSTEM) else role].id))
        elif name == "session_id":  # the owner's, whoever asks
            created = await h.client.post("/api/auth/tokens", headers=world.users[OWNER].headers)
            values[name] = str(created.json()["id"])
        elif name == "calendar_id":
            created = await h.client.post("/api/calendars", json=calendar_body(world), headers=admin)
            assert created.status_code == 201, created.text
            values[name] = str(created.json()["id"])
        elif name == "organization_id":
            created = await h.client.post("/api/organizations", json={"name": world.unique("org")}, headers=admin)
            assert created.status_code == 201, created.text
            values[name] = str(created.json()["id"])
            if row.path.startswith("/api/sla/"):  # a policy of its own, for the one that removes it
                policy = {"first_response_minutes": 30, "resolution_minutes": 240, "warning_percent": 80}
                url = f"/api/sla/policies/organizations/{values[name]}/normal"
                assert (await h.client.put(url, json=policy, headers=admin)).status_code == 200
        elif name == "provider_id":
            created = await h.client.post("/api/identity-providers", json=provider_body(world), headers=admin)
            assert created.status_code == 201, created.text
            values[name] = str(created.json()["id"])
        elif name == "saml_slug":
            body = {"slug": world.unique("saml"), "name": "Matrix SAML", "config": offline_saml_config()}
            created = await h.client.post("/api/identity-providers", json=body, headers=admin)
            assert created.status_code == 201, created.text
            values[name] = str(created.json()["slug"])
        elif name == "rule_id":
            created = await h.client.post("/api/rules", json=RULE, headers=admin)
            assert created.status_code == 201, created.text
            values[name] = str(created.json()["id"])
        elif name in ("reply_id", "macro_id"):
            kind = "replies" if name == "reply_id" else "macros"
            body = {**SHARED, "actions": {"priority": "high"}} if kind == "macros" else SHARED
            created = await h.client.post(f"/api/{kind}", json=body, headers=admin)
            assert created.status_code == 201, created.text
            values[name] = str(created.json()["id"])
        elif name == "workflow_id":
            created = await h.client.post("/api/workflows", json=workflow_body(world), headers=admin)
            assert created.status_code == 201, created.text
            values[name] = str(created.json()["id"])
        elif name == "field_id":
            created = await h.client.post("/api/fields", json=field_body(world), headers=admin)
            assert created.status_code == 201, created.text
            values[name] = str(created.json()["id"])
        elif name == "webhook_id":
            values[name] = str((await stored_subscription(h))["id"])
        elif name == "mailbox_id":
            created = await h.client.post("/api/mail/oauth/mailboxes", json=mailbox_body(world), headers=admin)
            assert created.status_code == 201, created.text
            values[name] = str(created.json()["id"])
        elif name == "quarantine_id":
            values[name] = str(await held_mail(h, f"<{world.unique('held')}@matrix.test>"))
        elif name == "delivery_id":
            webhook_id = int(values["webhook_id"])
            values[name] = str(await _delivery(h, webhook_id))
        elif name == "article_id":
            body = {"title": "matrix article", "body": "text", "status": "published", "visibility": "requesters"}
            created = await h.client.post("/api/kb/articles", json=body, headers=admin)
            assert created.status_code == 201, created.text
            values[name] = str(created.json()["id"])
        elif name == "view_id":
            shared = {"name": world.unique("view"), "scope": "everyone"}
            created = await h.client.post("/api/views", json=shared, headers=admin)
            assert created.status_code == 201, created.text
            values[name] = str(created.json()["id"])
        elif name == "entry_id":
            staff = world.users[role if role in (AGENT, ADMIN) else AGENT]
            url = f"/api/tickets/{values['ticket_id']}/time-entries"
            logged = await h.client.post(url, json={"minutes": 3}, headers=staff.headers)
            assert logged.status_code == 201, logged.text
            values[name] = str(logged.json()["id"])
        elif name == "version":
            values[name] = "1"
        elif name == "tag":
            values[name] = "vpn"
        elif name == "slug":
            values[name] = "no-such-provider"
        elif name == "priority":
            values[name] = "normal"
        elif name == "key":
            values[name] = "category:1"
        elif name == "by":
            values[name] = "category"
        elif name == "chart":
            values[name] = "created-solved"
        else:
            raise AssertionError(f"no way to fill {{{name}}} in {row.path}: teach fill() about it")
    return (row.path + row.query).format(**values)


async def a_passkey(h: Harness, user_id: int) -> int:
    """A stored passkey of `user_id` (what a verified registration keeps)."""
    key = {"credential_id": f"matrix-{uuid7()}", "public_key": b"k", "sign_count": 0, "transports": []}
    return int(await h.write(lambda tx: passkey_store.add(tx.conn, user_id=user_id, name="Key", now=tx.now, **key)))


async def _related(world: World, row: Row, ticket_id: int) -> int:
    """What a merge, a link or a split of the ticket names: another ticket, or a comment of it."""
    h, owner = world.harness, world.users[OWNER].headers
    if row.path.endswith("/split"):
        said = await h.client.post(f"/api/tickets/{ticket_id}/comments", json={"body": "split me"}, headers=owner)
        return int(said.json()["id"])
    if row.path.endswith(("/merge", "/links")):
        return int((await h.client.post("/api/tickets", json={"title": "the other"}, headers=owner)).json()["id"])
    return 0


async def _with_workflow(world: World, ticket_id: int, *, start: bool) -> None:
    """An approval workflow the admins decide, started on the ticket unless the row starts it."""
    h, admin = world.harness, world.users[ADMIN].headers
    created = await h.client.post("/api/workflows", json=workflow_body(world), headers=admin)
    assert created.status_code == 201, created.text
    world.workflow_id = int(created.json()["id"])
    if start:
        url = f"/api/tickets/{ticket_id}/workflow/start"
        started = await h.client.post(url, json={"workflow_id": world.workflow_id}, headers=admin)
        assert started.status_code == 201, started.text


async def _delivery(h: Harness, webhook_id: int) -> int:
    """A delivery of that subscription: a replayed event."""
    event_id = (await h.events(type="user.created"))[0]["event_id"]
    await h.write(lambda tx: subscriptions.replay(tx, webhook_id=webhook_id, event_id=event_id))
    items, _ = await h.nixflow.db.read(lambda conn: deliveries.page(conn, webhook_id=webhook_id, limit=1, cursor=None))
    return int(items[0]["id"])


async def call(world: World, row: Row, role: str, content: bytes | None = None) -> Any:
    """Call the row's route as `role`, with the row's body or the raw `content` given."""
    harness = world.harness
    path = await fill(world, row, role)
    token = await token_for(world, role)
    headers = {}
    if token and row.is_page:
        headers["Cookie"] = f"nixflow_session={token}"
    elif token:
        headers["Authorization"] = f"Bearer {token}"
    harness.client.cookies.clear()  # a login in an earlier case must not sign this one in
    if content is not None:
        headers["Content-Type"] = "application/json"
        return await harness.client.request(row.method, path, content=content, headers=headers)
    if row.upload:
        files = {"file": ("matrix.txt", b"matrix upload", "text/plain")}
        return await harness.client.request(row.method, path, files=files, headers=headers)
    body = row.body(world, role) if row.body else None
    return await harness.client.request(row.method, path, json=body, headers=headers)


def matches(status: int, expected: Expect) -> bool:
    return status in (expected if isinstance(expected, frozenset) else {expected})


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.method} {r.path}" for r in ROWS])
async def test_each_caller_gets_exactly_its_status(harness: Harness, row: Row) -> None:
    assert row.key in ROUTES, f"{row.method} {row.path}: no such route any more"
    world = await world_of(harness)
    wrong = []
    for role in ROLES:
        response = await call(world, row, role)
        expected = row.expect[role]
        if not matches(response.status_code, expected):
            wrong.append(f"{role}: got {response.status_code}, want {expected}: {response.text[:200]}")
        if response.status_code >= 400 and not row.is_page:
            assert response.headers["content-type"].startswith("application/problem+json"), (role, response.text)
    assert not wrong, f"{row.method} {row.path}\n" + "\n".join(wrong)


def malformed_expect(row: Row, role: str) -> Expect:
    """A caller refused for who they are (401, 403) is refused the same way; anyone else learns the body is bad."""
    if row.malformed is not None:
        return row.malformed[role]
    expected = row.expect[role]
    if expected in (401, 403) and role not in row.object_checked:
        return expected
    return 422


@pytest.mark.parametrize("row", WITH_BODY, ids=[f"{r.method} {r.path}" for r in WITH_BODY])
async def test_a_malformed_body_is_refused_like_a_valid_one(harness: Harness, row: Row) -> None:
    assert row.key in ROUTES, f"{row.method} {row.path}: no such route any more"
    world = await world_of(harness)
    wrong = []
    for content in MALFORMED:
        for role in ROLES:
            response = await call(world, row, role, content)
            expected = malformed_expect(row, role)
            if not matches(response.status_code, expected):
                wrong.append(f"{role}, {content!r}: got {response.status_code}, want {expected}: {response.text[:200]}")
    assert not wrong, f"{row.method} {row.path}\n" + "\n".join(wrong)
