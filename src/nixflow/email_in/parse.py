"""Reading one RFC 822 message into what NixFlow keeps of it. Pure: no database, no network.

Headers are read raw and decoded leniently, so a malformed header costs that header, not the message. Raw 8-bit
header bytes (RFC 6532: UTF-8 headers, common today) are read as UTF-8, U+FFFD where they are not UTF-8: no header
value leaves this module with the lone surrogates the email package keeps them as.
"""

from __future__ import annotations

import email
import hashlib
import html
import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses

import nh3
from flufl.bounce import all_failures
from mailparser_reply import EmailReplyParser

from nixflow.email_in import mime
from nixflow.mailwire.addresses import LOOP_HEADER

_MSGID = re.compile(r"<[^<>\s]{1,250}>")
_DAEMONS = ("mailer-daemon", "postmaster")
_REPLY_LANGUAGES = ["en", "de", "fr", "nl", "it", "es", "sv", "da", "pl"]


class Unreadable(Exception):
    """A message that can never be read (empty, no headers, no sender): the MTA should not retry it."""


@dataclass(frozen=True)
class Part:
    """A file that came with the mail (an attachment, or an inline image of the HTML part)."""

    filename: str
    data: bytes
    content_id: str | None = None


@dataclass(frozen=True)
class ParsedMail:
    message_id: str
    sender: str
    sender_name: str
    subject: str
    in_reply_to: list[str]
    references: list[str]
    text: str  # the whole text (the plain part, or the HTML part as text)
    html: str | None  # the HTML part, sanitised
    attachments: list[Part]
    raw: bytes
    auto: str | None = None  # why this mail is automatic (never answered), or None
    own: bool = False  # NixFlow's own mail come back
    bounced: list[str] = field(default_factory=list)  # addresses a delivery report says failed for good
    left_out: list[str] = field(default_factory=list)  # notes on what the bounds left unread (MAX_DEPTH, ...)

    @property
    def reply(self) -> str:
        """The new text of a reply: quoted history and signature stripped."""
        return strip_quoted(self.text)


def _header(msg: Message, name: str) -> str:
    """A header's value, RFC 2047 decoded where it can be, raw where it cannot; '' when absent."""
    values = [v for k, v in msg.raw_items() if k.lower() == name.lower()]
    if not values:
        return ""
    return " ".join(_decoded(str(values[0])).split())


def _decoded(value: str) -> str:
    """RFC 2047 encoded words decoded; the value as it came (8-bit bytes read as UTF-8) when they are broken."""
    value = mime.unescaped(value)
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # a broken encoded word (bad charset, bad base64), or one next to raw UTF-8: keep the text
        return value


def _message_ids(value: str) -> list[str]:
    return _MSGID.findall(value)


