"""One row per message to deliver. Never deleted: the row is the delivery record."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ketaflow.db import Base, str_enum, utcnow


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class OutboxStatus(StrEnum):
    PENDING = "pending"      # waiting for its time (not_before) or its next attempt
    SENDING = "sending"      # claimed by one worker until claim_expires_at
    SENT = "sent"            # handed to the mail server (or SMS gateway)
    FAILED = "failed"        # gave up after max_attempts; staff see it on the patient's page
    CANCELLED = "cancelled"  # no longer needed (the patient did what it asked, or opted out)


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # What makes this message unique (for example "mood-reminder:12:2026-12-02:1"): enqueuing
    # the same key twice, from any process, stores one message.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    purpose: Mapped[str] = mapped_column(String(40))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 8))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True,
                                                   default=None)
    to_address: Mapped[str] = mapped_column(String(320))  # never logged
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    # [{"filename": ..., "content_type": "text/calendar", "content": text}]
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus, 16),
                                                 default=OutboxStatus.PENDING)
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    claim_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    # The failure's kind only (an exception class name, a status code): server replies can
    # echo the recipient address.
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
