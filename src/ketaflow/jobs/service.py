"""Putting messages in the outbox and taking them back. Services never commit: a message is
stored with the change that caused it, or not at all."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.db import first_unlocked, utcnow
from ketaflow.jobs.models import Channel, OutboxMessage, OutboxStatus
from ketaflow.patients import service as patients


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


def masked_address(address: str) -> str:
    """Enough of an address for staff to recognise it, not to read it out: the first
    character of the mailbox and the domain ("p***@example.org"); for a phone number, its
    last three digits."""
    mailbox, at, domain = address.partition("@")
    if at:
        return f"{mailbox[:1]}***@{domain}"
    return f"***{address[-3:]}" if len(address) > 3 else "***"


_UNREACHABLE = frozenset({"ConnectionRefusedError", "TimeoutError", "gaierror", "OSError",
                          "SMTPServerDisconnected", "SMTPConnectError", "ConnectionResetError"})


def describe_failure(kind: str | None) -> str:
    """A stored failure kind in words for staff (the kind itself stays in brackets)."""
    if not kind:
        return ""
    if kind in _UNREACHABLE:
        words = "the mail server could not be reached"
    elif kind.startswith("SMTP 4"):
        words = "the mail server asked to try later"
    elif kind.startswith("SMTP 5"):
        words = "the mail server refused it"
    elif kind == "claim expired":
        words = "sending was interrupted"
    else:
        words = "it could not be handed over"
    return f"{words} ({kind})"


def read_patient_messages(db: Session, ctx: AuditContext, *, patient_id: int,
                          limit: int = 50) -> list[OutboxMessage]:
    """The patient page's Messages: a read of the patient's record, audited as one (NotFound
    for a patient who does not exist, rather than an empty list that looks like one)."""
    patients.read_section(db, ctx, patient_id=patient_id, section="messages")
    return messages_for_patient(db, patient_id, limit=limit)


def messages_for_patient(db: Session, patient_id: int, *, limit: int = 50
                         ) -> list[OutboxMessage]:
    """The patient's latest messages with their delivery state, newest first."""
    return list(db.scalars(
        select(OutboxMessage).where(OutboxMessage.patient_id == patient_id)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()).limit(limit)))


# --- Delivery (the worker's side; ketaflow.jobs.worker runs these, one short transaction each)

ENTITY = "outbox_message"
# Who the audit trail names for deliveries: the server's worker, not a person.
WORKER_CONTEXT = AuditContext(None, "outbox", "system")
MAX_RETRY_DELAY = timedelta(days=1)


@dataclass(frozen=True)
class Claim:
    """One worker's hold on one message until `expires_at`. `attempt` tells this claim
    apart from a later one on the same row (attempts rise with each claim)."""

    message: OutboxMessage
    worker_id: str
    attempt: int
    expires_at: datetime


def _due(now: datetime, channels: Collection[Channel]) -> ColumnElement[bool]:
    """Pending and due, or claimed by a worker whose lease ran out (it died or hung)."""
    return and_(
        OutboxMessage.channel.in_(list(channels)),
        OutboxMessage.attempts < OutboxMessage.max_attempts,
        or_(and_(OutboxMessage.status == OutboxStatus.PENDING,
                 OutboxMessage.next_attempt_at <= now, OutboxMessage.not_before <= now),
            and_(OutboxMessage.status == OutboxStatus.SENDING,
                 OutboxMessage.claim_expires_at <= now)))


def claim_next(db: Session, *, worker_id: str, now: datetime, lease: timedelta,
               channels: Collection[Channel]) -> Claim | None:
    """Claim the oldest due message for `worker_id`, or None. The candidate is locked first
    (PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent workers take different rows without
    waiting; SQLite: the transaction already holds the write lock, BEGIN IMMEDIATE), then
    claimed by an UPDATE that repeats the guard. Two statements, not `UPDATE ... WHERE id IN
    (SELECT ... SKIP LOCKED LIMIT 1)`: PostgreSQL may run that subquery once per row it
    scans, claiming several. The caller commits before sending: no lock is held meanwhile."""
    if not channels:
        return None
    candidate_id = first_unlocked(db, select(OutboxMessage.id).where(_due(now, channels))
                                  .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                                  .limit(1))
    if candidate_id is None:
        return None
    claimed = db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == candidate_id, _due(now, channels))
        .values(status=OutboxStatus.SENDING, claimed_by=worker_id,
                claim_expires_at=now + lease, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id, OutboxMessage.attempts)
        .execution_options(synchronize_session=False)).first()
    if claimed is None:
        return None
    message = db.get(OutboxMessage, claimed.id, populate_existing=True)
    assert message is not None  # claimed in this very transaction
    return Claim(message, worker_id, int(claimed.attempts), now + lease)


