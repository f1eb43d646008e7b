"""The tokens on NixFlow's mail and the Authentication-Results it believes: pure, no I/O."""

from __future__ import annotations

from tests import mail_corpus as corpus

from nixflow.crypto import Keyring
from nixflow.email_in.verify import authenticated
from nixflow.mailwire import tokens as mail_tokens

KEYS = Keyring("a-secret-key-for-these-tests")
TRUSTED = "mx.example.com"


def test_a_token_is_issued_to_one_address_for_one_notification() -> None:
    message_id = mail_tokens.message_id(KEYS, notification_id=12, address="Rita@Customer.test", domain="example.com")
    [mark] = mail_tokens.found(message_id)
    assert mark.notification_id == 12 and mark.token in message_id
    assert mail_tokens.issued_to(KEYS, mark, "rita@customer.test")  # addresses compare without case
    assert not mail_tokens.issued_to(KEYS, mark, "mallory@evil.test")
    assert not mail_tokens.issued_to(KEYS, mail_tokens.Token(13, mark.token), "rita@customer.test")


def test_a_token_needs_the_key_and_survives_its_rotation() -> None:
    made = mail_tokens.token(KEYS, notification_id=1, address="rita@customer.test")
    other = Keyring("someone-elses-key")
    assert mail_tokens.token(other, notification_id=1, address="rita@customer.test") != made
    mark = mail_tokens.Token(1, made)
    assert not mail_tokens.issued_to(other, mark, "rita@customer.test")
    rotated = Keyring("the-next-key", previous=["a-secret-key-for-these-tests"])
    assert mail_tokens.issued_to(rotated, mark, "rita@customer.test")


def test_the_envelope_sender_carries_the_token_verp_style() -> None:
    path = mail_tokens.return_path(
        KEYS, notification_id=5, address="rita@customer.test", mail_from="NixFlow <help@example.com>"
    )
    assert path.startswith("help+bounce.5.") and path.endswith("@example.com")
    [mark] = mail_tokens.found(f"To: <{path.upper()}>")  # an MTA may change its case
    assert mail_tokens.issued_to(KEYS, mark, "rita@customer.test")


def _from(sender: str, *results: str) -> bytes:
    raw = corpus.plain(sender=sender)
    for authserv_id, result in reversed(results):  # the first given ends on top, as the last hop adds it
        raw = corpus.authenticated(raw, result, authserv_id)
    return raw


def test_dmarc_pass_from_the_trusted_server_proves_the_sender() -> None:
    raw = _from(
        "pat@customer.test", (TRUSTED, "spf=pass smtp.mailfrom=customer.test; dmarc=pass header.from=customer.test")
    )
    assert authenticated(raw, authserv_id=TRUSTED, sender="pat@customer.test")
    assert authenticated(raw, authserv_id="MX.Example.com", sender="pat@customer.test")


def test_dkim_pass_counts_only_aligned_with_the_from_domain() -> None:
    aligned = _from("pat@mail.customer.test", (TRUSTED, "dkim=pass header.d=customer.test header.s=s1"))
    assert authenticated(aligned, authserv_id=TRUSTED, sender="pat@mail.customer.test")
    foreign = _from("pat@customer.test", (TRUSTED, "dkim=pass header.d=evil.test header.s=s1"))
    assert not authenticated(foreign, authserv_id=TRUSTED, sender="pat@customer.test")
    lookalike = _from("pat@customer.test", (TRUSTED, "dkim=pass header.d=stomer.test"))
    assert not authenticated(lookalike, authserv_id=TRUSTED, sender="pat@customer.test")


def test_a_pass_for_another_domain_or_a_failure_proves_nothing() -> None:
    other_domain = _from("pat@customer.test", (TRUSTED, "dmarc=pass header.from=evil.test"))
    assert not authenticated(other_domain, authserv_id=TRUSTED, sender="pat@customer.test")
    failed = _from("pat@customer.test", (TRUSTED, "dmarc=fail header.from=customer.test; spf=pass"))
    assert not authenticated(failed, authserv_id=TRUSTED, sender="pat@customer.test")


def test_only_the_trusted_servers_topmost_header_counts() -> None:
    pass_ = "dmarc=pass header.from=customer.test"
    elsewhere = _from("pat@customer.test", ("mx.evil.test", pass_))
    assert not authenticated(elsewhere, authserv_id=TRUSTED, sender="pat@customer.test")
    # Anyone can put a header with the trusted id in the mail they send: it ends below the trusted server's own.
    forged_below = _from("pat@customer.test", (TRUSTED, "dmarc=fail header.from=customer.test"), (TRUSTED, pass_))
    assert not authenticated(forged_below, authserv_id=TRUSTED, sender="pat@customer.test")
    unreadable_on_top = _from("pat@customer.test", ("???", "=="), (TRUSTED, pass_))
    assert authenticated(unreadable_on_top, authserv_id=TRUSTED, sender="pat@customer.test")
    assert not authenticated(_from("pat@customer.test"), authserv_id=TRUSTED, sender="pat@customer.test")
