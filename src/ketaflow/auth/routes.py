"""Sign-in, second factor, sign-out and the signed-in user's own account pages."""

from __future__ import annotations

from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from ketaflow.auth import security
from ketaflow.auth import service as auth_service
from ketaflow.auth.permissions import Permission, public, requires
from ketaflow.config import Settings
from ketaflow.db import transaction
from ketaflow.errors import KetaflowError
from ketaflow.web.deps import (
    audit_context,
    get_db,
    get_settings,
    require_principal,
    session_factory,
)
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(include_in_schema=False, route_class=UnitOfWorkRoute)

DB = Annotated[Session, Depends(get_db)]
SETTINGS = Annotated[Settings, Depends(get_settings)]
FAILED_MESSAGE = "Sign-in failed. Check the user name and password, or ask an administrator."


def _local_path(target: str) -> str:
    """Only same-site paths may be redirect targets (no open redirects)."""
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


@router.get("/login")
@public
def login_page(request: Request, next: str = "/", expired: int = 0) -> Response:
    notice = "Your session ended. Please sign in again." if expired else None
    return render(request, "auth/login.html", {"next": _local_path(next), "notice": notice})


@router.post("/login")
@public
def login(
    request: Request,
    db: DB,
    settings: SETTINGS,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    ctx = audit_context(request)
    # Counted and committed first, so parallel guesses see each other; the password is then
    # checked holding no transaction (see ketaflow.auth.service.signin).
    with transaction(session_factory(request)) as counting:
        attempt = auth_service.begin_sign_in(counting, settings, username=username,
                                             client_address=ctx.client_address)
    ok = not attempt.throttled and security.verify_password(attempt.password_hash, password)
    result = auth_service.finish_sign_in(db, ctx, settings, attempt, password_ok=ok)
    if result.user is None:
        throttled = result.status is auth_service.LoginStatus.THROTTLED
        message = (
            f"Too many failed sign-ins. Try again in {result.retry_after_minutes} minutes."
            if throttled
            else FAILED_MESSAGE
        )
        return render(
            request,
            "auth/login.html",
            {"next": _local_path(next), "error": message, "username": username},
            status_code=429 if throttled else 401,
        )
    token, staff_session = auth_service.start_session(db, ctx, settings, user=result.user)
    if staff_session.mfa_passed:
        target = _local_path(next)
    else:
        target = "/mfa" if result.user.mfa_enrolled else "/mfa/enrol"
    return _with_session_cookie(request, RedirectResponse(target, status_code=303), token)


def _with_session_cookie(request: Request, response: Response, token: str) -> Response:
    settings: Settings = request.app.state.settings
    response.set_cookie(request.app.state.session_cookie, token, httponly=True,
                        secure=settings.cookie_secure, samesite="lax", path="/")
    return response


@router.get("/mfa")
@requires(Permission.SESSION)
def mfa_page(request: Request) -> Response:
    return render(request, "auth/mfa.html", {})


@router.post("/mfa")
@requires(Permission.SESSION)
def mfa_verify(request: Request, db: DB, settings: SETTINGS,
               code: Annotated[str, Form()] = "") -> Response:
    principal = require_principal(request)
    assert principal.session_id is not None
    if not principal.mfa_pending:
        return RedirectResponse("/", status_code=303)
    result = auth_service.verify_mfa(db, audit_context(request), settings,
                                     session_id=principal.session_id, code=code)
    if result.token is not None:
        return _with_session_cookie(request, RedirectResponse("/", status_code=303), result.token)
    throttled = result.status is auth_service.LoginStatus.THROTTLED
    message = ("Too many wrong codes. Try again later or ask an administrator."
               if throttled else "That code was not accepted. Enter the current code from "
               "your app.")
    return render(request, "auth/mfa.html", {"error": message},
                  status_code=429 if throttled else 401)


@router.get("/mfa/enrol")
@requires(Permission.SESSION)
def mfa_enrol_page(request: Request, db: DB) -> Response:
    principal = require_principal(request)
    user = auth_service.get_user(db, principal.user_id)
    if user.mfa_enrolled:
        return render(request, "auth/mfa_enrol.html", {"enrolled": True})
    secret = auth_service.begin_mfa_enrolment(db, user=user)
    return _enrol_form(request, user.username, secret)


def _enrol_form(
    request: Request, username: str, secret: str, error: str | None = None, status_code: int = 200
) -> Response:
    uri = security.totp_uri(secret, username)
    qr_svg = segno.make(uri, error="m").svg_inline(scale=5, dark="#0b2e4f", light="#ffffff")
    return render(
        request,
        "auth/mfa_enrol.html",
        {"secret": secret, "qr_svg": qr_svg, "error": error},
        status_code=status_code,
    )


@router.post("/mfa/enrol")
@requires(Permission.SESSION)
def mfa_enrol(request: Request, db: DB, settings: SETTINGS,
              code: Annotated[str, Form()] = "") -> Response:
    principal = require_principal(request)
    user = auth_service.get_user(db, principal.user_id)
    if not user.mfa_secret and not user.mfa_enrolled:  # no set-up begun: begin it
        return RedirectResponse("/mfa/enrol", status_code=303)
    try:
        result = auth_service.confirm_mfa_enrolment(
            db, audit_context(request), settings, user=user, code=code,
            session_id=principal.session_id)
    except KetaflowError as exc:
        return _enrol_form(request, user.username, user.mfa_secret or "", exc.detail, 422)
    if result.status is not auth_service.LoginStatus.OK:
        message = ("Too many wrong codes. Try again later."
                   if result.status is auth_service.LoginStatus.THROTTLED
                   else "that code is not valid; check the time on your phone")
        return _enrol_form(request, user.username, user.mfa_secret or "", message,
                           429 if result.status is auth_service.LoginStatus.THROTTLED else 422)
    response = RedirectResponse("/account?enrolled=1", status_code=303)
    return response if result.token is None else _with_session_cookie(request, response,
                                                                      result.token)


@router.post("/logout")
@requires(Permission.SESSION)
def logout(request: Request, db: DB) -> Response:
    principal = require_principal(request)
    if principal.session_id is not None:
        auth_service.end_session(db, audit_context(request), session_id=principal.session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(request.app.state.session_cookie, path="/",
                           secure=request.app.state.settings.cookie_secure)
    return response


@router.get("/account")
@requires(Permission.ACCOUNT_SELF)
def account_page(request: Request, db: DB, enrolled: int = 0, changed: int = 0) -> Response:
    user = auth_service.get_user(db, require_principal(request).user_id)
    notice = (
        "Two-factor sign-in is now on."
        if enrolled
        else "Your password was changed."
        if changed
        else None
    )
    return render(request, "auth/account.html", {"user": user, "notice": notice})


@router.post("/account/password")
@requires(Permission.ACCOUNT_SELF)
def change_password(
    request: Request,
    db: DB,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    confirm_password: Annotated[str, Form()] = "",
) -> Response:
    principal = require_principal(request)
    user = auth_service.get_user(db, principal.user_id)
    ctx = audit_context(request)
    try:
        if new_password != confirm_password:
            raise KetaflowError("the two new passwords differ", field="confirm_password")
        auth_service.change_password(db, ctx, user=user, current=current_password,
                                     new=new_password)
    except KetaflowError as exc:
        return render(
            request,
            "auth/account.html",
            {"user": user, "error": exc.detail, "error_field": exc.field},
            status_code=422,
        )
    response = RedirectResponse("/account?changed=1", status_code=303)
    if principal.session_id is None:
        return response
    # Every session of the account has ended; this browser continues in a new one.
    token = auth_service.rotate_session(db, ctx, session_id=principal.session_id,
                                        mfa_passed=not principal.mfa_pending)
    return _with_session_cookie(request, response, token)
