"""The second factor: the second step of signing in, TOTP enrolment and recovery codes, turning it off; admins'
per-role policy and reset. The routes a pending sign-in may call resolve their caller before the body is read."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, StrictBool, StringConstraints

from nixflow import crypto
from nixflow.api import security
from nixflow.api.deps import (
    DEVICE_COOKIE,
    AdminUser,
    App,
    Auth,
    GuardedRoute,
    PathId,
    context_for,
)
from nixflow.api.mfa_caller import Caller, MfaCaller, route_class
from nixflow.api.routes.auth import issue_session, set_cookie
from nixflow.api.schemas import LoginResponse, Password, Strict
from nixflow.api.sign_in import _limits, check_password
from nixflow.bootstrap import NixFlow
from nixflow.domain import mfa as rules
from nixflow.domain.errors import Forbidden, TooManyRequests, Unauthorized
from nixflow.domain.json_types import integral
from nixflow.domain.mfa import Pending
from nixflow.services import auth, mfa, mfa_signin
from nixflow.services.users import Principal
from nixflow.store.db import Tx

WRONG_CODE = "the code is wrong or was already used"
PREFIX = "/api/auth/mfa"
signing_router = APIRouter(prefix=PREFIX, tags=["auth"], route_class=route_class(Pending.VERIFY))
enrol_router = APIRouter(prefix=PREFIX, tags=["auth"], route_class=route_class(None, Pending.ENROL))
router = APIRouter(prefix=PREFIX, tags=["auth"], route_class=GuardedRoute)
users_router = APIRouter(prefix="/api/users", tags=["users"], route_class=GuardedRoute)

# The length is checked as sent (what the schema says); spaces around a pasted code are dropped after.
Code = Annotated[str, StringConstraints(strict=True, min_length=6, max_length=32), AfterValidator(str.strip)]


class MfaCode(Strict):
    code: Code


class MfaVerify(MfaCode):
    """A TOTP code or a recovery code; `remember_device` asks for this browser to be spared the code (when
    admins allow it)."""

    remember_device: StrictBool = False


class MfaStatus(BaseModel):
    enrolled: bool
    required: bool
    recovery_codes_left: int
    remember_device_days: int


class TotpEnrolment(BaseModel):
    """The new secret: as a QR code (inline SVG), as an `otpauth://` URI, and as the key to type by hand."""

    secret: str
    otpauth_uri: str
    qr_svg: str


class RecoveryCodes(BaseModel):
    recovery_codes: list[str]


class MfaEnrolled(RecoveryCodes):
    """The recovery codes (shown this once); `session` when the enrolment finished a pending sign-in."""

    session: LoginResponse | None = None


class DisableWithCode(Strict):
    code: Code


class DisableWithPassword(Strict):
    password: Password


MfaDisable = DisableWithCode | DisableWithPassword  # a current code or your password, one of them


class MfaPolicyBody(Strict):
    required_roles: list[Literal["admin", "agent", "requester"]]
    remember_device_days: Annotated[  # a JSON integer: 23 or 23.0, not true
        int, Field(strict=True, ge=0, le=rules.MAX_REMEMBER_DAYS), BeforeValidator(integral)
    ] = 0


async def _reserve_attempt(app: NixFlow, request: Request, user: Principal) -> None:
    """Count a code attempt like a sign-in (its own count, `purpose = 'mfa'`); 429 when over the limits."""
    address = security.client_address(request, app.settings)
    limits = _limits(app.settings)

    def reserve(tx: Tx) -> int | None:
        wait = auth.reserve_login_attempt(tx, email=user.email, address=address, limits=limits, purpose="mfa")
        if wait is not None:
            data = {"user_id": user.id, "reason": "too many attempts"}
            tx.emit("user.mfa_challenge_failed", aggregate_type="user", aggregate_id=user.id, data=data)
        return wait

    wait = await app.writer.run(reserve, context_for(request, user.id))
    if wait is not None:
        raise TooManyRequests(f"too many codes tried; try again in {wait} seconds", retry_after=wait)


def _passed(tx: Tx, caller: MfaCaller) -> None:
    """A second step done: forget the code attempts, end the pending sign-in (401 if a parallel use won)."""
    auth.clear_login_attempts(tx, email=caller.user.email, purpose="mfa")
    if caller.challenge is not None and not mfa_signin.finish(tx, challenge_id=caller.challenge.id):
        raise Unauthorized("this sign-in was already completed; sign in again")


@signing_router.post("/verify", response_model=LoginResponse, dependencies=[Depends(security.require_json)])
async def verify(body: MfaVerify, request: Request, response: Response, caller: Caller, app: App) -> LoginResponse:
    """The second step of signing in: a TOTP code (each accepted once) or an unused recovery code (used up)
    issues the session; rate limited like sign-in."""
    challenge = caller.challenge
    if challenge is None:  # this router's route class lets only pending sign-ins through
        raise Unauthorized("no sign-in waits for a second step")
    await _reserve_attempt(app, request, caller.user)
    keys = crypto.keyring(app.settings)

    def check(tx: Tx) -> bool:
        if mfa.check_code(tx, keys=keys, user_id=caller.user.id, code=body.code) is None:
            return False
        _passed(tx, caller)
        return True

    if not await app.writer.run(check, context_for(request, caller.user.id)):
        raise Unauthorized(WRONG_CODE)
    if body.remember_device:
        now = app.clock()
        device = await app.db.read(
            lambda conn: mfa_signin.remember_device(conn, keys=keys, user_id=caller.user.id, now=now)
        )
        if device is not None:
            value, days = device
            set_cookie(request, response, app, DEVICE_COOKIE, value, max_age=int(timedelta(days=days).total_seconds()))
    return await issue_session(app, request, response, user_id=caller.user.id, email=challenge.email)


@enrol_router.get("", response_model=MfaStatus)
async def status(caller: Caller, app: App) -> dict[str, Any]:
    """Your second factor: set up or not, required by your role or not, recovery codes left."""
    return await app.db.read(lambda conn: mfa.status(conn, user=caller.user))


@enrol_router.post("/totp", response_model=TotpEnrolment)
async def start_totp(request: Request, caller: Caller, app: App) -> TotpEnrolment:
    """Start setting up TOTP: a new secret (QR code and key) that waits for its first code; 409 if you have one."""
    keys = crypto.keyring(app.settings)
    enrolment = await app.writer.run(
        lambda tx: mfa.start_enrolment(tx, keys=keys, user=caller.user), context_for(request, caller.user.id)
    )
    return TotpEnrolment(**vars(enrolment))


@enrol_router.post("/totp/confirm", response_model=MfaEnrolled, dependencies=[Depends(security.require_json)])
async def confirm_totp(body: MfaCode, request: Request, response: Response, caller: Caller, app: App) -> MfaEnrolled:
    """Finish setting up TOTP with a code from the app: 10 recovery codes, shown this once; a sign-in that waited
    for this enrolment gets its session. A wrong code: 403."""
    await _reserve_attempt(app, request, caller.user)
    keys = crypto.keyring(app.settings)

    def confirm(tx: Tx) -> list[str] | None:
        codes = mfa.confirm_enrolment(tx, keys=keys, user_id=caller.user.id, code=body.code)
        if codes is not None:
            _passed(tx, caller)
        return codes

    codes = await app.writer.run(confirm, context_for(request, caller.user.id))
    if codes is None:
        raise Forbidden(WRONG_CODE, errors=[{"loc": ["body", "code"], "msg": "wrong code"}])
    session = None
    if caller.challenge is not None:
        challenge = caller.challenge
        session = await issue_session(app, request, response, user_id=caller.user.id, email=challenge.email)
    return MfaEnrolled(recovery_codes=codes, session=session)


@router.post("/totp/disable", status_code=204)
async def disable_totp(body: MfaDisable, request: Request, credential: Auth, app: App) -> Response:
    """Turn your second factor off, with a current code or your password; 409 when your role requires one."""
    user = credential.principal
    if isinstance(body, DisableWithPassword):
        if await check_password(app, request, email=user.email, password=body.password) is None:
            raise Forbidden("the password is wrong", errors=[{"loc": ["body", "password"], "msg": "wrong password"}])
    else:
        await _reserve_attempt(app, request, user)
    keys = crypto.keyring(app.settings)
    code = body.code if isinstance(body, DisableWithCode) else None

    def turn_off(tx: Tx) -> bool:
        if code is not None and mfa.check_code(tx, keys=keys, user_id=user.id, code=code) is None:
            return False
        mfa.disable(tx, user=user)
        return True

    if not await app.writer.run(turn_off, context_for(request, user.id)):
        raise Forbidden(WRONG_CODE, errors=[{"loc": ["body", "code"], "msg": "wrong code"}])
    return Response(status_code=204)


@router.post("/recovery-codes", response_model=RecoveryCodes, dependencies=[Depends(security.require_json)])
async def renew_recovery_codes(body: MfaCode, request: Request, credential: Auth, app: App) -> RecoveryCodes:
    """Ten new recovery codes for a current code (shown this once); the old ones stop working."""
    user = credential.principal
    await _reserve_attempt(app, request, user)
    keys = crypto.keyring(app.settings)
    codes = await app.writer.run(
        lambda tx: mfa.renew_recovery_codes(tx, keys=keys, user_id=user.id, code=body.code),
        context_for(request, user.id),
    )
    if codes is None:
        raise Forbidden(WRONG_CODE, errors=[{"loc": ["body", "code"], "msg": "wrong code"}])
    return RecoveryCodes(recovery_codes=codes)


@router.get("/policy", response_model=MfaPolicyBody)
async def get_policy(user: AdminUser, app: App) -> MfaPolicyBody:
    """Which roles must have a second factor, and for how many days a device may be remembered (0: never)."""
    return _policy_body(await app.db.read(mfa.policy))


@router.put("/policy", response_model=MfaPolicyBody)
async def set_policy(body: MfaPolicyBody, request: Request, user: AdminUser, app: App) -> MfaPolicyBody:
    """Require a second factor per role (its people enrol at their next sign-in) and allow remembered devices."""
    policy = await app.writer.run(
        lambda tx: mfa.set_policy(
            tx, required_roles=body.required_roles, remember_device_days=body.remember_device_days
        ),
        context_for(request, user.id),
    )
    return _policy_body(policy)


def _policy_body(policy: rules.MfaPolicy) -> MfaPolicyBody:
    roles = sorted(r.value for r in policy.required_roles)
    return MfaPolicyBody.model_validate({"required_roles": roles, "remember_device_days": policy.remember_device_days})


@users_router.delete("/{user_id}/mfa", status_code=204)
async def reset_mfa(user_id: PathId, request: Request, user: AdminUser, app: App) -> Response:
    """Remove a user's second factor (a lost phone): codes, pending sign-ins and remembered devices stop working."""
    await app.writer.run(lambda tx: mfa.reset(tx, user_id=user_id), context_for(request, user.id))
    return Response(status_code=204)
