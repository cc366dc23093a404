"""Signing in and out through the web pages, CSRF, headers, and errors without traces."""

from __future__ import annotations

from datetime import timedelta

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.auth.models import StaffSession
from ketaflow.config import Role
from ketaflow.web.app import create_app, dispose_engines
from ketaflow.web.guard import cookie_names
from tests.support.web import browser_client, counted, flush_audit
from tests.web.helpers import committed_user, csrf, sign_in

# The suite serves over https with Secure cookies, so the names carry the __Host- prefix.
SESSION_COOKIE, CSRF_COOKIE = cookie_names(secure=True)


def _audit(db: Session, client: TestClient) -> list[tuple[str, str]]:
    """Audited (action, outcome), once for each occurrence (buffered events carry counts)."""
    flush_audit(client.app)
    db.expire_all()
    events = db.scalars(select(AuditEvent).order_by(AuditEvent.id))
    return [(e.action, e.outcome) for e in events for _ in range(counted([e]))]


def test_sign_in_home_and_sign_out(app_client: TestClient, app_db: Session) -> None:
    user = committed_user(app_db, Role.NURSE, full_name="Nina Nurse")
    assert sign_in(app_client, user.username) == 303
    home = app_client.get("/")
    assert home.status_code == 200 and "Nina Nurse" in home.text
    cookie = app_client.cookies.get(SESSION_COOKIE)
    out = app_client.post("/logout", data={"csrf_token": csrf(app_client)})
    assert out.status_code == 303
    # Replaying the old cookie does not work: the session ended on the server.
    app_client.cookies.set(SESSION_COOKIE, cookie or "")
    assert app_client.get("/").status_code == 303
    assert ("auth.logout", "success") in _audit(app_db, app_client)


