"""Per-request plumbing: the database session, the audit context and the signed-in principal."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, anonymous_context
from ketaflow.auth.models import StaffSession
from ketaflow.config import Role, Settings


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    full_name: str
    role: Role
    via_token: bool
    # Snapshots taken when the request is authorised: templates rendered after a rollback
    # must not touch (expired) ORM state.
    mfa_pending: bool = False
    mfa_enrolled: bool = False
    staff_session: StaffSession | None = None


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Session:
    """The request's session; the transaction middleware commits or rolls it back at the end."""
    state = request.state
    if getattr(state, "db", None) is None:
        state.db = request.app.state.session_factory()
    db: Session = state.db
    return db


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def get_principal(request: Request) -> Principal | None:
    return getattr(request.state, "principal", None)


def require_principal(request: Request) -> Principal:
    principal = get_principal(request)
    if principal is None:  # the guard has already refused anonymous access to such routes
        raise RuntimeError("route used without a principal")
    return principal


def audit_context(request: Request) -> AuditContext:
    principal = get_principal(request)
    request_id = getattr(request.state, "request_id", None)
    base = anonymous_context(client_address(request), request_id)
    if principal is None:
        return base
    return base.as_user(principal.user_id, principal.username, principal.role.value)
