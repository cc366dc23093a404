"""What the ledger pages show: inventory per lot, open balances, recent entries, the choices the
forms offer, and the CSV export for a date range. Reads only; each listing is audited."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from ketaflow import csvsafe
from ketaflow.audit.service import AuditContext, record_event
from ketaflow.auth.models import StaffUser
from ketaflow.errors import ValidationFailed
from ketaflow.infusions.controlled.models import LedgerRow
from ketaflow.infusions.controlled.service import (
    ENTITY,
    WITNESS_ROLES,
    discrepancy_report,
    open_balances,
)
from ketaflow.infusions.formulary import drug_name
from ketaflow.infusions.models import InfusionSession
from ketaflow.infusions.rules import EntryKind, SessionBalance, SessionStatus
from ketaflow.infusions.rules.ledger import TOLERANCE_MG
from ketaflow.patients.service.identity import (
    PatientIdentity,
    patient_identities,
    staff_labels,
)

RECENT_LIMIT = 50
# A DEA-style count covers a period; a year keeps one export a reasonable size.
MAX_EXPORT_DAYS = 366


@dataclass(frozen=True)
class LotSummary:
    lot_number: str
    drug: str | None
    concentration_mg_per_ml: float | None
    expiry_date: date | None
    received_mg: float
    drawn_mg: float
    administered_mg: float
    wasted_mg: float

    @property
    def on_hand_mg(self) -> float:
        return self.received_mg - self.drawn_mg

    @property
    def on_hand_ml(self) -> float | None:
        if not self.concentration_mg_per_ml:
            return None
        return self.on_hand_mg / self.concentration_mg_per_ml


@dataclass(frozen=True)
class EntryView:
    row: LedgerRow
    staff_name: str
    witness_name: str | None
    reversed_by: int | None


@dataclass(frozen=True)
class Choice:
    value: int
    label: str


@dataclass(frozen=True)
class LedgerPage:
    lots: list[LotSummary]
    discrepancies: list[SessionBalance]
    entries: list[EntryView]
    witnesses: list[Choice]
    open_sessions: list[Choice]
    unaccounted: list[Choice]
    reversible: list[Choice]
    # The patient of every session the page names (session id -> identity).
    patients: dict[int, PatientIdentity] = field(default_factory=dict)

    def patient_of(self, session_id: int | None) -> PatientIdentity | None:
        return None if session_id is None else self.patients.get(session_id)


def lot_summaries(rows: list[LedgerRow]) -> list[LotSummary]:
    """Totals per lot; a reversed entry counts for nothing (as in the inventory rules)."""
    reversed_ids = {r.reverses_id for r in rows if r.kind is EntryKind.REVERSAL}
    totals: dict[str, dict[EntryKind, float]] = defaultdict(lambda: defaultdict(float))
    receipts: dict[str, LedgerRow] = {}
    for row in rows:
        if row.kind is EntryKind.REVERSAL or row.id in reversed_ids:
            # A lot whose only receipt was reversed still gets its (zero) line.
            totals.setdefault(row.lot_number, defaultdict(float))
            continue
        totals[row.lot_number][row.kind] += row.amount_mg
        if row.kind is EntryKind.RECEIVED:
            receipts.setdefault(row.lot_number, row)
    return [LotSummary(lot, _drug_label(receipts.get(lot)),
                       getattr(receipts.get(lot), "concentration_mg_per_ml", None),
                       getattr(receipts.get(lot), "expiry_date", None),
                       kinds[EntryKind.RECEIVED], kinds[EntryKind.DRAWN],
                       kinds[EntryKind.ADMINISTERED], kinds[EntryKind.WASTED])
            for lot, kinds in sorted(totals.items())]


def _drug_label(receipt: LedgerRow | None) -> str | None:
    return None if receipt is None or receipt.drug is None else drug_name(receipt.drug)


def _entry_views(db: Session, limit: int) -> list[EntryView]:
    found = list(db.scalars(select(LedgerRow).order_by(LedgerRow.id.desc()).limit(limit)))
    # Staff by name and role, never by id.
    names = staff_labels(db, [u for r in found for u in (r.staff_user_id, r.witness_user_id)])
    reversals = dict(db.execute(select(LedgerRow.reverses_id, LedgerRow.id).where(
        LedgerRow.kind == EntryKind.REVERSAL)).tuples().all())
    return [EntryView(row, names.get(row.staff_user_id, "-"),
                      None if row.witness_user_id is None else names.get(row.witness_user_id),
                      reversals.get(row.id))
            for row in found]


def session_patients(db: Session, session_ids: set[int]) -> dict[int, PatientIdentity]:
    """Name, date of birth and MRN of the patient of each session the page names."""
    if not session_ids:
        return {}
    owners = dict(db.execute(select(InfusionSession.id, InfusionSession.patient_id).where(
        InfusionSession.id.in_(sorted(session_ids)))).tuples().all())
    who = patient_identities(db, owners.values())
    return {session_id: who[patient_id] for session_id, patient_id in owners.items()
            if patient_id in who}


def _witnesses(db: Session, actor_id: int | None) -> list[Choice]:
    """Active nurses and prescribers other than the person at the tablet."""
    users = db.scalars(select(StaffUser).where(
        StaffUser.is_active.is_(True), StaffUser.role.in_(WITNESS_ROLES),
        StaffUser.id != (actor_id or 0)).order_by(StaffUser.full_name))
    return [Choice(u.id, f"{u.full_name} ({u.role.value})") for u in users]


def _open_sessions(db: Session) -> list[Choice]:
    """Sessions not yet discharged or aborted: drug may be drawn for them (as `draw` allows)."""
    final = [s for s in SessionStatus if s.is_final]
    found = db.execute(select(InfusionSession.id, InfusionSession.status).where(
        InfusionSession.status.not_in(final)).order_by(InfusionSession.id)).all()
    return [Choice(session_id, f"Session {session_id} ({status.value})")
            for session_id, status in found]


def _with_patient(choice: Choice, who: PatientIdentity | None) -> Choice:
    if who is None:
        return choice
    return Choice(choice.value, f"{choice.label}: {who.full_name}, born "
                                f"{who.born}, MRN {who.mrn}")


def _unaccounted(balances: list[SessionBalance]) -> list[Choice]:
    """Sessions with drawn drug not yet administered or wasted (what the forms need)."""
    return [Choice(b.session_id, f"Session {b.session_id}: {b.discrepancy_mg:g} mg of "
                   f"{b.lot_number} open")
            for b in balances if b.discrepancy_mg > TOLERANCE_MG]


def _reversible(views: list[EntryView]) -> list[Choice]:
    return [Choice(v.row.id, f"#{v.row.id} {v.row.kind.value} {v.row.amount_mg:g} mg "
                   f"{v.row.lot_number}")
            for v in views if v.row.kind is not EntryKind.REVERSAL and v.reversed_by is None]


def ledger_page(db: Session, ctx: AuditContext) -> LedgerPage:
    rows = list(db.scalars(select(LedgerRow).order_by(LedgerRow.id)))
    views = _entry_views(db, RECENT_LIMIT)
    discrepancies = discrepancy_report(db)
    open_sessions, unaccounted = _open_sessions(db), _unaccounted(open_balances(db))
    # The page names sessions (of patients) with their patient's identifiers: audit which, by id.
    shown = {v.row.session_id for v in views if v.row.session_id is not None}
    shown |= {b.session_id for b in discrepancies}
    shown |= {c.value for c in (*open_sessions, *unaccounted)}
    patients = session_patients(db, shown)
    page = LedgerPage(
        lots=lot_summaries(rows), discrepancies=discrepancies, entries=views,
        witnesses=_witnesses(db, ctx.actor_user_id),
        open_sessions=[_with_patient(c, patients.get(c.value)) for c in open_sessions],
        unaccounted=[_with_patient(c, patients.get(c.value)) for c in unaccounted],
        reversible=_reversible(views), patients=patients)
    record_event(db, ctx, action="controlled.read", entity_type=ENTITY,
                 detail={"entries_shown": len(views), "session_ids": sorted(shown),
                         "patient_ids": sorted({p.patient_id for p in patients.values()})})
    return page


# ---------------------------------------------------------------- CSV export

CSV_COLUMNS = ("entry_id", "recorded_at_utc", "kind", "lot_number", "drug",
               "concentration_mg_per_ml", "expiry_date", "amount_mg", "session_id", "staff",
               "witness", "reverses_entry_id", "reason")


def export_range(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The period to export (inclusive); by default the last 30 days."""
    end = end or today
    start = start or end - timedelta(days=30)
    if start > end:
        raise ValidationFailed("From must be on or before To", field="date_from")
    if (end - start).days > MAX_EXPORT_DAYS:
        raise ValidationFailed(f"From must be within {MAX_EXPORT_DAYS} days of To",
                               field="date_from")
    return start, end


