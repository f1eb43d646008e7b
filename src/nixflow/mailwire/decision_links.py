"""The signed link in an approval request mail: it names one run, one step and one approver, and expires.

Signed and timestamped by `Keyring.sign` (from `NIXFLOW_SECRET_KEY`), so it is checked without a lookup and
is made when the mail is composed: the database never holds it. It is single use by what it names: once its
approver decided that step (or the step moved on), the decision it would make is refused. The link opens a page
that asks to confirm; following it decides nothing (the token rides in the URL fragment, which no server sees).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from nixflow.crypto import BadSecret, Keyring

PURPOSE = "workflow-decision"
LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class DecisionLink:
    """What a link lets its holder decide: one step of one run, as one user."""

    run_id: int
    step: int
    user_id: int


def token(keys: Keyring, link: DecisionLink, *, now: datetime) -> str:
    """The signed token of `link`, made at `now`."""
    return keys.sign(PURPOSE, f"{link.run_id}.{link.step}.{link.user_id}", now=now)


def url(base_url: str, signed: str) -> str:
    """The confirmation page of a signed token."""
    return f"{base_url}/workflow/decide#token={signed}"


def opened(keys: Keyring, signed: str, *, now: datetime) -> DecisionLink:
    """The link a token carries; BadSecret when it was altered, expired (`LIFETIME`) or never ours."""
    value = keys.unsign(PURPOSE, signed, max_age=LIFETIME, now=now)
    try:
        run_id, step, user_id = (int(part) for part in value.split("."))
    except ValueError:
        raise BadSecret("this value was never ours") from None
    return DecisionLink(run_id, step, user_id)
