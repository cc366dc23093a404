"""Controlled-substance ledger use cases over the pure rules in `infusions.rules.ledger`.

Every entry is validated against all earlier entries of the same lot, under a lock so two
nurses drawing from one lot at once cannot both pass the inventory check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.db import utcnow
from ketaflow.errors import NotFound, ValidationFailed
from ketaflow.infusions.controlled.models import LedgerRow
from ketaflow.infusions.models import InfusionSession
from ketaflow.infusions.rules import (
    EntryKind,
    LedgerEntry,
    RuleError,
    SessionBalance,
    discrepancies,
    inventory_by_lot,
    validate_entry,
)

ENTITY = "controlled_substance_entry"
# Arbitrary constant naming the PostgreSQL advisory lock that serialises ledger writers
# (SQLite already serialises writers with BEGIN IMMEDIATE).
_LEDGER_LOCK_KEY = 7_410_306


def _as_entry(row: LedgerRow) -> LedgerEntry:
    return LedgerEntry(entry_id=row.id, kind=row.kind, lot_number=row.lot_number,
                       amount_mg=row.amount_mg, staff_id=row.staff_user_id,
                       session_id=row.session_id, witness_id=row.witness_user_id,
                       reverses_id=row.reverses_id, reason=row.reason)


def _entries(db: Session, lot_number: str | None = None) -> list[LedgerEntry]:
    query = select(LedgerRow).order_by(LedgerRow.id)
    if lot_number is not None:
        query = query.where(LedgerRow.lot_number == lot_number)
    return [_as_entry(row) for row in db.scalars(query)]


@dataclass(frozen=True)
class EntryInput:
    kind: EntryKind
    lot_number: str
    amount_mg: float = 0.0
    session_id: int | None = None
    witness_user_id: int | None = None
    reverses_id: int | None = None
    reason: str | None = None
    drug: str | None = None
    concentration_mg_per_ml: float | None = None
    expiry_date: date | None = None


def record_entry(db: Session, ctx: AuditContext, *, entry: EntryInput) -> LedgerRow:
    if ctx.actor_user_id is None:
        raise ValidationFailed("ledger entries need a signed-in staff member", field="staff")
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LEDGER_LOCK_KEY})
    if entry.session_id is not None and db.get(InfusionSession, entry.session_id) is None:
        raise NotFound("no such infusion session")
    lot, amount = entry.lot_number.strip(), entry.amount_mg
    if entry.kind is EntryKind.REVERSAL:
        # A reversal cancels the whole entry it names, on that entry's lot.
        target = db.get(LedgerRow, entry.reverses_id) if entry.reverses_id else None
        if target is None:
            raise ValidationFailed("the entry to reverse does not exist", field="reverses_id")
        lot, amount = target.lot_number, target.amount_mg
    earlier = _entries(db, lot)
    # Real ids come from the database; -1 cannot clash with any of them.
    candidate = LedgerEntry(entry_id=-1, kind=entry.kind, lot_number=lot, amount_mg=amount,
                            staff_id=ctx.actor_user_id, session_id=entry.session_id,
                            witness_id=entry.witness_user_id, reverses_id=entry.reverses_id,
                            reason=entry.reason)
    try:
        validate_entry(earlier, candidate)
    except RuleError as error:
        raise ValidationFailed(error.message, field=error.field) from error
    row = LedgerRow(kind=entry.kind, lot_number=lot, amount_mg=amount,
                    session_id=entry.session_id, staff_user_id=ctx.actor_user_id,
                    witness_user_id=entry.witness_user_id, reverses_id=entry.reverses_id,
                    reason=entry.reason, drug=entry.drug,
                    concentration_mg_per_ml=entry.concentration_mg_per_ml,
                    expiry_date=entry.expiry_date, recorded_at=utcnow())
    db.add(row)
    db.flush()
    record_event(db, ctx, action=f"controlled.{entry.kind.value}", entity_type=ENTITY,
                 entity_id=row.id, detail={"session_id": entry.session_id})
    return row


def inventory(db: Session) -> dict[str, float]:
    return inventory_by_lot(_entries(db))


def ledger_rows(db: Session, ctx: AuditContext) -> list[LedgerRow]:
    rows = list(db.scalars(select(LedgerRow).order_by(LedgerRow.id)))
    record_event(db, ctx, action="controlled.read", entity_type=ENTITY, detail={})
    return rows


def discrepancy_report(db: Session, *, closed_sessions: Iterable[int] | None = None
                       ) -> list[SessionBalance]:
    """Sessions whose drawn drug is not accounted for (administered + wasted)."""
    if closed_sessions is None:
        closed_sessions = db.scalars(select(InfusionSession.id).where(
            InfusionSession.active_patient_id.is_(None),
            InfusionSession.started_at.is_not(None)))
    return discrepancies(_entries(db), closed_sessions=list(closed_sessions))
