"""Sessions and cross-site requests under attack, hostile input on every route, client
addresses behind proxies, and overload answered with 503 rather than a hang."""

from __future__ import annotations

import asyncio
import time

import httpx2 as httpx
import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.auth import service as auth_service
from ketaflow.auth.models import StaffSession
from ketaflow.auth.permissions import public
from ketaflow.config import Role, Settings
from ketaflow.web.app import create_app, dispose_engines
from ketaflow.web.input_check import MAX_DB_INT
from tests.support.aio import run_async
from tests.support.factories import DEFAULT_PASSWORD
from tests.support.web import BASE_URL, browser_client, counted, flush_audit
from tests.web.helpers import CSRF_COOKIE, SESSION_COOKIE, api_token, committed_user, csrf, sign_in


def _live_sessions(db: Session, user_id: int) -> int:
    db.expire_all()
    live = len(list(db.scalars(select(StaffSession).where(
        StaffSession.user_id == user_id, StaffSession.ended_at.is_(None)))))
    db.rollback()  # end the read before the app's next request
    return live


# ---------------------------------------------------------------- sessions


def test_session_id_is_rotated_after_the_second_factor(settings: Settings,
                                                       app_db: Session) -> None:
    prod = settings.model_copy(update={"mode": "production"})
    prod.__dict__.pop("effective_mfa_roles", None)
    with browser_client(create_app(prod)) as client:
        admin = committed_user(app_db, Role.ADMIN)
        secret = auth_service.begin_mfa_enrolment(app_db, user=admin)
        admin.mfa_enrolled_at = admin.created_at
        app_db.commit()
        assert sign_in(client, admin.username) == 303
        before = client.cookies.get(SESSION_COOKIE)
        code = pyotp.TOTP(secret).now()
        response = client.post("/mfa", data={"code": code, "csrf_token": csrf(client)})
        assert response.status_code == 303 and response.headers["location"] == "/"
        after = client.cookies.get(SESSION_COOKIE)
        assert after and after != before
        assert client.get("/").status_code == 200
        # The cookie that carried the password-only session is dead.
        stale = browser_client(client.app)
        stale.cookies.set(SESSION_COOKIE, before or "")
        assert stale.get("/").status_code == 303


def test_changing_the_password_ends_every_other_session(app_client: TestClient,
                                                        app_db: Session) -> None:
    user = committed_user(app_db, Role.NURSE)
    other = browser_client(app_client.app)
    assert sign_in(other, user.username) == 303 and sign_in(app_client, user.username) == 303
    assert _live_sessions(app_db, user.id) == 2
    response = app_client.post("/account/password", data={
        "current_password": DEFAULT_PASSWORD, "new_password": "a-brand-new-password",
        "confirm_password": "a-brand-new-password", "csrf_token": csrf(app_client)})
    assert response.status_code == 303
    assert _live_sessions(app_db, user.id) == 1  # this browser's new session only
    assert app_client.get("/account").status_code == 200
    assert other.get("/account").status_code == 303


def test_csrf_token_is_bound_to_the_session(app_client: TestClient, app_db: Session) -> None:
    """A token (cookie and field) from one session is refused in another."""
    alice = committed_user(app_db, Role.NURSE)
    bob = committed_user(app_db, Role.NURSE)
    mallory = browser_client(app_client.app)
    assert sign_in(mallory, alice.username) == 303
    stolen = csrf(mallory)
    assert sign_in(app_client, bob.username) == 303
    csrf(app_client)  # bob's own token is in the jar; replace it with alice's
    jar = app_client.cookies.jar
    mine = next(c for c in jar if c.name == CSRF_COOKIE)
    app_client.cookies.set(CSRF_COOKIE, stolen, domain=mine.domain, path=mine.path)
    refused = app_client.post("/logout", data={"csrf_token": stolen})
    assert refused.status_code == 403
    assert app_client.post("/logout", data={"csrf_token": csrf(app_client)}).status_code == 303


@pytest.mark.parametrize("headers", [
    {"origin": "https://evil.example"},
    {"origin": "null"},
    {"origin": "", "referer": "https://evil.example/page"},
    {"origin": ""},
], ids=["foreign-origin", "null-origin", "foreign-referer", "neither"])
def test_state_changing_requests_must_come_from_the_site(
        app_client: TestClient, app_db: Session, headers: dict[str, str]) -> None:
    user = committed_user(app_db, Role.NURSE)
    token = csrf(app_client)
    response = app_client.post("/login", headers=headers, data={
        "username": user.username, "password": DEFAULT_PASSWORD, "csrf_token": token})
    assert response.status_code == 403 and SESSION_COOKIE not in response.cookies
    same_site = app_client.post("/login", headers={"origin": "", "referer": f"{BASE_URL}/login"},
                                data={"username": user.username, "password": DEFAULT_PASSWORD,
                                      "csrf_token": token})
    assert same_site.status_code == 303


