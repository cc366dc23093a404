"""Plain-function fixtures for assessment, portal and alert tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from ketaflow.assessments import service
from ketaflow.assessments.models import Assessment
from ketaflow.audit.service import AuditContext
from ketaflow.auth.models import StaffUser
from ketaflow.config import Role
from ketaflow.courses import service as courses
from ketaflow.courses.models import TreatmentCourse
from ketaflow.db import utcnow
from ketaflow.patients.models import Patient
from ketaflow.scales import get_instrument
from tests.patients.factories import make_patient as _make_patient
from tests.screening import factories as screening
from tests.support.factories import SYSTEM, make_user


def ctx_for(user: StaffUser) -> AuditContext:
    return SYSTEM.as_user(user.id, user.username, user.role.value)


def make_patient(session: Session, **overrides: object) -> Patient:
    return _make_patient(session, **overrides)  # type: ignore[arg-type]


def nurse(session: Session) -> StaffUser:
    return make_user(session, role=Role.NURSE)


def prescriber(session: Session) -> StaffUser:
    return make_user(session, role=Role.PRESCRIBER)


def answers(instrument_id: str, scores: Sequence[int]) -> dict[str, int | None]:
    """Answers keyed by item id from scores in item order (asked items only)."""
    items = get_instrument(instrument_id).asked_items
    assert len(items) == len(scores), f"{instrument_id} has {len(items)} asked items"
    return {item.id: score for item, score in zip(items, scores, strict=True)}


def madrs(total: int, item10: int = 0) -> dict[str, int | None]:
    """A MADRS with the given total: item 10 as given, the rest spread over items 1-9."""
    rest = total - item10
    assert 0 <= rest <= 54
    scores = [min(6, max(0, rest - 6 * i)) for i in range(9)]
    return answers("madrs", [*sorted(scores, reverse=True), item10])


def phq9(total: int, item9: int = 0) -> dict[str, int | None]:
    rest = total - item9
    assert 0 <= rest <= 24
    scores = [min(3, max(0, rest - 3 * i)) for i in range(8)]
    return answers("phq9", [*scores, item9])


def record(session: Session, patient: Patient, rater: StaffUser, instrument_id: str,
           values: dict[str, int | None], rated_at: datetime | None = None) -> Assessment:
    return service.record_assessment(session, ctx_for(rater), patient_id=patient.id,
                                     instrument_id=instrument_id, answers=values,
                                     rater=service.Rater.staff(rater.id), rated_at=rated_at)


def days_ago(days: float) -> datetime:
    return utcnow() - timedelta(days=days)


def make_course(session: Session, patient: Patient, start_on: date) -> TreatmentCourse:
    """A planned course for the patient (signed screening and consent first, as required)."""
    signer = screening.prescriber(session)
    screening.signed_screening(session, patient, signer)
    screening.consent(session, patient, signer, on=start_on - timedelta(days=1))
    return courses.plan_course(session, ctx_for(signer), patient_id=patient.id,
                               entry=courses.CourseEntry(start_on=start_on))