def _decode(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def html_to_text(markup: str) -> str:
    """The text of an HTML part: every tag removed by nh3 (scripts and styles with their content)."""
    markup = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</tr>|</h\d>", "\n", markup)
    text = html.unescape(nh3.clean(markup, tags=set()))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def sanitise_html(markup: str) -> str:
    """HTML safe to show: nh3's allow-list (no scripts, handlers, styles or foreign schemes)."""
    return nh3.clean(markup, url_schemes={"http", "https", "mailto", "cid"})


def strip_quoted(text: str) -> str:
    """The latest reply of a mail's text, without quoted history, headers or signature."""
    try:
        replies = EmailReplyParser(languages=_REPLY_LANGUAGES).read(text).replies
    except Exception:  # a heuristic library: never lose a mail over it
        return text.strip()
    latest = replies[0].body if replies else ""  # `body`: without headers, signature and disclaimer
    return (latest or "").strip() or text.strip()


def _filename(part: Message, index: int) -> str:
    """The file's name as the mail gives it (made safe where it is stored: `attachments.clean_filename`)."""
    try:
        name = _decoded(part.get_filename() or "").strip()
    except Exception:  # a malformed Content-Disposition: the file gets a made-up name
        name = ""
    return name or f"attachment-{index}"


def _automatic(msg: Message, sender: str, own_domain: str) -> tuple[str | None, bool]:
    """Why the mail is automatic (or None), and whether it is NixFlow's own mail come back."""
    message_id = _header(msg, "Message-ID")
    own = bool(_header(msg, LOOP_HEADER)) or message_id.lower().endswith(f"@{own_domain.lower()}>")
    if own:
        return "NixFlow's own mail", True
    auto_submitted = _header(msg, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}", False
    precedence = _header(msg, "Precedence").lower()
    if precedence in ("bulk", "junk", "list"):
        return f"Precedence: {precedence}", False
    if _header(msg, "X-Auto-Response-Suppress"):
        return "X-Auto-Response-Suppress", False
    if sender.split("@", 1)[0] in _DAEMONS:
        return f"sent by {sender.split('@', 1)[0]}", False
    if msg.get_content_type() == "multipart/report":
        return "a delivery report", False
    return None, False


def _bounced(raw: bytes, msg: Message) -> list[str]:
    if msg.get_content_type() != "multipart/report":
        return []
    try:
        _temporary, permanent = all_failures(email.message_from_bytes(raw))
    except Exception:  # heuristics over hostile input: a report we cannot read marks nobody
        return []
    addresses = {a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a) for a in permanent}
    return sorted(a.strip().lower() for a in addresses if "@" in a)


def _body(msg: Message, walk: mime.Walk) -> tuple[str, str | None, list[Part]]:
    text: str | None = None
    markup: str | None = None
    files: list[Part] = []
    dropped = 0
    report = msg.get_content_type() == "multipart/report"
    for index, part in walk.leaves:
        kind = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        content_id = (_header(part, "Content-ID") or "").strip("<> ") or None
        if disposition != "attachment" and kind == "text/plain" and text is None:
            text = _decode(part)
        elif disposition != "attachment" and kind == "text/html" and markup is None:
            markup = _decode(part)
        elif report and kind in mime.REPORT_PARTS:
            continue
        else:
            data = part.get_payload(decode=True)
            if isinstance(data, bytes) and data:
                if len(files) < mime.MAX_FILES:
                    files.append(Part(_filename(part, index), data, content_id))
                else:
                    dropped += 1
    if dropped:
        walk.left_out.append(f"[{dropped} more files were not kept: a mail keeps at most {mime.MAX_FILES}]")
    if text is None:
        text = html_to_text(markup) if markup else ""
    return text.strip(), None if markup is None else sanitise_html(markup), files


def parse(raw: bytes, *, own_domain: str) -> ParsedMail:
    """Read one message; Unreadable for one that never can be."""
    if not raw.strip():
        raise Unreadable("the message is empty")
    msg = mime.headers_of(raw)
    if not list(msg.keys()):
        raise Unreadable("the message has no headers")
    addresses = [(n, a) for n, a in getaddresses([_header(msg, "From")]) if "@" in a]
    if not addresses:
        addresses = [(n, a) for n, a in getaddresses([_header(msg, "Sender")]) if "@" in a]
    if not addresses:
        raise Unreadable("the message has no sender address (From:)")
    name, sender = addresses[0]
    sender = sender.strip().lower()
    ids = _message_ids(_header(msg, "Message-ID"))
    # Without a Message-ID the content names the message, so the same message delivered twice is kept once.
    message_id = ids[0] if ids else f"<{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id.invalid>"
    walk = mime.walk(msg)
    text, markup, files = _body(msg, walk)
    auto, own = _automatic(msg, sender, own_domain)
    return ParsedMail(
        message_id=message_id,
        sender=sender,
        sender_name=name.strip() or sender.split("@", 1)[0],
        subject=_header(msg, "Subject")[:300],
        in_reply_to=_message_ids(_header(msg, "In-Reply-To")),
        references=_message_ids(_header(msg, "References")),
        text=text,
        html=markup,
        attachments=files,
        raw=raw,
        auto=auto,
        own=own,
        bounced=[] if walk.too_deep else _bounced(raw, msg),
        left_out=walk.left_out,
    )
