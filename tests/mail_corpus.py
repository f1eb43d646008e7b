"""Real-shaped mail, built by the tests: what mail clients, auto-responders and mail servers send."""

from __future__ import annotations

import base64
from email.message import EmailMessage
from email.utils import formatdate

# The smallest valid PNG (1x1 pixel) and a PDF header: their types are sniffed from these bytes.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _base(sender: str, subject: str, message_id: str | None, to: str = "help@example.com") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(usegmt=True)
    if message_id is not None:
        msg["Message-ID"] = message_id
    return msg


def plain(
    sender: str = "Pat Doe <pat@customer.test>",
    subject: str = "Printer on floor 2 is jammed",
    body: str = "The printer near the kitchen shows error E13.\nCan someone look?",
    message_id: str | None = "<plain-1@customer.test>",
    **headers: str,
) -> bytes:
    msg = _base(sender, subject, message_id)
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def html_only(message_id: str = "<html-1@customer.test>") -> bytes:
    msg = _base("Pat Doe <pat@customer.test>", "Laptop will not boot", message_id)
    msg.set_content(
        "<html><body><p>My laptop shows a <b>black screen</b>.</p>"
        "<script>alert('x')</script><p onclick=\"steal()\">Please help &amp; thanks</p>"
        '<img src="cid:logo@customer.test"></body></html>',
        subtype="html",
    )
    msg.add_related(PNG, maintype="image", subtype="png", cid="<logo@customer.test>", filename="logo.png")
    return msg.as_bytes()


def with_attachment(
    message_id: str = "<attach-1@customer.test>", data: bytes = PDF, filename: str = "invoice.txt"
) -> bytes:
    msg = _base("Pat Doe <pat@customer.test>", "Invoice attached", message_id)
    msg.set_content("See the attached invoice.")
    # The client claims text/plain and names it .txt: the type stored is the one its bytes say.
    msg.add_attachment(data, maintype="text", subtype="plain", filename=filename)
    return msg.as_bytes()


def gmail_reply(sender: str, in_reply_to: str, subject: str, message_id: str = "<gmail-1@mail.gmail.test>") -> bytes:
    msg = _base(sender, f"Re: {subject}", message_id)
    msg["In-Reply-To"] = in_reply_to
    msg["References"] = in_reply_to
    msg.set_content(
        "Thanks, that fixed it!\n\n"
        "On Mon, Jan 7, 2030 at 9:00 AM NixFlow <help@example.com> wrote:\n"
        "> New comment from Ana Agent\n"
        "> We replaced the toner.\n"
    )
    return msg.as_bytes()


def outlook_reply(sender: str, subject: str, message_id: str = "<outlook-1@corp.outlook.test>") -> bytes:
    msg = _base(sender, f"RE: {subject}", message_id)
    msg["Thread-Topic"] = subject
    msg.set_content(
        "It is still broken after the restart.\n\n"
        "Best regards,\nPat\n\n"
        "________________________________\n"
        "From: NixFlow <help@example.com>\n"
        "Sent: Monday, January 7, 2030 9:00 AM\n"
        "To: Pat Doe <pat@customer.test>\n"
        f"Subject: {subject}\n\n"
        "We restarted the print server.\n"
    )
    return msg.as_bytes()


def out_of_office(sender: str, in_reply_to: str, subject: str, message_id: str = "<ooo-1@customer.test>") -> bytes:
    msg = _base(sender, f"Automatic reply: {subject}", message_id)
    msg["In-Reply-To"] = in_reply_to
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content("I am out of the office until Monday and will answer your mail then.")
    return msg.as_bytes()


def dsn_bounce(
    failed: str,
    message_id: str = "<dsn-1@mx.example.com>",
    *,
    to: str = "help@example.com",
    original_message_id: str | None = None,
) -> bytes:
    """A delivery report, sent to `to` (the failed mail's envelope sender), quoting the failed mail's headers."""
    original = "" if original_message_id is None else f"Message-ID: {original_message_id}\n"
    report = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\n"
        f"To: {to}\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        f"Message-ID: {message_id}\n"
        "Auto-Submitted: auto-replied\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BOUND"\n'
        "\n"
        "--BOUND\n"
        "Content-Type: text/plain\n"
        "\n"
        "I'm sorry to have to inform you that your message could not be delivered.\n"
        "\n"
        "--BOUND\n"
        "Content-Type: message/delivery-status\n"
        "\n"
        "Reporting-MTA: dns; mx.example.com\n"
        "\n"
        f"Final-Recipient: rfc822; {failed}\n"
        f"Original-Recipient: rfc822; {failed}\n"
        "Action: failed\n"
        "Status: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\n"
        "\n"
        "--BOUND\n"
        "Content-Type: text/rfc822-headers\n"
        "\n"
        "From: NixFlow <help@example.com>\n"
        f"To: {failed}\n"
        "Subject: [#1] Printer on floor 2 is jammed\n"
        f"{original}"
        "\n"
        "--BOUND--\n"
    )
    return report.encode()


