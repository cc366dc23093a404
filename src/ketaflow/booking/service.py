"""Booking a whole series in one step, and moving one infusion with the rest re-flowed.

The front desk asks for options (`propose_series`): the site's calendar is read into the
scheduling core, which returns the best option and alternatives, with the calendar's version.
Booking one (`book_series`) first raises the site's booking version only if it is still the one
the options were computed on (a conditional UPDATE, so of two desks booking from the same
calendar the second is told to look again, never double-books), recomputes the chosen option on
the calendar as it now is, checks it against every rule, stores the appointments and puts the
confirmation mail with its calendar file in the outbox, all in the request's one transaction.
Services never commit; every change is audited (ids only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.booking import ical, problem
from ketaflow.booking.appointments import day_bounds, get_appointment
from ketaflow.booking.models import (
    Appointment,
    AppointmentKind,
    AppointmentSeries,
    AppointmentState,
    Site,
)
from ketaflow.booking.sites import get_site
from ketaflow.clinic.service import clinic_name
from ketaflow.clinical.course_plan import CourseState
from ketaflow.courses.models import TreatmentCourse
from ketaflow.db import utcnow
from ketaflow.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from ketaflow.jobs import service as outbox
from ketaflow.jobs.models import Channel
from ketaflow.patients.models import PatientDemographics
from ketaflow.scheduling import model as core
from ketaflow.scheduling.booking import book_series as core_book_series
from ketaflow.scheduling.booking import reflow
from ketaflow.scheduling.rules import check_plan

ENTITY = "appointment_series"
INFUSION_MINUTES = 120  # set-up, a 40-minute infusion and observation (issue 14's default)
MAX_WITHIN_DAYS = 60
ALTERNATIVES = 3
BOOKABLE_STATES = (CourseState.PLANNED, CourseState.ACTIVE, CourseState.MAINTENANCE)
STALE = "the calendar changed since these options were shown: look at the new options"
INSTRUCTIONS = (
    "Before each appointment:\n"
    "- Do not eat for 2 hours before; clear drinks are fine until 1 hour before.\n"
    "- Bring an adult who can take you home afterwards.\n"
    "- Do not drive, cycle or operate machinery for the rest of that day.\n"
    "- Take your usual medicines unless your clinic told you otherwise.\n"
)


@dataclass(frozen=True)
class SeriesAsk:
    """What the front desk asks for: a patient's infusions at a site, by these rules."""

    patient_id: int
    site_id: int
    count: int
    earliest_on: date
    course_id: int | None = None
    min_gap_hours: float = 48.0
    max_per_week: int = 3
    within_days: int = 21
    weekdays: frozenset[int] | None = None  # hard when given (0 = Monday)
    after: time | None = None
    before: time | None = None
    minutes: int = INFUSION_MINUTES
    first_number: int = 1  # the course's infusion number of the series' first infusion


@dataclass(frozen=True)
class Proposal:
    options: tuple[tuple[core.Placement, ...], ...]  # best first; empty when none fits
    reason: str | None
    version: int
    site: Site


def _problems(ask: SeriesAsk, today: date) -> list[FieldProblem]:
    found: list[FieldProblem] = []
    if not 1 <= ask.count <= 12:
        found.append(FieldProblem("count", "Infusions must be 1 to 12"))
    if not 1 <= ask.within_days <= MAX_WITHIN_DAYS:
        found.append(FieldProblem("within_days",
                                  f"Complete within must be 1 to {MAX_WITHIN_DAYS} days"))
    if not 1 <= ask.max_per_week <= 7:
        found.append(FieldProblem("max_per_week", "At most per week must be 1 to 7"))
    if not 0 <= ask.min_gap_hours <= 336:
        found.append(FieldProblem("min_gap_hours", "Minimum gap must be 0 to 336 hours"))
    if ask.after and ask.before and ask.after >= ask.before:
        found.append(FieldProblem("before", "Finish by must be later than Start from"))
    if ask.earliest_on < today:
        found.append(FieldProblem("earliest_on", "First possible day cannot be in the past"))
    return found


def _request(ask: SeriesAsk, site: Site) -> core.SeriesRequest:
    midnight, _ = day_bounds(site, ask.earliest_on)
    return core.SeriesRequest(
        patient=str(ask.patient_id), site_id=str(site.id), count=ask.count,
        minutes=ask.minutes, min_gap_hours=ask.min_gap_hours, max_per_week=ask.max_per_week,
        within_days=ask.within_days, days=ask.weekdays, after=ask.after, before=ask.before,
        earliest=max(midnight, utcnow()))


