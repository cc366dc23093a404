"""The per-patient clinician report over a date range (clinic days, both ends included).

Scale scores (each instrument's panel spec from `ketaflow.assessments.chart`, the chart the
scores page draws), the life chart when mood entries exist in the range (moodchart's view of
that range), infusions with doses (ordered and delivered), side effects and dissociation,
alerts raised in the range and the mood chart's warnings, and the medications taken at any
time in the range with their start and stop dates. Read only: the caller audits the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow import charts
from ketaflow.alerts import service as alerts_service
from ketaflow.assessments import service as assessments_service
from ketaflow.assessments.chart import ChartPoint, panel_spec, risk_value
from ketaflow.assessments.models import Assessment
from ketaflow.audit.service import AuditContext
from ketaflow.db import utcnow
from ketaflow.errors import ValidationFailed
from ketaflow.infusions.models import EventKind, InfusionSession
from ketaflow.infusions.service import current_order, load_session
from ketaflow.infusions.summary import session_delivery
from ketaflow.moodchart import service as moodchart
from ketaflow.moodchart.service import ChartView
from ketaflow.patients import service as patients
from ketaflow.patients.models import Medication
from ketaflow.reports.prior_auth import short_name
from ketaflow.scales import get_instrument
from ketaflow.settings.service import settings_in_force

MAX_RANGE_DAYS = 730   # two years: what one printout can still show day by day
DEFAULT_RANGE_DAYS = 90
FROM_LABEL, TO_LABEL = "From", "To"


@dataclass(frozen=True)
class ScoreRow:
    assessment_id: int
    rated_at: datetime
    instrument_id: str
    instrument: str
    total: int | None
    severity: str | None
    risk_level: str | None
    rater: str


@dataclass(frozen=True)
class InfusionRow:
    session_id: int
    started_at: datetime
    status: str
    ordered_dose_mg: float | None
    ordered_mg_per_kg: float | None
    delivered_dose_mg: float | None
    highest_sbp_mmhg: float | None
    highest_cadss6: int | None
    side_effects: tuple[str, ...]       # "nausea: moderate", graded above none
    adverse_events: tuple[str, ...]


@dataclass(frozen=True)
class AlertRow:
    alert_id: int
    raised_at: datetime
    title: str
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class MedicationRow:
    medication_id: int
    drug: str
    dose: str
    start_date: date | None
    stop_date: date | None


@dataclass(frozen=True)
class ClinicianReport:
    patient_id: int
    start: date
    end: date
    scores: tuple[ScoreRow, ...]
    # (scale, panel spec): one panel per instrument rated in the range
    score_specs: tuple[tuple[str, charts.Spec], ...]
    life_chart: ChartView | None            # None: no mood entries in the range
    infusions: tuple[InfusionRow, ...]
    alerts: tuple[AlertRow, ...]
    medications: tuple[MedicationRow, ...]

    @property
    def empty(self) -> bool:
        return not (self.scores or self.infusions or self.alerts or self.medications
                    or self.life_chart)


def check_range(start: date | None, end: date | None, *, today: date) -> tuple[date, date]:
    """The range asked for, or the last DEFAULT_RANGE_DAYS days; refuses (naming the field) a
    start after the end, an end after today, or more than MAX_RANGE_DAYS days."""
    end = end or today
    start = start or end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if end > today:
        raise ValidationFailed(f"{TO_LABEL} must be today ({today.isoformat()}) or earlier",
                               field="to")
    if start > end:
        raise ValidationFailed(f"{FROM_LABEL} must be on or before {TO_LABEL} "
                               f"({end.isoformat()})", field="from")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise ValidationFailed(f"{FROM_LABEL} to {TO_LABEL} must be at most {MAX_RANGE_DAYS} "
                               "days", field="from")
    return start, end


def _day(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


def _scores(session: Session, ctx: AuditContext, patient_id: int, start: date, end: date,
            zone: str) -> list[Assessment]:
    return [a for a in assessments_service.list_assessments(session, ctx, patient_id=patient_id)
            if start <= _day(a.rated_at, zone) <= end]


def _point(a: Assessment) -> ChartPoint:
    result = a.current_result
    if result.risk_level is not None:
        return ChartPoint(a.rated_at, risk_value(result.risk_level), f"risk {result.risk_level}")
    severity = f" ({result.severity})" if result.severity else ""
    return ChartPoint(a.rated_at, result.total or 0, f"{result.total}{severity}")


def _score_specs(rated: list[Assessment]) -> tuple[tuple[str, charts.Spec], ...]:
    by_instrument: dict[str, list[Assessment]] = {}
    for a in rated:
        if a.current_result.total is not None or a.current_result.risk_level is not None:
            by_instrument.setdefault(a.instrument_id, []).append(a)
    return tuple((short_name(i), panel_spec(get_instrument(i), [_point(a) for a in rows]))
                 for i, rows in by_instrument.items())


def _side_effects(record: InfusionSession) -> tuple[str, ...]:
    instrument = get_instrument("side-effects")
    found = []
    for event in record.events:
        if event.kind is not EventKind.SIDE_EFFECTS:
            continue
        for item in instrument.items:
            grade = (event.detail.get("answers") or {}).get(item.id)
            labels = {o.score: o.label for o in item.options}
            if grade:
                found.append(f"{item.name}: {labels.get(grade, grade)}")
    return tuple(dict.fromkeys(found))


def _infusion(record: InfusionSession) -> InfusionRow:
    assert record.started_at is not None
    order = current_order(record)
    given = None if order is None else session_delivery(
        record, order, until=record.ended_at or utcnow()).dose_mg
    sbp = [v.sbp_mmhg for v in record.vitals if v.sbp_mmhg is not None]
    cadss = [e.total for e in record.events if e.kind is EventKind.CADSS6 and e.total is not None]
    return InfusionRow(
        record.id, record.started_at, record.status.value,
        None if order is None else order.dose_mg,
        None if order is None else order.dose_mg_per_kg, given,
        max(sbp) if sbp else None, max(cadss) if cadss else None, _side_effects(record),
        tuple(f"{'serious: ' if e.serious else ''}{e.reason or 'adverse event'}"
              for e in record.events if e.kind is EventKind.ADVERSE_EVENT))


def _infusions(session: Session, patient_id: int, start: date, end: date, zone: str
               ) -> tuple[InfusionRow, ...]:
    ids = session.scalars(select(InfusionSession.id).where(
        InfusionSession.patient_id == patient_id, InfusionSession.started_at.is_not(None))
        .order_by(InfusionSession.started_at))
    rows = []
    for session_id in ids:
        record = load_session(session, session_id)
        assert record.started_at is not None
        if start <= _day(record.started_at, zone) <= end:
            rows.append(_infusion(record))
    return tuple(rows)


def _alerts(session: Session, ctx: AuditContext, patient_id: int, start: date, end: date,
            zone: str) -> tuple[AlertRow, ...]:
    rows = alerts_service.list_patient_alerts(session, ctx, patient_id=patient_id)
    return tuple(sorted((AlertRow(r.alert.id, r.alert.created_at, r.title,
                                  r.alert.acknowledged_at) for r in rows
                         if start <= _day(r.alert.created_at, zone) <= end),
                        key=lambda a: a.raised_at))


def _taken_in(m: Medication, start: date, end: date) -> bool:
    return (not m.entered_in_error and (m.start_date is None or m.start_date <= end)
            and (m.stop_date is None or m.stop_date >= start))


def _medications(session: Session, patient_id: int, start: date, end: date
                 ) -> tuple[MedicationRow, ...]:
    meds = [m for m in patients.list_medications(session, patient_id=patient_id)
            if _taken_in(m, start, end)]
    meds.sort(key=lambda m: (m.start_date or date.min, m.id))
    return tuple(MedicationRow(m.id, m.drug_name, f"{m.dose_amount:g} {m.dose_unit.value}",
                               m.start_date, m.stop_date) for m in meds)


def _life_chart(session: Session, ctx: AuditContext, patient_id: int, start: date, end: date,
                zone: str) -> ChartView | None:
    in_force = settings_in_force(session, utcnow())
    view = moodchart.range_view(session, ctx, patient_id=patient_id, start=start, end=end,
                                zone=zone, settings=in_force.mood, thresholds=in_force.scales)
    return view if any(r.entered_in_error_at is None for r in view.rows) else None


def build_report(session: Session, ctx: AuditContext, *, patient_id: int, start: date,
                 end: date, zone: str) -> ClinicianReport:
    rated = _scores(session, ctx, patient_id, start, end, zone)
    return ClinicianReport(
        patient_id=patient_id, start=start, end=end,
        scores=tuple(ScoreRow(a.id, a.rated_at, a.instrument_id, short_name(a.instrument_id),
                              a.current_result.total, a.current_result.severity,
                              a.current_result.risk_level, a.rater_label) for a in rated),
        score_specs=_score_specs(rated),
        life_chart=_life_chart(session, ctx, patient_id, start, end, zone),
        infusions=_infusions(session, patient_id, start, end, zone),
        alerts=_alerts(session, ctx, patient_id, start, end, zone),
        medications=_medications(session, patient_id, start, end))
