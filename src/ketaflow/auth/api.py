"""Staff accounts over the JSON API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from ketaflow.auth import service as auth_service
from ketaflow.auth.permissions import Permission, requires
from ketaflow.auth.schemas import UserCreate, UserOut
from ketaflow.web.deps import audit_context, get_db, require_principal
from ketaflow.web.openapi import problem
from ketaflow.web.routing import UnitOfWorkRoute

router = APIRouter(tags=["staff"], route_class=UnitOfWorkRoute)

DB = Annotated[Session, Depends(get_db)]


@router.get("/me", response_model=UserOut)
@requires(Permission.ACCOUNT_SELF)
def me(request: Request, db: DB) -> UserOut:
    return UserOut.model_validate(auth_service.get_user(db, require_principal(request).user_id))


@router.get("/users", response_model=list[UserOut])
@requires(Permission.USERS_MANAGE)
def list_users(db: DB) -> list[UserOut]:
    return [UserOut.model_validate(user) for user in auth_service.list_users(db)]


@router.post("/users", response_model=UserOut, status_code=201,
             responses=problem(409, "The username is already taken."))
@requires(Permission.USERS_MANAGE)
def create_user(request: Request, db: DB, body: UserCreate) -> UserOut:
    user = auth_service.create_user(
        db,
        audit_context(request),
        username=body.username,
        full_name=body.full_name,
        role=body.role,
        password=body.password,
    )
    return UserOut.model_validate(user)
