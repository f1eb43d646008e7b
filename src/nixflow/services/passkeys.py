"""Passkeys (WebAuthn): registering one while signed in, listing, renaming and deleting your own.

Signing in with one, or proving a second factor with one, is `passkey_assertions`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection
from webauthn import generate_registration_options, options_to_json, verify_registration_response
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, generate_user_handle, parse_client_data_json
from webauthn.helpers import parse_registration_credential_json as parse_registration
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from nixflow.config import Settings
from nixflow.domain.errors import Conflict, NotFound, PasskeyRefused
from nixflow.services.users import Principal
from nixflow.store import passkeys
from nixflow.store.db import Tx

REGISTER, SIGN_IN, SECOND_FACTOR = "register", "sign_in", "second_factor"
# What a malformed browser response raises besides the library's own errors (bad base64, JSON, CBOR, types).
MALFORMED = (ValueError, TypeError, KeyError, AttributeError)


@dataclass(frozen=True)
class RelyingParty:
    """Who passkeys are made for: the RP id they are bound to, the origin ceremonies must come from."""

    id: str
    origin: str
    timeout: timedelta
    name: str = "NixFlow"

    @classmethod
    def of(cls, settings: Settings) -> RelyingParty:
        return cls(
            settings.webauthn_rp_id, settings.webauthn_origin, timedelta(seconds=settings.passkey_timeout_seconds)
        )

    @property
    def timeout_ms(self) -> int:
        return int(self.timeout.total_seconds() * 1000)


def options_json(options: Any) -> dict[str, Any]:
    """WebAuthn options as the JSON a browser's `PublicKeyCredential.parse*OptionsFromJSON` takes."""
    parsed: dict[str, Any] = json.loads(options_to_json(options))
    return parsed


def hand_out(tx: Tx, rp: RelyingParty, *, challenge: bytes, purpose: str, user_id: int | None) -> None:
    """Keep the challenge of options just made, for one use until the options time out."""
    passkeys.hand_out(
        tx.conn,
        challenge=bytes_to_base64url(challenge),
        purpose=purpose,
        user_id=user_id,
        now=tx.now,
        expires_at=tx.now + rp.timeout,
    )


def challenge_of(credential: Mapping[str, Any]) -> str:
    """The challenge a browser's response answers (base64url), read from its client data."""
    response = credential.get("response")
    data = response.get("clientDataJSON") if isinstance(response, Mapping) else None
    if not isinstance(data, str):
        raise ValueError("the credential has no response.clientDataJSON")
    return bytes_to_base64url(parse_client_data_json(base64url_to_bytes(data)).challenge)


def descriptors(conn: Connection, *, user_id: int) -> list[PublicKeyCredentialDescriptor]:
    """The user's credentials, as options name them (to exclude, or to allow)."""
    return [
        PublicKeyCredentialDescriptor(
            id=base64url_to_bytes(cid),
            transports=[AuthenticatorTransport(t) for t in ts if t in AuthenticatorTransport._value2member_map_],
        )
        for cid, ts in passkeys.credential_ids(conn, user_id=user_id)
    ]


def registration_options(tx: Tx, rp: RelyingParty, *, user: Principal) -> dict[str, Any]:
    """Options to make a discoverable passkey for `user`, user verification required; its challenge is kept."""
    handle = passkeys.keep_handle(tx.conn, user_id=user.id, handle=bytes_to_base64url(generate_user_handle()))
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=base64url_to_bytes(handle),
        user_name=user.email,
        user_display_name=user.name,
        timeout=rp.timeout_ms,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            require_resident_key=True,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=descriptors(tx.conn, user_id=user.id),
    )
    hand_out(tx, rp, challenge=options.challenge, purpose=REGISTER, user_id=user.id)
    return options_json(options)


def register(tx: Tx, rp: RelyingParty, *, user: Principal, name: str, credential: Mapping[str, Any]) -> dict[str, Any]:
    """Verify a new credential (attestation, challenge handed to this user, origin, RP id, user verified) and
    keep it under `name`; `user.passkey_added`. Anything that does not verify raises and stores nothing."""
    try:
        challenge = challenge_of(credential)
        parsed = parse_registration(dict(credential))
    except (WebAuthnException, *MALFORMED) as exc:
        raise PasskeyRefused(f"the passkey response is malformed: {exc}") from None
    if not passkeys.take(tx.conn, challenge=challenge, purpose=REGISTER, user_id=user.id, now=tx.now):
        raise PasskeyRefused("the challenge is unknown, used or expired: ask for new options")
    try:
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            require_user_verification=True,
        )
    except (WebAuthnException, *MALFORMED) as exc:
        raise PasskeyRefused(f"the passkey could not be verified: {exc}") from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if passkeys.by_credential(tx.conn, credential_id=credential_id) is not None:
        raise Conflict("this passkey is registered already")
    transports = [t.value for t in parsed.response.transports or []]
    passkey_id = passkeys.add(
        tx.conn,
        user_id=user.id,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=transports,
        name=name,
        now=tx.now,
    )
    data = {"user_id": user.id, "by_id": user.id, "passkey_id": passkey_id, "name": name}
    tx.emit("user.passkey_added", aggregate_type="user", aggregate_id=user.id, data=data)
    return _yours(tx.conn, user=user, passkey_id=passkey_id)


def listed(conn: Connection, *, user: Principal) -> list[dict[str, Any]]:
    """Your passkeys (never a key)."""
    return passkeys.listed(conn, user_id=user.id)


def rename(tx: Tx, *, user: Principal, passkey_id: int, name: str) -> dict[str, Any]:
    """Give one of your passkeys another name (404 for anyone else's)."""
    if not passkeys.rename(tx.conn, passkey_id=passkey_id, user_id=user.id, name=name):
        raise NotFound(f"passkey {passkey_id} not found")
    return _yours(tx.conn, user=user, passkey_id=passkey_id)


def remove(tx: Tx, *, user: Principal, passkey_id: int) -> None:
    """Delete one of your passkeys: it signs nobody in from now on; `user.passkey_removed`."""
    found = passkeys.one(tx.conn, passkey_id=passkey_id, user_id=user.id)
    if found is None or not passkeys.remove(tx.conn, passkey_id=passkey_id, user_id=user.id):
        raise NotFound(f"passkey {passkey_id} not found")
    data = {"user_id": user.id, "by_id": user.id, "passkey_id": passkey_id, "name": found["name"]}
    tx.emit("user.passkey_removed", aggregate_type="user", aggregate_id=user.id, data=data)


def _yours(conn: Connection, *, user: Principal, passkey_id: int) -> dict[str, Any]:
    found = passkeys.one(conn, passkey_id=passkey_id, user_id=user.id)
    if found is None:
        raise NotFound(f"passkey {passkey_id} not found")
    return found
