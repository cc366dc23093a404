"""The reconciliation report: the ledger against the infusion record, for a range of clinic days.

Per session (its infusion day in the range): drawn, administered and wasted per the ledger, the
dose delivered per the infusion record (rates x running time, pauses out), and the two checks
(`rules.reconciliation`). Per lot: the period's movements and the balance they add up to. Reads
only; the report names patients' sessions, so each reading is audited (ids only).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from ketaflow import csvsafe
from ketaflow.audit.service import AuditContext, record_event
from ketaflow.errors import ValidationFailed
from ketaflow.infusions.controlled.lots import as_entry
from ketaflow.infusions.controlled.models import LedgerRow
from ketaflow.infusions.controlled.service import ENTITY, delivered_mg
from ketaflow.infusions.models import InfusionSession
from ketaflow.infusions.rules.reconciliation import (
    LotMovement,
    SessionReconciliation,
    lot_movements,
    reconcile_sessions,
)
from ketaflow.infusions.service._common import clinic_settings, now
from ketaflow.infusions.service.sessions import current_order
from ketaflow.patients.service.identity import PatientIdentity, patient_identities

# One report covers at most a year (as the ledger export).
MAX_DAYS = 366
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class SessionLine:
    line: SessionReconciliation
    patient: PatientIdentity | None
    day_at: datetime           # the infusion's start (or the opening, if it never started)
    order_lot: str | None      # the lot the session's current order names
    status: str

    @property
    def other_lot(self) -> bool:
        """Drawn from a lot other than the one the order names."""
        return self.order_lot is not None and any(lot != self.order_lot
                                                  for lot in self.line.lots)


@dataclass(frozen=True)
class Report:
    start: date
    end: date
    timezone: str
    tolerance_mg: float
    sessions: list[SessionLine]
    lots: list[LotMovement]

    @property
    def flagged(self) -> list[SessionLine]:
        return [s for s in self.sessions if s.line.flagged]


def report_range(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The clinic days to report on (inclusive); by default the last 30 days."""
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS)
    if start > end:
        raise ValidationFailed("From must be on or before To", field="date_from")
    if (end - start).days > MAX_DAYS:
        raise ValidationFailed(f"From must be within {MAX_DAYS} days of To", field="date_from")
    return start, end


def month_ranges(today: date) -> list[tuple[str, date, date]]:
    """The monthly reconciliation's usual ranges: the month so far and the last whole month
    (label, first day, last day)."""
    first = today.replace(day=1)
    last_month_end = first - timedelta(days=1)
    return [("This month so far", first, today),
            (f"Last month ({last_month_end:%B %Y})", last_month_end.replace(day=1),
             last_month_end)]


def _bounds(start: date, end: date, zone: str) -> tuple[datetime, datetime]:
    """The range's clinic days as UTC moments: [start 00:00, the day after end 00:00)."""
    tz = ZoneInfo(zone)
    return (datetime.combine(start, time.min, tz),
            datetime.combine(end + timedelta(days=1), time.min, tz))


def _sessions(db: Session, since: datetime, until: datetime) -> list[InfusionSession]:
    """Sessions whose infusion day is in the range and that started or touched the ledger."""
    day_at = func.coalesce(InfusionSession.started_at, InfusionSession.opened_at)
    in_ledger = select(LedgerRow.session_id).where(LedgerRow.session_id.is_not(None))
    return list(db.scalars(
        select(InfusionSession)
        .where(day_at >= since, day_at < until,
               or_(InfusionSession.started_at.is_not(None), InfusionSession.id.in_(in_ledger)))
        .options(selectinload(InfusionSession.orders), selectinload(InfusionSession.events))
        .order_by(day_at, InfusionSession.id)))


def build_report(db: Session, *, start: date, end: date, timezone: str) -> Report:
    """The report without auditing (`read_report` audits)."""
    since, until = _bounds(start, end, timezone)
    stamp = now()
    tolerance = clinic_settings(db, stamp).reconciliation_tolerance_mg
    records = _sessions(db, since, until)
    rows = list(db.scalars(select(LedgerRow).order_by(LedgerRow.id)))
    entries = [as_entry(r) for r in rows]
    lines = reconcile_sessions(
        entries, delivered_mg={r.id: delivered_mg(r, stamp) for r in records},
        closed={r.id for r in records if r.status.is_final}, tolerance_mg=tolerance)
    who = patient_identities(db, {r.patient_id for r in records})
    by_id = {r.id: r for r in records}
    sessions = []
    for line in lines:
        record = by_id[line.session_id]
        order = current_order(record)
        sessions.append(SessionLine(
            line, who.get(record.patient_id), record.started_at or record.opened_at,
            None if order is None else order.lot_number, record.status.value))
    before = {r.id for r in rows if r.recorded_at < since}
    during = {r.id for r in rows if since <= r.recorded_at < until}
    return Report(start, end, timezone, tolerance, sessions,
                  lot_movements(entries, before=before, during=during))