def export_csv(db: Session, ctx: AuditContext, *, start: date, end: date) -> str:
    """Every entry recorded from `start` to `end` (whole UTC days), oldest first."""
    staff, witness = aliased(StaffUser), aliased(StaffUser)
    found = db.execute(
        select(LedgerRow, staff.username, witness.username)
        .join(staff, staff.id == LedgerRow.staff_user_id)
        .outerjoin(witness, witness.id == LedgerRow.witness_user_id)
        .where(LedgerRow.recorded_at >= datetime.combine(start, time.min, UTC),
               LedgerRow.recorded_at < datetime.combine(end + timedelta(days=1), time.min, UTC))
        .order_by(LedgerRow.id)).all()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row, staff_name, witness_name in found:
        # Amounts go in as numbers: csvsafe writes numbers as they are and neutralises text.
        writer.writerow([csvsafe.cell(v) for v in (
            row.id, row.recorded_at.isoformat(timespec="seconds"), row.kind.value,
            row.lot_number, None if row.drug is None else drug_name(row.drug),
            row.concentration_mg_per_ml, row.expiry_date,
            row.amount_mg, row.session_id, staff_name, witness_name, row.reverses_id,
            row.reason)])
    record_event(db, ctx, action="controlled.export", entity_type=ENTITY, detail={
        "date_from": start.isoformat(), "date_to": end.isoformat(), "entries": len(found),
        "session_ids": sorted({row.session_id for row, _, _ in found
                               if row.session_id is not None})})
    return buffer.getvalue()
