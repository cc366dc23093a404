"""The day's list at the chairs: every session open now or opened today, and each open course's
next planned infusion that is due today or overdue, with the patient's identifiers.

"Today" is the clinic's day, in the clinic's time zone (`ketaflow.clinic.service`). The infusion
number is the course's count of given (discharged) infusions before the session, plus one:
an aborted attempt does not use up a planned infusion. Infusions beyond the induction take
their date from the course's maintenance boosters (`ketaflow.courses.maintenance`): the n-th
maintenance infusion is the n-th booster not cancelled, on the list only once a prescriber has
confirmed its date. Opening from the list is idempotent:
`open_next_session` returns the course's open session when there is one (also when another
request opened it at the same moment), so a double click never makes a second.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext
from ketaflow.booking.models import Appointment, AppointmentKind, AppointmentState, Chair, Site
from ketaflow.clinical import course_plan
from ketaflow.courses.models import BoosterState, MaintenanceBooster, TreatmentCourse
from ketaflow.errors import Conflict
from ketaflow.infusions.models import InfusionSession
from ketaflow.infusions.rules import NextReading, SessionStatus
from ketaflow.infusions.service._common import audit, clinic_settings, load_session, now
from ketaflow.infusions.service.live import next_due
from ketaflow.infusions.service.sessions import OPEN_COURSE_STATES, open_session
from ketaflow.patients.service.identity import PatientIdentity, patient_identities

_FINAL = [s for s in SessionStatus if s.is_final]


@dataclass(frozen=True)
class BookedSlot:
    starts_at: datetime
    site: str
    chair: int | None


@dataclass(frozen=True)
class DayRow:
    """One line of the day's list: a session, or a planned infusion not yet opened."""

    patient: PatientIdentity
    course_id: int
    infusion_number: int
    infusion_count: int
    planned_on: date | None          # the course plan's date for this infusion, if any
    session_id: int | None           # None: planned, not opened yet
    status: SessionStatus | None     # None: planned, not opened yet
    started_at: datetime | None
    next_due: NextReading | None
    booked: BookedSlot | None = None  # today's appointment on the calendar, when booked

    @property
    def can_open(self) -> bool:
        return self.session_id is None


@dataclass(frozen=True)
class DayList:
    today: date
    zone: str
    rows: tuple[DayRow, ...]

    def overdue(self, row: DayRow) -> bool:
        return row.planned_on is not None and row.planned_on < self.today


