"""Sign-ins under way at an identity provider: what the redirect out must be matched with when the person comes back.

The `state` sent to the provider is random; NixFlow stores only its keyed hash, beside the secrets of that sign-in
(encrypted: the OpenID nonce and PKCE verifier, where to go next). The callback takes the row once: a replayed
`state`, one from another provider, or one older than its lifetime finds nothing.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from nixflow.crypto import BadSecret, Keyring
from nixflow.domain.errors import Forbidden
from nixflow.store import identity as rows
from nixflow.store.db import Tx

LIFETIME = timedelta(minutes=10)
SPENT = "this sign-in was already used, has expired or was never started here: start it again"


def begin(tx: Tx, *, keys: Keyring, provider_id: int, values: Mapping[str, Any]) -> str:
    """A new `state` for a sign-in at the provider, remembering `values` (secrets) until it comes back."""
    rows.drop_expired_requests(tx.conn, now=tx.now)
    state = secrets.token_urlsafe(32)
    rows.save_request(
        tx.conn,
        state_hash=keys.token_hash(state),
        provider_id=provider_id,
        secrets=keys.encrypt(json.dumps(dict(values))),
        expires_at=tx.now + LIFETIME,
    )
    return state


def take(tx: Tx, *, keys: Keyring, provider_id: int, state: str) -> dict[str, Any]:
    """The values `begin` kept for `state` at this provider, once; Forbidden for any other state."""
    found = rows.take_request(tx.conn, state_hash=keys.token_hash(state), now=tx.now)
    if found is None or int(found["provider_id"]) != provider_id:
        raise Forbidden(SPENT)
    try:
        values: dict[str, Any] = json.loads(keys.decrypt(found["secrets"]))
    except BadSecret:
        raise Forbidden(SPENT) from None
    return values