def _load(db: Session, ask: SeriesAsk, site: Site, *, leave_out: frozenset[int] = frozenset()
          ) -> problem.Loaded:
    # Room for the alternatives, which start on later days than the best.
    days = ask.within_days + 14
    return problem.load(db, site_id=site.id, start=ask.earliest_on, days=days,
                        leave_out=leave_out)


def _prescriber_missing(site: Site, loaded: problem.Loaded) -> str | None:
    """The core asks for a prescriber on shift only where prescriber shifts are listed; a site
    that requires one but has none listed in the window can place nothing."""
    if site.prescriber_required and not any(
            s.role is core.Role.PRESCRIBER for s in loaded.problem.shifts):
        return "no prescriber is on shift at this site in these weeks"
    return None


def propose_series(db: Session, *, ask: SeriesAsk) -> Proposal:
    """The best way to book the series and up to three alternatives (each starting on another
    day), or the reason none fits. Reads only."""
    site = get_site(db, ask.site_id)
    today = utcnow().astimezone(problem.zone(site)).date()
    found = _problems(ask, today)
    if found:
        raise ValidationFailed.of(found)
    loaded = _load(db, ask, site)
    missing = _prescriber_missing(site, loaded)
    if missing:
        return Proposal((), missing, loaded.version, site)
    options = core_book_series(loaded.problem, _request(ask, site), alternatives=ALTERNATIVES)
    chosen = () if options.best is None else (options.best, *options.alternatives)
    return Proposal(chosen, options.reason, loaded.version, site)


def claim_version(db: Session, site_id: int, version: int) -> None:
    """Raise the site's booking version if it is still `version`; otherwise the options shown
    are stale. On PostgreSQL a concurrent booking at the site waits here for this one's commit
    and then finds the version moved."""
    result = db.execute(update(Site).where(Site.id == site_id, Site.booking_version == version)
                        .values(booking_version=version + 1)
                        .execution_options(synchronize_session=False))
    if getattr(result, "rowcount", 0) != 1:
        raise Conflict(STALE, field="version")


def book_series(db: Session, ctx: AuditContext, *, ask: SeriesAsk, option: int, version: int,
                booked_by_user_id: int | None) -> list[Appointment]:
    """Book option `option` (0 = best) of the proposal computed at calendar `version`."""
    claim_version(db, ask.site_id, version)
    proposal = propose_series(db, ask=ask)
    if not 0 <= option < len(proposal.options):
        raise Conflict(proposal.reason or STALE, field="option")
    placements = proposal.options[option]
    site = proposal.site
    _verify(db, ask, site, placements)
    series = AppointmentSeries(
        patient_id=ask.patient_id, course_id=ask.course_id, site_id=site.id, count=ask.count,
        minutes=ask.minutes, min_gap_hours=ask.min_gap_hours, max_per_week=ask.max_per_week,
        within_days=ask.within_days, after=ask.after, before=ask.before,
        weekdays=sorted(ask.weekdays) if ask.weekdays else None,
        booked_by_user_id=booked_by_user_id)
    db.add(series)
    db.flush()
    rows = _store(db, series, placements, problem.chair_ids(db, site.id), ask.first_number,
                  booked_by_user_id)
    record_event(db, ctx, action="appointment_series.book", entity_type=ENTITY,
                 entity_id=series.id, detail={"patient_id": ask.patient_id, "site_id": site.id,
                                              "appointment_ids": [r.id for r in rows]})
    _mail(db, series, rows, site)
    return rows


def _verify(db: Session, ask: SeriesAsk, site: Site, placements: Sequence[core.Placement],
            leave_out: frozenset[int] = frozenset()) -> None:
    """Every rule checked once more on the calendar as stored now (the independent checker,
    not the search that proposed the option)."""
    loaded = _load(db, ask, site, leave_out=leave_out)
    one = replace(loaded.problem, requests=(_request(ask, site),))
    broken = check_plan(one, placements)
    if broken:
        raise Conflict(f"{STALE} ({broken[0].rule})", field="option")


