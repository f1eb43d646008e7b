"""Domain errors: the one hierarchy the API maps to problem+json."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class DomainError(Exception):
    """Base of every error NixFlow reports to a caller."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, errors: Sequence[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors) if errors else None


class InvalidResetLink(DomainError):
    """A password reset token that is unknown, expired, used or replaced: nothing changes."""

    title = "Reset link not valid"


class PasskeyRefused(DomainError):
    """A passkey registration the server could not verify (attestation, challenge, origin, RP id): nothing stored."""

    title = "Passkey not accepted"


class ValidationFailed(DomainError):
    status = 422
    title = "Validation failed"


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class InvalidTransition(Conflict):
    title = "Illegal status transition"


class StaleVersion(Conflict):
    title = "Stale version"


class ChangedMeanwhile(StaleVersion):
    """Another unit of work changed the row between this one's read and its conditional write (PostgreSQL runs
    units side by side): the caller named no version, so the writer runs the unit again on the new state."""


class PayloadTooLarge(DomainError):
    status = 413
    title = "Payload too large"


class TooManyRequests(DomainError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class ServiceUnavailable(DomainError):
    status = 503
    title = "Service unavailable"