def test_secure_cookies_take_the_host_prefix(app_client: TestClient, app_db: Session) -> None:
    user = committed_user(app_db, Role.NURSE)
    page = app_client.get("/login")
    assert page.headers["set-cookie"].startswith("__Host-kf_csrf=")
    assert "Path=/" in page.headers["set-cookie"] and "Domain" not in page.headers["set-cookie"]
    signed_in = app_client.post("/login", data={
        "username": user.username, "password": DEFAULT_PASSWORD, "csrf_token": csrf(app_client)})
    cookie = signed_in.headers["set-cookie"]
    assert cookie.startswith("__Host-kf_session=") and "Secure" in cookie


def test_insecure_cookies_have_plain_names(settings: Settings) -> None:
    plain = settings.model_copy(update={"cookie_secure": False})
    with TestClient(create_app(plain), base_url="http://testserver") as client:
        cookie = client.get("/login").headers["set-cookie"]
    assert cookie.startswith("kf_csrf=") and "Secure" not in cookie


# ---------------------------------------------------------------- hostile input


@pytest.mark.parametrize("path", [
    f"/patients/{MAX_DB_INT + 1}",
    "/patients/99999999999999999999999",
    f"/api/v1/patients/{MAX_DB_INT + 1}",
    f"/api/v1/infusions/sessions/{2**63}",
    f"/api/v1/infusions/sessions/-{2**79}",  # below the range too (schemathesis found it)
])
def test_ids_beyond_the_database_range_are_not_found(
        app_client: TestClient, app_db: Session, path: str) -> None:
    nurse = committed_user(app_db, Role.NURSE)
    headers = {"Authorization": f"Bearer {api_token(app_db, nurse)}"}
    sign_in(app_client, nurse.username)
    response = app_client.get(path, headers=headers if path.startswith("/api/") else None)
    assert response.status_code == 404, response.text
    assert "Traceback" not in response.text


def test_control_characters_are_refused_naming_the_field(app_client: TestClient,
                                                         app_db: Session) -> None:
    nurse = committed_user(app_db, Role.NURSE)
    headers = {"Authorization": f"Bearer {api_token(app_db, nurse)}"}
    api = app_client.post("/api/v1/patients", headers=headers, json={
        "mrn": "MRN\x00-1", "given_name": "A", "family_name": "B"})
    assert api.status_code == 422 and api.json()["field"] == "mrn"
    assert api.headers["content-type"].startswith("application/problem+json")
    query = app_client.get("/api/v1/audit/events", headers=headers,
                           params={"entity_type": "bad\x1bvalue"})
    assert query.status_code == 422 and query.json()["field"] == "entity_type"
    sign_in(app_client, nurse.username)
    page = app_client.post("/patients", data={"mrn": "M\x00", "csrf_token": csrf(app_client)})
    assert page.status_code == 422 and "mrn contains a control character" in page.text


def test_a_valid_request_id_is_kept_and_any_other_replaced(app_client: TestClient) -> None:
    kept = app_client.get("/login", headers={"x-request-id": "abcd-1234-efgh"})
    assert kept.headers["x-request-id"] == "abcd-1234-efgh"
    for bad in ("short", "has spaces in it", "x" * 65, "<script>alert(1)</script>"):
        replaced = app_client.get("/login", headers={"x-request-id": bad})
        assert replaced.headers["x-request-id"] != bad
        assert len(replaced.headers["x-request-id"]) == 32


# ---------------------------------------------------------------- client addresses


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(settings: Settings,
                                                             app_db: Session) -> None:
    def failed_sign_in_address(app_settings: Settings) -> str | None:
        app = create_app(app_settings)
        with browser_client(app) as client:
            client.post("/login", headers={"x-forwarded-for": "198.51.100.7, 10.0.0.2"},
                        data={"username": "nobody", "password": "wrong-password!",
                              "csrf_token": csrf(client)})
            flush_audit(app)
        app_db.expire_all()
        event = app_db.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login")
                               .order_by(AuditEvent.id.desc())).first()
        return None if event is None else event.client_address

    # TestClient connects from "testclient", which is no proxy of ours: the header is ignored.
    assert failed_sign_in_address(settings) == "testclient"


