"""SASL with an OAuth2 access token: XOAUTH2 (Google, Microsoft) and OAUTHBEARER (RFC 7628), for IMAP and SMTP."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

XOAUTH2 = "XOAUTH2"
OAUTHBEARER = "OAUTHBEARER"


@dataclass(frozen=True)
class OAuthLogin:
    """Who signs in to a mail server, and the access token that proves it (never logged, never stored)."""

    user: str
    token: str

    def __repr__(self) -> str:
        return f"OAuthLogin(user={self.user!r}, token=...)"


def mechanism(offered: Iterable[str]) -> str | None:
    """The mechanism to use among those a server offers: OAUTHBEARER (the standard) where offered, else XOAUTH2."""
    names = {name.upper() for name in offered}
    for name in (OAUTHBEARER, XOAUTH2):
        if name in names:
            return name
    return None


def initial_response(name: str, login: OAuthLogin, *, host: str, port: int) -> bytes:
    """The client's first (and only) message for `name`, before base64."""
    if name == OAUTHBEARER:
        # RFC 7628: a GS2 header naming the user, then key=value pairs separated by ^A.
        user = login.user.replace("=", "=3D").replace(",", "=2C")
        return f"n,a={user},\x01host={host}\x01port={port}\x01auth=Bearer {login.token}\x01\x01".encode()
    if name == XOAUTH2:
        return f"user={login.user}\x01auth=Bearer {login.token}\x01\x01".encode()
    raise ValueError(f"not an OAuth2 SASL mechanism: {name}")