def clinic_today(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


def _day_bounds(day: date, zone: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time.min, tz)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def _number(sessions: list[tuple[int, SessionStatus]], session_id: int) -> int:
    """Given infusions before this session, plus one (a given session counts itself)."""
    return 1 + sum(1 for other, status in sessions
                   if status is SessionStatus.DISCHARGED and other < session_id)


def _planned_on(course: TreatmentCourse, number: int,
                boosters: dict[int, list[MaintenanceBooster]] | None = None) -> date | None:
    if number > course.infusion_count:
        # Maintenance: the confirmed booster's date; a booster still waiting for the
        # prescriber (or none planned) gives no date.
        ahead = (boosters or {}).get(course.id, [])
        index = number - course.infusion_count - 1
        if index >= len(ahead) or ahead[index].state is not BoosterState.CONFIRMED:
            return None
        return ahead[index].confirmed_on
    dates = course_plan.planned_dates(course.start_on, course.infusion_count, course.frequency,
                                      skip_weekends=course.skip_weekends)
    return dates[number - 1]


def _booked_today(db: Session, course_ids: list[int], start: datetime, end: datetime
                  ) -> dict[int, BookedSlot]:
    """Each course's first infusion booked on the calendar today (the calendar's time, site
    and chair; a course booked for today is on the list whatever its plan says)."""
    found: dict[int, BookedSlot] = {}
    for row, site_name, chair in db.execute(
            select(Appointment, Site.name, Chair.number)
            .join(Site, Site.id == Appointment.site_id)
            .outerjoin(Chair, Chair.id == Appointment.chair_id)
            .where(Appointment.course_id.in_(course_ids),
                   Appointment.kind == AppointmentKind.INFUSION,
                   Appointment.state == AppointmentState.BOOKED,
                   Appointment.starts_at >= start, Appointment.starts_at < end)
            .order_by(Appointment.starts_at)).tuples():
        if row.course_id is not None and row.course_id not in found:
            found[row.course_id] = BookedSlot(row.starts_at, site_name, chair)
    return found


def day_list(db: Session, ctx: AuditContext, *, zone: str) -> DayList:
    """Today's sessions and due infusions, open ones first (audited: ids only)."""
    moment = now()
    today = clinic_today(moment, zone)
    day_start, day_end = _day_bounds(today, zone)
    shown = list(db.scalars(select(InfusionSession.id).where(or_(
        InfusionSession.status.not_in(_FINAL),
        (InfusionSession.opened_at >= day_start) & (InfusionSession.opened_at < day_end)))))
    courses = {c.id: c for c in db.scalars(select(TreatmentCourse).where(or_(
        TreatmentCourse.state.in_(OPEN_COURSE_STATES),
        TreatmentCourse.id.in_(select(InfusionSession.course_id)
                               .where(InfusionSession.id.in_(shown))))))}
    by_course: dict[int, list[tuple[int, SessionStatus]]] = defaultdict(list)
    for session_id, course_id, status in db.execute(
            select(InfusionSession.id, InfusionSession.course_id, InfusionSession.status)
            .where(InfusionSession.course_id.in_(list(courses)))
            .order_by(InfusionSession.id)):
        by_course[course_id].append((session_id, status))
    who = patient_identities(db, (c.patient_id for c in courses.values()))
    boosters: dict[int, list[MaintenanceBooster]] = defaultdict(list)
    for booster in db.scalars(select(MaintenanceBooster).where(
            MaintenanceBooster.course_id.in_(list(courses)),
            MaintenanceBooster.state != BoosterState.CANCELLED)
            .order_by(MaintenanceBooster.sequence)):
        boosters[booster.course_id].append(booster)
    settings = clinic_settings(db, moment)
    booked = _booked_today(db, list(courses), day_start, day_end)
    rows: list[DayRow] = []
    for session_id in shown:
        record = load_session(db, session_id)
        course = courses[record.course_id]
        number = _number(by_course[course.id], record.id)
        rows.append(DayRow(who[record.patient_id], course.id, number, course.infusion_count,
                           _planned_on(course, number, boosters), record.id, record.status,
                           record.started_at, next_due(record, moment, settings),
                           booked.get(course.id)))
    for course in courses.values():
        sessions = by_course[course.id]
        if course.state not in OPEN_COURSE_STATES or any(
                not status.is_final for _, status in sessions):
            continue
        number = 1 + sum(1 for _, status in sessions if status is SessionStatus.DISCHARGED)
        planned = today if course.id in booked else _planned_on(course, number, boosters)
        if planned is None or planned > today:
            continue
        rows.append(DayRow(who[course.patient_id], course.id, number, course.infusion_count,
                           planned, None, None, None, None, booked.get(course.id)))
    rows.sort(key=lambda r: (r.status is not None and r.status.is_final,
                             r.session_id is None, r.booked is None,
                             r.booked.starts_at if r.booked else day_start,
                             r.patient.sort_key, r.course_id))
    audit(db, ctx, "infusion.day_list.read", 0, day=today.isoformat(),
          session_ids=sorted(shown), course_ids=sorted({r.course_id for r in rows}),
          patient_ids=sorted({r.patient.patient_id for r in rows}))
    return DayList(today, zone, tuple(rows))


def _open_session_id(db: Session, course_id: int) -> int | None:
    return db.scalar(select(InfusionSession.id).where(
        InfusionSession.course_id == course_id, InfusionSession.status.not_in(_FINAL)))


def open_next_session(db: Session, ctx: AuditContext, *, course_id: int) -> InfusionSession:
    """Open the course's next session, or return the one already open on it: a second click,
    or a request racing this one, gets the same session (the partial unique index decides)."""
    existing = _open_session_id(db, course_id)
    if existing is None:
        try:
            return open_session(db, ctx, course_id=course_id)
        except Conflict:
            # Another request opened it first (checked here or refused by the index): the
            # losing row was never stored; forget it so this transaction can still commit.
            for pending in [o for o in db.new if isinstance(o, InfusionSession)]:
                db.expunge(pending)
            existing = _open_session_id(db, course_id)
            if existing is None:
                raise
    audit(db, ctx, "infusion.session.open_existing", existing, course_id=course_id)
    return load_session(db, existing)
