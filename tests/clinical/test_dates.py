"""The plausible-date bounds (pure) and their use by every service that stores a clinical date:
a year typed as 0026 or 2062 is refused naming the field, and nothing is stored."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaflow.assessments import service as assessments
from ketaflow.audit.models import AuditEvent
from ketaflow.clinical import dates
from ketaflow.courses import service as courses
from ketaflow.errors import ValidationFailed
from ketaflow.infusions import service as infusions
from ketaflow.infusions.models import Seriousness
from ketaflow.infusions.rules import SessionAction
from ketaflow.patients import service as patients
from ketaflow.screening import service as screening
from tests.assessments.factories import phq9
from tests.courses.test_course_service import ready_patient
from tests.infusions.factories import make_clinic, make_course
from tests.patients.factories import DIAGNOSIS, make_patient, medication_input, trial_input
from tests.screening.factories import monday_ahead
from tests.support.factories import SYSTEM, make_user

TODAY = date(2026, 6, 15)
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def test_birth_date_bounds() -> None:
    assert dates.birth_date(date(1900, 1, 1), today=TODAY) == date(1900, 1, 1)
    assert dates.birth_date(TODAY, today=TODAY) == TODAY
    for bad in (date(1899, 12, 31), date(26, 6, 1), TODAY + timedelta(days=1)):
        with pytest.raises(ValidationFailed) as error:
            dates.birth_date(bad, today=TODAY)
        assert error.value.field == "date_of_birth"


def test_past_dates_respect_1900_birth_and_today() -> None:
    born = date(1980, 5, 1)
    check = dates.past_date
    assert check(None, today=TODAY, field="f", label="f") is None
    assert check(TODAY, today=TODAY, field="f", label="f", born=born) == TODAY
    assert check(born, today=TODAY, field="f", label="f", born=born) == born
    with pytest.raises(ValidationFailed, match="before the date of birth"):
        check(born - timedelta(days=1), today=TODAY, field="f", label="f", born=born)
    with pytest.raises(ValidationFailed, match="before 1900-01-01"):
        check(date(26, 1, 1), today=TODAY, field="f", label="f")
    with pytest.raises(ValidationFailed, match="future"):
        check(TODAY + timedelta(days=1), today=TODAY, field="f", label="f")


def test_past_moments_allow_clock_skew_only() -> None:
    check = dates.past_moment
    assert check(NOW + dates.CLOCK_SKEW, now=NOW, field="t", label="t") == NOW + dates.CLOCK_SKEW
    with pytest.raises(ValidationFailed, match="future") as error:
        check(NOW + dates.CLOCK_SKEW + timedelta(seconds=1), now=NOW, field="t", label="t")
    assert error.value.field == "t"
    with pytest.raises(ValidationFailed, match="time zone"):
        check(NOW.replace(tzinfo=None), now=NOW, field="t", label="t")
    with pytest.raises(ValidationFailed, match="before 1900"):
        check(datetime(26, 6, 15, tzinfo=UTC), now=NOW, field="t", label="t")
    with pytest.raises(ValidationFailed, match="date of birth"):
        check(datetime(1979, 1, 1, tzinfo=UTC), now=NOW, field="t", label="t",
              born=date(1980, 1, 1))


def test_planned_and_expiry_dates_have_horizons_named_in_the_message() -> None:
    horizon = TODAY + timedelta(days=dates.PLANNING_HORIZON_DAYS)
    assert dates.planned_date(horizon, today=TODAY, field="start_on", label="s") == horizon
    with pytest.raises(ValidationFailed, match=horizon.isoformat()) as error:
        dates.planned_date(horizon + timedelta(days=1), today=TODAY, field="start_on", label="s")
    assert error.value.field == "start_on"
    with pytest.raises(ValidationFailed):
        dates.planned_date(date(1899, 1, 1), today=TODAY, field="start_on", label="s")
    assert dates.expiry_date(TODAY, today=TODAY, usable_today=True) == TODAY
    for bad in (TODAY, TODAY - timedelta(days=1),
                TODAY + timedelta(days=dates.EXPIRY_HORIZON_DAYS + 1)):
        with pytest.raises(ValidationFailed) as error:
            dates.expiry_date(bad, today=TODAY)
        assert error.value.field == "expiry_date"


# ---------------------------------------------------------------- applied by the services

YEAR_26 = date(26, 3, 1)
FUTURE = date.today() + timedelta(days=3)


def _refused(db: Session, call: Callable[[], object], field: str) -> None:
    before = db.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(ValidationFailed) as error:
        call()
    assert error.value.field == field
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_patient_record_dates(db: Session) -> None:
    patient = make_patient(db, date_of_birth=date(1980, 5, 1))
    pid = patient.id
    _refused(db, lambda: make_patient(db, date_of_birth=YEAR_26), "date_of_birth")
    _refused(db, lambda: patients.record_measurement(
        db, SYSTEM, patient_id=pid, weight=70, weight_unit="kg",
        measured_at=datetime(1979, 1, 1, tzinfo=UTC)), "measured_at")
    _refused(db, lambda: patients.record_measurement(
        db, SYSTEM, patient_id=pid, weight=70, weight_unit="kg",
        measured_at=datetime.now(UTC) + timedelta(hours=1)), "measured_at")
    for field in ("onset_date", "episode_start_date"):
        _refused(db, lambda f=field: patients.record_diagnosis(  # type: ignore[misc]
            db, SYSTEM, patient_id=pid, diagnosis=replace(DIAGNOSIS, **{f: YEAR_26})), field)
    for field, value in (("start_date", YEAR_26), ("stop_date", FUTURE)):
        _refused(db, lambda f=field, v=value: patients.add_medication(  # type: ignore[misc]
            db, SYSTEM, patient_id=pid, medication=medication_input(**{f: v})), field)
    _refused(db, lambda: patients.add_treatment_trial(
        db, SYSTEM, patient_id=pid, trial=trial_input(start_date=YEAR_26)), "start_date")
    medication = patients.add_medication(db, SYSTEM, patient_id=pid,
                                         medication=medication_input())
    _refused(db, lambda: patients.stop_medication(
        db, SYSTEM, patient_id=pid, medication_id=medication.id, stop_date=FUTURE), "stop_date")


def test_rating_screening_consent_and_course_dates(db: Session) -> None:
    patient = make_patient(db, date_of_birth=date(1980, 5, 1))
    pid = patient.id
    _refused(db, lambda: assessments.record_assessment(
        db, SYSTEM, patient_id=pid, instrument_id="phq9", answers=phq9(10, 0),
        rater=assessments.Rater.portal(), rated_at=datetime(26, 6, 1, tzinfo=UTC)),
        "rated_at")
    _refused(db, lambda: screening.start_screening(
        db, SYSTEM, patient_id=pid, entry=screening.ScreeningEntry(
            pregnancy_test_on=date(1979, 1, 1))), "pregnancy_test_on")
    recorder, witness = make_user(db), make_user(db)
    ctx = SYSTEM.as_user(recorder.id, recorder.username, recorder.role.value)
    _refused(db, lambda: screening.record_consent(
        db, ctx, patient_id=pid, form_version="v1", consented_on=YEAR_26,
        witnessed_by_user_id=witness.id), "consented_on")


def test_course_dates_are_within_the_planning_horizon(db: Session) -> None:
    patient = ready_patient(db)
    far = date.today() + timedelta(days=dates.PLANNING_HORIZON_DAYS + 10)
    _refused(db, lambda: courses.plan_course(
        db, SYSTEM, patient_id=patient.id, entry=courses.CourseEntry(start_on=far)), "start_on")
    _refused(db, lambda: courses.plan_course(
        db, SYSTEM, patient_id=patient.id, entry=courses.CourseEntry(
            start_on=monday_ahead(), baseline_on=date(26, 1, 1))), "baseline_on")
    course = courses.plan_course(db, SYSTEM, patient_id=patient.id,
                                 entry=courses.CourseEntry(start_on=monday_ahead()))
    _refused(db, lambda: courses.set_course_baseline(
        db, SYSTEM, course_id=course.id, baseline_on=date(1850, 1, 1)), "baseline_on")


def test_session_events_allow_clock_skew_but_not_the_future(db: Session) -> None:
    clinic = make_clinic(db)
    record = infusions.open_session(db, clinic.nurse_ctx, course_id=make_course(db, clinic).id)
    infusions.apply_action(db, clinic.nurse_ctx, session_id=record.id,
                           action=SessionAction.BEGIN_PRECHECKS)

    def event(at: datetime) -> object:
        return infusions.record_adverse_event(
            db, clinic.nurse_ctx, session_id=record.id, description="nausea",
            seriousness=Seriousness.NON_SERIOUS, occurred_at=at)

    now = datetime.now(UTC)
    assert event(now + timedelta(minutes=4))
    _refused(db, lambda: event(now + timedelta(minutes=10)), "occurred_at")
    _refused(db, lambda: event(record.opened_at - timedelta(minutes=1)), "occurred_at")
