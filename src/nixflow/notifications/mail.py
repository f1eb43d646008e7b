"""Composing notification mail: Jinja2 text and HTML parts (CSS inlined), threaded per ticket."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Any

import css_inline
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from nixflow import i18n
from nixflow.crypto import Keyring
from nixflow.domain.csat import RATINGS, link_expiry
from nixflow.i18n import N_, templates
from nixflow.mailwire import survey_links
from nixflow.mailwire.addresses import LOOP_HEADER, MailConfig, thread_id
from nixflow.markup import render_reply
from nixflow.notifications import titles


@functools.cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("nixflow.notifications", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        keep_trailing_newline=True,
        extensions=templates.EXTENSIONS,
    )
    return templates.prepare(env)


# The fixed reasons recipients.py stores on notification rows (in English): mail translates them for its reader.
# Titles are rendered from their stored key and values (notifications/titles.py).
STORED_LABELS = (
    N_("you are assigned to this ticket"),
    N_("you requested this ticket"),
    N_("you watch this ticket"),
    N_("the ticket was assigned to you"),
    N_("you approve tickets"),
    N_("you are an admin"),
)


def _one_line(text: str) -> str:
    return " ".join(text.split())


# A link or image on this site (an attachment, another ticket) written as a path: a mail needs the whole address.
_SITE_PATH = re.compile(r'(href|src)="/(?!/)')


def _html_body(config: MailConfig, item: dict[str, Any]) -> Markup | None:
    """A comment's body for the HTML part: its Markdown rendered (and sanitised) as the ticket page shows it."""
    if item.get("event_type") != "ticket.commented":
        return None
    return Markup(_SITE_PATH.sub(rf'\1="{config.base_url}/', render_reply(str(item["body"]))))  # sanitised


def compose(
    config: MailConfig,
    *,
    to_email: str,
    to_name: str,
    items: Sequence[dict[str, Any]],
    message_id: str,
    ticket: dict[str, Any] | None,
    reader: tuple[str, str] = ("en", "UTC"),
    survey: dict[str, str] | None = None,
) -> EmailMessage:
    """The mail for `items` (notification rows): about one ticket, or a digest when `ticket` is None; with the
    satisfaction survey's links (`survey_for`) when it tells a requester their ticket was resolved. In the
    recipient's language and zone (`reader`); the `[#id]` tag and the threading headers are the same in all."""
    digest = ticket is None
    link = f"{config.base_url}/tickets/"
    context = {
        **templates.reader_context(*reader),
        "digest": digest,
        "ticket": None if ticket is None else {**ticket, "link": f"{link}{ticket['id']}"},
        "items": [
            {**item, "link": f"{link}{item['ticket_id']}", "html": _html_body(config, item)}
            for item in titles.localized(list(items), reader[0])
        ],
        "account_link": f"{config.base_url}/account",
        "survey": survey,
    }
    env = _environment()
    text = env.get_template("mail.txt").render(context)
    html = css_inline.inline(env.get_template("mail.html").render(context))
    message = EmailMessage()
    if ticket is None:
        count = len(items)
        tr = i18n.translator(reader[0])
        subject = tr.ngettext("NixFlow digest: %(num)d notification", "NixFlow digest: %(num)d notifications", count)
        message["Subject"] = subject % {"num": count}
    else:
        message["Subject"] = _one_line(f"[#{ticket['id']}] {ticket['title']}")
        message["In-Reply-To"] = thread_id(int(ticket["id"]), config.domain)
        message["References"] = thread_id(int(ticket["id"]), config.domain)
    _address(message, config, to_email=to_email, to_name=to_name, message_id=message_id)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def _address(message: EmailMessage, config: MailConfig, *, to_email: str, to_name: str, message_id: str) -> None:
    """The headers every NixFlow mail carries: sender, recipient, ids, and the marks that stop mail loops."""
    message["From"] = config.mail_from
    message["To"] = formataddr((_one_line(to_name), to_email))
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message[LOOP_HEADER] = config.domain


def survey_for(
    config: MailConfig,
    keys: Keyring,
    *,
    recipient_id: int,
    ticket: dict[str, Any] | None,
    items: Sequence[dict[str, Any]],
) -> dict[str, str] | None:
    """The survey's links, one per rating (`/csat?rating=good#token=...`: the page asks to confirm), when this
    mail tells the ticket's requester it was resolved; None otherwise. The link works for `csat.LINK_DAYS`."""
    if ticket is None or recipient_id != ticket.get("requester_id"):
        return None
    resolved = [i["created_at"] for i in items if (i.get("change") or {}).get("new") == "resolved"]
    if not resolved:
        return None
    token = survey_links.make(
        keys, ticket_id=int(ticket["id"]), requester_id=recipient_id, expires_at=link_expiry(resolved[-1])
    )
    return {rating: f"{config.base_url}/csat?rating={rating}#token={token}" for rating in RATINGS}


def reset_link(config: MailConfig, token: str) -> str:
    """The page that sets a new password. The token is in the fragment: browsers never send it to a server
    (no access log, no proxy, no Referer sees it); the page reads it and POSTs it."""
    return f"{config.base_url}/password-reset/confirm#token={token}"


def compose_password_reset(
    config: MailConfig,
    *,
    to_email: str,
    to_name: str,
    token: str,
    expires_at: datetime,
    message_id: str,
    reader: tuple[str, str] = ("en", "UTC"),
) -> EmailMessage:
    """The mail carrying a password reset link, in the recipient's language and zone (`reader`)."""
    context = {
        **templates.reader_context(*reader),
        "name": _one_line(to_name),
        "link": reset_link(config, token),
        "expires_at": expires_at,
    }
    env = _environment()
    message = EmailMessage()
    message["Subject"] = i18n.translator(reader[0]).gettext("Set a new NixFlow password")
    _address(message, config, to_email=to_email, to_name=to_name, message_id=message_id)
    message.set_content(env.get_template("password_reset.txt").render(context))
    message.add_alternative(css_inline.inline(env.get_template("password_reset.html").render(context)), subtype="html")
    return message
