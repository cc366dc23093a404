"""Signing in: password attempts with throttling, the second factor, and server-side sessions.

A password check costs tens of milliseconds of CPU (argon2id). So that no transaction (and on
SQLite no write lock) is held meanwhile, signing in has three steps: `begin_sign_in` counts the
attempt and reads the account in a short transaction the caller commits at once; the caller
checks the password holding nothing; `finish_sign_in` records the outcome. Failures are noted
in the audit buffer (`note_event`), so a flood of wrong passwords does not queue for the
database ahead of clinical work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, Outcome, note_event, record_event
from ketaflow.auth import security, throttle
from ketaflow.auth.models import StaffSession, StaffUser
from ketaflow.config import Settings
from ketaflow.db import utcnow
from ketaflow.errors import Conflict, NotFound

# How stale last_seen_at may get before a request writes it: most requests then only read.
# Idle timeouts are enforced to within this much.
TOUCH_INTERVAL = timedelta(seconds=60)


class LoginStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    THROTTLED = "throttled"


@dataclass(frozen=True)
class LoginResult:
    status: LoginStatus
    user: StaffUser | None = None
    retry_after_minutes: int = 0


@dataclass(frozen=True)
class SignInAttempt:
    """An attempt, counted, with what the password check needs (no ORM state)."""

    name: str
    throttled: bool
    user_id: int | None
    password_hash: str | None
    active: bool
    pair_key: str
    account_key: str


def _account_key(name: str) -> str:
    # Hashed: the table must not collect whatever people type as a user name.
    return "account:" + security.sha256_hex(name)


def begin_sign_in(session: Session, settings: Settings, *, username: str,
                  client_address: str | None) -> SignInAttempt:
    """Count this attempt for the account+address pair and the account, and read the account.
    The caller commits at once, so parallel attempts see each other's counts."""
    name = username.strip().lower()[:64]
    pair_key = f"pair:{security.sha256_hex(name + '|' + (client_address or 'unknown'))}"
    account_key = _account_key(name)
    throttled = throttle.count_attempt(session, [
        throttle.Limit(pair_key, settings.login_max_failures_per_account_address),
        throttle.Limit(account_key, settings.login_max_failures_per_account),
    ], timedelta(minutes=settings.login_failure_window_minutes))
    user = session.execute(select(StaffUser.id, StaffUser.password_hash, StaffUser.is_active)
                           .where(StaffUser.username == name)).first()
    return SignInAttempt(name, throttled, user[0] if user else None, user[1] if user else None,
                         bool(user and user[2]), pair_key, account_key)


def finish_sign_in(session: Session, ctx: AuditContext, settings: Settings,
                   attempt: SignInAttempt, *, password_ok: bool,
                   action: str = "auth.login") -> LoginResult:
    """Record how the attempt ended; on success forgive it and return the account."""
    if attempt.throttled:
        _note(session, ctx, attempt, action, Outcome.DENIED, "throttled")
        return LoginResult(LoginStatus.THROTTLED,
                           retry_after_minutes=settings.login_failure_window_minutes)
    if attempt.user_id is None or not password_ok or not attempt.active:
        reason = ("unknown account" if attempt.user_id is None
                  else "account deactivated" if password_ok else "wrong password")
        _note(session, ctx, attempt, action, Outcome.FAILURE, reason)
        return LoginResult(LoginStatus.FAILED)
    throttle.forgive(session, reset=[attempt.pair_key], give_back=[attempt.account_key])
    return LoginResult(LoginStatus.OK, user=session.get(StaffUser, attempt.user_id))


def _note(session: Session, ctx: AuditContext, attempt: SignInAttempt, action: str,
          outcome: Outcome, reason: str) -> None:
    # The name typed is kept only when it names an account: otherwise it may be a password
    # typed into the wrong box, or anything at all.
    detail = {"reason": reason, **({"username": attempt.name} if attempt.user_id else {})}
    # Anonymous attempts (the sign-in page) go through the audit buffer; a signed-in
    # colleague confirming a witness's password is recorded with the rest of the request.
    write = note_event if ctx.actor_user_id is None else record_event
    write(session, ctx, action=action, entity_type="staff_user", entity_id=attempt.user_id,
          outcome=outcome, detail=detail)