def _store(db: Session, series: AppointmentSeries, placements: Sequence[core.Placement],
           chair_ids: dict[int, int], first_number: int, booked_by_user_id: int | None,
           replaces: Sequence[Appointment] = ()) -> list[Appointment]:
    rows = []
    for index, placement in enumerate(sorted(placements, key=lambda p: p.start)):
        rows.append(Appointment(
            patient_id=series.patient_id, site_id=series.site_id,
            chair_id=chair_ids[placement.chair], staff_user_id=int(placement.nurse),
            kind=AppointmentKind.INFUSION, course_id=series.course_id,
            infusion_number=first_number + index, series_id=series.id,
            starts_at=placement.start.astimezone(UTC), minutes=placement.minutes,
            replaces_id=replaces[index].id if index < len(replaces) else None,
            booked_by_user_id=booked_by_user_id))
    db.add_all(rows)
    db.flush()
    return rows


def series_rows(db: Session, series_id: int) -> list[Appointment]:
    """The series' booked appointments in time order."""
    return list(db.scalars(select(Appointment).where(
        Appointment.series_id == series_id, Appointment.state == AppointmentState.BOOKED)
        .order_by(Appointment.starts_at)))


def _ask_of(series: AppointmentSeries, rows: Sequence[Appointment], earliest_on: date
            ) -> SeriesAsk:
    return SeriesAsk(
        patient_id=series.patient_id, site_id=series.site_id, count=len(rows),
        earliest_on=earliest_on, course_id=series.course_id,
        min_gap_hours=series.min_gap_hours, max_per_week=series.max_per_week,
        within_days=series.within_days,
        weekdays=frozenset(series.weekdays) if series.weekdays else None, after=series.after,
        before=series.before, minutes=series.minutes,
        first_number=rows[0].infusion_number or 1 if rows else 1)


@dataclass(frozen=True)
class MoveProposal:
    series: AppointmentSeries
    current: tuple[Appointment, ...]
    moved: Appointment
    placements: tuple[core.Placement, ...]  # the whole series after the move
    reason: str | None
    version: int


def propose_move(db: Session, *, appointment_id: int, new_start: datetime) -> MoveProposal:
    """The series with appointment `appointment_id` at `new_start` and the later ones
    re-flowed at their earliest under the series' rules (the earlier ones stay)."""
    moved = get_appointment(db, appointment_id)
    if moved.series_id is None or moved.state is not AppointmentState.BOOKED:
        raise Conflict("only a booked appointment of a series can be moved")
    series = db.get(AppointmentSeries, moved.series_id)
    if series is None:  # pragma: no cover - the foreign key guarantees it
        raise NotFound("no such series")
    rows = series_rows(db, series.id)
    site = get_site(db, series.site_id)
    if new_start <= utcnow():
        raise ValidationFailed("New time must be in the future", field="new_start")
    first_day = min(rows[0].starts_at, new_start).astimezone(problem.zone(site)).date()
    ask = _ask_of(series, rows, first_day)
    loaded = _load(db, ask, site, leave_out=frozenset(r.id for r in rows))
    numbers = {chair_id: number for number, chair_id in loaded.chair_ids.items()}
    booked = tuple(core.Placement(0, str(r.patient_id), str(site.id),
                                  numbers.get(r.chair_id or 0, 0), str(r.staff_user_id),
                                  r.starts_at, r.minutes) for r in rows)
    index = [r.id for r in rows].index(moved.id)
    request = replace(_request(ask, site), earliest=None)
    options = reflow(loaded.problem, request, booked, index, new_start)
    return MoveProposal(series, tuple(rows), moved, options.best or (), options.reason,
                        loaded.version)


def move_appointment(db: Session, ctx: AuditContext, *, appointment_id: int,
                     new_start: datetime, version: int, booked_by_user_id: int | None
                     ) -> list[Appointment]:
    """Apply the proposed move: appointments whose time or chair changed are kept as "moved"
    and replaced by new rows; the patient gets the updated calendar file."""
    moved = get_appointment(db, appointment_id)
    claim_version(db, moved.site_id, version)
    proposal = propose_move(db, appointment_id=appointment_id, new_start=new_start)
    if not proposal.placements:
        raise Conflict(proposal.reason or "the series cannot be re-flowed", field="new_start")
    site = get_site(db, moved.site_id)
    changed = [(row, placement) for row, placement in zip(
        proposal.current, sorted(proposal.placements, key=lambda p: p.start), strict=True)
        if row.starts_at != placement.start or int(placement.nurse) != row.staff_user_id
        or problem.chair_ids(db, site.id)[placement.chair] != row.chair_id]
    for row, _ in changed:
        row.state, row.state_reason = AppointmentState.MOVED, "moved; series re-flowed"
    proposal.series.revision += 1
    db.flush()
    new_rows = []
    for row, placement in changed:
        new_rows += _store(db, proposal.series, [placement], problem.chair_ids(db, site.id),
                           row.infusion_number or 1, booked_by_user_id, replaces=[row])
    record_event(db, ctx, action="appointment_series.move", entity_type=ENTITY,
                 entity_id=proposal.series.id,
                 detail={"moved": [r.id for r, _ in changed],
                         "replacements": [r.id for r in new_rows]})
    _mail(db, proposal.series, series_rows(db, proposal.series.id), site)
    return new_rows


