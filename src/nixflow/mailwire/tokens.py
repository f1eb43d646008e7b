"""The per-recipient tokens NixFlow puts on the mail it sends, so a reply or a bounce can prove what it answers.

A token is a keyed HMAC (`Keyring.mail_token`, from `NIXFLOW_SECRET_KEY`) over the notification's id and the
recipient's address: only the mailbox NixFlow wrote to has seen it, and no ticket number predicts it. It rides in
the Message-ID (`<nixflow.<id>.<token>@domain>`: a reply's In-Reply-To/References carry it back) and in the
envelope sender (`<local>+bounce.<id>.<token>@domain`, VERP: a delivery report goes back to it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr

from nixflow.crypto import Keyring

_FOUND = re.compile(r"(?:<nixflow|\+bounce)\.([0-9]{1,15})\.([a-z2-7]{26})@", re.IGNORECASE)


@dataclass(frozen=True)
class Token:
    """A token found in a mail: the notification it names, and the keyed part."""

    notification_id: int
    token: str


def _signed(notification_id: int, address: str) -> str:
    return f"{notification_id}\n{address.strip().lower()}"


def token(keys: Keyring, *, notification_id: int, address: str) -> str:
    """The token of notification `notification_id` sent to `address`."""
    return keys.mail_token(_signed(notification_id, address))


def message_id(keys: Keyring, *, notification_id: int, address: str, domain: str) -> str:
    """The Message-ID of a mail to `address`: unique per notification, carrying the recipient's token."""
    return f"<nixflow.{notification_id}.{token(keys, notification_id=notification_id, address=address)}@{domain}>"


def return_path(keys: Keyring, *, notification_id: int, address: str, mail_from: str) -> str:
    """The envelope sender (VERP) of a mail to `address`: a delivery report about it comes back to this address."""
    local, _, domain = parseaddr(mail_from)[1].rpartition("@")
    signed = token(keys, notification_id=notification_id, address=address)
    return f"{local or 'nixflow'}+bounce.{notification_id}.{signed}@{domain or 'nixflow.invalid'}"


def found(text: str) -> list[Token]:
    """Every token-shaped mark in `text` (Message-IDs and VERP addresses), unchecked."""
    return [Token(int(m.group(1)), m.group(2).lower()) for m in _FOUND.finditer(text)]


def issued_to(keys: Keyring, mark: Token, address: str) -> bool:
    """Whether `mark` is a token NixFlow issued to `address` (under the current or a previous key)."""
    return keys.mail_token_matches(_signed(mark.notification_id, address), mark.token)