def test_client_address_resolution() -> None:
    from types import SimpleNamespace

    from ketaflow.web.deps import client_address

    def address(peer: str, forwarded: str, trusted: tuple[str, ...]) -> str | None:
        import ipaddress

        request = SimpleNamespace(
            client=SimpleNamespace(host=peer), headers={"x-forwarded-for": forwarded},
            app=SimpleNamespace(state=SimpleNamespace(trusted_proxies=tuple(
                ipaddress.ip_network(t) for t in trusted))))
        return client_address(request)  # type: ignore[arg-type]

    assert address("10.0.0.2", "198.51.100.7", ()) == "10.0.0.2"
    assert address("10.0.0.2", "198.51.100.7", ("10.0.0.0/8",)) == "198.51.100.7"
    assert address("10.0.0.2", "203.0.113.1, 198.51.100.7, 10.0.0.3",
                   ("10.0.0.0/8",)) == "198.51.100.7"  # nearest untrusted hop
    assert address("10.0.0.2", "not-an-ip", ("10.0.0.0/8",)) == "10.0.0.2"
    assert address("192.0.2.9", "198.51.100.7", ("10.0.0.0/8",)) == "192.0.2.9"


# ---------------------------------------------------------------- overload


def test_overload_is_answered_503_with_retry_after(settings: Settings) -> None:
    """Past the active and queued limits requests are refused at once; health still answers."""
    tight = settings.model_copy(update={"max_concurrent_requests": 2, "max_queued_requests": 2,
                                        "queue_timeout_seconds": 0.5})
    app = create_app(tight)
    release = asyncio.Event()

    @app.get("/test-slow")
    @public
    async def slow() -> dict[str, str]:
        await release.wait()
        return {"ok": "yes"}

    async def storm() -> tuple[list[int], list[str | None], int, float]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            pending = [asyncio.create_task(client.get("/test-slow")) for _ in range(8)]
            await asyncio.sleep(0.2)
            started = time.monotonic()
            health = await client.get("/healthz")
            health_s = time.monotonic() - started
            await asyncio.sleep(0.6)  # the queued ones time out
            release.set()
            responses = await asyncio.gather(*pending)
        return ([r.status_code for r in responses],
                [r.headers.get("retry-after") for r in responses if r.status_code == 503],
                health.status_code, health_s)

    statuses, retry_after, health, health_s = run_async(storm())
    dispose_engines(app)
    assert sorted(statuses) == [200, 200] + [503] * 6
    assert retry_after == ["2"] * 6
    assert health == 200 and health_s < 1.0


def test_refusals_cost_no_database_write_until_flushed(app_client: TestClient,
                                                       app_db: Session) -> None:
    # The buffer is also flushed by a background task every second, so a slow machine may see
    # one row per second elapsed; a row per refusal would be 50.
    def refusals() -> list[AuditEvent]:
        app_db.expire_all()
        rows = list(app_db.scalars(select(AuditEvent).where(
            AuditEvent.action == "request.refused", AuditEvent.id > before)))
        app_db.rollback()
        return rows

    before = app_db.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))
    app_db.rollback()
    started = time.monotonic()
    for _ in range(50):
        assert app_client.get("/patients").status_code == 303  # not signed in
    seconds = time.monotonic() - started
    flush_audit(app_client.app)
    rows = refusals()
    assert counted(rows) == 50
    assert len(rows) <= 2 + int(seconds)


def test_an_unexpected_error_is_logged_without_its_values(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """A database error quotes the offending values in its message; the log keeps only where
    it happened and its type, and the answer is a plain 500 with a request id."""
    app = create_app(settings)
    secret = "Jane Q. Example 1970-01-02"

    @app.get("/test-boom")
    @public
    async def boom() -> dict[str, str]:
        try:
            raise KeyError(secret)
        except KeyError as first:
            raise RuntimeError(f'duplicate key: Key (name)=({secret}) already exists') from first

    with TestClient(app, raise_server_exceptions=False) as client, \
            caplog.at_level("ERROR", logger="ketaflow.web"):
        response = client.get("/test-boom", headers={"accept": "application/json"})
    dispose_engines(app)
    assert response.status_code == 500
    assert secret not in response.text
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "builtins.RuntimeError" in logged and "builtins.KeyError" in logged
    assert "test_hardening.py" in logged  # where it was raised
    assert secret not in logged and "Jane" not in logged
    assert all(record.exc_info is None for record in caplog.records)