def authenticate(
    session: Session,
    ctx: AuditContext,
    settings: Settings,
    *,
    username: str,
    password: str,
    action: str = "auth.login",
) -> LoginResult:
    """Check a password in the caller's transaction, throttled like signing in. For password
    confirmations inside another use case (a witness co-signing waste); the sign-in page uses
    the three steps so that it holds no transaction while hashing."""
    attempt = begin_sign_in(session, settings, username=username,
                            client_address=ctx.client_address)
    ok = not attempt.throttled and security.verify_password(attempt.password_hash, password)
    return finish_sign_in(session, ctx, settings, attempt, password_ok=ok, action=action)


# ---------------------------------------------------------------- sessions


def mfa_required(user: StaffUser, settings: Settings) -> bool:
    return user.mfa_enrolled or user.role in settings.effective_mfa_roles


def start_session(
    session: Session, ctx: AuditContext, settings: Settings, *, user: StaffUser
) -> tuple[str, StaffSession]:
    """Create a server-side session; the returned token goes into the cookie, its hash is stored."""
    token, staff_session = _new_session(session, user.id, not mfa_required(user, settings))
    record_event(
        session,
        ctx.as_user(user.id, user.username, user.role.value),
        action="auth.login",
        entity_type="staff_user",
        entity_id=user.id,
        detail={"mfa_pending": not staff_session.mfa_passed},
    )
    return token, staff_session


def _new_session(session: Session, user_id: int, mfa_passed: bool) -> tuple[str, StaffSession]:
    token = security.new_token()
    staff_session = StaffSession(id=security.sha256_hex(token), user_id=user_id,
                                 mfa_passed=mfa_passed)
    session.add(staff_session)
    return token, staff_session


def rotate_session(session: Session, ctx: AuditContext, *, session_id: str,
                   mfa_passed: bool) -> str:
    """End the session and start a new one for the same browser, so a session id seen before
    a privilege change (second factor, new password) is worthless after it."""
    old = session.get(StaffSession, session_id)
    if old is None:
        raise NotFound("no such session")
    old.ended_at = utcnow()
    token, _ = _new_session(session, old.user_id, mfa_passed)
    session.flush()
    record_event(session, ctx, action="auth.session_rotated", entity_type="staff_user",
                 entity_id=old.user_id, detail={"mfa_passed": mfa_passed})
    return token


@dataclass(frozen=True)
class SignedIn:
    """A live session as a request sees it: plain values, safe after the transaction ends."""

    session_id: str
    user_id: int
    username: str
    full_name: str
    role: str
    mfa_passed: bool
    mfa_enrolled: bool
    # Why it has just ended (idle, absolute, inactive), or whether last_seen_at is stale.
    ended_because: str | None = None
    needs_touch: bool = False


def check_session(session: Session, settings: Settings, *, token: str,
                  now: datetime | None = None) -> SignedIn | None:
    """Read the session behind a cookie token and judge it; writes nothing (see
    `settle_session`), so most requests need only a read."""
    row = session.execute(
        select(StaffSession, StaffUser).join(StaffUser, StaffUser.id == StaffSession.user_id)
        .where(StaffSession.id == security.sha256_hex(token))
    ).first()
    if row is None or row[0].ended_at is not None:
        return None
    staff_session, user = row
    now = now or utcnow()
    idle = now - staff_session.last_seen_at > timedelta(minutes=settings.session_idle_minutes)
    absolute = now - staff_session.created_at > timedelta(hours=settings.session_absolute_hours)
    ended = ("idle timeout" if idle else "absolute timeout" if absolute
             else None if user.is_active else "inactive")
    return SignedIn(staff_session.id, user.id, user.username, user.full_name, user.role.value,
                    staff_session.mfa_passed, user.mfa_enrolled, ended,
                    now - staff_session.last_seen_at > TOUCH_INTERVAL)


def settle_session(session: Session, ctx: AuditContext, signed_in: SignedIn) -> None:
    """End an expired session (audited) or refresh last_seen_at, with a conditional UPDATE so
    concurrent requests of one browser write it once."""
    now = utcnow()
    if signed_in.ended_because is None:
        session.execute(update(StaffSession).where(
            StaffSession.id == signed_in.session_id,
            StaffSession.last_seen_at < now - TOUCH_INTERVAL).values(last_seen_at=now))
        return
    ended = session.execute(update(StaffSession).where(
        StaffSession.id == signed_in.session_id, StaffSession.ended_at.is_(None))
        .values(ended_at=now).returning(StaffSession.id)).first()
    if ended is not None:  # this request ended it (not a concurrent one of the same browser)
        record_event(
            session, ctx.as_user(signed_in.user_id, signed_in.username, signed_in.role),
            action="auth.session_expired", entity_type="staff_session",
            outcome=Outcome.DENIED, detail={"reason": signed_in.ended_because})