def test_failed_sign_in_message_never_reveals_accounts(
    app_client: TestClient, app_db: Session
) -> None:
    committed_user(app_db, Role.NURSE, username="realuser")
    token = csrf(app_client)
    wrong = app_client.post(
        "/login", data={"username": "realuser", "password": "x" * 12, "csrf_token": token}
    )
    unknown = app_client.post(
        "/login", data={"username": "nobody", "password": "x" * 12, "csrf_token": token}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert "Sign-in failed" in wrong.text and "Sign-in failed" in unknown.text
    assert wrong.text.replace("realuser", "") == unknown.text.replace("nobody", "").replace(
        unknown.headers.get("x-request-id", ""), wrong.headers.get("x-request-id", "")
    )


def test_throttled_sign_in_gets_429(app_client: TestClient, app_db: Session) -> None:
    committed_user(app_db, Role.NURSE, username="victim")
    token = csrf(app_client)
    for _ in range(5):
        app_client.post(
            "/login", data={"username": "victim", "password": "bad-password!!", "csrf_token": token}
        )
    blocked = app_client.post(
        "/login",
        data={"username": "victim", "password": "a-long-test-password", "csrf_token": token},
    )
    assert blocked.status_code == 429 and "Too many failed sign-ins" in blocked.text


def test_missing_or_wrong_csrf_is_refused_and_audited(
    app_client: TestClient, app_db: Session
) -> None:
    user = committed_user(app_db, Role.NURSE)
    csrf(app_client)
    no_token = app_client.post(
        "/login", data={"username": user.username, "password": "a-long-test-password"}
    )
    assert no_token.status_code == 403 and "expired or came from another site" in no_token.text
    forged = app_client.post(
        "/login",
        data={
            "username": user.username,
            "password": "a-long-test-password",
            "csrf_token": "forged.0000",
        },
    )
    assert forged.status_code == 403
    # A cookie we did not sign is replaced, so a planted cookie+field pair fails as well.
    app_client.cookies.set(CSRF_COOKIE, "planted.abc")
    planted = app_client.post(
        "/login",
        data={
            "username": user.username,
            "password": "a-long-test-password",
            "csrf_token": "planted.abc",
        },
    )
    assert planted.status_code == 403
    assert _audit(app_db, app_client).count(("request.refused", "denied")) == 3


def test_security_headers_and_cookie_flags(app_client: TestClient, app_db: Session) -> None:
    user = committed_user(app_db, Role.NURSE)
    page = app_client.get("/login")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert (
        "HttpOnly" in page.headers["set-cookie"] and "SameSite=Strict" in page.headers["set-cookie"]
    )
    assert "Secure" in page.headers["set-cookie"]
    response = app_client.post(
        "/login",
        data={
            "username": user.username,
            "password": "a-long-test-password",
            "csrf_token": csrf(app_client),
        },
    )
    session_cookie = response.headers["set-cookie"]
    assert "HttpOnly" in session_cookie and "Secure" in session_cookie
    assert "samesite=lax" in session_cookie.lower()


def test_idle_session_redirects_to_sign_in_with_notice(
    app_client: TestClient, app_db: Session
) -> None:
    user = committed_user(app_db, Role.NURSE)
    sign_in(app_client, user.username)
    for staff_session in app_db.scalars(select(StaffSession)):
        staff_session.last_seen_at -= timedelta(minutes=16)
    app_db.commit()
    response = app_client.get("/account")
    assert response.status_code == 303 and "expired=1" in response.headers["location"]
    notice = app_client.get(response.headers["location"])
    assert "Your session ended" in notice.text
    assert ("auth.session_expired", "denied") in _audit(app_db, app_client)


def test_mfa_required_in_production_enrol_then_verify(settings, app_db: Session) -> None:  # type: ignore[no-untyped-def]
    prod = settings.model_copy(update={"mode": "production"})
    prod.__dict__.pop("effective_mfa_roles", None)
    app = create_app(prod)
    client = browser_client(app)
    admin = committed_user(app_db, Role.ADMIN)
    response = client.post(
        "/login",
        data={
            "username": admin.username,
            "password": "a-long-test-password",
            "csrf_token": csrf(client),
        },
    )
    assert response.headers["location"] == "/mfa/enrol"
    # Until the second factor is done, nothing else is reachable.
    assert client.get("/admin/users").headers["location"] == "/mfa/enrol"
    enrol = client.get("/mfa/enrol")
    secret = enrol.text.split('data-testid="totp-secret">')[1].split("<")[0]
    # The same code is replayed below: computing "now" twice fails when a 30 s step ends between.
    enrol_code = pyotp.TOTP(secret).now()
    done = client.post("/mfa/enrol", data={"code": enrol_code, "csrf_token": csrf(client)})
    assert done.status_code == 303
    assert client.get("/admin/users").status_code == 200
    client.post("/logout", data={"csrf_token": csrf(client)})
    again = client.post(
        "/login",
        data={
            "username": admin.username,
            "password": "a-long-test-password",
            "csrf_token": csrf(client),
        },
    )
    assert again.headers["location"] == "/mfa"
    replay = client.post("/mfa", data={"code": enrol_code, "csrf_token": csrf(client)})
    assert replay.status_code == 401 and "not accepted" in replay.text
    dispose_engines(app)


def test_error_pages_have_no_trace(app_client: TestClient, app_db: Session) -> None:
    user = committed_user(app_db, Role.ADMIN)
    sign_in(app_client, user.username)
    missing = app_client.get("/admin/users/999999")
    assert missing.status_code == 404 and "no such user" in missing.text
    assert "Traceback" not in missing.text and "sqlalchemy" not in missing.text.lower()
    nowhere = app_client.get("/no/such/page")
    assert nowhere.status_code == 404


def test_admin_creates_user_and_event_is_in_audit_log(
    app_client: TestClient, app_db: Session
) -> None:
    admin = committed_user(app_db, Role.ADMIN)
    sign_in(app_client, admin.username)
    bad = app_client.post(
        "/admin/users",
        data={
            "username": "x",
            "full_name": "X",
            "role": "nurse",
            "password": "a-long-password-1",
            "csrf_token": csrf(app_client),
        },
    )
    assert bad.status_code == 422 and "username must be" in bad.text
    ok = app_client.post(
        "/admin/users",
        data={
            "username": "newnurse",
            "full_name": "New Nurse",
            "role": "nurse",
            "password": "a-long-password-1",
            "csrf_token": csrf(app_client),
        },
    )
    assert ok.status_code == 303
    log = app_client.get("/admin/audit", params={"entity_type": "staff_user"})
    assert "user.create" in log.text and "newnurse" in log.text
    exported = app_client.get("/admin/audit.csv", params={"user": admin.username})
    assert exported.headers["content-type"].startswith("text/csv")
    assert "user.create" in exported.text
    bad_date = app_client.get("/admin/audit", params={"date_from": "yesterday"})
    assert bad_date.status_code == 422 and "YYYY-MM-DD" in bad_date.text


def test_healthz_reports_database(app_client: TestClient) -> None:
    response = app_client.get("/healthz")
    assert response.status_code == 200 and response.json()["database"] == "ok"
