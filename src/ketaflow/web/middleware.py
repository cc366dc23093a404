"""One pure-ASGI middleware for what every request needs: a request id, the CSRF cookie bound
to the browser's session, and security headers. Transactions are not its business: each
route's worker thread commits its own (`ketaflow.web.routing`), before the response exists,
so a client never sees success for a change that did not commit."""

from __future__ import annotations

import re
import uuid
from http.cookies import SimpleCookie
from typing import Any

from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ketaflow.web.guard import csrf_token_valid, is_api_path, new_csrf_token
from ketaflow.web.routing import REQUEST_STATE

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
    # same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on form
    # posts, and the guard's Origin check needs the real one. Nothing leaves the site.
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class RequestMiddleware:
    def __init__(self, app: ASGIApp, *, cookie_secure: bool, secret_key: str,
                 session_cookie: str, csrf_cookie: str) -> None:
        self.app = app
        self.cookie_secure = cookie_secure
        self.secret_key = secret_key
        self.session_cookie = session_cookie
        self.csrf_cookie = csrf_cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        REQUEST_STATE.set(state)
        headers = dict(scope.get("headers") or [])
        supplied_id = headers.get(b"x-request-id", b"").decode("latin-1")
        state["request_id"] = supplied_id if _REQUEST_ID.match(supplied_id) else uuid.uuid4().hex
        path: str = scope["path"]
        new_csrf = None if is_api_path(path) else self._csrf(state, headers)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = list(SECURITY_HEADERS)
                csp = DOCS_CSP if path == "/api/docs" else CSP
                extra.append((b"content-security-policy", csp.encode()))
                extra.append((b"x-request-id", state["request_id"].encode()))
                if not path.startswith("/static/"):
                    extra.append((b"cache-control", b"no-store"))
                if new_csrf:
                    extra.append((b"set-cookie", self._csrf_cookie(new_csrf)))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            # Only a session that never connected can be left here (the route's thread closes
            # the ones it used), so closing it does no I/O.
            db: Session | None = state.pop("db", None)
            if db is not None:
                db.close()

    def _csrf(self, state: dict[str, Any], headers: dict[bytes, bytes]) -> str | None:
        """Keep the browser's CSRF token if it is valid for its current session; otherwise
        issue a new one (returned, to be set as a cookie)."""
        cookie_header = headers.get(b"cookie", b"")
        session_token = _cookie(cookie_header, self.session_cookie)
        existing = _cookie(cookie_header, self.csrf_cookie)
        if existing and csrf_token_valid(existing, self.secret_key, session_token):
            state["csrf_token"] = existing
            return None
        state["csrf_token"] = new_csrf_token(self.secret_key, session_token)
        return str(state["csrf_token"])

    def _csrf_cookie(self, token: str) -> bytes:
        secure = "; Secure" if self.cookie_secure else ""
        return f"{self.csrf_cookie}={token}; Path=/; HttpOnly; SameSite=Strict{secure}".encode()


def _cookie(raw: bytes, name: str) -> str | None:
    cookie: SimpleCookie = SimpleCookie()
    try:
        cookie.load(raw.decode("latin-1"))
    except Exception:  # a malformed Cookie header is treated as no cookie
        return None
    morsel = cookie.get(name)
    return morsel.value if morsel and morsel.value else None