def email_of(db: Session, patient_id: int) -> str | None:
    return db.scalar(select(PatientDemographics.email).where(
        PatientDemographics.patient_id == patient_id,
        PatientDemographics.superseded_at.is_(None)))


def _mail(db: Session, series: AppointmentSeries, rows: Sequence[Appointment], site: Site
          ) -> None:
    """The confirmation (or, after a move, the update) with one calendar file for the
    series; nothing clinical in it: mail and calendars are not private channels."""
    address = email_of(db, series.patient_id)
    if address is None or not rows:
        return
    clinic = clinic_name(db) or "your clinic"
    zone = problem.zone(site)
    lines = "\n".join(f"- {r.starts_at.astimezone(zone):%A %d %B %Y, %H:%M} ({site.name})"
                      for r in rows)
    # One UID per infusion of the series, so the file sent after a move replaces the first.
    items = [ical.CalendarItem(f"series-{series.id}-infusion-{r.infusion_number}@ketaflow",
                               r.starts_at, r.minutes, site.timezone, f"Appointment at {clinic}",
                               site.name, INSTRUCTIONS, sequence=series.revision)
             for r in rows]
    text = ical.calendar_text(items, stamp=utcnow(), method="PUBLISH", name=clinic)
    verb = "are booked" if series.revision == 0 else "have changed"
    outbox.enqueue(
        db, dedupe_key=f"booking:{series.id}:{series.revision}", purpose="booking-confirmation",
        channel=Channel.EMAIL, to_address=address, patient_id=series.patient_id,
        subject=f"Your appointments at {clinic}",
        body_text=(f"Hello,\n\nYour appointments {verb}:\n\n{lines}\n\n{INSTRUCTIONS}\n"
                   "The attached calendar file adds them to your phone's calendar.\n"
                   "To change an appointment, please call the clinic.\n"),
        attachments=[outbox.Attachment("appointments.ics", "text/calendar; charset=utf-8",
                                       text)])


def course_for(db: Session, course_id: int) -> TreatmentCourse:
    course = db.get(TreatmentCourse, course_id)
    if course is None:
        raise NotFound("no such treatment course", field="course_id")
    return course


def open_course(db: Session, patient_id: int) -> TreatmentCourse | None:
    """The patient's course that infusions are booked for (planned, active or maintenance)."""
    return db.scalar(select(TreatmentCourse).where(
        TreatmentCourse.patient_id == patient_id,
        TreatmentCourse.state.in_(BOOKABLE_STATES)).order_by(TreatmentCourse.id.desc()))


def booked_numbers(db: Session, course_id: int) -> int:
    """Infusions of the course already on the calendar or attended."""
    return len(list(db.scalars(select(Appointment.id).where(
        Appointment.course_id == course_id, Appointment.kind == AppointmentKind.INFUSION,
        Appointment.state.in_([AppointmentState.BOOKED, AppointmentState.ATTENDED])))))


def patient_appointments(db: Session, ctx: AuditContext, patient_id: int) -> list[Appointment]:
    """The patient's appointments from today on, every state, in time order (audited)."""
    since = utcnow() - timedelta(hours=12)
    rows = list(db.scalars(select(Appointment).where(
        Appointment.patient_id == patient_id, Appointment.starts_at >= since)
        .order_by(Appointment.starts_at, Appointment.id)))
    record_event(db, ctx, action="appointment.list.read", entity_type="patient",
                 entity_id=patient_id, detail={"appointment_ids": [r.id for r in rows]})
    return rows


def read_series(db: Session, ctx: AuditContext, series_id: int
                ) -> tuple[AppointmentSeries, list[Appointment]]:
    """A series and its booked appointments (audited: ids only)."""
    series = db.get(AppointmentSeries, series_id)
    if series is None:
        raise NotFound("no such series")
    rows = series_rows(db, series.id)
    record_event(db, ctx, action="appointment_series.read", entity_type=ENTITY,
                 entity_id=series.id, detail={"patient_id": series.patient_id})
    return series, rows


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
