"""The second factor's rules: TOTP codes (RFC 6238) and their time steps, recovery codes, the per-role policy."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import pyotp

from nixflow.domain.values import Role

ISSUER = "NixFlow"
STEP_SECONDS = 30
DRIFT_STEPS = 1  # a code of the step before or after is accepted too (a phone's clock is a little off)
RECOVERY_CODES = 10
CHALLENGE_MINUTES = 10  # how long a sign-in waits for its second factor
MAX_REMEMBER_DAYS = 90
REQUIRABLE = (Role.ADMIN, Role.AGENT, Role.REQUESTER)
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper and typed again


class Pending(StrEnum):
    """What a sign-in still lacks after its first step."""

    VERIFY = "verify"  # a code of the factor the user has
    ENROL = "enrol"  # a factor their role requires and they have not set up


def new_secret() -> str:
    """A fresh TOTP secret (base32, 160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str) -> str:
    """The `otpauth://` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def is_totp_code(code: str) -> bool:
    """Whether `code` has the shape of a TOTP code (six digits) rather than of a recovery code."""
    return len(code) == 6 and code.isascii() and code.isdigit()


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code `code` is, among the current one and its neighbours; None if none."""
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step).encode(), code.encode()):
            return step
    return None


def new_recovery_code() -> str:
    """A recovery code: ten characters (about 50 bits), shown as two groups of five."""
    chars = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
    return f"{chars[:5]}-{chars[5:]}"


def normalised_recovery_code(code: str) -> str:
    """A recovery code as typed (any case, with or without the dash or spaces) in its stored form."""
    return "".join(c for c in code.lower() if c not in "- ")


@dataclass(frozen=True)
class MfaPolicy:
    required_roles: frozenset[Role]
    remember_device_days: int

    def requires(self, role: Role) -> bool:
        """Whether a person of `role` must have a second factor."""
        return role in self.required_roles