def authenticated(raw: bytes, result: str, authserv_id: str = "mx.example.com") -> bytes:
    """`raw` as a receiving server delivers it: its Authentication-Results on top (e.g. `dmarc=pass ...`)."""
    return f"Authentication-Results: {authserv_id}; {result}\r\n".encode() + raw


def malformed_headers() -> bytes:
    return (
        b"From: =?utf-8?q?Ren=C3=A9?= <rene@customer.test>\r\n"
        b"To: help@example.com,,, <<broken\r\n"
        b"Subject: =?unknown-charset?B?!!!notbase64?= VPN drops\r\n"
        b"Date: yesterday-ish\r\n"
        b"Message-ID: <malformed-1@customer.test>\r\n"
        b'Content-Type: text/plain; charset="no-such-charset"\r\n'
        b"X-Broken-Header-Without-Colon\r\n"
        b"\r\n"
        b"The VPN drops every ten minutes.\r\n"
    )


def huge(size: int, message_id: str = "<huge-1@customer.test>") -> bytes:
    return with_attachment(message_id=message_id, data=b"\x00NIXFLOW" * (size // 8), filename="disk.img")


# Hostile mail: what anyone on the internet can send to the support address.


def deeply_nested(levels: int = 3000, message_id: str = "<deep-1@attacker.test>") -> bytes:
    """A text part inside `levels` nested multiparts (~70 bytes a level: 3,000 levels are ~200 KB)."""
    head = (
        "From: Mallory <mallory@attacker.test>\r\nTo: help@example.com\r\nSubject: Nested all the way down\r\n"
        f"Message-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
    )
    opening = "".join(f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n' for i in range(levels))
    closing = "".join(f"\r\n--b{i}--" for i in reversed(range(levels)))
    return (head + opening + "Content-Type: text/plain\r\n\r\nthe bottom" + closing + "\r\n").encode()


def many_files(count: int, message_id: str = "<files-1@customer.test>") -> bytes:
    """A text and `count` small attachments, each its own part."""
    msg = _base("Pat Doe <pat@customer.test>", "Every log file we have", message_id)
    msg.set_content("All the logs are attached.")
    for n in range(count):
        msg.add_attachment(f"log line {n}\n".encode(), maintype="text", subtype="plain", filename=f"log-{n}.txt")
    return msg.as_bytes()


def long_text_and_oversized_file(
    limit: int, name_length: int = 1500, message_id: str = "<long-1@customer.test>"
) -> bytes:
    """A 19,900-character text and a file over `limit` bytes whose name is `name_length` characters long."""
    msg = _base("Pat Doe <pat@customer.test>", "Full crash report", message_id)
    msg.set_content(("The service crashed again. " * 800)[:19_900])
    name = ("crash-dump-" * (name_length // 11 + 1))[: name_length - 4] + ".bin"
    msg.add_attachment(b"\x7fCORE" * (limit // 5 + 10), maintype="application", subtype="octet-stream", filename=name)
    return msg.as_bytes()


def eight_bit_subject(message_id: str = "<8bit-1@customer.test>") -> bytes:
    """A Subject in raw UTF-8 bytes, not RFC 2047 encoded (RFC 6532 style; many mailers send it)."""
    return (
        "From: René Doe <rene@customer.test>\r\nTo: help@example.com\r\n"
        f"Subject: Café printer is kaputt\r\nMessage-ID: {message_id}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe café printer prints nothing.\r\n"
    ).encode()


def long_names(length: int = 300, message_id: str = "<long-names-1@customer.test>") -> bytes:
    """An HTML mail whose inline image has a `length`-character Content-ID, with a file whose name is `length`
    characters of raw UTF-8 (RFC 6532 style, not RFC 2231 encoded)."""
    cid = ("logo-" * length)[: length - len("@customer.test")] + "@customer.test"
    name = ("rapport-é-" * length)[: length - 4] + ".txt"
    image = base64.b64encode(PNG).decode()
    return (
        "From: Pat Doe <pat@customer.test>\r\nTo: help@example.com\r\nSubject: Names that go on and on\r\n"
        f'Message-ID: {message_id}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        f'<p>Our logo: <img src="cid:{cid}"></p>\r\n'
        "--B\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
        f"Content-ID: <{cid}>\r\nContent-Disposition: inline\r\n\r\n{image}\r\n"
        f'--B\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: attachment; filename="{name}"\r\n'
        "\r\nthe report\r\n--B--\r\n"
    ).encode()
