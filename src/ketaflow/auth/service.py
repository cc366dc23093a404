"""Staff account use cases: accounts, sign-in with throttling, sessions, MFA and API tokens.

Services never commit; every change writes an audit event in the caller's transaction.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload

from ketaflow.audit.service import AuditContext, Outcome, record_event
from ketaflow.auth import security
from ketaflow.auth.models import ApiToken, LoginFailure, StaffSession, StaffUser
from ketaflow.config import Role, Settings
from ketaflow.db import utcnow
from ketaflow.errors import Conflict, NotFound, ValidationFailed

USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{2,63}$")
TOKEN_PREFIX = "kft"


# ---------------------------------------------------------------- accounts


def create_user(
    session: Session,
    ctx: AuditContext,
    *,
    username: str,
    full_name: str,
    role: Role,
    password: str,
) -> StaffUser:
    username = username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise ValidationFailed(
            "username must be 3-64 characters: lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter",
            field="username",
        )
    if not full_name.strip():
        raise ValidationFailed("full name is required", field="full_name")
    problem = security.password_problem(password)
    if problem:
        raise ValidationFailed(problem, field="password")
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
        raise Conflict("that username is already taken", field="username")
    user = StaffUser(
        username=username,
        full_name=full_name.strip(),
        role=role,
        password_hash=security.hash_password(password),
    )
    session.add(user)
    session.flush()
    record_event(
        session,
        ctx,
        action="user.create",
        entity_type="staff_user",
        entity_id=user.id,
        detail={"username": username, "role": role.value},
    )
    return user


def get_user(session: Session, user_id: int) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise NotFound("no such user")
    return user


def get_user_by_username(session: Session, username: str) -> StaffUser:
    user = session.scalar(select(StaffUser).where(StaffUser.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def list_users(session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.username)))


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(StaffUser)) or 0


def deactivate_user(session: Session, ctx: AuditContext, *, user: StaffUser) -> StaffUser:
    if ctx.actor_user_id == user.id:
        raise ValidationFailed("you cannot deactivate your own account", field="user")
    if not user.is_active:
        raise Conflict("the account is already deactivated")
    user.is_active = False
    user.deactivated_at = utcnow()
    _end_all_sessions(session, user.id)
    record_event(
        session, ctx, action="user.deactivate", entity_type="staff_user", entity_id=user.id
    )
    return user


def reset_mfa(session: Session, ctx: AuditContext, *, user: StaffUser) -> StaffUser:
    user.mfa_secret = None
    user.mfa_enrolled_at = None
    user.mfa_last_step = None
    _end_all_sessions(session, user.id)
    record_event(session, ctx, action="user.reset_mfa", entity_type="staff_user", entity_id=user.id)
    return user


def change_password(
    session: Session, ctx: AuditContext, *, user: StaffUser, current: str, new: str
) -> None:
    if not security.verify_password(user.password_hash, current):
        record_event(
            session,
            ctx,
            action="user.change_password",
            entity_type="staff_user",
            entity_id=user.id,
            outcome=Outcome.FAILURE,
            detail={"reason": "wrong current password"},
        )
        raise ValidationFailed("the current password is wrong", field="current_password")
    problem = security.password_problem(new)
    if problem:
        raise ValidationFailed(problem, field="new_password")
    user.password_hash = security.hash_password(new)
    user.password_changed_at = utcnow()
    record_event(
        session, ctx, action="user.change_password", entity_type="staff_user", entity_id=user.id
    )


def _end_all_sessions(session: Session, user_id: int) -> None:
    session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


# ---------------------------------------------------------------- sign-in


class LoginStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    THROTTLED = "throttled"


@dataclass(frozen=True)
class LoginResult:
    status: LoginStatus
    user: StaffUser | None = None
    retry_after_minutes: int = 0


def authenticate(
    session: Session,
    ctx: AuditContext,
    settings: Settings,
    *,
    username: str,
    password: str,
    action: str = "auth.login",
) -> LoginResult:
    """Check a password with per-account and per-address throttling.

    The result never says whether the account exists: unknown names, wrong passwords and
    deactivated accounts all give FAILED, and throttling counts attempts per name either way.
    Other password confirmations (a witness co-signing waste) pass their own audit `action` and
    share the throttle, so they cannot be used to guess a colleague's password either.
    """
    name = username.strip().lower()[:64]
    keys = (f"account:{name}", f"address:{ctx.client_address or 'unknown'}")
    window_start = utcnow() - timedelta(minutes=settings.login_failure_window_minutes)
    if _throttled(session, keys, window_start, settings):
        record_event(
            session,
            ctx,
            action=action,
            entity_type="staff_user",
            outcome=Outcome.DENIED,
            detail={"username": name, "reason": "throttled"},
        )
        return LoginResult(
            LoginStatus.THROTTLED, retry_after_minutes=settings.login_failure_window_minutes
        )
    user = session.scalar(select(StaffUser).where(StaffUser.username == name))
    password_ok = security.verify_password(user.password_hash if user else None, password)
    if user is None or not password_ok or not user.is_active:
        session.add_all(LoginFailure(key=key) for key in keys)
        record_event(
            session,
            ctx,
            action=action,
            entity_type="staff_user",
            entity_id=user.id if user else None,
            outcome=Outcome.FAILURE,
            detail={"username": name, "reason": _failure_reason(user, password_ok)},
        )
        return LoginResult(LoginStatus.FAILED)
    return LoginResult(LoginStatus.OK, user=user)


def _failure_reason(user: StaffUser | None, password_ok: bool) -> str:
    if user is None:
        return "unknown account"
    return "account deactivated" if password_ok else "wrong password"


def _throttled(
    session: Session, keys: tuple[str, str], since: datetime, settings: Settings
) -> bool:
    limits = (settings.login_max_failures_per_account, settings.login_max_failures_per_address)
    for key, limit in zip(keys, limits, strict=True):
        failures = session.scalar(
            select(func.count()).where(LoginFailure.key == key, LoginFailure.at >= since)
        )
        if (failures or 0) >= limit:
            return True
    return False


def mfa_required(user: StaffUser, settings: Settings) -> bool:
    return user.mfa_enrolled or user.role in settings.effective_mfa_roles


def start_session(
    session: Session, ctx: AuditContext, settings: Settings, *, user: StaffUser
) -> tuple[str, StaffSession]:
    """Create a server-side session; the returned token goes into the cookie, its hash is stored."""
    token = security.new_token()
    staff_session = StaffSession(
        id=security.sha256_hex(token), user_id=user.id, mfa_passed=not mfa_required(user, settings)
    )
    staff_session.user = user
    session.add(staff_session)
    record_event(
        session,
        ctx.as_user(user.id, user.username, user.role.value),
        action="auth.login",
        entity_type="staff_user",
        entity_id=user.id,
        detail={"mfa_pending": not staff_session.mfa_passed},
    )
    return token, staff_session


def resolve_session(
    session: Session, ctx: AuditContext, settings: Settings, *, token: str
) -> StaffSession | None:
    """The live session for a cookie token, enforcing idle and absolute timeouts."""
    staff_session = session.scalar(
        select(StaffSession)
        .options(joinedload(StaffSession.user))
        .where(StaffSession.id == security.sha256_hex(token))
    )
    if staff_session is None or staff_session.ended_at is not None:
        return None
    now = utcnow()
    idle = now - staff_session.last_seen_at > timedelta(minutes=settings.session_idle_minutes)
    absolute = now - staff_session.created_at > timedelta(hours=settings.session_absolute_hours)
    if idle or absolute or not staff_session.user.is_active:
        staff_session.ended_at = now
        user = staff_session.user
        record_event(
            session,
            ctx.as_user(user.id, user.username, user.role.value),
            action="auth.session_expired",
            entity_type="staff_session",
            outcome=Outcome.DENIED,
            detail={
                "reason": "idle timeout" if idle else "absolute timeout" if absolute else "inactive"
            },
        )
        return None
    staff_session.last_seen_at = now
    return staff_session


def end_session(session: Session, ctx: AuditContext, *, staff_session: StaffSession) -> None:
    staff_session.ended_at = utcnow()
    record_event(
        session,
        ctx,
        action="auth.logout",
        entity_type="staff_user",
        entity_id=staff_session.user_id,
    )


# ---------------------------------------------------------------- MFA


def begin_mfa_enrolment(session: Session, *, user: StaffUser) -> str:
    """Store a fresh, not yet confirmed secret (replacing any unconfirmed one) and return it."""
    if user.mfa_enrolled:
        raise Conflict("two-factor sign-in is already set up; an admin can reset it")
    user.mfa_secret = security.new_totp_secret()
    return user.mfa_secret


def confirm_mfa_enrolment(
    session: Session, ctx: AuditContext, *, user: StaffUser, code: str
) -> None:
    if user.mfa_enrolled or not user.mfa_secret:
        raise Conflict("start the set-up again: no enrolment is in progress")
    step = security.matching_totp_step(user.mfa_secret, code)
    if step is None:
        record_event(
            session,
            ctx,
            action="user.enrol_mfa",
            entity_type="staff_user",
            entity_id=user.id,
            outcome=Outcome.FAILURE,
        )
        raise ValidationFailed("that code is not valid; check the time on your phone", field="code")
    user.mfa_enrolled_at = utcnow()
    user.mfa_last_step = step
    record_event(session, ctx, action="user.enrol_mfa", entity_type="staff_user", entity_id=user.id)


def verify_mfa(
    session: Session, ctx: AuditContext, *, staff_session: StaffSession, code: str
) -> bool:
    """Accept a TOTP code once: a code from a step already used (a replay) is refused."""
    user = staff_session.user
    step = security.matching_totp_step(user.mfa_secret, code) if user.mfa_secret else None
    replayed = step is not None and user.mfa_last_step is not None and step <= user.mfa_last_step
    if step is None or replayed:
        record_event(
            session,
            ctx,
            action="auth.mfa",
            entity_type="staff_user",
            entity_id=user.id,
            outcome=Outcome.FAILURE,
            detail={"reason": "replayed code" if replayed else "wrong code"},
        )
        return False
    user.mfa_last_step = step
    staff_session.mfa_passed = True
    record_event(session, ctx, action="auth.mfa", entity_type="staff_user", entity_id=user.id)
    return True


# ---------------------------------------------------------------- API tokens


def create_api_token(
    session: Session, ctx: AuditContext, *, user: StaffUser, name: str, days: int
) -> tuple[str, ApiToken]:
    """Return the plaintext token (shown once) and the stored record."""
    if not 1 <= days <= 366:
        raise ValidationFailed("days must be between 1 and 366", field="days")
    if not name.strip():
        raise ValidationFailed("a token name is required", field="name")
    if not user.is_active:
        raise Conflict("the account is deactivated")
    token_id = security.new_token(9)[:12].replace("_", "x").replace("-", "y")
    secret = security.new_token(32)
    record = ApiToken(
        id=token_id,
        user_id=user.id,
        name=name.strip()[:100],
        secret_sha256=security.sha256_hex(secret),
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(record)
    session.flush()
    record_event(
        session,
        ctx,
        action="api_token.create",
        entity_type="api_token",
        entity_id=token_id,
        detail={"user_id": user.id, "days": days},
    )
    return f"{TOKEN_PREFIX}_{token_id}_{secret}", record


def revoke_api_token(session: Session, ctx: AuditContext, *, token_id: str) -> ApiToken:
    record = session.get(ApiToken, token_id)
    if record is None:
        raise NotFound("no such API token")
    if record.revoked_at is not None:
        raise Conflict("the token is already revoked")
    record.revoked_at = utcnow()
    record_event(
        session, ctx, action="api_token.revoke", entity_type="api_token", entity_id=token_id
    )
    return record


def list_api_tokens(session: Session, *, user_id: int) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at.desc())
    return list(session.scalars(query))


def resolve_api_token(session: Session, raw: str) -> ApiToken | None:
    """One primary-key lookup and one SHA-256: cheap enough for every API request."""
    return resolve_api_tokens(session, [raw])[0]


def resolve_api_tokens(session: Session, raws: list[str]) -> list[ApiToken | None]:
    """The valid token behind each raw token (None if invalid, expired or revoked), with one
    query for all of them: concurrent API requests are checked together."""
    parts = [raw.split("_", 2) for raw in raws]
    parts = [p if len(p) == 3 and p[0] == TOKEN_PREFIX else ["", "", ""] for p in parts]
    ids = {p[1] for p in parts if p[1]}
    records = {} if not ids else {record.id: record for record in session.scalars(
        select(ApiToken).options(joinedload(ApiToken.user)).where(ApiToken.id.in_(ids)))}
    now = utcnow()
    return [_valid_token(records.get(p[1]), p[2], now) for p in parts]


def _valid_token(record: ApiToken | None, secret: str, now: datetime) -> ApiToken | None:
    if record is None or not hmac.compare_digest(record.secret_sha256, security.sha256_hex(secret)):
        return None
    if record.revoked_at is not None or record.expires_at <= now or not record.user.is_active:
        return None
    # Touch at most every few minutes so a busy integration does not write on every call.
    if record.last_used_at is None or now - record.last_used_at > timedelta(minutes=5):
        record.last_used_at = now
    return record
