"""The letter to the referring clinician after the induction: what was given, how the
depression scores moved from the course baseline (response and remission as the clinic
defines them, from `ketaflow.assessments.history`), what happened at the chair, the alerts
raised during the course, current medications and the maintenance plan. Signed by the staff
member who prints it. Without an induction course on record, the letter says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer
from reportlab.platypus.flowables import Flowable
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.assessments.history import course_baselines
from ketaflow.audit.service import AuditContext
from ketaflow.clinical.course_plan import CourseState
from ketaflow.courses import service as courses_service
from ketaflow.courses.models import TreatmentCourse
from ketaflow.infusions.models import InfusionSession
from ketaflow.infusions.pdf import Printout
from ketaflow.infusions.service import load_session
from ketaflow.moodchart.pdf import CONTENT_WIDTH, _section, _styles
from ketaflow.patients import service as patients
from ketaflow.patients.service.medications import is_current
from ketaflow.reports.clinician import AlertRow, InfusionRow, _alerts, _infusion
from ketaflow.reports.pdf import DISCLAIMER, _build, _head, _num, _on, _para, _when
from ketaflow.reports.prior_auth import short_name

NOT_RECORDED = "the referring clinician is not recorded on the patient's record"


@dataclass(frozen=True)
class LetterFacts:
    patient_id: int
    referring_clinician: str | None
    course_id: int | None            # None: no induction course on record
    course_state: str | None
    course_start: date | None
    planned_infusions: int
    infusions: tuple[InfusionRow, ...]
    outcomes: tuple[tuple[str, str], ...]    # (scale, "baseline 32 on ...; latest 12: ...")
    alerts: tuple[AlertRow, ...]
    medications: tuple[str, ...]
    maintenance: tuple[str, ...]     # "2027-01-04 (weekly)"


def induction(session: Session, ctx: AuditContext, patient_id: int
               ) -> TreatmentCourse | None:
    """The newest course that has started (a planned one has no induction to report)."""
    return next((c for c in courses_service.list_courses(session, ctx, patient_id=patient_id)
                 if c.state is not CourseState.PLANNED), None)


def course_sessions(session: Session, course_id: int) -> tuple[InfusionRow, ...]:
    ids = session.scalars(select(InfusionSession.id).where(
        InfusionSession.course_id == course_id, InfusionSession.started_at.is_not(None))
        .order_by(InfusionSession.started_at))
    return tuple(_infusion(load_session(session, i)) for i in ids)


def _maintenance(session: Session, ctx: AuditContext, course_id: int) -> tuple[str, ...]:
    view = courses_service.read_course(session, ctx, course_id=course_id)
    if view.boosters:
        return tuple(f"{b.planned_on.isoformat()} ({b.phase}, {b.state.value})"
                     for b in view.boosters)
    return tuple(f"{v.on.isoformat()} ({v.phase}, suggested)" for v in view.maintenance.visits)


def letter_facts(session: Session, ctx: AuditContext, *, patient_id: int, zone: str
                 ) -> LetterFacts:
    demographics = patients.read_patient(session, ctx, patient_id=patient_id, clinical=False)
    referrer = demographics.demographics.referring_clinician
    meds = _current_meds(session, patient_id)
    course = induction(session, ctx, patient_id)
    if course is None:
        return LetterFacts(patient_id, referrer, None, None, None, 0, (), (), (), meds, ())
    infusions = course_sessions(session, course.id)
    first_day = min([course.start_on, *(i.started_at.date() for i in infusions)])
    alerts = _alerts(session, ctx, patient_id, first_day, date.max, zone)
    outcomes = tuple((short_name(b.instrument.id), b.text)
                     for b in course_baselines(session, ctx, course=course))
    return LetterFacts(patient_id, referrer, course.id, course.state.value, course.start_on,
                       course.infusion_count, infusions, outcomes, alerts, meds,
                       _maintenance(session, ctx, course.id))


def _current_meds(session: Session, patient_id: int) -> tuple[str, ...]:
    return tuple(f"{m.drug_name} {m.dose_amount:g} {m.dose_unit.value}"
                 for m in patients.list_medications(session, patient_id=patient_id)
                 if is_current(m))


def _opening(facts: LetterFacts, printout: Printout, styles: Any) -> list[Flowable]:
    who = printout.patient
    assert who is not None
    to = facts.referring_clinician
    story: list[Flowable] = [_para(f"To: {to}" if to else f"To: the referring clinician "
                                   f"({NOT_RECORDED})", styles),
                             Spacer(1, 2 * mm),
                             _para(f"Dear {to or 'colleague'},", styles)]
    if facts.course_id is None:
        return [*story, _para(f"Thank you for referring {who.full_name} (born {who.born}, "
                              f"MRN {who.mrn}). No induction course has started yet: there is "
                              "no induction to report.", styles)]
    given = sum(1 for i in facts.infusions if i.delivered_dose_mg)
    return [*story, _para(
        f"Thank you for referring {who.full_name} (born {who.born}, MRN {who.mrn}) for IV "
        f"ketamine treatment of bipolar depression. The induction course {facts.course_id} "
        f"began on {_on(facts.course_start)}: {given} of {facts.planned_infusions} planned "
        f"infusions given so far; the course is now {facts.course_state}.", styles)]


def _letter_body(facts: LetterFacts, zone: str, styles: Any) -> list[Flowable]:
    body = _section("Depression scores from the course baseline",
                    "No depression scale rated for this patient.", ["Scale", "Change"],
                    [list(o) for o in facts.outcomes], [25 * mm, CONTENT_WIDTH - 25 * mm],
                    styles)
    body += _section("Infusions", "No infusions given.",
                     ["Started", "Dose", "CADSS-6 max", "Side effects and adverse events"],
                     [[_when(i.started_at, zone), _num(i.delivered_dose_mg, " mg delivered"),
                       "-" if i.highest_cadss6 is None else str(i.highest_cadss6),
                       "; ".join(i.side_effects + i.adverse_events) or "none charted"]
                      for i in facts.infusions],
                     [36 * mm, 32 * mm, 18 * mm, CONTENT_WIDTH - 86 * mm], styles)
    body += _section("Alerts during the course", "No alerts raised during the course.",
                     ["Raised", "Alert"], [[_when(a.raised_at, zone), a.title]
                                           for a in facts.alerts],
                     [36 * mm, CONTENT_WIDTH - 36 * mm], styles)
    body += [Paragraph("Current medications", styles["Heading3"]),
             _para("; ".join(facts.medications) or "None recorded.", styles),
             Paragraph("Maintenance plan", styles["Heading3"]),
             _para(", ".join(facts.maintenance) or "No maintenance planned.", styles)]
    return body


def letter_pdf(facts: LetterFacts, *, printout: Printout, signer: str) -> bytes:
    styles = _styles()
    story = _head(printout, "Letter to the referring clinician", [], styles)
    story += _opening(facts, printout, styles)
    if facts.course_id is not None:
        story += _letter_body(facts, printout.zone, styles)
    story += [Spacer(1, 6 * mm), _para("Yours sincerely,", styles), Spacer(1, 8 * mm),
              Paragraph(f"<b>{escape(signer)}</b>", styles["BodyText"]),
              _para(printout.clinic_name or "", styles), Spacer(1, 4 * mm),
              _para(DISCLAIMER, styles, "Italic")]
    return _build(story, printout, "Letter to the referring clinician")
