"""A person's second factor: TOTP enrolment with recovery codes, checking a code, turning it off, an admin's
reset, and the admins' per-role policy. Never an event or a log line with a secret or a code in it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import segno
from sqlalchemy import Connection

from nixflow.crypto import Keyring
from nixflow.domain import mfa
from nixflow.domain.errors import Conflict, NotFound
from nixflow.domain.mfa import MfaPolicy
from nixflow.domain.values import Role
from nixflow.services.users import Principal
from nixflow.store import mfa as store
from nixflow.store.db import Tx

Factor = Literal["totp", "recovery"]


@dataclass(frozen=True)
class Enrolment:
    secret: str
    otpauth_uri: str
    qr_svg: str


def policy(conn: Connection) -> MfaPolicy:
    """The admins' policy: roles that must have a second factor, days a device may be remembered."""
    return store.policy(conn)


def enrolled_people(conn: Connection) -> list[dict[str, Any]]:
    """Everyone with a second factor (for admins, who may reset one)."""
    return store.enrolled(conn)


def status(conn: Connection, *, user: Principal) -> dict[str, Any]:
    """Whether the user has a second factor, whether their role requires one, and their unused recovery codes."""
    row = store.totp(conn, user_id=user.id)
    policy = store.policy(conn)
    return {
        "enrolled": row is not None and row.confirmed_at is not None,
        "required": policy.requires(user.role),
        "recovery_codes_left": store.recovery_codes_left(conn, user_id=user.id),
        "remember_device_days": policy.remember_device_days,
    }


def start_enrolment(tx: Tx, *, keys: Keyring, user: Principal) -> Enrolment:
    """A new secret waiting for its first code (a QR code as inline SVG, and the key to type by hand);
    409 when the user already has a second factor (turn it off first)."""
    row = store.totp(tx.conn, user_id=user.id)
    if row is not None and row.confirmed_at is not None:
        raise Conflict("you already have a second factor; turn it off before setting up another")
    secret = mfa.new_secret()
    store.put_totp(tx.conn, user_id=user.id, secret_sealed=keys.encrypt(secret), now=tx.now)
    uri = mfa.provisioning_uri(secret, user.email)
    svg = segno.make(uri, error="m").svg_inline(scale=4, title="QR code for your authenticator app")
    return Enrolment(secret=secret, otpauth_uri=uri, qr_svg=svg)


def confirm_enrolment(tx: Tx, *, keys: Keyring, user_id: int, code: str) -> list[str] | None:
    """Finish an enrolment with a code of its secret: the 10 recovery codes (shown once, stored as hashes) and
    `user.mfa_enrolled`; None (and `user.mfa_challenge_failed`) for a wrong code."""
    row = store.totp(tx.conn, user_id=user_id)
    if row is None or row.confirmed_at is not None:
        raise Conflict("no enrolment waits for a code: start one first")
    reason = _accept_totp(tx, keys=keys, row=row, code=code, confirm=True)
    if reason is not None:
        _failed(tx, user_id=user_id, reason=reason)
        return None
    codes = _new_recovery_codes(tx, keys=keys, user_id=user_id)
    tx.emit("user.mfa_enrolled", aggregate_type="user", aggregate_id=user_id, data={"user_id": user_id})
    return codes


def renew_recovery_codes(tx: Tx, *, keys: Keyring, user_id: int, code: str) -> list[str] | None:
    """Ten new recovery codes for a current code (the old ones stop working); None for a wrong code."""
    if check_code(tx, keys=keys, user_id=user_id, code=code) is None:
        return None
    return _new_recovery_codes(tx, keys=keys, user_id=user_id)


def _new_recovery_codes(tx: Tx, *, keys: Keyring, user_id: int) -> list[str]:
    codes = [mfa.new_recovery_code() for _ in range(mfa.RECOVERY_CODES)]
    hashes = [keys.token_hash(mfa.normalised_recovery_code(c)) for c in codes]
    store.replace_recovery_codes(tx.conn, user_id=user_id, code_hashes=hashes)
    return codes


