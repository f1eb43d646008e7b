"""The addresses and headers of NixFlow's mail: who it comes from, how it threads, how a loop is recognised."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import make_msgid, parseaddr
from typing import Any

LOOP_HEADER = "X-NixFlow-Loop"  # on every mail NixFlow sends (its domain): one that comes back is dropped


@dataclass(frozen=True)
class MailConfig:
    """Who mail comes from and where its links point."""

    mail_from: str
    base_url: str
    # What a recipient who chose no language or zone reads mail in (NIXFLOW_DEFAULT_LOCALE / _TIMEZONE).
    default_locale: str = "en"
    default_timezone: str = "UTC"

    def reader(self, recipient: dict[str, Any]) -> tuple[str, str]:
        """The language and zone of mail to a users row (its `locale`/`timezone`, else the defaults)."""
        return recipient.get("locale") or self.default_locale, recipient.get("timezone") or self.default_timezone

    @property
    def domain(self) -> str:
        """The domain of the sender address: it names message and thread ids."""
        return parseaddr(self.mail_from)[1].rpartition("@")[2] or "nixflow.invalid"


def thread_id(ticket_id: int, domain: str) -> str:
    """The id every mail about one ticket refers to, so mail clients thread them."""
    return f"<ticket-{ticket_id}@{domain}>"


def new_message_id(domain: str) -> str:
    """A fresh, unique Message-ID."""
    return make_msgid("nixflow", domain=domain)
