"""The one place where every request is authenticated, authorised and CSRF-checked.

Installed as an app-wide dependency; it reads the permission the matched route declared with
`ketaflow.auth.permissions.requires` or `public`. A route that declares nothing is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from ketaflow.auth import service as auth_service
from ketaflow.auth.permissions import PUBLIC, Permission, declared_permission, role_has
from ketaflow.errors import AuthenticationFailed, PermissionDenied
from ketaflow.web.deps import Principal, audit_context, get_db, get_settings
from ketaflow.web.group_commit import GroupCommit

SESSION_COOKIE = "kf_session"
CSRF_COOKIE = "kf_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# While the second factor is outstanding, a session may only finish or abandon signing in.
MFA_PENDING_ALLOWED = frozenset({Permission.SESSION})


class MfaPending(Exception):
    """Signed in with a password but the second factor is still due."""

    def __init__(self, enrol: bool) -> None:
        super().__init__("second factor required")
        self.enrol = enrol


class CsrfFailed(PermissionDenied):
    title = "Request not accepted"


def is_api_path(path: str) -> bool:
    return path.startswith("/api/v1")


async def authorize(request: Request) -> None:
    route = request.scope.get("route")
    permission = declared_permission(route.endpoint) if route is not None else None
    if permission is None:
        raise RuntimeError(f"route {getattr(route, 'path', '?')} declares no permission")
    api = is_api_path(request.url.path)
    if api:
        principal = await _token_principal(request)
    else:
        principal = await run_in_threadpool(_session_principal, request, get_db(request))
    request.state.principal = principal
    if not api and request.method not in SAFE_METHODS:
        await _check_csrf(request)
    if permission is PUBLIC:
        return
    assert isinstance(permission, Permission)
    _check_access(principal, permission, request)


def _check_access(principal: Principal | None, permission: Permission, request: Request) -> None:
    if principal is None:
        raise AuthenticationFailed("sign in to continue")
    if principal.mfa_pending and permission not in MFA_PENDING_ALLOWED:
        raise MfaPending(enrol=not principal.mfa_enrolled)
    if not role_has(principal.role, permission):
        raise PermissionDenied(f"your role ({principal.role.value}) may not do this")


async def _token_principal(request: Request) -> Principal | None:
    """The bearer token's user. Concurrent API requests are checked together, one query per
    batch (`token_checks`, see `ketaflow.web.group_commit`), off the request's own session."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    checks: GroupCommit[str, Principal] = request.app.state.token_checks
    return await checks.submit(header[7:].strip())


def principals_for_tokens(db: Session, raws: list[str]) -> list[Principal | Exception]:
    """The batch behind `token_checks`: each raw token's user, or the 401 to answer."""
    return [
        AuthenticationFailed("the API token is invalid, expired or revoked") if token is None
        else Principal(token.user.id, token.user.username, token.user.full_name, token.user.role,
                       via_token=True)
        for token in auth_service.resolve_api_tokens(db, raws)
    ]


def _session_principal(request: Request, db: Session) -> Principal | None:
    settings = get_settings(request)
    ctx = audit_context(request)
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    staff_session = auth_service.resolve_session(db, ctx, settings, token=raw)
    if staff_session is None:
        request.state.session_expired = True
        return None
    user = staff_session.user
    return Principal(
        user.id,
        user.username,
        user.full_name,
        user.role,
        via_token=False,
        mfa_pending=not staff_session.mfa_passed,
        mfa_enrolled=user.mfa_enrolled,
        staff_session=staff_session,
    )


def new_csrf_token(secret_key: str) -> str:
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_csrf_signature(nonce, secret_key)}"


def csrf_token_valid(token: str, secret_key: str) -> bool:
    nonce, _, signature = token.partition(".")
    return bool(nonce) and hmac.compare_digest(signature, _csrf_signature(nonce, secret_key))


def _csrf_signature(nonce: str, secret_key: str) -> str:
    return hmac.new(secret_key.encode(), nonce.encode(), hashlib.sha256).hexdigest()


async def _check_csrf(request: Request) -> None:
    """Signed double-submit (OWASP): the form field or header must equal the HttpOnly,
    SameSite cookie, and carry our signature, so a cookie planted by another site fails."""
    expected = request.cookies.get(CSRF_COOKIE, "")
    supplied = request.headers.get(CSRF_HEADER, "")
    if not supplied and "form" in request.headers.get("content-type", ""):
        value = (await request.form()).get(CSRF_FIELD, "")
        supplied = value if isinstance(value, str) else ""
    secret_key = get_settings(request).effective_secret_key
    if (
        not expected
        or not supplied
        or not hmac.compare_digest(expected, supplied)
        or not csrf_token_valid(supplied, secret_key)
    ):
        raise CsrfFailed("the form had expired or came from another site; please try again")
