"""One pure-ASGI middleware for what every request needs: a request id, the CSRF cookie,
security headers, and committing (or rolling back) the request's database transaction
before the response is sent, so a client never sees success for a change that did not commit."""

from __future__ import annotations

import logging
import re
import uuid
from http.cookies import SimpleCookie
from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ketaflow.web.guard import CSRF_COOKIE, csrf_token_valid, new_csrf_token

log = logging.getLogger("ketaflow.web")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI sets inline style attributes; its page alone may use them (never inline script).
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class RequestMiddleware:
    def __init__(self, app: ASGIApp, *, cookie_secure: bool, secret_key: str) -> None:
        self.app = app
        self.cookie_secure = cookie_secure
        self.secret_key = secret_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        headers = dict(scope.get("headers") or [])
        supplied_id = headers.get(b"x-request-id", b"").decode("latin-1")
        state["request_id"] = supplied_id if _REQUEST_ID.match(supplied_id) else uuid.uuid4().hex
        existing_csrf = _cookie(headers.get(b"cookie", b""), CSRF_COOKIE)
        if existing_csrf and not csrf_token_valid(existing_csrf, self.secret_key):
            existing_csrf = None
        state["csrf_token"] = existing_csrf or new_csrf_token(self.secret_key)
        path: str = scope["path"]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.body" and state.get("commit_failed"):
                # Replace whatever the route rendered: its change was not saved.
                if not state.get("commit_failed_body_sent"):
                    state["commit_failed_body_sent"] = True
                    await send({"type": "http.response.body", "body": _COMMIT_FAILED_BODY})
                return
            if message["type"] == "http.response.start":
                message = await self._finish_transaction(state, message)
                extra = list(SECURITY_HEADERS)
                extra.append(
                    (
                        b"content-security-policy",
                        (DOCS_CSP if path == "/api/docs" else CSP).encode(),
                    )
                )
                extra.append((b"x-request-id", state["request_id"].encode()))
                if not path.startswith("/static/"):
                    extra.append((b"cache-control", b"no-store"))
                if not existing_csrf:
                    extra.append((b"set-cookie", self._csrf_cookie(state["csrf_token"])))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            db: Session | None = state.get("db")
            if db is not None:
                await run_in_threadpool(close_session, db)

    async def _finish_transaction(self, state: dict[str, Any], message: Message) -> Message:
        db: Session | None = state.get("db")
        if db is None:
            return message
        state["db"] = None
        if state.get("rollback"):
            await run_in_threadpool(close_session, db)
            return message
        try:
            await run_in_threadpool(db.commit)
        except Exception:
            log.exception("commit failed (request %s)", state.get("request_id"))
            await run_in_threadpool(close_session, db)
            state["commit_failed"] = True
            return {
                "type": "http.response.start",
                "status": 500,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(_COMMIT_FAILED_BODY)).encode()),
                ],
            }
        await run_in_threadpool(close_session, db)
        return message

    def _csrf_cookie(self, token: str) -> bytes:
        secure = "; Secure" if self.cookie_secure else ""
        return f"{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}".encode()


_COMMIT_FAILED_BODY = (
    b'{"type":"about:blank","title":"Not saved","status":500,'
    b'"detail":"The change could not be saved. Nothing was changed; please try again."}'
)


def close_session(db: Session) -> None:
    db.rollback()
    db.close()


def _cookie(raw: bytes, name: str) -> str | None:
    cookie: SimpleCookie = SimpleCookie()
    try:
        cookie.load(raw.decode("latin-1"))
    except Exception:  # a malformed Cookie header is treated as no cookie
        return None
    morsel = cookie.get(name)
    return morsel.value if morsel and morsel.value else None
