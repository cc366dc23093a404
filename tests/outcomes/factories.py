"""Hand-made cohorts for the outcomes tests: courses with infusions at known times and ratings
stored through the assessments service (so scoring, amendments and results are the real ones).

Times are relative to a moment each test takes (`anchor()`), never a module constant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy.orm import Session

from ketaflow.assessments import service as assessments
from ketaflow.assessments.models import Assessment
from ketaflow.booking.models import Appointment, AppointmentKind, Site
from ketaflow.clinical.course_plan import CourseState
from ketaflow.courses.models import CourseStateChange, TreatmentCourse
from ketaflow.db import utcnow
from ketaflow.infusions.models import InfusionSession
from ketaflow.infusions.rules import SessionStatus
from ketaflow.patients.diagnosis_codes import BipolarType, Episode, icd10_code, snomed_code
from ketaflow.patients.models import Diagnosis, SubstanceUse
from ketaflow.scales.longitudinal import BaselineFallback
from tests.assessments.factories import madrs, phq9
from tests.infusions.factories import Clinic, make_clinic, make_course
from tests.support.factories import SYSTEM

INDUCTION_DAYS = (0, 2, 4, 7, 9, 11)  # Mon/Wed/Fri-like, six infusions over 12 days


def anchor(days_ago: int = 90) -> datetime:
    """Ten o'clock UTC `days_ago` days before now: the first planned infusion."""
    return datetime.combine((utcnow() - timedelta(days=days_ago)).date(), time(10), UTC)


@dataclass
class Course:
    row: TreatmentCourse
    first: datetime  # the first infusion's start (or the planned first day)
    infusions: tuple[datetime, ...]

    @property
    def last(self) -> datetime:
        return self.infusions[-1]


def course(db: Session, clinic: Clinic, *, first: datetime, given: int = 6, planned: int = 6,
           state: CourseState = CourseState.ACTIVE, fallback: BaselineFallback | None = None,
           site: Site | None = None, bipolar: BipolarType | None = None,
           prescriber_id: int | None = None) -> Course:
    row = make_course(db, clinic, state=state)
    row.start_on = first.date()
    row.infusion_count = planned
    row.baseline_fallback = fallback
    row.recorded_by_user_id = prescriber_id if prescriber_id is not None else clinic.prescriber.id
    if state in (CourseState.COMPLETED, CourseState.STOPPED):
        row.state_changed_at = first + timedelta(days=80)
    days = INDUCTION_DAYS[:given] if given <= len(INDUCTION_DAYS) else range(0, 2 * given, 2)
    times = tuple(first + timedelta(days=d) for d in days)
    for moment in times:
        db.add(InfusionSession(course_id=row.id, patient_id=row.patient_id,
                               status=SessionStatus.DISCHARGED, opened_at=moment,
                               opened_by_user_id=clinic.nurse.id, started_at=moment,
                               ended_at=moment + timedelta(minutes=40),
                               discharged_at=moment + timedelta(minutes=100)))
    if site is not None:
        db.add(Appointment(patient_id=row.patient_id, site_id=site.id,
                           kind=AppointmentKind.INFUSION, course_id=row.id, infusion_number=1,
                           starts_at=first, minutes=120))
    if bipolar is not None:
        db.add(Diagnosis(patient_id=row.patient_id, bipolar_type=bipolar,
                         current_episode=Episode.DEPRESSED, icd10_code=icd10_code(
                             bipolar, Episode.DEPRESSED, None), snomed_code=snomed_code(bipolar),
                         psychosis_history=False, substance_use=SubstanceUse.NONE,
                         suicide_attempts=0))
    if state is CourseState.MAINTENANCE:
        db.add(CourseStateChange(course_id=row.id, from_state=CourseState.ACTIVE,
                                 to_state=CourseState.MAINTENANCE))
    db.flush()
    return Course(row, first, times)


def rate(db: Session, c: Course, total: int, at: datetime, instrument: str = "madrs"
         ) -> Assessment:
    values = madrs(total) if instrument == "madrs" else phq9(total)
    return assessments.record_assessment(db, SYSTEM, patient_id=c.row.patient_id,
                                         instrument_id=instrument, answers=values,
                                         rater=assessments.Rater.portal(), rated_at=at)


def amend(db: Session, original: Assessment, total: int) -> Assessment:
    return assessments.amend_assessment(db, SYSTEM, assessment_id=original.id,
                                        answers=madrs(total), reason="typed the wrong item",
                                        rater=assessments.Rater.portal())


def site(db: Session, code: str) -> Site:
    row = Site(code=code, name=f"Site {code}", timezone="UTC")
    db.add(row)
    db.flush()
    return row


__all__ = ["Clinic", "Course", "amend", "anchor", "course", "make_clinic", "rate", "site"]
