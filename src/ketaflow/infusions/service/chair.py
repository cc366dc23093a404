"""What the chair-side page shows, gathered in one audited read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext
from ketaflow.courses.models import TreatmentCourse
from ketaflow.errors import NotFound
from ketaflow.infusions.models import InfusionOrder, InfusionSession, SessionAlert, VitalsRecord
from ketaflow.infusions.pk_chart import PkChart, build_chart
from ketaflow.infusions.rules import (
    InfusionSettings,
    NextReading,
    Problem,
    SessionAction,
    SessionStatus,
    SettingInfo,
    allowed_actions,
    max_rate_ml_per_h,
    observation_complete_at,
)
from ketaflow.infusions.service._common import audit, clinic_settings, now, staff_names
from ketaflow.infusions.service.live import LiveStatus, live_status, next_due, watch_session
from ketaflow.infusions.service.sessions import (
    PrecheckFacts,
    current_order,
    get_session,
    precheck_status,
)
from ketaflow.infusions.summary import OrderLine, SessionSummary, build_summary, delivery_text
from ketaflow.patients.models import Measurement, Patient
from ketaflow.patients.service.identity import (
    PatientIdentity,
    patient_identity,
    staff_labels,
)


@dataclass(frozen=True, slots=True)
class ReadingRow:
    """One line of the readings table, newest first, as the page shows it.

    Formatted here once per reading rather than cell by cell in the template: with 100 and more
    readings the table was most of the page's rendering time. Empty text where not measured."""

    taken_hhmm: str  # UTC; pages show `taken_at` in the clinic's zone
    bp_mmhg: str  # "SBP/DBP"
    hr_bpm: str
    spo2_percent: str
    spo2_below_stop: bool  # below the stop-infusion threshold: flagged on the page
    rr_per_min: str
    rass: str
    taken_at: datetime | None = None  # when it was taken (stored UTC)


def _whole(value: float | None) -> str:
    """A measurement as a whole number (truncated, as the readings table always showed it)."""
    return "" if value is None else str(int(value))


def _reading_rows(vitals: list[VitalsRecord],
                  settings: InfusionSettings) -> tuple[ReadingRow, ...]:
    stop_below = settings.stop_spo2_below_percent
    return tuple(
        ReadingRow(
            taken_hhmm=v.taken_at.strftime("%H:%M"),
            taken_at=v.taken_at,
            bp_mmhg="" if v.sbp_mmhg is None else f"{_whole(v.sbp_mmhg)}/{_whole(v.dbp_mmhg)}",
            hr_bpm=_whole(v.hr_bpm),
            spo2_percent=_whole(v.spo2_percent),
            spo2_below_stop=v.spo2_percent is not None and v.spo2_percent < stop_below,
            rr_per_min=_whole(v.rr_per_min),
            rass="" if v.rass is None else str(v.rass),
        )
        for v in reversed(vitals))


@dataclass(frozen=True)
class ChairView:
    record: InfusionSession
    mrn: str
    order: InfusionOrder | None
    problems: tuple[Problem, ...]
    prechecks: PrecheckFacts | None  # before the start only
    next_due: NextReading | None
    open_alerts: list[SessionAlert]
    readings: tuple[ReadingRow, ...]
    summary: SessionSummary
    chart: PkChart | None
    allowed: tuple[SessionAction, ...]
    settings: tuple[SettingInfo, ...]
    elapsed_min: float | None
    ready_at: datetime | None
    now: datetime
    # Rate and order safety: the ceiling a rate change may reach, and every order signed on
    # the session, newest first (superseded ones kept, with who and why).
    max_rate_ml_per_h: float | None = None
    order_history: tuple[OrderLine, ...] = ()
    delivered_text: str = ""
    patient: PatientIdentity | None = None
    # Staff who acted on the session, by id: "Full Name (role)"; pages never show the id.
    staff: dict[int, str] | None = None
    # The status region the page polls for (`service.live`), as of this read.
    live: LiveStatus | None = None
    # The measurement the order's weight came from (flagged if a confirmed large change, or
    # later marked entered in error: the order keeps its reference either way).
    dosing_weight: Measurement | None = None

    def staff_name(self, user_id: int | None) -> str:
        if user_id is None:
            return "-"
        return (self.staff or {}).get(user_id, "a former staff member")


