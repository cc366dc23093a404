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
from ketaflow.errors import KetaflowError
from ketaflow.web.deps import audit_context, get_db, get_settings, require_principal
from ketaflow.web.guard import SESSION_COOKIE
from ketaflow.web.templating import render

router = APIRouter(include_in_schema=False)

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
    result = auth_service.authenticate(db, ctx, settings, username=username, password=password)
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
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
    )
    return response


@router.get("/mfa")
@requires(Permission.SESSION)
def mfa_page(request: Request) -> Response:
    return render(request, "auth/mfa.html", {})


@router.post("/mfa")
@requires(Permission.SESSION)
def mfa_verify(request: Request, db: DB, code: Annotated[str, Form()] = "") -> Response:
    principal = require_principal(request)
    assert principal.staff_session is not None
    if principal.staff_session.mfa_passed:
        return RedirectResponse("/", status_code=303)
    if auth_service.verify_mfa(
        db, audit_context(request), staff_session=principal.staff_session, code=code
    ):
        return RedirectResponse("/", status_code=303)
    return render(
        request,
        "auth/mfa.html",
        {"error": "That code was not accepted. Enter the current code from your app."},
        status_code=401,
    )


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
def mfa_enrol(request: Request, db: DB, code: Annotated[str, Form()] = "") -> Response:
    principal = require_principal(request)
    user = auth_service.get_user(db, principal.user_id)
    try:
        auth_service.confirm_mfa_enrolment(db, audit_context(request), user=user, code=code)
    except KetaflowError as exc:
        return _enrol_form(request, user.username, user.mfa_secret or "", exc.detail, 422)
    if principal.staff_session is not None:
        # Scanning the secret and answering with a valid code proves the second factor.
        principal.staff_session.mfa_passed = True
    return RedirectResponse("/account?enrolled=1", status_code=303)


@router.post("/logout")
@requires(Permission.SESSION)
def logout(request: Request, db: DB) -> Response:
    principal = require_principal(request)
    if principal.staff_session is not None:
        auth_service.end_session(db, audit_context(request), staff_session=principal.staff_session)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
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
    user = auth_service.get_user(db, require_principal(request).user_id)
    try:
        if new_password != confirm_password:
            raise KetaflowError("the two new passwords differ", field="confirm_password")
        auth_service.change_password(
            db, audit_context(request), user=user, current=current_password, new=new_password
        )
    except KetaflowError as exc:
        return render(
            request,
            "auth/account.html",
            {"user": user, "error": exc.detail, "error_field": exc.field},
            status_code=422,
        )
    return RedirectResponse("/account?changed=1", status_code=303)
