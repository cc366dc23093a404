"""Staff accounts: create, list, deactivate, reset the second factor, change the password.

Services never commit; every change writes an audit event in the caller's transaction. Every
change that affects how an account signs in ends all of its sessions.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaflow import textcheck
from ketaflow.audit.service import AuditContext, Outcome, record_event
from ketaflow.auth import security
from ketaflow.auth.models import StaffUser
from ketaflow.auth.service.signin import end_all_sessions
from ketaflow.config import Role
from ketaflow.db import utcnow
from ketaflow.errors import Conflict, NotFound, ValidationFailed

USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{2,63}$")


# ---------------------------------------------------------------- accounts


def create_user(
    session: Session,
    ctx: AuditContext,
    *,
    username: str,
    full_name: str,
    role: Role,
    password: str,
) -> StaffUser:
    username = username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise ValidationFailed(
            "username must be 3-64 characters: lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter",
            field="username",
        )
    if not full_name.strip():
        raise ValidationFailed("full name is required", field="full_name")
    try:  # staff names appear on signed records and at the chair: nothing invisible in them
        textcheck.check_person_name(full_name, field="full_name")
    except textcheck.NameCharacterError as error:
        raise ValidationFailed(error.message, field=error.field) from None
    problem = security.password_problem(password)
    if problem:
        raise ValidationFailed(problem, field="password")
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
        raise Conflict("that username is already taken", field="username")
    user = StaffUser(
        username=username,
        full_name=full_name.strip(),
        role=role,
        password_hash=security.hash_password(password),
    )
    session.add(user)
    session.flush()
    record_event(
        session,
        ctx,
        action="user.create",
        entity_type="staff_user",
        entity_id=user.id,
        detail={"username": username, "role": role.value},
    )
    return user


def get_user(session: Session, user_id: int) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise NotFound("no such user")
    return user


def get_user_by_username(session: Session, username: str) -> StaffUser:
    user = session.scalar(select(StaffUser).where(StaffUser.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def list_users(session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.username)))


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(StaffUser)) or 0


def deactivate_user(session: Session, ctx: AuditContext, *, user: StaffUser) -> StaffUser:
    if ctx.actor_user_id == user.id:
        raise ValidationFailed("you cannot deactivate your own account", field="user")
    if not user.is_active:
        raise Conflict("the account is already deactivated")
    user.is_active = False
    user.deactivated_at = utcnow()
    end_all_sessions(session, user.id)
    record_event(
        session, ctx, action="user.deactivate", entity_type="staff_user", entity_id=user.id
    )
    return user


def reset_mfa(session: Session, ctx: AuditContext, *, user: StaffUser) -> StaffUser:
    user.mfa_secret = None
    user.mfa_enrolled_at = None
    user.mfa_last_step = None
    end_all_sessions(session, user.id)
    record_event(session, ctx, action="user.reset_mfa", entity_type="staff_user", entity_id=user.id)
    return user


def change_password(
    session: Session, ctx: AuditContext, *, user: StaffUser, current: str, new: str
) -> None:
    if not security.verify_password(user.password_hash, current):
        record_event(
            session,
            ctx,
            action="user.change_password",
            entity_type="staff_user",
            entity_id=user.id,
            outcome=Outcome.FAILURE,
            detail={"reason": "wrong current password"},
        )
        raise ValidationFailed("the current password is wrong", field="current_password")
    problem = security.password_problem(new)
    if problem:
        raise ValidationFailed(problem, field="new_password")
    user.password_hash = security.hash_password(new)
    user.password_changed_at = utcnow()
    end_all_sessions(session, user.id)
    record_event(
        session, ctx, action="user.change_password", entity_type="staff_user", entity_id=user.id
    )
