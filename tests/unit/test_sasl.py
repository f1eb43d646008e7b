"""The SASL messages that carry an OAuth2 access token, byte for byte as RFC 7628 and Google's XOAUTH2 define them."""

from __future__ import annotations

import pytest

from nixflow.mailwire import sasl
from nixflow.mailwire.sasl import OAuthLogin

LOGIN = OAuthLogin("help=desk,1@example.com", "tok3n")


def test_xoauth2_names_the_user_and_the_bearer_token() -> None:
    message = sasl.initial_response(sasl.XOAUTH2, LOGIN, host="imap.example.com", port=993)
    assert message == b"user=help=desk,1@example.com\x01auth=Bearer tok3n\x01\x01"


def test_oauthbearer_escapes_the_user_in_its_gs2_header_and_names_the_server() -> None:
    message = sasl.initial_response(sasl.OAUTHBEARER, LOGIN, host="imap.example.com", port=993)
    assert (
        message == b"n,a=help=3Ddesk=2C1@example.com,\x01host=imap.example.com\x01port=993\x01auth=Bearer tok3n\x01\x01"
    )


def test_oauthbearer_is_preferred_where_offered_and_nothing_is_chosen_without_either() -> None:
    assert sasl.mechanism(["PLAIN", "xoauth2", "OAUTHBEARER"]) == sasl.OAUTHBEARER
    assert sasl.mechanism(["PLAIN", "XOAUTH2"]) == sasl.XOAUTH2
    assert sasl.mechanism(["PLAIN", "LOGIN"]) is None
    with pytest.raises(ValueError):
        sasl.initial_response("PLAIN", LOGIN, host="h", port=1)


def test_a_login_never_shows_its_token() -> None:
    assert "tok3n" not in repr(LOGIN)
