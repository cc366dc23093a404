"""Staff accounts, server-side sessions, API tokens and sign-in throttle counters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ketaflow.config import Role
from ketaflow.db import Base, str_enum, utcnow


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role, 20))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    mfa_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    mfa_enrolled_at: Mapped[datetime | None] = mapped_column(default=None)
    # Last accepted TOTP time step: a code is accepted once, so a replayed code is refused.
    mfa_last_step: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    deactivated_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def mfa_enrolled(self) -> bool:
        return self.mfa_enrolled_at is not None


class StaffSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    mfa_passed: Mapped[bool] = mapped_column(Boolean, default=False)

    user: Mapped[StaffUser] = relationship(lazy="raise")


class ApiToken(Base):
    """Per-user API token `kft_<id>_<secret>`.

    The secret is random and long, so a SHA-256 (not a slow password hash) suffices to store it.
    """

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[StaffUser] = relationship(lazy="raise")


class ThrottleCounter(Base):
    """Attempts against one key (an account and address pair, an account, a second factor)
    in the current window. Counted by one atomic upsert per attempt, before the password or
    code is checked, so parallel guesses on any number of servers stop at the limit."""

    __tablename__ = "auth_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_started_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer)


class DemoCredential(Base):
    """A demo account's generated password, kept so `ketaflow demo accounts` can print it
    again. Only demo seeding writes here; production refuses a database with any row."""

    __tablename__ = "demo_credentials"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
