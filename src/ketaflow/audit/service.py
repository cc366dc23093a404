"""Writing and reading the audit trail. Every domain calls `record_event`.

Writing takes no lock and reads nothing: an event is one INSERT in the caller's transaction,
carrying its own MAC under the audit key. Chaining committed events happens afterwards, off
the request path, in `ketaflow.audit.chain`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import Delete, Update, event, insert, select
from sqlalchemy.orm import ORMExecuteState, Session

from ketaflow import csvsafe
from ketaflow.audit import keys
from ketaflow.audit.models import AUDIT_TABLES, AuditEvent, AuditImmutableError
from ketaflow.db import utcnow

GENESIS_HASH = "0" * 64
# Session.info entry holding the server's buffer for events of anonymous traffic.
BUFFER_KEY = "audit_buffer"


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
    # A SMART system client acting without a user (`ketaflow.fhir.smart`); its id is also
    # the actor_username, so the trail names it.
    client_id: str | None = None

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


class EventSink(Protocol):
    def add(self, spec: EventSpec) -> None: ...


def record_event(
    session: Session,
    ctx: AuditContext,
    *,
    action: str,
    entity_type: str,
    entity_id: str | int | None = None,
    outcome: Outcome = Outcome.SUCCESS,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one event in the caller's transaction, so it commits or rolls back with the change."""
    record_events(session, [EventSpec(ctx, action, entity_type, entity_id, outcome, detail)])


def record_events(session: Session, specs: Sequence[EventSpec]) -> None:
    """Insert events, each with its MAC; the database assigns their ids."""
    if not specs:
        return
    key, at = keys.key_for(session), utcnow()
    rows = [_row(spec, at) for spec in specs]
    for row in rows:
        row["mac"] = keys.mac(key, "event", _mac_fields(row))
    # A Core insert on the session's connection, not the ORM's bulk path: the events are
    # written once and never read back here, and at monitor rates the ORM's per-row
    # bookkeeping costs more than the INSERT itself (benchmarks/bench_vitals.py). The flush
    # first keeps the ORM's order: what the event is about is written before the event.
    session.flush()
    session.connection().execute(_INSERT_EVENTS, rows)


_INSERT_EVENTS = insert(AuditEvent)


def note_event(
    session: Session,
    ctx: AuditContext,
    *,
    action: str,
    entity_type: str,
    entity_id: str | int | None = None,
    outcome: Outcome = Outcome.SUCCESS,
    detail: dict[str, Any] | None = None,
) -> None:
    """An event of traffic anyone can cause (portal link opens, failed sign-ins, refusals):
    counted in the server's buffer and written in batches (`ketaflow.audit.buffer`), so a
    flood neither floods the trail nor contends with clinical writes for the database. Without
    a buffer (command line, service tests) it is recorded at once, in the caller's transaction."""
    spec = EventSpec(ctx, action, entity_type, entity_id, outcome, detail)
    sink: EventSink | None = session.info.get(BUFFER_KEY)
    if sink is None:
        record_events(session, [spec])
    else:
        sink.add(spec)


def _row(spec: EventSpec, at: datetime) -> dict[str, Any]:
    return {
        "uid": secrets.token_hex(16),
        "occurred_at": at,
        "actor_user_id": spec.ctx.actor_user_id,
        "actor_username": spec.ctx.actor_username,
        "actor_role": spec.ctx.actor_role,
        "action": spec.action,
        "entity_type": spec.entity_type,
        "entity_id": None if spec.entity_id is None else str(spec.entity_id),
        "outcome": spec.outcome.value,
        "client_address": spec.ctx.client_address,
        "request_id": spec.ctx.request_id,
        "detail": keys.canonical_json(spec.detail or {}),
    }


# What an event's MAC covers: everything but its id (the seal binds the id) and the MAC.
_MAC_COLUMNS = ("uid", "actor_user_id", "actor_username", "actor_role", "action",
                "entity_type", "entity_id", "outcome", "client_address", "request_id", "detail")


def _mac_fields(values: dict[str, Any]) -> list[Any]:
    return [values[name] for name in _MAC_COLUMNS] + [_utc_text(values["occurred_at"])]


def _utc_text(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def event_mac(ev: AuditEvent, key: bytes) -> str:
    """The MAC that an event's stored fields should carry."""
    values = {name: getattr(ev, name) for name in (*_MAC_COLUMNS, "occurred_at")}
    return keys.mac(key, "event", _mac_fields(values))


def legacy_event_hash(ev: AuditEvent) -> str:
    """The plain SHA-256 that chained events written before the keyed trail."""
    payload = [ev.id, _utc_text(ev.occurred_at), ev.actor_user_id, ev.actor_username,
               ev.actor_role, ev.action, ev.entity_type, ev.entity_id, ev.outcome,
               ev.client_address, ev.request_id, ev.detail, ev.legacy_prev_hash]
    return hashlib.sha256(keys.canonical_json(payload).encode()).hexdigest()


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
    "mac",
)


def events_to_csv(events: Iterable[AuditEvent]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for ev in events:
        row = [getattr(ev, column) for column in CSV_COLUMNS]
        row[1] = ev.occurred_at.isoformat(timespec="microseconds")
        row[-1] = ev.mac or ev.legacy_hash
        writer.writerow([csvsafe.cell(value) for value in row])
    return buffer.getvalue()


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    """Bulk UPDATE/DELETE bypass mapper events; refuse them for the audit tables here."""
    statement = state.statement
    table_name = getattr(getattr(statement, "table", None), "name", None)
    if isinstance(statement, Update | Delete) and table_name in AUDIT_TABLES:
        raise AuditImmutableError("audit rows are append-only")
