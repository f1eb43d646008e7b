"""The signed link of a satisfaction survey: which ticket, whose answer, until when, under NixFlow's mail key.

`<ticket>.<requester>.<expires, unix seconds>.<mac>`, where the mac is the keyed HMAC of mail tokens
(`Keyring.mail_token`) over those three numbers: changing any of them (another ticket, another person, a later
expiry) breaks it, and only NixFlow can make one. It rides in the URL's fragment, so no server log sees it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from nixflow.crypto import Keyring

_SHAPE = re.compile(r"^([0-9]{1,15})\.([0-9]{1,15})\.([0-9]{1,12})\.([a-z2-7]{26})$")


@dataclass(frozen=True)
class SurveyLink:
    """What a valid survey token says."""

    ticket_id: int
    requester_id: int
    expires_at: datetime


def _signed(ticket_id: int, requester_id: int, expires: int) -> str:
    return f"csat\n{ticket_id}\n{requester_id}\n{expires}"


def make(keys: Keyring, *, ticket_id: int, requester_id: int, expires_at: datetime) -> str:
    """The token of the survey of `ticket_id` for `requester_id`, working until `expires_at`."""
    expires = int(expires_at.timestamp())
    return f"{ticket_id}.{requester_id}.{expires}.{keys.mail_token(_signed(ticket_id, requester_id, expires))}"


def read(keys: Keyring, token: str) -> SurveyLink | None:
    """What `token` says, if NixFlow made it (under the current or a previous key); None if not. Expiry is the
    caller's check."""
    found = _SHAPE.match(token.strip().lower())
    if found is None:
        return None
    ticket_id, requester_id, expires = (int(found.group(i)) for i in (1, 2, 3))
    if not keys.mail_token_matches(_signed(ticket_id, requester_id, expires), found.group(4)):
        return None
    return SurveyLink(ticket_id, requester_id, datetime.fromtimestamp(expires, UTC))
