"""The one place where every request is checked, authenticated, authorised and CSRF-checked.

Installed as an app-wide dependency; it reads the permission the matched route declared with
`ketaflow.auth.permissions.requires` or `public`. A route that declares nothing is refused.
Looking up the signed-in user is a short transaction of its own (a read; a write only when
the session must be refreshed or ended), finished before the route's thread starts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from ketaflow.auth import service as auth_service
from ketaflow.auth.permissions import PUBLIC, Permission, declared_permission, role_has
from ketaflow.config import Role
from ketaflow.db import transaction
from ketaflow.errors import AuthenticationFailed, PermissionDenied
from ketaflow.fhir.outcome import is_fhir_path
from ketaflow.fhir.registry import BY_NAME
from ketaflow.fhir.smart import service as smart_service
from ketaflow.fhir.smart.scopes import allows, declared_access
from ketaflow.web import input_check, submissions
from ketaflow.web.deps import Principal, audit_context, get_settings
from ketaflow.web.group_commit import GroupCommit

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# While the second factor is outstanding, a session may only finish or abandon signing in.
MFA_PENDING_ALLOWED = frozenset({Permission.SESSION})
SERVED_TYPES = frozenset(BY_NAME)


def cookie_names(secure: bool) -> tuple[str, str]:
    """(session cookie, CSRF cookie). Secure cookies take the `__Host-` prefix: the browser
    then keeps them to this exact host and path /, so no sibling domain can plant one."""
    prefix = "__Host-" if secure else ""
    return f"{prefix}kf_session", f"{prefix}kf_csrf"


class MfaPending(Exception):
    """Signed in with a password but the second factor is still due."""

    def __init__(self, enrol: bool) -> None:
        super().__init__("second factor required")
        self.enrol = enrol


class CsrfFailed(PermissionDenied):
    title = "Request not accepted"


def is_api_path(path: str) -> bool:
    """Paths that authenticate with bearer tokens (no cookies, no CSRF): the JSON API and
    the FHIR API."""
    return path.startswith("/api/v1") or is_fhir_path(path)


async def authorize(request: Request) -> None:
    route = request.scope.get("route")
    permission = declared_permission(route.endpoint) if route is not None else None
    if permission is None:
        raise RuntimeError(f"route {getattr(route, 'path', '?')} declares no permission")
    await _check_input(request)
    api = is_api_path(request.url.path)
    if api and smart_service.is_system_token(_bearer(request)):
        assert route is not None  # a route that declares a permission was matched
        await _authorize_system(request, route.endpoint, permission)
        return
    principal = await (_token_principal(request) if api else _session_principal(request))
    request.state.principal = principal
    if not api and request.method not in SAFE_METHODS:
        _check_origin(request)
        await _check_csrf(request)
        await submissions.note_key(request)
    if permission is PUBLIC:
        return
    assert isinstance(permission, Permission)
    _check_access(principal, permission)


async def _check_input(request: Request) -> None:
    input_check.check_path(request.path_params)
    input_check.check_query(request.query_params.multi_items())
    content_type = request.headers.get("content-type", "")
    if "form" in content_type:
        form = await request.form()
        input_check.check_fields((k, v) for k, v in form.multi_items() if isinstance(v, str))
    elif "json" in content_type:
        input_check.check_fields(input_check.json_strings(await request.body()))


def _check_access(principal: Principal | None, permission: Permission) -> None:
    if principal is None:
        raise AuthenticationFailed("sign in to continue")
    if principal.mfa_pending and permission not in MFA_PENDING_ALLOWED:
        raise MfaPending(enrol=not principal.mfa_enrolled)
    if not role_has(principal.role, permission):
        raise PermissionDenied(f"your role ({principal.role.value}) may not do this")


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


async def _token_principal(request: Request) -> Principal | None:
    """The bearer token's user. Concurrent API requests are checked together, one query per
    batch (`token_checks`, see `ketaflow.web.group_commit`), off the request's own session."""
    raw = _bearer(request)
    if not raw:
        return None
    checks: GroupCommit[str, Principal] = request.app.state.token_checks
    return await checks.submit(raw)