def read_report(db: Session, ctx: AuditContext, *, start: date, end: date,
                timezone: str, action: str = "controlled.reconciliation.read") -> Report:
    report = build_report(db, start=start, end=end, timezone=timezone)
    record_event(db, ctx, action=action, entity_type=ENTITY, detail={
        "date_from": start.isoformat(), "date_to": end.isoformat(),
        "session_ids": [s.line.session_id for s in report.sessions],
        "flagged_session_ids": [s.line.session_id for s in report.flagged]})
    return report


@dataclass(frozen=True)
class ReconciliationTotals:
    """A period's reconciliation added up over every lot and session: no session or patient
    named (for aggregate printouts such as the monthly clinic report)."""

    start: date
    end: date
    lots: int
    opening_mg: float
    received_mg: float
    drawn_mg: float
    administered_mg: float
    wasted_mg: float
    adjusted_mg: float
    balance_mg: float
    sessions: int
    flagged_sessions: int


def reconciliation_totals(db: Session, *, start: date, end: date,
                          timezone: str) -> ReconciliationTotals:
    """The report of the clinic days `start`..`end` summed (`build_report`; reads only, the
    caller audits what it prints)."""
    report = build_report(db, start=start, end=end, timezone=timezone)
    lots = report.lots
    return ReconciliationTotals(
        start, end, len(lots), sum(x.opening_mg for x in lots),
        sum(x.received_mg for x in lots), sum(x.drawn_mg for x in lots),
        sum(x.administered_mg for x in lots), sum(x.wasted_mg for x in lots),
        sum(x.adjusted_mg for x in lots), sum(x.balance_mg for x in lots),
        len(report.sessions), len(report.flagged))


# ---------------------------------------------------------------- CSV

SESSION_COLUMNS = ("section", "session_id", "infusion_start", "status", "patient_name",
                   "date_of_birth", "mrn", "order_lot", "ledger_lots", "drawn_mg",
                   "administered_mg", "wasted_mg", "delivered_mg", "discrepancy_mg",
                   "unaccounted_mg", "flags")
LOT_COLUMNS = ("section", "lot_number", "opening_mg", "received_mg", "drawn_mg",
               "administered_mg", "wasted_mg", "adjusted_mg", "balance_mg")


def flags(line: SessionLine, tolerance_mg: float) -> list[str]:
    """Why a line is flagged, in words (the page and the CSV say the same)."""
    found = []
    if line.line.delivery_flagged:
        found.append(f"administered differs from delivered by more than {tolerance_mg:g} mg")
    if line.line.accounting_flagged:
        found.append("drawn is not administered + wasted")
    if line.other_lot:
        found.append("drawn from a lot other than the order's")
    return found


def _mg(value: float) -> float:
    return round(value, 2)


def report_csv(db: Session, ctx: AuditContext, *, start: date, end: date,
               timezone: str) -> str:
    """Sessions, then lots, as one CSV (text cells neutralised against formula injection)."""
    report = read_report(db, ctx, start=start, end=end, timezone=timezone,
                         action="controlled.reconciliation.export")
    zone = ZoneInfo(timezone)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(SESSION_COLUMNS)
    for s in report.sessions:
        who, line = s.patient, s.line
        writer.writerow([csvsafe.cell(v) for v in (
            "session", line.session_id,
            s.day_at.astimezone(zone).isoformat(timespec="minutes"), s.status,
            None if who is None else who.full_name, None if who is None else who.date_of_birth,
            None if who is None else who.mrn, s.order_lot, " ".join(line.lots),
            _mg(line.drawn_mg), _mg(line.administered_mg), _mg(line.wasted_mg),
            _mg(line.delivered_mg), _mg(line.discrepancy_mg), _mg(line.unaccounted_mg),
            "; ".join(flags(s, report.tolerance_mg)))])
    writer.writerow([])
    writer.writerow(LOT_COLUMNS)
    for lot in report.lots:
        writer.writerow([csvsafe.cell(v) for v in (
            "lot", lot.lot_number, _mg(lot.opening_mg), _mg(lot.received_mg),
            _mg(lot.drawn_mg), _mg(lot.administered_mg), _mg(lot.wasted_mg),
            _mg(lot.adjusted_mg), _mg(lot.balance_mg))])
    return buffer.getvalue()
