"""Writing, reading and verifying the audit trail. Every domain calls `record_event`."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Delete, Update, event, insert, select, text
from sqlalchemy.orm import ORMExecuteState, Session

from ketaflow import csvsafe
from ketaflow.audit.models import AuditEvent, AuditImmutableError
from ketaflow.db import utcnow

GENESIS_HASH = "0" * 64
# Arbitrary constant naming the PostgreSQL advisory lock that serialises chain writers.
_CHAIN_LOCK_KEY = 7_410_221


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


@dataclass(frozen=True)
class AuditContext:
    """Who is acting and from where; built once per request or CLI command."""

    actor_user_id: int | None
    actor_username: str
    actor_role: str
    client_address: str | None = None
    request_id: str | None = None

    def as_user(self, user_id: int, username: str, role: str) -> AuditContext:
        return AuditContext(user_id, username, role, self.client_address, self.request_id)


def anonymous_context(client_address: str | None, request_id: str | None) -> AuditContext:
    return AuditContext(None, "anonymous", "none", client_address, request_id)


@dataclass(frozen=True)
class EventSpec:
    """One event to append: who (ctx), what happened to which entity, and the outcome."""

    ctx: AuditContext
    action: str
    entity_type: str
    entity_id: str | int | None = None
    outcome: Outcome = Outcome.SUCCESS
    detail: dict[str, Any] | None = None


def record_event(
    session: Session,
    ctx: AuditContext,
    *,
    action: str,
    entity_type: str,
    entity_id: str | int | None = None,
    outcome: Outcome = Outcome.SUCCESS,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction, so it commits or rolls back with the change."""
    spec = EventSpec(ctx, action, entity_type, entity_id, outcome, detail)
    return record_events(session, [spec])[0]


def record_events(session: Session, specs: Sequence[EventSpec]) -> list[AuditEvent]:
    """Append events in order under one lock of the chain: a batch of writes (group commit)
    costs one lock and one tail lookup, not one per event."""
    if not specs:
        return []
    previous = _lock_and_fetch_tail(session)
    next_id, prev_hash = (previous[0] + 1, previous[1]) if previous else (1, GENESIS_HASH)
    events: list[AuditEvent] = []
    for spec in specs:
        audit_event = AuditEvent(
            id=next_id,
            occurred_at=utcnow(),
            actor_user_id=spec.ctx.actor_user_id,
            actor_username=spec.ctx.actor_username,
            actor_role=spec.ctx.actor_role,
            action=spec.action,
            entity_type=spec.entity_type,
            entity_id=None if spec.entity_id is None else str(spec.entity_id),
            outcome=spec.outcome.value,
            client_address=spec.ctx.client_address,
            request_id=spec.ctx.request_id,
            detail=_canonical_json(spec.detail or {}),
            prev_hash=prev_hash,
        )
        audit_event.hash = prev_hash = event_hash(audit_event)
        events.append(audit_event)
        next_id += 1
    # A bulk insert, not the unit of work: the events are written once and never change.
    columns = [column.key for column in AuditEvent.__table__.columns]
    session.execute(insert(AuditEvent), [{key: getattr(e, key) for key in columns}
                                         for e in events])
    return events


def _lock_and_fetch_tail(session: Session) -> tuple[int, str] | None:
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK_KEY})
    # On SQLite every transaction begins IMMEDIATE (ketaflow.db), which already serialises writers.
    row = session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def event_hash(ev: AuditEvent) -> str:
    """SHA-256 over every field and the previous hash, in a fixed canonical form."""
    payload = [
        ev.id,
        ev.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        ev.actor_user_id,
        ev.actor_username,
        ev.actor_role,
        ev.action,
        ev.entity_type,
        ev.entity_id,
        ev.outcome,
        ev.client_address,
        ev.request_id,
        ev.detail,
        ev.prev_hash,
    ]
    return hashlib.sha256(_canonical_json(payload).encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events_checked: int
    first_broken_id: int | None = None
    reason: str | None = None


def verify_chain(session: Session, *, batch_size: int = 5000) -> ChainReport:
    """Recompute every hash in order; name the first event whose content or link is wrong."""
    expected_id, expected_prev, checked = 1, GENESIS_HASH, 0
    for ev in _stream(session, batch_size):
        problem = _check_one(ev, expected_id, expected_prev)
        if problem:
            return ChainReport(False, checked, ev.id, problem)
        expected_id, expected_prev, checked = ev.id + 1, ev.hash, checked + 1
    return ChainReport(True, checked)


def _check_one(ev: AuditEvent, expected_id: int, expected_prev: str) -> str | None:
    if ev.id != expected_id:
        return f"events {expected_id}..{ev.id - 1} are missing (deleted)"
    if ev.prev_hash != expected_prev:
        return "link to the previous event is broken (a row was deleted, inserted or re-hashed)"
    if event_hash(ev) != ev.hash:
        return "contents do not match the stored hash (the row was edited)"
    return None


def _stream(session: Session, batch_size: int) -> Iterator[AuditEvent]:
    last_id = 0
    while True:
        # populate_existing: verify what is stored, never objects cached in this session.
        query = (
            select(AuditEvent)
            .where(AuditEvent.id > last_id)
            .order_by(AuditEvent.id)
            .limit(batch_size)
            .execution_options(populate_existing=True)
        )
        batch = session.scalars(query).all()
        if not batch:
            return
        yield from batch
        last_id = batch[-1].id


@dataclass(frozen=True)
class AuditFilter:
    date_from: date | None = None
    date_to: date | None = None
    actor_username: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None


def list_events(session: Session, flt: AuditFilter, *, limit: int = 200) -> Sequence[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if flt.date_from:
        query = query.where(AuditEvent.occurred_at >= datetime.combine(flt.date_from, time(), UTC))
    if flt.date_to:
        end = datetime.combine(flt.date_to + timedelta(days=1), time(), UTC)
        query = query.where(AuditEvent.occurred_at < end)
    if flt.actor_username:
        query = query.where(AuditEvent.actor_username == flt.actor_username)
    if flt.entity_type:
        query = query.where(AuditEvent.entity_type == flt.entity_type)
    if flt.entity_id:
        query = query.where(AuditEvent.entity_id == flt.entity_id)
    return session.scalars(query).all()


CSV_COLUMNS = (
    "id",
    "occurred_at",
    "actor_user_id",
    "actor_username",
    "actor_role",
    "action",
    "entity_type",
    "entity_id",
    "outcome",
    "client_address",
    "request_id",
    "detail",
    "prev_hash",
    "hash",
)


def events_to_csv(events: Iterable[AuditEvent]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for ev in events:
        row = [getattr(ev, column) for column in CSV_COLUMNS]
        row[1] = ev.occurred_at.isoformat(timespec="microseconds")
        writer.writerow([csvsafe.cell(value) for value in row])
    return buffer.getvalue()


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    """Bulk UPDATE/DELETE bypass mapper events; refuse them for the audit table here."""
    statement = state.statement
    table_name = getattr(getattr(statement, "table", None), "name", None)
    if isinstance(statement, Update | Delete) and table_name == AuditEvent.__tablename__:
        raise AuditImmutableError("audit events are append-only")
