"""A plain-language summary for the patient: how many infusions of the course were given, how
each depression score moved from the course baseline (response and remission as the clinic
defines them, `ketaflow.assessments.history`), the visits booked ahead and whom to call.

No clinical shorthand and no alerts: what the patient reads is what the clinic has recorded,
in words. A score without a pre-treatment baseline is named but not compared (the clinic does
not compute response without one), so nothing is claimed that the record does not support.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from ketaflow.assessments.history import CourseBaseline, course_baselines
from ketaflow.audit.service import AuditContext
from ketaflow.booking import service as booking
from ketaflow.booking.models import AppointmentState
from ketaflow.booking.sites import get_site
from ketaflow.clinic import service as clinic_service
from ketaflow.clinic.crisis_lines import CrisisLines
from ketaflow.db import utcnow
from ketaflow.infusions.discharge_sheet import Section, call_lines, local_text, patient_pdf
from ketaflow.infusions.pdf import Printout
from ketaflow.reports.letter import course_sessions, induction
from ketaflow.reports.prior_auth import short_name

TITLE = "Your treatment summary"


@dataclass(frozen=True)
class ScoreChange:
    scale: str                # "MADRS"
    before: int | None        # None: no pre-treatment baseline, so no comparison
    before_on: date | None
    latest: int | None
    latest_on: date | None
    percent_change: float | None
    response: bool
    remission: bool


@dataclass(frozen=True)
class PatientSummary:
    patient_id: int
    course_id: int | None     # None: no course has started
    course_start: date | None
    given: int
    planned: int
    changes: tuple[ScoreChange, ...]
    visits: tuple[tuple[datetime, str, str], ...]   # (starts_at, site name, site zone)
    lines: CrisisLines
    clinic_phone: str | None


def _change(baseline: CourseBaseline) -> ScoreChange:
    outcome, scale = baseline.outcome, short_name(baseline.instrument.id)
    latest = outcome.latest
    if outcome.baseline is None or outcome.baseline_label is not None:
        return ScoreChange(scale, None, None, None, None, None, False, False)
    return ScoreChange(
        scale, outcome.baseline.result.total, outcome.baseline.rated_at.date(),
        None if latest is None else latest.rating.result.total,
        None if latest is None else latest.rating.rated_at.date(),
        None if latest is None else latest.percent_change,
        bool(latest and latest.response), bool(latest and latest.remission))


def patient_summary(session: Session, ctx: AuditContext, *, patient_id: int) -> PatientSummary:
    """What the summary says (reads audited by the services it calls)."""
    lines = clinic_service.crisis_lines(session)
    profile = clinic_service.get_profile(session)
    phone = profile.phone if profile is not None else None
    now = utcnow()
    visits = tuple((a.starts_at, site.name, site.timezone)
                   for a in booking.patient_appointments(session, ctx, patient_id)
                   if a.state is AppointmentState.BOOKED and a.starts_at > now
                   for site in (get_site(session, a.site_id),))
    course = induction(session, ctx, patient_id)
    if course is None:
        return PatientSummary(patient_id, None, None, 0, 0, (), visits, lines, phone)
    given = len(course_sessions(session, course.id))
    changes = tuple(_change(b) for b in course_baselines(session, ctx, course=course))
    return PatientSummary(patient_id, course.id, course.start_on, given, course.infusion_count,
                          changes, visits, lines, phone)


def change_text(change: ScoreChange) -> str:
    if change.before is None or change.before_on is None:
        return (f"{change.scale}: there is no rating from before your first infusion, so your "
                "clinic does not compare later ratings with one.")
    before = f"{change.before} before your first infusion ({change.before_on:%d %B %Y})"
    if change.latest is None or change.latest_on is None or change.percent_change is None:
        return f"{change.scale}: {before}; no rating since."
    drop = -change.percent_change
    moved = (f"{drop:.0f}% lower" if drop > 0 else
             f"{-drop:.0f}% higher" if drop < 0 else "unchanged")
    words = f"{change.scale}: {before}, {change.latest} on {change.latest_on:%d %B %Y}: {moved}."
    if change.remission:
        words += " Your clinic counts this as remission: few or no symptoms left."
    elif change.response:
        words += (" Your clinic counts a drop of this size as a response to treatment.")
    return words


def summary_pdf(summary: PatientSummary, *, printout: Printout, prepared_by: str) -> bytes:
    if summary.course_start is None:
        course = ("No treatment course has started yet.",)
    else:
        course = (f"Your course began on {summary.course_start:%d %B %Y}. You have had "
                  f"{summary.given} of the {summary.planned} infusions planned for it.",)
    scores = tuple(change_text(c) for c in summary.changes) or (
        "No depression ratings are recorded yet.",)
    visits = tuple(f"{local_text(at, zone)} at {site}." for at, site, zone in summary.visits) or (
        "No visit is booked yet: the clinic will contact you to book one.",)
    return patient_pdf(printout=printout, title=TITLE, sections=[
        Section("Your infusions", course),
        Section("How your depression ratings have changed (lower is better)", scores,
                bullets=True),
        Section("Your next visits", visits, bullets=True),
        Section("Who to call", tuple(call_lines(summary.lines, summary.clinic_phone,
                                          phone_label="The clinic")),
                bullets=True),
        Section("About this summary", (
            f"Prepared by {prepared_by} from your clinic record. Ask your clinic about "
            "anything in it, or anything that is not.",)),
    ])
