"""Proving who you are with a passkey: a passwordless sign-in (the passkey names the user), or a second factor for a
user whose password was checked already. A refused assertion changes nothing but using up its challenge, and is
logged as `user.passkey_sign_in_failed` (never a key): so these functions return a verdict instead of raising,
and the unit of work commits both."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from webauthn import generate_authentication_options, verify_authentication_response
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers import parse_authentication_credential_json as parse_assertion
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import UserVerificationRequirement

from nixflow.services.passkeys import (
    MALFORMED,
    SECOND_FACTOR,
    SIGN_IN,
    RelyingParty,
    challenge_of,
    descriptors,
    hand_out,
    options_json,
)
from nixflow.store import passkeys
from nixflow.store.db import Tx
from nixflow.store.tables import SYSTEM_USER_ID, users


@dataclass(frozen=True)
class Verdict:
    """Whose passkey proved them (`user_id`), or why it did not (`refusal`)."""

    user_id: int | None
    passkey_id: int | None = None
    refusal: str | None = None

    @property
    def accepted(self) -> bool:
        return self.refusal is None


def sign_in_options(tx: Tx, rp: RelyingParty) -> dict[str, Any]:
    """Options for a passwordless sign-in: any discoverable passkey of this RP, user verification required."""
    options = generate_authentication_options(
        rp_id=rp.id, timeout=rp.timeout_ms, user_verification=UserVerificationRequirement.REQUIRED
    )
    hand_out(tx, rp, challenge=options.challenge, purpose=SIGN_IN, user_id=None)
    return options_json(options)


def second_factor_options(tx: Tx, rp: RelyingParty, *, user_id: int) -> dict[str, Any]:
    """Options for a user whose password was checked to prove a second factor with one of their passkeys."""
    options = generate_authentication_options(
        rp_id=rp.id,
        timeout=rp.timeout_ms,
        allow_credentials=descriptors(tx.conn, user_id=user_id),
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    hand_out(tx, rp, challenge=options.challenge, purpose=SECOND_FACTOR, user_id=user_id)
    return options_json(options)


def sign_in(tx: Tx, rp: RelyingParty, *, credential: Mapping[str, Any]) -> Verdict:
    """Who a passwordless sign-in's assertion proves: the owner of the passkey its user handle and credential
    name, if the assertion verifies and they may sign in."""
    return _logged(tx, _verify(tx, rp, credential=credential, purpose=SIGN_IN, user_id=None))


def verify_second_factor(tx: Tx, rp: RelyingParty, *, user_id: int, credential: Mapping[str, Any]) -> Verdict:
    """Whether an assertion proves `user_id` (already password-verified) holds one of their passkeys, answering
    `second_factor_options` handed to that user."""
    return _logged(tx, _verify(tx, rp, credential=credential, purpose=SECOND_FACTOR, user_id=user_id))


def _logged(tx: Tx, verdict: Verdict) -> Verdict:
    if not verdict.accepted:
        data = {"user_id": verdict.user_id, "passkey_id": verdict.passkey_id, "reason": verdict.refusal}
        aggregate = verdict.user_id if verdict.user_id is not None else "unknown"
        tx.emit("user.passkey_sign_in_failed", aggregate_type="user", aggregate_id=aggregate, data=data)
    return verdict


def _verify(tx: Tx, rp: RelyingParty, *, credential: Mapping[str, Any], purpose: str, user_id: int | None) -> Verdict:
    try:
        challenge = challenge_of(credential)
        parsed = parse_assertion(dict(credential))
    except (WebAuthnException, *MALFORMED):
        return Verdict(user_id, refusal="malformed response")
    if not passkeys.take(tx.conn, challenge=challenge, purpose=purpose, user_id=user_id, now=tx.now):
        return Verdict(user_id, refusal="unknown, used or expired challenge")
    found = passkeys.by_credential(tx.conn, credential_id=bytes_to_base64url(parsed.raw_id))
    if found is None:
        return Verdict(user_id, refusal="unknown passkey")
    owner, passkey_id = int(found.user_id), int(found.id)
    if user_id is not None and owner != user_id:
        return Verdict(user_id, refusal="another user's passkey")
    handle = parsed.response.user_handle
    if (handle is not None or purpose == SIGN_IN) and (
        handle is None or passkeys.user_of_handle(tx.conn, handle=bytes_to_base64url(handle)) != owner
    ):
        return Verdict(owner, passkey_id, "the user handle is not the passkey's owner")
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=found.public_key,
            credential_current_sign_count=int(found.sign_count),
            require_user_verification=True,
        )
    except (WebAuthnException, *MALFORMED) as exc:
        return Verdict(owner, passkey_id, str(exc)[:200])
    person = tx.conn.execute(select(users.c.active).where(users.c.id == owner)).first()
    if person is None or not person.active or owner == SYSTEM_USER_ID:
        return Verdict(owner, passkey_id, "inactive or system user")
    passkeys.used(tx.conn, passkey_id=passkey_id, sign_count=verified.new_sign_count, now=tx.now)
    return Verdict(owner, passkey_id)
