"""Parallel guessing stops at the limit: attempts on separate connections, released together
by a barrier, as several servers would send them. A count-then-insert throttle lets every one
of them through at once; these tests fail if the counting stops being atomic."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pyotp
import pytest
from sqlalchemy import select

from ketaflow.audit.service import AuditContext
from ketaflow.auth import security
from ketaflow.auth import service as auth_service
from ketaflow.auth.models import StaffUser
from ketaflow.config import Settings, load_settings
from ketaflow.db import make_engine, make_session_factory, transaction
from tests.support.factories import make_user

PARALLEL = 12
CTX = AuditContext(None, "anonymous", "none", "192.0.2.44", "req-parallel")


@pytest.fixture
def cfg(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return load_settings(var_dir=tmp_path, secret_key="k" * 40, audit_key="a" * 40,
                         login_max_failures_per_account_address=4)


def _in_parallel(attempt: Callable[[], str]) -> list[str]:
    barrier = threading.Barrier(PARALLEL)
    results: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(attempt())
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def test_parallel_wrong_passwords_stop_at_the_limit(db_url: str, cfg: Settings) -> None:
    engine = make_engine(db_url, connections=PARALLEL + 1)
    factory = make_session_factory(engine)
    with transaction(factory) as db:
        make_user(db, username="target")

    def guess() -> str:
        # As the sign-in page does: count and commit, check the password, record the end.
        with transaction(factory) as db:
            attempt = auth_service.begin_sign_in(db, cfg, username="target",
                                                 client_address=CTX.client_address)
        ok = not attempt.throttled and security.verify_password(attempt.password_hash,
                                                                "wrong-password!")
        with transaction(factory) as db:
            result = auth_service.finish_sign_in(db, CTX, cfg, attempt, password_ok=ok)
        return result.status.value

    results = _in_parallel(guess)
    engine.dispose()
    assert results.count("failed") == cfg.login_max_failures_per_account_address
    assert results.count("throttled") == PARALLEL - cfg.login_max_failures_per_account_address


def test_parallel_totp_guesses_stop_at_the_limit(db_url: str, cfg: Settings) -> None:
    engine = make_engine(db_url, connections=PARALLEL + 1)
    factory = make_session_factory(engine)
    with transaction(factory) as db:
        user = make_user(db, username="mfa-target")
        secret = auth_service.begin_mfa_enrolment(db, user=user)
        user.mfa_enrolled_at = user.created_at
        _, staff_session = auth_service.start_session(db, CTX, cfg, user=user)
    session_id = staff_session.id
    right = pyotp.TOTP(secret).now()
    wrong = str((int(right) + 1) % 1_000_000).zfill(6)

    def guess() -> str:
        with transaction(factory) as db:
            return auth_service.verify_mfa(db, CTX, cfg, session_id=session_id,
                                           code=wrong).status.value

    results = _in_parallel(guess)
    with factory() as db:
        still_pending = db.scalar(select(StaffUser.mfa_last_step)
                                  .where(StaffUser.username == "mfa-target")) is None
    engine.dispose()
    assert results.count("failed") == cfg.mfa_max_failures
    assert results.count("throttled") == PARALLEL - cfg.mfa_max_failures
    assert still_pending
