"""Registry of every domain's ORM classes, so Alembic and the mappers see the whole schema."""

from ketaflow.audit.models import AuditEvent
from ketaflow.auth.models import ApiToken, LoginFailure, StaffSession, StaffUser
from ketaflow.db import Base

__all__ = ["ApiToken", "AuditEvent", "Base", "LoginFailure", "StaffSession", "StaffUser"]
