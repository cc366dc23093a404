"""Putting messages in the outbox and taking them back. Services never commit: a message is
stored with the change that caused it, or not at all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketaflow.db import utcnow
from ketaflow.jobs.models import Channel, OutboxMessage, OutboxStatus


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # for example "text/calendar; method=REQUEST"
    content: str


def enqueue(db: Session, *, dedupe_key: str, purpose: str, channel: Channel, to_address: str,
            subject: str, body_text: str, patient_id: int | None = None,
            not_before: datetime | None = None, attachments: Sequence[Attachment] = (),
            max_attempts: int = 5) -> OutboxMessage:
    """Store a message to send at or after `not_before` (now by default). The same
    `dedupe_key` enqueued again, by this or another process, returns the stored message."""
    existing = db.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))
    if existing is not None:
        return existing
    when = not_before or utcnow()
    message = OutboxMessage(
        dedupe_key=dedupe_key, purpose=purpose, channel=channel, to_address=to_address,
        subject=subject, body_text=body_text, patient_id=patient_id, not_before=when,
        next_attempt_at=when, max_attempts=max_attempts,
        attachments=[{"filename": a.filename, "content_type": a.content_type,
                      "content": a.content} for a in attachments])
    try:
        with db.begin_nested():  # another process enqueued the same key just now
            db.add(message)
    except IntegrityError:
        stored = db.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))
        if stored is None:
            raise
        return stored
    return message


def cancel_pending(db: Session, *, dedupe_key_prefix: str) -> int:
    """Cancel messages not yet sent whose key starts with the prefix (a reminder whose task is
    done, a patient who opted out). A message being sent right now is left to finish."""
    result = db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.dedupe_key.startswith(dedupe_key_prefix, autoescape=True),
               OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.CANCELLED, cancelled_at=utcnow())
        .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def messages_for_patient(db: Session, patient_id: int, *, limit: int = 50
                         ) -> list[OutboxMessage]:
    """The patient's latest messages with their delivery state, newest first."""
    return list(db.scalars(
        select(OutboxMessage).where(OutboxMessage.patient_id == patient_id)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()).limit(limit)))