def chair_view(db: Session, ctx: AuditContext, *, session_id: int) -> ChairView:
    moment = now()
    # Looking at a running session raises its overrun alarm if it is due (`service.live`).
    record = watch_session(db, ctx, get_session(db, ctx, session_id=session_id), at=moment)
    patient = db.get(Patient, record.patient_id)
    order = current_order(record)
    settings = clinic_settings(db, moment)
    elapsed = None if record.started_at is None else round(
        ((record.ended_at or moment) - record.started_at).total_seconds() / 60, 1)
    pre_start = record.status in (SessionStatus.PLANNED, SessionStatus.PRECHECKS)
    status = precheck_status(db, ctx, record) if pre_start else None
    summary = build_summary(record, settings, staff=staff_names(db, record), at=moment)
    return ChairView(
        record=record, mrn=patient.mrn if patient else "",
        order=order,
        problems=() if status is None else status.problems,
        prechecks=None if status is None else status.facts,
        next_due=next_due(record, moment, settings),
        open_alerts=[a for a in record.alerts if a.acknowledged_at is None],
        readings=_reading_rows(record.vitals, settings),
        summary=summary,
        chart=None if order is None else build_chart(record, order, moment),
        allowed=allowed_actions(record.status),
        settings=settings.describe(),
        elapsed_min=elapsed,
        ready_at=None if record.ended_at is None else observation_complete_at(record.ended_at,
                                                                               settings),
        now=moment,
        patient=patient_identity(db, record.patient_id),
        staff=staff_labels(db, _staff_ids(record)),
        max_rate_ml_per_h=None if order is None else max_rate_ml_per_h(order.rate_ml_per_h,
                                                                       settings),
        order_history=summary.orders,
        delivered_text=delivery_text(summary),
        live=live_status(record, settings, moment),
        dosing_weight=None if order is None else db.get(Measurement, order.weight_measurement_id),
    )


def _staff_ids(record: InfusionSession) -> list[int | None]:
    return [record.opened_by_user_id, record.bp_reviewed_by_user_id,
            *(o.signed_by_user_id for o in record.orders),
            *(e.recorded_by_user_id for e in record.events),
            *(a.acknowledged_by_user_id for a in record.alerts),
            *(n.created_by_user_id for n in record.notes),
            *(n.signed_by_user_id for n in record.notes),
            *([] if record.discharge is None else [record.discharge.recorded_by_user_id])]


@dataclass(frozen=True)
class BoardRow:
    session_id: int
    mrn: str
    status: SessionStatus
    started_at: datetime | None


def chair_board(db: Session, ctx: AuditContext, *, limit: int = 30) -> list[BoardRow]:
    """Sessions in progress first, then the most recent others (audited: it lists patients)."""
    rows = db.execute(
        select(InfusionSession.id, Patient.mrn, InfusionSession.status,
               InfusionSession.started_at, InfusionSession.patient_id)
        .join(Patient, Patient.id == InfusionSession.patient_id)
        .order_by(InfusionSession.active_patient_id.is_(None), InfusionSession.id.desc())
        .limit(limit)).all()
    board = [BoardRow(*row[:4]) for row in rows]
    # The board shows MRNs: record whose (patient ids), never the MRNs themselves.
    audit(db, ctx, "infusion.session.board", 0, session_ids=[r.session_id for r in board],
          patient_ids=sorted({row[4] for row in rows}))
    return board


@dataclass(frozen=True)
class CourseProgress:
    """Infusions given on a course against the number planned."""

    planned: int
    given: int
    in_progress: int
    sessions: tuple[BoardRow, ...]


def course_progress(db: Session, ctx: AuditContext, *, course_id: int) -> CourseProgress:
    """The course page's progress, from the sessions charted at the chair (audited read).

    Lives here rather than in `courses` because infusions already depend on courses."""
    course = db.get(TreatmentCourse, course_id)
    if course is None:
        raise NotFound("no such treatment course")
    rows = db.execute(
        select(InfusionSession.id, Patient.mrn, InfusionSession.status,
               InfusionSession.started_at)
        .join(Patient, Patient.id == InfusionSession.patient_id)
        .where(InfusionSession.course_id == course_id)
        .order_by(InfusionSession.id)).all()
    sessions = tuple(BoardRow(*row) for row in rows)
    given = sum(1 for s in sessions if s.status is SessionStatus.DISCHARGED)
    in_progress = sum(1 for s in sessions if not s.status.is_final)
    audit(db, ctx, "infusion.course_progress.read", 0, course_id=course_id,
          patient_id=course.patient_id, session_ids=[s.session_id for s in sessions])
    return CourseProgress(course.infusion_count, given, in_progress, sessions)