def give_up_exhausted(db: Session, *, now: datetime) -> int:
    """Messages whose last allowed attempt was claimed by a worker that never came back:
    FAILED, since another try would exceed max_attempts."""
    stuck = list(db.scalars(
        select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.SENDING,
                                       OutboxMessage.claim_expires_at <= now,
                                       OutboxMessage.attempts >= OutboxMessage.max_attempts)))
    for message_id in stuck:
        db.execute(update(OutboxMessage).where(OutboxMessage.id == message_id,
                                               OutboxMessage.status == OutboxStatus.SENDING)
                   .values(status=OutboxStatus.FAILED, claimed_by=None,
                           last_error="claim expired")
                   .execution_options(synchronize_session=False))
        record_event(db, WORKER_CONTEXT, action="outbox.failed", entity_type=ENTITY,
                     entity_id=message_id, detail={"error": "claim expired"})
    return len(stuck)


def _still_ours(claim: Claim) -> ColumnElement[bool]:
    return and_(OutboxMessage.id == claim.message.id,
                OutboxMessage.status == OutboxStatus.SENDING,
                OutboxMessage.claimed_by == claim.worker_id,
                OutboxMessage.attempts == claim.attempt)


def mark_sent(db: Session, claim: Claim, *, now: datetime) -> bool:
    """Record the hand-over, if the claim is still this worker's (False: it expired and
    another worker took the row, which then records its own outcome)."""
    result = db.execute(update(OutboxMessage).where(_still_ours(claim))
                        .values(status=OutboxStatus.SENT, sent_at=now, claimed_by=None,
                                claim_expires_at=None, last_error=None)
                        .execution_options(synchronize_session=False))
    if not getattr(result, "rowcount", 0):
        return False
    record_event(db, WORKER_CONTEXT, action="outbox.sent", entity_type=ENTITY,
                 entity_id=claim.message.id,
                 detail={"patient_id": claim.message.patient_id, "attempt": claim.attempt})
    return True


def retry_delay(attempt: int, *, base: timedelta) -> timedelta:
    """Exponential backoff: base, 2 x base, 4 x base... after attempts 1, 2, 3..., at most a
    day (a mail server down for a weekend is still tried daily until max_attempts)."""
    # Doubling stops once past the cap: 2 ** attempts overflows timedelta long before any
    # max_attempts a clinic would choose.
    delay, cap = base, MAX_RETRY_DELAY
    for _ in range(max(attempt, 1) - 1):
        if delay >= cap:
            break
        delay *= 2
    return min(delay, cap)


def mark_failed(db: Session, claim: Claim, *, now: datetime, error: str,
                retry_base: timedelta) -> OutboxStatus | None:
    """Record a failed attempt: PENDING again after the backoff, or FAILED after the last
    allowed attempt. `error` is a failure kind, never server text. None if the claim was
    lost meanwhile."""
    final = claim.attempt >= claim.message.max_attempts
    status = OutboxStatus.FAILED if final else OutboxStatus.PENDING
    result = db.execute(
        update(OutboxMessage).where(_still_ours(claim))
        .values(status=status, claimed_by=None, claim_expires_at=None, last_error=error[:200],
                next_attempt_at=now + retry_delay(claim.attempt, base=retry_base))
        .execution_options(synchronize_session=False))
    if not getattr(result, "rowcount", 0):
        return None
    record_event(db, WORKER_CONTEXT, action="outbox.failed" if final else "outbox.deferred",
                 entity_type=ENTITY, entity_id=claim.message.id,
                 detail={"patient_id": claim.message.patient_id, "attempt": claim.attempt,
                         "error": error[:200]})
    return status


@dataclass(frozen=True)
class OutboxCounts:
    by_status: dict[str, int]
    due_now: int
    oldest_due_at: datetime | None


def outbox_counts(db: Session, *, now: datetime) -> OutboxCounts:
    """How many messages are in each state, and how many wait to be sent now."""
    rows = db.execute(select(OutboxMessage.status, func.count())
                      .group_by(OutboxMessage.status)).all()
    due = db.execute(select(func.count(), func.min(OutboxMessage.next_attempt_at))
                     .where(_due(now, list(Channel)))).one()
    return OutboxCounts({str(status): int(n) for status, n in rows}, int(due[0]), due[1])
