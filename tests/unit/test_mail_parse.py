"""Reading mail: the corpus of real-shaped messages, each read as it should be. No I/O."""

from __future__ import annotations

import pytest
from tests import mail_corpus as corpus

from nixflow.email_in.parse import Unreadable, parse

DOMAIN = "example.com"


def test_a_plain_message() -> None:
    mail = parse(corpus.plain(), own_domain=DOMAIN)
    assert mail.sender == "pat@customer.test" and mail.sender_name == "Pat Doe"
    assert mail.subject == "Printer on floor 2 is jammed" and mail.message_id == "<plain-1@customer.test>"
    assert "error E13" in mail.text and mail.html is None and mail.attachments == []
    assert mail.auto is None and not mail.own and mail.bounced == []


def test_html_only_becomes_text_and_safe_html_with_its_inline_image() -> None:
    mail = parse(corpus.html_only(), own_domain=DOMAIN)
    assert "black screen" in mail.text and "Please help & thanks" in mail.text
    assert "alert" not in mail.text and "<" not in mail.text
    assert mail.html is not None
    assert "<script" not in mail.html and "onclick" not in mail.html and "black screen" in mail.html
    [image] = mail.attachments
    assert image.content_id == "logo@customer.test" and image.data == corpus.PNG
    assert 'src="cid:logo@customer.test"' in mail.html


def test_an_attachment_comes_with_its_bytes_and_its_name() -> None:
    mail = parse(corpus.with_attachment(filename="invoice.txt"), own_domain=DOMAIN)
    [part] = mail.attachments
    assert part.filename == "invoice.txt" and part.data == corpus.PDF
    assert mail.text == "See the attached invoice."


def test_a_gmail_reply_loses_its_quoted_history() -> None:
    mail = parse(corpus.gmail_reply("pat@customer.test", "<n-1@example.com>", "[#4] Printer"), own_domain=DOMAIN)
    assert mail.reply == "Thanks, that fixed it!"
    assert "We replaced the toner" in mail.text  # the whole text is still there
    assert mail.in_reply_to == ["<n-1@example.com>"] and mail.references == ["<n-1@example.com>"]


def test_an_outlook_reply_loses_its_quoted_history_and_signature() -> None:
    mail = parse(corpus.outlook_reply("pat@customer.test", "[#4] Printer"), own_domain=DOMAIN)
    assert mail.reply.startswith("It is still broken after the restart.")
    assert "We restarted the print server" not in mail.reply and "From: NixFlow" not in mail.reply


def test_an_out_of_office_reply_is_automatic() -> None:
    mail = parse(corpus.out_of_office("pat@customer.test", "<n-1@example.com>", "[#4] x"), own_domain=DOMAIN)
    assert mail.auto == "Auto-Submitted: auto-replied"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Precedence": "bulk"}, "Precedence: bulk"),
        ({"Precedence": "list"}, "Precedence: list"),
        ({"X_Auto_Response_Suppress": "OOF"}, "X-Auto-Response-Suppress"),
        ({"Auto_Submitted": "auto-generated"}, "Auto-Submitted: auto-generated"),
        ({"Auto_Submitted": "no"}, None),
    ],
)
def test_loop_headers(headers: dict[str, str], reason: str | None) -> None:
    assert parse(corpus.plain(**headers), own_domain=DOMAIN).auto == reason


def test_mailer_daemon_and_postmaster_are_automatic() -> None:
    for who in ("MAILER-DAEMON@mx.test", "postmaster@mx.test"):
        assert parse(corpus.plain(sender=who), own_domain=DOMAIN).auto is not None


def test_nixflow_own_mail_is_recognised_by_its_loop_header_or_message_id() -> None:
    assert parse(corpus.plain(X_NixFlow_Loop="example.com"), own_domain=DOMAIN).own
    assert parse(corpus.plain(message_id="<nixflow.1.2@example.com>"), own_domain=DOMAIN).own
    assert not parse(corpus.plain(), own_domain=DOMAIN).own


def test_a_dsn_names_the_address_that_failed() -> None:
    mail = parse(corpus.dsn_bounce("gone@customer.test"), own_domain=DOMAIN)
    assert mail.bounced == ["gone@customer.test"] and mail.auto is not None
    assert mail.attachments == []  # the returned headers are the report's, not files


def test_no_message_id_gets_one_from_the_content() -> None:
    first = parse(corpus.plain(message_id=None), own_domain=DOMAIN)
    again = parse(corpus.plain(message_id=None), own_domain=DOMAIN)
    other = parse(corpus.plain(message_id=None, body="something else"), own_domain=DOMAIN)
    assert first.message_id.endswith("@no-message-id.invalid>")
    assert first.message_id == again.message_id != other.message_id


def test_malformed_headers_cost_the_header_not_the_message() -> None:
    mail = parse(corpus.malformed_headers(), own_domain=DOMAIN)
    assert mail.sender == "rene@customer.test" and mail.sender_name == "René"
    assert "VPN drops" in mail.subject and "VPN drops every ten minutes" in mail.text


@pytest.mark.parametrize(
    "raw",
    [b"", b"   \r\n", b"\x00\x01\x02 binary garbage", b"Subject: no sender\r\n\r\nhello\r\n"],
    ids=["empty", "blank", "garbage", "no-from"],
)
def test_unreadable_messages(raw: bytes) -> None:
    with pytest.raises(Unreadable):
        parse(raw, own_domain=DOMAIN)


def test_raw_8_bit_headers_are_read_as_utf8_and_never_leave_surrogates() -> None:
    mail = parse(corpus.eight_bit_subject(), own_domain=DOMAIN)
    assert mail.subject == "Café printer is kaputt" and mail.sender_name == "René Doe"
    latin1 = corpus.eight_bit_subject().replace("Café".encode(), b"Caf\xe9")  # not UTF-8: U+FFFD, not a surrogate
    assert parse(latin1, own_domain=DOMAIN).subject == "Caf\ufffd printer is kaputt"
    names = [p.filename for p in parse(corpus.long_names(300), own_domain=DOMAIN).attachments]
    assert names[1].startswith("rapport-é-") and all(n.encode("utf-8") for n in names)