def check_code(tx: Tx, *, keys: Keyring, user_id: int, code: str) -> Factor | None:
    """Whether `code` is a current TOTP code not used before, or an unused recovery code (then used up,
    `user.mfa_recovery_used`) of the user's second factor; a refusal emits `user.mfa_challenge_failed`."""
    row = store.totp(tx.conn, user_id=user_id)
    if row is None or row.confirmed_at is None:
        reason: str | None = "no second factor"
    elif mfa.is_totp_code(code):
        reason = _accept_totp(tx, keys=keys, row=row, code=code, confirm=False)
        if reason is None:
            return "totp"
    else:
        hashes = keys.token_hashes(mfa.normalised_recovery_code(code))
        if store.use_recovery_code(tx.conn, user_id=user_id, code_hashes=hashes, now=tx.now):
            left = store.recovery_codes_left(tx.conn, user_id=user_id)
            data = {"user_id": user_id, "remaining": left}
            tx.emit("user.mfa_recovery_used", aggregate_type="user", aggregate_id=user_id, data=data)
            return "recovery"
        reason = "wrong or used recovery code"
    _failed(tx, user_id=user_id, reason=reason or "wrong code")
    return None


def _accept_totp(tx: Tx, *, keys: Keyring, row: Any, code: str, confirm: bool) -> str | None:
    """Why `code` is refused for this TOTP row, or None once its step is recorded as used."""
    step = mfa.matching_step(keys.decrypt(row.secret_sealed), code, tx.now) if mfa.is_totp_code(code) else None
    if step is None:
        return "wrong code"
    confirm_at = tx.now if confirm else None
    if not store.accept_step(tx.conn, user_id=row.user_id, step=step, confirm_at=confirm_at):
        return "code already used"
    return None


def _failed(tx: Tx, *, user_id: int, reason: str) -> None:
    data = {"user_id": user_id, "reason": reason}
    tx.emit("user.mfa_challenge_failed", aggregate_type="user", aggregate_id=user_id, data=data)


def disable(tx: Tx, *, user: Principal) -> None:
    """Turn the user's own second factor off (the caller checked a code or the password); 409 when their role
    requires one, 404 when they have none."""
    if store.policy(tx.conn).requires(user.role):
        raise Conflict(f"the {user.role.value} role requires a second factor; it cannot be turned off")
    if not store.remove_factor(tx.conn, user_id=user.id):
        raise NotFound("you have no second factor")
    data = {"user_id": user.id, "by_id": user.id}
    tx.emit("user.mfa_disabled", aggregate_type="user", aggregate_id=user.id, data=data)


def reset(tx: Tx, *, user_id: int) -> None:
    """An admin removes a user's second factor (a lost phone): their recovery codes, waiting sign-ins and
    remembered devices go with it; they enrol again at their next sign-in if their role requires it."""
    if store.user_factor(tx.conn, user_id=user_id) is None:
        raise NotFound(f"user {user_id} not found")
    had = store.remove_factor(tx.conn, user_id=user_id)
    store.end_challenges(tx.conn, now=tx.now, user_id=user_id)
    if had:
        data = {"user_id": user_id, "by_id": tx.ctx.actor_id}
        tx.emit("user.mfa_reset", aggregate_type="user", aggregate_id=user_id, data=data)


def set_policy(tx: Tx, *, required_roles: Sequence[str], remember_device_days: int) -> MfaPolicy:
    """Replace which roles need a second factor and how long a device may be remembered (0: never)."""
    policy = MfaPolicy(frozenset(Role(r) for r in required_roles), remember_device_days)
    if policy != store.policy(tx.conn):
        store.set_policy(tx.conn, policy, tx.now)
        data = {
            "required_roles": sorted(r.value for r in policy.required_roles),
            "remember_device_days": remember_device_days,
        }
        tx.emit("user.mfa_policy_changed", aggregate_type="mfa_policy", aggregate_id="mfa", data=data)
    return policy