async def _authorize_system(request: Request, endpoint: Callable[..., object],
                            permission: Permission | object) -> None:
    """A SMART system token (`kfs_...`, `ketaflow.fhir.smart`): no user, so no role; the
    route's declared system access is checked against the token's scopes instead."""
    access = await run_in_threadpool(_resolve_system_token, request, _bearer(request))
    if access is None:
        raise AuthenticationFailed("the access token is invalid or expired; ask the token "
                                   "endpoint for a new one")
    request.state.principal = None
    request.state.system_access = access
    if permission is PUBLIC:
        return
    declared = declared_access(endpoint)
    if declared is None:
        raise PermissionDenied("system clients may only read the FHIR API")
    type_name, needed = declared
    if type_name is None:
        if not smart_service.granted_types(access, SERVED_TYPES):
            raise PermissionDenied("the token's scopes allow reading no resource type")
    elif not allows(access.grant, type_name, needed):
        raise PermissionDenied(f"the token's scopes do not allow this on {type_name} "
                               f"(needs system/{type_name}.read or .rs)")


def _resolve_system_token(request: Request, raw: str) -> smart_service.SystemAccess | None:
    with transaction(request.app.state.read_session_factory) as db:
        return smart_service.resolve_token(db, raw, SERVED_TYPES)


def principals_for_tokens(db: Session, raws: list[str]) -> list[Principal | Exception]:
    """The batch behind `token_checks`: each raw token's user, or the 401 to answer."""
    return [
        AuthenticationFailed("the API token is invalid, expired or revoked") if token is None
        else Principal(token.user.id, token.user.username, token.user.full_name, token.user.role,
                       via_token=True)
        for token in auth_service.resolve_api_tokens(db, raws)
    ]


async def _session_principal(request: Request) -> Principal | None:
    raw = request.cookies.get(request.app.state.session_cookie)
    if not raw:
        return None
    return await run_in_threadpool(_resolve_session, request, raw)


def _resolve_session(request: Request, raw: str) -> Principal | None:
    """Read the session; write only to end it or to refresh a stale last-seen time."""
    app, settings = request.app, request.app.state.settings
    with transaction(app.state.read_session_factory) as db:
        signed_in = auth_service.check_session(db, settings, token=raw)
    if signed_in is not None and (signed_in.ended_because or signed_in.needs_touch):
        with transaction(app.state.session_factory) as db:
            auth_service.settle_session(db, audit_context(request), signed_in)
    if signed_in is None or signed_in.ended_because:
        request.state.session_expired = True
        return None
    return Principal(signed_in.user_id, signed_in.username, signed_in.full_name,
                     Role(signed_in.role), via_token=False, mfa_pending=not signed_in.mfa_passed,
                     mfa_enrolled=signed_in.mfa_enrolled, session_id=signed_in.session_id)


# ---------------------------------------------------------------- cross-site requests


def new_csrf_token(secret_key: str, session_token: str | None) -> str:
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_csrf_signature(nonce, secret_key, session_token)}"


def csrf_token_valid(token: str, secret_key: str, session_token: str | None) -> bool:
    nonce, _, signature = token.partition(".")
    return bool(nonce) and hmac.compare_digest(
        signature, _csrf_signature(nonce, secret_key, session_token))


def _csrf_signature(nonce: str, secret_key: str, session_token: str | None) -> str:
    """Signed with the session it was issued to: a token taken from one session (or from
    before signing in) is worthless in another."""
    binding = hashlib.sha256((session_token or "").encode()).hexdigest()
    message = f"{nonce}|{binding}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def _check_origin(request: Request) -> None:
    """A state-changing page request must come from a page of this site: browsers send
    Origin on every POST (Referer as a fallback); a missing or foreign one is refused."""
    source = request.headers.get("origin") or request.headers.get("referer") or ""
    source_host = urlsplit(source).netloc.lower() if source != "null" else ""
    own = {request.headers.get("host", "").lower(),
           urlsplit(request.app.state.settings.public_base_url).netloc.lower()}
    if not source_host or source_host not in own:
        raise CsrfFailed("the request did not come from a ketaflow page; please try again")


async def _check_csrf(request: Request) -> None:
    """Signed double-submit (OWASP): the form field or header must equal the HttpOnly,
    SameSite cookie, and carry our signature for this session, so a cookie planted by
    another site or a token from another session fails."""
    expected = request.cookies.get(request.app.state.csrf_cookie, "")
    supplied = request.headers.get(CSRF_HEADER, "")
    if not supplied and "form" in request.headers.get("content-type", ""):
        value = (await request.form()).get(CSRF_FIELD, "")
        supplied = value if isinstance(value, str) else ""
    settings = await get_settings(request)
    session_token = request.cookies.get(request.app.state.session_cookie)
    if (
        not expected
        or not supplied
        or not hmac.compare_digest(expected, supplied)
        or not csrf_token_valid(supplied, settings.effective_secret_key, session_token)
    ):
        raise CsrfFailed("the form had expired or came from another site; please try again")
