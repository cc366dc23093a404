"""Plain-function fixtures: build what a test needs with explicit overrides."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext
from ketaflow.auth import service as auth_service
from ketaflow.auth.models import StaffUser
from ketaflow.config import Role

SYSTEM = AuditContext(None, "test-setup", "system", "127.0.0.1", "test")
DEFAULT_PASSWORD = "a-long-test-password"
_seq = itertools.count(1)


def make_user(
    session: Session,
    *,
    role: Role = Role.NURSE,
    username: str | None = None,
    password: str = DEFAULT_PASSWORD,
    full_name: str = "Test User",
) -> StaffUser:
    return auth_service.create_user(
        session,
        SYSTEM,
        username=username or f"{role.value.replace('_', '')}{next(_seq)}",
        full_name=full_name,
        role=role,
        password=password,
    )
