"""Audit events, the seals that chain them, and checkpoints of the chain's head.

Requests only ever INSERT events (no lock, no lookup of the chain's tail): each carries its own
MAC under the audit key, which lives outside the database. One sealer per database then links
committed events into a keyed hash chain (`AuditSeal`, positions 1, 2, 3 ... without gaps) and
records checkpoints of the head, also written to a file outside the database. See
docs/audit-trail.md for the design and what it detects.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from ketaflow.db import Base, utcnow

# SQLite only makes INTEGER PRIMARY KEY an alias of the rowid (auto-assigned, never reused
# while the newest row is kept); PostgreSQL takes ids from an identity sequence.
_BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_occurred_at", "occurred_at"),
        Index("ix_audit_events_entity", "entity_type", "entity_id"),
    )

    # Ids only order events and name them; the chain's order is the seals' positions, so gaps
    # left by rolled-back transactions are harmless.
    id: Mapped[int] = mapped_column(_BIG_ID, Identity(), primary_key=True)
    # Random per event and covered by the MAC, so a copied event cannot pass as a new one.
    uid: Mapped[str | None] = mapped_column(String(32), unique=True, default=None)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    actor_username: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64), default=None)
    outcome: Mapped[str] = mapped_column(String(16))
    client_address: Mapped[str | None] = mapped_column(String(64), default=None)
    request_id: Mapped[str | None] = mapped_column(String(64), default=None)
    # Free-form context as canonical JSON. Never identifiable patient values.
    detail: Mapped[str] = mapped_column(Text, default="{}")
    # HMAC-SHA256 of the fields above under the audit key. NULL only on events written before
    # the keyed trail, which carry their plain SHA-256 chain in the legacy columns instead.
    mac: Mapped[str | None] = mapped_column(String(64), default=None)
    legacy_prev_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    legacy_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)


class AuditSeal(Base):
    """One link of the keyed chain: position N seals one event and the hash of position N-1."""

    __tablename__ = "audit_seals"

    position: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=False)
    # No foreign key: a deleted event must leave its seal behind as evidence.
    event_id: Mapped[int] = mapped_column(_BIG_ID, unique=True)
    sealed_at: Mapped[datetime] = mapped_column(default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """The chain's head at a moment, MAC'd; the same line is appended to a file outside the
    database, so a restored older backup or deleted newest events are detected."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(_BIG_ID)
    head_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    mac: Mapped[str] = mapped_column(String(64))


class AuditImmutableError(RuntimeError):
    """Raised when code tries to change or remove an audit row."""


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
@event.listens_for(AuditSeal, "before_update")
@event.listens_for(AuditSeal, "before_delete")
@event.listens_for(AuditCheckpoint, "before_update")
@event.listens_for(AuditCheckpoint, "before_delete")
def _refuse_change(_mapper: Any, _connection: Any, target: Any) -> None:
    raise AuditImmutableError(f"{type(target).__tablename__} rows are append-only")


AUDIT_TABLES = (AuditEvent.__tablename__, AuditSeal.__tablename__, AuditCheckpoint.__tablename__)
