"""Admin pages for staff accounts: create, deactivate, reset MFA, issue and revoke API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from ketaflow.auth import service as auth_service
from ketaflow.auth.permissions import Permission, requires
from ketaflow.config import Role, Settings
from ketaflow.errors import KetaflowError, ValidationFailed
from ketaflow.web.deps import audit_context, get_db, get_settings
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(prefix="/admin", include_in_schema=False, route_class=UnitOfWorkRoute)

DB = Annotated[Session, Depends(get_db)]


def _users_page(request: Request, db: Session, **context: object) -> Response:
    status = 422 if context.get("error") else 200
    return render(
        request,
        "auth/users.html",
        {"users": auth_service.list_users(db), "roles": list(Role), **context},
        status_code=status,
    )


@router.get("/users")
@requires(Permission.USERS_MANAGE)
def users_page(request: Request, db: DB) -> Response:
    return _users_page(request, db)


@router.post("/users")
@requires(Permission.USERS_MANAGE)
def create_user(
    request: Request,
    db: DB,
    username: Annotated[str, Form()] = "",
    full_name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    form = {"username": username, "full_name": full_name, "role": role}
    try:
        if role not in {r.value for r in Role}:
            raise ValidationFailed("choose a role", field="role")
        user = auth_service.create_user(
            db,
            audit_context(request),
            username=username,
            full_name=full_name,
            role=Role(role),
            password=password,
        )
    except KetaflowError as exc:
        return _users_page(request, db, error=exc.detail, error_field=exc.field, form=form)
    return RedirectResponse(f"/admin/users/{user.id}?created=1", status_code=303)


@router.get("/users/{user_id}")
@requires(Permission.USERS_MANAGE)
def user_page(request: Request, db: DB, user_id: int, created: int = 0) -> Response:
    return _user_page(request, db, user_id, notice="Account created." if created else None)


def _user_page(request: Request, db: Session, user_id: int, **context: object) -> Response:
    user = auth_service.get_user(db, user_id)
    tokens = auth_service.list_api_tokens(db, user_id=user.id)
    status = 422 if context.get("error") else 200
    return render(
        request, "auth/user.html", {"user": user, "tokens": tokens, **context}, status_code=status
    )


@router.post("/users/{user_id}/deactivate")
@requires(Permission.USERS_MANAGE)
def deactivate_user(request: Request, db: DB, user_id: int) -> Response:
    user = auth_service.get_user(db, user_id)
    try:
        auth_service.deactivate_user(db, audit_context(request), user=user)
    except KetaflowError as exc:
        return _user_page(request, db, user_id, error=exc.detail)
    return _user_page(request, db, user_id, notice="Account deactivated; its sessions ended.")


@router.post("/users/{user_id}/reset-mfa")
@requires(Permission.USERS_MANAGE)
def reset_mfa(request: Request, db: DB, user_id: int) -> Response:
    user = auth_service.get_user(db, user_id)
    auth_service.reset_mfa(db, audit_context(request), user=user)
    return _user_page(
        request,
        db,
        user_id,
        notice="Two-factor sign-in was reset; the user sets it up at next sign-in.",
    )


@router.post("/users/{user_id}/tokens")
@requires(Permission.USERS_MANAGE)
def create_token(
    request: Request,
    db: DB,
    user_id: int,
    settings: Annotated[Settings, Depends(get_settings)],
    name: Annotated[str, Form()] = "",
    days: Annotated[str, Form()] = "",
) -> Response:
    user = auth_service.get_user(db, user_id)
    try:
        valid_days = int(days) if days.strip() else settings.api_token_default_days
        plaintext, _ = auth_service.create_api_token(
            db, audit_context(request), user=user, name=name, days=valid_days
        )
    except ValueError:
        return _user_page(request, db, user_id, error="days must be a whole number")
    except KetaflowError as exc:
        return _user_page(request, db, user_id, error=exc.detail)
    return _user_page(
        request,
        db,
        user_id,
        new_token=plaintext,
        notice="Token created. Copy it now: it is not shown again.",
    )


@router.post("/tokens/{token_id}/revoke")
@requires(Permission.USERS_MANAGE)
def revoke_token(request: Request, db: DB, token_id: str) -> Response:
    token = auth_service.revoke_api_token(db, audit_context(request), token_id=token_id)
    return _user_page(request, db, token.user_id, notice="Token revoked.")
