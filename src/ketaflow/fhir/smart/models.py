"""Registered system clients, the opaque access tokens issued to them, and the assertion ids
(`jti`) already used, so an assertion is accepted once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ketaflow.auth.models import StaffUser
from ketaflow.db import Base, utcnow


class SystemClient(Base):
    """A system (not a person) allowed to read the FHIR API: its public key and the scopes an
    administrator allowed it. Never deleted: disabling keeps who it was for the audit trail."""

    __tablename__ = "fhir_system_clients"

    # The OAuth2 client_id: random, given to the client's operator once registered.
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # The public key as a JWK (a PEM pasted in is stored converted); never a private part.
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The one signing algorithm its key allows: RS384 for an RSA key, ES384 for EC P-384.
    algorithm: Mapped[str] = mapped_column(String(8))
    # Scope strings as registered, e.g. ["system/Patient.read", "system/Observation.rs"].
    allowed_scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"),
                                                           default=None)
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)

    created_by: Mapped[StaffUser | None] = relationship(lazy="raise")

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None


class SystemToken(Base):
    """An access token `kfs_<id>_<secret>` (opaque; only the secret's SHA-256 is kept)."""

    __tablename__ = "fhir_system_tokens"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("fhir_system_clients.id"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]

    client: Mapped[SystemClient] = relationship(lazy="raise")


class UsedAssertion(Base):
    """One client assertion accepted: its `jti`, kept until the assertion would have expired
    anyway. The primary key refuses a replay even when two servers see it at once."""

    __tablename__ = "fhir_used_assertions"

    client_id: Mapped[str] = mapped_column(ForeignKey("fhir_system_clients.id"),
                                           primary_key=True)
    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime]