def end_session(session: Session, ctx: AuditContext, *, session_id: str) -> None:
    staff_session = session.get(StaffSession, session_id)
    if staff_session is None or staff_session.ended_at is not None:
        return
    staff_session.ended_at = utcnow()
    record_event(session, ctx, action="auth.logout", entity_type="staff_user",
                 entity_id=staff_session.user_id)


def end_all_sessions(session: Session, user_id: int) -> None:
    session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


# ---------------------------------------------------------------- second factor


def begin_mfa_enrolment(session: Session, *, user: StaffUser) -> str:
    """Store a fresh, not yet confirmed secret (replacing any unconfirmed one) and return it."""
    if user.mfa_enrolled:
        raise Conflict("two-factor sign-in is already set up; an admin can reset it")
    user.mfa_secret = security.new_totp_secret()
    return user.mfa_secret


@dataclass(frozen=True)
class MfaResult:
    status: LoginStatus
    token: str | None = None  # the rotated session's cookie token, on success


def _mfa_limit(settings: Settings, user_id: int) -> throttle.Limit:
    return throttle.Limit(f"mfa:{user_id}", settings.mfa_max_failures)


def confirm_mfa_enrolment(session: Session, ctx: AuditContext, settings: Settings, *,
                          user: StaffUser, code: str, session_id: str | None) -> MfaResult:
    """Finish enrolling with a first code (throttled like sign-in). Answering with a valid
    code proves the second factor, so the session is rotated as after `verify_mfa`."""
    if user.mfa_enrolled or not user.mfa_secret:
        raise Conflict("start the set-up again: no enrolment is in progress")
    step = _checked_step(session, ctx, settings, user, code, user.mfa_secret, "user.enrol_mfa")
    if isinstance(step, LoginStatus):
        return MfaResult(step)
    user.mfa_enrolled_at = utcnow()
    user.mfa_last_step = step
    record_event(session, ctx, action="user.enrol_mfa", entity_type="staff_user", entity_id=user.id)
    token = None if session_id is None else rotate_session(session, ctx, session_id=session_id,
                                                           mfa_passed=True)
    return MfaResult(LoginStatus.OK, token)


def verify_mfa(session: Session, ctx: AuditContext, settings: Settings, *,
               session_id: str, code: str) -> MfaResult:
    """Accept a TOTP code once (a replayed step is refused), at most `mfa_max_failures` tries
    per window; on success the session is replaced by a new one with the factor passed."""
    staff_session = session.get(StaffSession, session_id)
    if staff_session is None:
        return MfaResult(LoginStatus.FAILED)
    user = session.get(StaffUser, staff_session.user_id)
    assert user is not None
    if not user.mfa_secret:
        return MfaResult(LoginStatus.FAILED)
    step = _checked_step(session, ctx, settings, user, code, user.mfa_secret, "auth.mfa")
    if isinstance(step, LoginStatus):
        return MfaResult(step)
    user.mfa_last_step = step
    record_event(session, ctx, action="auth.mfa", entity_type="staff_user", entity_id=user.id)
    return MfaResult(LoginStatus.OK, rotate_session(session, ctx, session_id=session_id,
                                                    mfa_passed=True))


def _checked_step(session: Session, ctx: AuditContext, settings: Settings, user: StaffUser,
                  code: str, secret: str, action: str) -> int | LoginStatus:
    """The accepted code's time step, or why not. The attempt is counted (an atomic upsert
    whose row lock orders parallel tries) before the code is looked at."""
    limit = _mfa_limit(settings, user.id)
    window = timedelta(minutes=settings.login_failure_window_minutes)
    if throttle.count_attempt(session, [limit], window):
        record_event(session, ctx, action=action, entity_type="staff_user", entity_id=user.id,
                     outcome=Outcome.DENIED, detail={"reason": "throttled"})
        return LoginStatus.THROTTLED
    step = security.matching_totp_step(secret, code)
    replayed = step is not None and user.mfa_last_step is not None and step <= user.mfa_last_step
    if step is None or replayed:
        record_event(session, ctx, action=action, entity_type="staff_user", entity_id=user.id,
                     outcome=Outcome.FAILURE,
                     detail={"reason": "replayed code" if replayed else "wrong code"})
        return LoginStatus.FAILED
    throttle.forgive(session, reset=[limit.key])
    return step
