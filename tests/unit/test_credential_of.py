"""One credential extractor for requests and WebSocket handshakes: which token wins, and whether it is the cookie."""

from __future__ import annotations

import pytest
from starlette.requests import HTTPConnection

from nixflow.api.deps import SESSION_COOKIE, Credential, credential_of


def _connection(*, query: str = "", bearer: str | None = None, cookie: str | None = None) -> HTTPConnection:
    headers = [] if bearer is None else [(b"authorization", bearer.encode())]
    if cookie is not None:
        headers.append((b"cookie", f"{SESSION_COOKIE}={cookie}".encode()))
    return HTTPConnection({"type": "http", "query_string": query.encode(), "headers": headers})


@pytest.mark.parametrize(
    ("carried", "for_a_request", "for_a_handshake"),
    [
        ({}, Credential(None, True), Credential(None, True)),
        ({"cookie": "c"}, Credential("c", True), Credential("c", True)),
        ({"bearer": "Bearer b", "cookie": "c"}, Credential("b", False), Credential("b", False)),
        ({"bearer": "bearer  b "}, Credential("b", False), Credential("b", False)),
        ({"bearer": "Bearer ", "cookie": "c"}, Credential(None, False), Credential(None, False)),
        ({"bearer": "Basic x", "cookie": "c"}, Credential("c", True), Credential("c", True)),
        # `?token=` only opens a WebSocket (a browser cannot set its headers); in a request it is ignored.
        ({"query": "token=q", "bearer": "Bearer b"}, Credential("b", False), Credential("q", False)),
        ({"query": "token=q", "cookie": "c"}, Credential("c", True), Credential("q", False)),
        ({"query": "token=", "cookie": "c"}, Credential("c", True), Credential("c", True)),
    ],
)
def test_which_credential_counts(
    carried: dict[str, str], for_a_request: Credential, for_a_handshake: Credential
) -> None:
    assert credential_of(_connection(**carried)) == for_a_request
    assert credential_of(_connection(**carried), query=True) == for_a_handshake
