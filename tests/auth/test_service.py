"""Staff account rules: passwords, throttling, sessions and timeouts, TOTP, API tokens."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.audit.service import AuditContext
from ketaflow.auth import security
from ketaflow.auth import service as auth_service
from ketaflow.auth.models import StaffSession, ThrottleCounter
from ketaflow.config import Role, Settings, load_settings
from ketaflow.errors import Conflict, ValidationFailed
from tests.support.factories import DEFAULT_PASSWORD, make_user

CTX = AuditContext(None, "anonymous", "none", "192.0.2.10", "req-auth-test")


@pytest.fixture
def cfg(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return load_settings(var_dir=tmp_path, secret_key="k" * 40, audit_key="a" * 40,
                         mode="production")


def _actions(db: Session) -> list[tuple[str, str]]:
    return [(e.action, e.outcome) for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_argon2id_parameters_meet_owasp_minimum() -> None:
    memory_kib, iterations, parallelism = security.hasher_parameters()
    assert memory_kib >= 19 * 1024 and iterations >= 2 and parallelism >= 1
    stored = security.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert "m=19456" in stored and "t=2" in stored
    assert security.verify_password(stored, "correct horse battery")
    assert not security.verify_password(stored, "correct horse batterx")


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short", "at least 12"),
        ("x" * 11, "at least 12"),
        (" leading-space-pw", "spaces"),
    ],
)
def test_weak_passwords_are_refused(db: Session, password: str, problem: str) -> None:
    with pytest.raises(ValidationFailed, match=problem) as info:
        make_user(db, password=password)
    assert info.value.field == "password"


def test_user_creation_validates_and_audits(db: Session) -> None:
    user = make_user(db, username="Nurse.Kim", role=Role.NURSE)
    assert user.username == "nurse.kim" and user.password_hash.startswith("$argon2id$")
    assert ("user.create", "success") in _actions(db)
    with pytest.raises(Conflict):
        make_user(db, username="nurse.kim")
    with pytest.raises(ValidationFailed, match="username"):
        make_user(db, username="1bad name")


def test_wrong_password_and_unknown_account_look_the_same(db: Session, cfg: Settings) -> None:
    make_user(db, username="alice")
    wrong = auth_service.authenticate(db, CTX, cfg, username="alice", password="nope-nope-nope")
    unknown = auth_service.authenticate(db, CTX, cfg, username="bob", password="nope-nope-nope")
    assert wrong == unknown == auth_service.LoginResult(auth_service.LoginStatus.FAILED)
    assert _actions(db).count(("auth.login", "failure")) == 2


def test_deactivated_account_cannot_sign_in(db: Session, cfg: Settings) -> None:
    admin = make_user(db, role=Role.ADMIN)
    user = make_user(db, username="leaver")
    auth_service.deactivate_user(db, CTX.as_user(admin.id, admin.username, "admin"), user=user)
    result = auth_service.authenticate(db, CTX, cfg, username="leaver", password=DEFAULT_PASSWORD)
    assert result.status is auth_service.LoginStatus.FAILED


def test_throttling_per_account_and_address_pair(db: Session, cfg: Settings) -> None:
    """Wrong passwords from one address stop that address guessing that account; the same
    account from another address, and other accounts from the same address, still work."""
    make_user(db, username="carol")
    make_user(db, username="dave")
    for _ in range(cfg.login_max_failures_per_account_address):
        auth_service.authenticate(db, CTX, cfg, username="carol", password="wrong-password!")
    blocked = auth_service.authenticate(db, CTX, cfg, username="carol", password=DEFAULT_PASSWORD)
    assert blocked.status is auth_service.LoginStatus.THROTTLED
    assert ("auth.login", "denied") in _actions(db)
    other = AuditContext(None, "anonymous", "none", "203.0.113.9", "r")
    assert auth_service.authenticate(db, other, cfg, username="carol",
                                     password=DEFAULT_PASSWORD).user is not None
    assert auth_service.authenticate(db, CTX, cfg, username="dave",
                                     password=DEFAULT_PASSWORD).user is not None


def test_throttling_per_account_across_addresses_even_for_unknown_names(
        db: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = load_settings(var_dir=tmp_path, secret_key="k" * 40, audit_key="a" * 40,
                        login_max_failures_per_account=4)
    make_user(db, username="erin")
    for name in ("erin", "ghost"):
        for n in range(4):  # each from its own address, so only the account limit applies
            ctx = AuditContext(None, "anonymous", "none", f"198.51.100.{n}", "r")
            auth_service.authenticate(db, ctx, cfg, username=name, password="wrong-password!")
        blocked = auth_service.authenticate(db, CTX, cfg, username=name, password=DEFAULT_PASSWORD)
        assert blocked.status is auth_service.LoginStatus.THROTTLED


def test_a_failed_sign_in_names_the_account_only_if_it_exists(db: Session,
                                                               cfg: Settings) -> None:
    make_user(db, username="frank")
    auth_service.authenticate(db, CTX, cfg, username="frank", password="wrong-password!")
    auth_service.authenticate(db, CTX, cfg, username="my-password-typed-here",
                              password="wrong-password!")
    details = [json.loads(e.detail) for e in db.scalars(
        select(AuditEvent).where(AuditEvent.action == "auth.login").order_by(AuditEvent.id))]
    assert details[0]["username"] == "frank" and details[0]["reason"] == "wrong password"
    assert "username" not in details[1] and details[1]["reason"] == "unknown account"
    assert "my-password-typed-here" not in str(db.scalars(select(ThrottleCounter.key)).all())


def test_a_success_forgives_the_pair_but_not_the_account_total(db: Session,
                                                                cfg: Settings) -> None:
    make_user(db, username="gina")
    for _ in range(3):
        auth_service.authenticate(db, CTX, cfg, username="gina", password="wrong-password!")
    assert auth_service.authenticate(db, CTX, cfg, username="gina",
                                     password=DEFAULT_PASSWORD).user is not None
    counts = dict(db.execute(select(ThrottleCounter.key, ThrottleCounter.attempts)).all())
    assert sorted(counts.values()) == [3]  # the pair is cleared; the account keeps 3


def test_mfa_policy_by_mode_and_role(tmp_path) -> None:  # type: ignore[no-untyped-def]
    prod = load_settings(var_dir=tmp_path, mode="production")
    demo = load_settings(var_dir=tmp_path, mode="demo")
    assert prod.effective_mfa_roles == {Role.ADMIN, Role.PRESCRIBER}
    assert demo.effective_mfa_roles == frozenset()
    custom = load_settings(var_dir=tmp_path, mfa_required_roles="nurse,admin")
    assert custom.effective_mfa_roles == {Role.NURSE, Role.ADMIN}


def test_session_requires_mfa_for_prescriber_in_production(db: Session, cfg: Settings) -> None:
    prescriber = make_user(db, role=Role.PRESCRIBER)
    nurse = make_user(db, role=Role.NURSE)
    _, s1 = auth_service.start_session(db, CTX, cfg, user=prescriber)
    _, s2 = auth_service.start_session(db, CTX, cfg, user=nurse)
    assert not s1.mfa_passed and s2.mfa_passed


def _enrol(db: Session, cfg: Settings, user_id: int) -> pyotp.TOTP:
    user = auth_service.get_user(db, user_id)
    secret = auth_service.begin_mfa_enrolment(db, user=user)
    totp = pyotp.TOTP(secret)
    # Enrol with the previous step's code so the current code stays usable for sign-in.
    result = auth_service.confirm_mfa_enrolment(db, CTX, cfg, user=user,
                                                code=totp.at(time.time() - 30), session_id=None)
    assert result.status is auth_service.LoginStatus.OK
    return totp


def test_totp_enrolment_replay_refused_and_session_rotated(db: Session, cfg: Settings) -> None:
    user = make_user(db, role=Role.NURSE)
    totp = _enrol(db, cfg, user.id)
    assert user.mfa_enrolled
    token, staff_session = auth_service.start_session(db, CTX, cfg, user=user)
    assert not staff_session.mfa_passed  # enrolled users always give the second factor
    db.flush()
    wrong = auth_service.verify_mfa(db, CTX, cfg, session_id=staff_session.id, code="000000x")
    assert wrong.status is auth_service.LoginStatus.FAILED and wrong.token is None
    code = totp.now()
    passed = auth_service.verify_mfa(db, CTX, cfg, session_id=staff_session.id, code=code)
    assert passed.status is auth_service.LoginStatus.OK and passed.token not in (None, token)
    # The session that saw the password is over; only the new one is signed in.
    assert auth_service.check_session(db, cfg, token=token) is None
    rotated = auth_service.check_session(db, cfg, token=passed.token or "")
    assert rotated is not None and rotated.mfa_passed
    _, second = auth_service.start_session(db, CTX, cfg, user=user)
    db.flush()
    replay = auth_service.verify_mfa(db, CTX, cfg, session_id=second.id, code=code)
    assert replay.status is auth_service.LoginStatus.FAILED
    assert ("auth.mfa", "failure") in _actions(db)


def test_totp_guesses_stop_at_the_limit(db: Session, cfg: Settings) -> None:
    user = make_user(db, role=Role.NURSE)
    totp = _enrol(db, cfg, user.id)
    _, staff_session = auth_service.start_session(db, CTX, cfg, user=user)
    db.flush()
    for guess in range(cfg.mfa_max_failures):
        result = auth_service.verify_mfa(db, CTX, cfg, session_id=staff_session.id,
                                         code=f"{guess:06d}")
        assert result.status is auth_service.LoginStatus.FAILED
    right = auth_service.verify_mfa(db, CTX, cfg, session_id=staff_session.id, code=totp.now())
    assert right.status is auth_service.LoginStatus.THROTTLED  # even the right code, now
    assert ("auth.mfa", "denied") in _actions(db)


def test_wrong_enrolment_code_is_refused(db: Session, cfg: Settings) -> None:
    user = make_user(db)
    auth_service.begin_mfa_enrolment(db, user=user)
    result = auth_service.confirm_mfa_enrolment(db, CTX, cfg, user=user, code="123456x",
                                                session_id=None)
    assert result.status is auth_service.LoginStatus.FAILED
    assert not user.mfa_enrolled


def test_idle_and_absolute_timeouts_end_sessions(db: Session, cfg: Settings) -> None:
    user = make_user(db)
    token, staff_session = auth_service.start_session(db, CTX, cfg, user=user)
    db.flush()
    live = auth_service.check_session(db, cfg, token=token)
    assert live is not None and live.ended_because is None and not live.needs_touch
    staff_session.last_seen_at -= timedelta(minutes=cfg.session_idle_minutes + 1)
    db.flush()
    idle = auth_service.check_session(db, cfg, token=token)
    assert idle is not None and idle.ended_because == "idle timeout"
    auth_service.settle_session(db, CTX, idle)
    assert auth_service.check_session(db, cfg, token=token) is None

    token2, s2 = auth_service.start_session(db, CTX, cfg, user=user)
    db.flush()
    s2.created_at -= timedelta(hours=cfg.session_absolute_hours, minutes=1)
    db.flush()
    absolute = auth_service.check_session(db, cfg, token=token2)
    assert absolute is not None and absolute.ended_because == "absolute timeout"
    auth_service.settle_session(db, CTX, absolute)
    assert ("auth.session_expired", "denied") in _actions(db)


def test_a_stale_last_seen_time_is_refreshed_once(db: Session, cfg: Settings) -> None:
    user = make_user(db)
    token, staff_session = auth_service.start_session(db, CTX, cfg, user=user)
    staff_session.last_seen_at -= timedelta(minutes=2)
    db.flush()
    stale = auth_service.check_session(db, cfg, token=token)
    assert stale is not None and stale.needs_touch
    auth_service.settle_session(db, CTX, stale)
    db.expire_all()
    fresh = auth_service.check_session(db, cfg, token=token)
    assert fresh is not None and not fresh.needs_touch


@pytest.mark.parametrize("change", ["password", "mfa_reset", "deactivation"])
def test_every_session_ends_when_the_account_changes(db: Session, cfg: Settings,
                                                     change: str) -> None:
    admin = make_user(db, role=Role.ADMIN)
    user = make_user(db)
    tokens = [auth_service.start_session(db, CTX, cfg, user=user)[0] for _ in range(3)]
    db.flush()
    as_admin = CTX.as_user(admin.id, admin.username, "admin")
    if change == "password":
        auth_service.change_password(db, CTX, user=user, current=DEFAULT_PASSWORD,
                                     new="another-long-password")
    elif change == "mfa_reset":
        auth_service.reset_mfa(db, as_admin, user=user)
    else:
        auth_service.deactivate_user(db, as_admin, user=user)
    db.expire_all()
    assert [auth_service.check_session(db, cfg, token=t) for t in tokens] == [None] * 3


def test_logout_ends_session_on_the_server(db: Session, cfg: Settings) -> None:
    user = make_user(db)
    token, staff_session = auth_service.start_session(db, CTX, cfg, user=user)
    db.flush()
    auth_service.end_session(db, CTX, session_id=staff_session.id)
    assert auth_service.check_session(db, cfg, token=token) is None
    stored = db.scalar(select(StaffSession).where(StaffSession.user_id == user.id))
    assert stored is not None and stored.id != token  # only the hash is stored


def test_api_tokens_hashed_expiring_revocable(db: Session) -> None:
    user = make_user(db)
    raw, record = auth_service.create_api_token(db, CTX, user=user, name="monitor", days=30)
    assert raw.startswith("kft_") and record.secret_sha256 not in raw
    assert auth_service.resolve_api_token(db, raw) is record
    assert auth_service.resolve_api_token(db, raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None
    assert auth_service.resolve_api_token(db, "kft_nosuch_secret") is None
    assert auth_service.resolve_api_token(db, "garbage") is None
    record.expires_at -= timedelta(days=31)
    assert auth_service.resolve_api_token(db, raw) is None
    record.expires_at += timedelta(days=60)
    auth_service.revoke_api_token(db, CTX, token_id=record.id)
    assert auth_service.resolve_api_token(db, raw) is None
    with pytest.raises(ValidationFailed):
        auth_service.create_api_token(db, CTX, user=user, name="x", days=0)


@pytest.mark.parametrize("hidden", ["\u202e", "\u200b", "\u2066"])
def test_staff_names_refuse_invisible_characters(db: Session, hidden: str) -> None:
    with pytest.raises(ValidationFailed, match="invisible") as refused:
        make_user(db, full_name=f"Nina{hidden} Nurse")
    assert refused.value.field == "full_name"
