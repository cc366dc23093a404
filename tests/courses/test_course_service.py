"""Course rules on both databases: preconditions, plan validation, states, baseline, audit."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.clinical.course_plan import CourseState, Frequency
from ketaflow.clinical.eligibility import PregnancyStatus
from ketaflow.courses import service
from ketaflow.courses.models import TreatmentCourse
from ketaflow.db import utcnow
from ketaflow.dosing.limits import SaltForm
from ketaflow.errors import Conflict, NotFound, ValidationFailed
from ketaflow.patients.models import Patient
from ketaflow.screening import service as screening
from tests.screening.factories import (
    consent,
    ctx_for,
    entry,
    make_patient,
    monday_ahead,
    prescriber,
    signed_screening,
)
from tests.support.factories import SYSTEM

MONDAY = monday_ahead()


def ready_patient(db: Session) -> Patient:
    patient, doctor = make_patient(db, adequate_trials=2), prescriber(db)
    signed_screening(db, patient, doctor)
    consent(db, patient, doctor)
    return patient


def plan(db: Session, patient: Patient, **overrides: object) -> TreatmentCourse:
    values: dict[str, object] = {"start_on": MONDAY} | overrides
    return service.plan_course(db, SYSTEM, patient_id=patient.id,
                               entry=service.CourseEntry(**values))  # type: ignore[arg-type]


def test_course_from_signed_eligible_screening_and_consent(db: Session) -> None:
    patient = ready_patient(db)
    course = plan(db, patient)
    assert course.state is CourseState.PLANNED
    assert (course.infusion_count, course.frequency, course.dose_mg_per_kg) == (
        6, Frequency.MON_WED_FRI, 0.5)
    assert course.max_dose_mg == 100.0 and course.salt_form is SaltForm.BASE
    assert course.baseline_on == MONDAY
    view = service.read_course(db, SYSTEM, course_id=course.id)
    assert [i.on for i in view.infusions] == [
        MONDAY + timedelta(days=d) for d in (0, 2, 4, 7, 9, 11)]
    assert {i.status for i in view.infusions} == {"planned"}
    assert view.allowed == (CourseState.ACTIVE, CourseState.STOPPED)
    assert [c.to_state for c in view.course.changes] == [CourseState.PLANNED]
    assert view.maintenance.visits[0].on == MONDAY + timedelta(days=18)


def test_no_course_without_a_signed_screening(db: Session) -> None:
    patient, doctor = make_patient(db, adequate_trials=2), prescriber(db)
    screening.start_screening(db, SYSTEM, patient_id=patient.id, entry=entry())
    consent(db, patient, doctor)
    with pytest.raises(Conflict, match="no signed screening"):
        plan(db, patient)


def test_no_course_from_a_not_eligible_screening(db: Session) -> None:
    patient, doctor = make_patient(db, adequate_trials=2), prescriber(db)
    signed_screening(db, patient, doctor, pregnancy_status=PregnancyStatus.PREGNANT)
    consent(db, patient, doctor)
    with pytest.raises(Conflict, match="outcome is not eligible"):
        plan(db, patient)


def test_no_course_without_consent(db: Session) -> None:
    patient, doctor = make_patient(db, adequate_trials=2), prescriber(db)
    signed_screening(db, patient, doctor)
    readiness = service.course_readiness(db, patient_id=patient.id)
    assert not readiness.ready and readiness.screening is not None
    with pytest.raises(Conflict, match="no informed consent"):
        plan(db, patient)


def test_eligible_with_cautions_is_enough(db: Session) -> None:
    patient, doctor = make_patient(db, adequate_trials=0), prescriber(db)
    row = signed_screening(db, patient, doctor)
    assert row.outcome.value == "eligible_with_cautions"
    consent(db, patient, doctor)
    assert plan(db, patient).screening_id == row.id


def test_course_uses_the_current_amended_screening(db: Session) -> None:
    patient, doctor = make_patient(db, adequate_trials=2), prescriber(db)
    original = signed_screening(db, patient, doctor)
    amendment = screening.amend_screening(db, SYSTEM, screening_id=original.id, reason="BP")
    screening.sign_screening(db, ctx_for(doctor), screening_id=amendment.id)
    consent(db, patient, doctor)
    assert plan(db, patient).screening_id == amendment.id


def test_consent_after_the_first_infusion_is_refused(db: Session) -> None:
    patient, doctor = make_patient(db, adequate_trials=2), prescriber(db)
    signed_screening(db, patient, doctor)
    consent(db, patient, doctor, on=utcnow().date())
    with pytest.raises(ValidationFailed) as caught:
        plan(db, patient, start_on=utcnow().date() - timedelta(days=3))
    assert caught.value.field == "start_on"


def test_only_one_open_course(db: Session) -> None:
    patient = ready_patient(db)
    first = plan(db, patient)
    with pytest.raises(Conflict, match=f"course {first.id} is still planned"):
        plan(db, patient)
    service.change_course_state(db, SYSTEM, course_id=first.id, target=CourseState.STOPPED,
                                reason="patient chose esketamine")
    assert plan(db, patient).id != first.id


@pytest.mark.parametrize(("overrides", "field"), [
    ({"dose_mg_per_kg": 2.5}, "dose_mg_per_kg"),
    ({"max_dose_mg": 250.0}, "max_dose_mg"),
    ({"infusion_count": 0}, "infusion_count"),
    ({"baseline_on": MONDAY + timedelta(days=1)}, "baseline_on"),
])
def test_plan_limits(db: Session, overrides: dict[str, object], field: str) -> None:
    patient = ready_patient(db)
    with pytest.raises(ValidationFailed) as caught:
        plan(db, patient, **overrides)
    assert caught.value.field == field


def test_state_transitions_follow_the_table(db: Session) -> None:
    course = plan(db, ready_patient(db))
    with pytest.raises(Conflict, match="a planned course cannot become completed"):
        service.change_course_state(db, SYSTEM, course_id=course.id,
                                    target=CourseState.COMPLETED)
    for target in (CourseState.ACTIVE, CourseState.PAUSED, CourseState.ACTIVE,
                   CourseState.MAINTENANCE, CourseState.COMPLETED):
        service.change_course_state(db, SYSTEM, course_id=course.id, target=target)
    assert course.state is CourseState.COMPLETED
    with pytest.raises(Conflict, match="none \\(final state\\)"):
        service.change_course_state(db, SYSTEM, course_id=course.id, target=CourseState.ACTIVE)
    history = service.read_course(db, SYSTEM, course_id=course.id).course.changes
    assert [c.to_state.value for c in history] == [
        "planned", "active", "paused", "active", "maintenance", "completed"]
    assert history[1].from_state is CourseState.PLANNED


def test_stop_needs_a_reason_and_keeps_it(db: Session) -> None:
    course = plan(db, ready_patient(db))
    service.change_course_state(db, SYSTEM, course_id=course.id, target=CourseState.ACTIVE)
    with pytest.raises(ValidationFailed) as caught:
        service.change_course_state(db, SYSTEM, course_id=course.id, target=CourseState.STOPPED,
                                    reason="  ")
    assert caught.value.field == "reason" and course.state is CourseState.ACTIVE
    stopped = service.change_course_state(db, SYSTEM, course_id=course.id,
                                          target=CourseState.STOPPED,
                                          reason="hypertensive response")
    assert stopped.state is CourseState.STOPPED
    assert course.changes[-1].reason == "hypertensive response"


def test_course_baseline(db: Session) -> None:
    course = plan(db, ready_patient(db))
    service.set_course_baseline(db, SYSTEM, course_id=course.id,
                                baseline_on=MONDAY - timedelta(days=2))
    assert course.baseline_on == MONDAY - timedelta(days=2)
    with pytest.raises(ValidationFailed):
        service.set_course_baseline(db, SYSTEM, course_id=course.id,
                                    baseline_on=MONDAY + timedelta(days=1))
    service.change_course_state(db, SYSTEM, course_id=course.id, target=CourseState.STOPPED,
                                reason="moved away")
    with pytest.raises(Conflict, match="closed"):
        service.set_course_baseline(db, SYSTEM, course_id=course.id, baseline_on=MONDAY)


def test_unknown_ids(db: Session) -> None:
    with pytest.raises(NotFound):
        service.read_course(db, SYSTEM, course_id=999_999)
    with pytest.raises(NotFound):
        service.plan_course(db, SYSTEM, patient_id=999_999,
                            entry=service.CourseEntry(start_on=MONDAY))
    with pytest.raises(NotFound):
        service.list_courses(db, SYSTEM, patient_id=999_999)


def test_course_events_are_audited_without_values(db: Session) -> None:
    patient = ready_patient(db)
    course = plan(db, patient)
    service.change_course_state(db, SYSTEM, course_id=course.id, target=CourseState.ACTIVE)
    service.read_course(db, SYSTEM, course_id=course.id)
    service.list_courses(db, SYSTEM, patient_id=patient.id)
    events = list(db.scalars(select(AuditEvent).where(AuditEvent.action.like("course.%"))
                             .order_by(AuditEvent.id)))
    assert [e.action for e in events] == ["course.plan", "course.state", "course.read",
                                          "course.list"]
    for event in events:
        assert event.entity_id == str(patient.id)
        assert set(json.loads(event.detail)) <= {"course_id", "screening_id", "consent_id",
                                                 "from_state", "to_state", "count"}


def test_consent_rules(db: Session) -> None:
    from ketaflow.config import Role
    from tests.support.factories import make_user
    patient, doctor = make_patient(db), prescriber(db)
    desk = make_user(db, role=Role.FRONT_DESK)
    with pytest.raises(ValidationFailed) as caught:
        screening.record_consent(db, SYSTEM, patient_id=patient.id, form_version="v1",
                                 consented_on=MONDAY - timedelta(days=4000),
                                 witnessed_by_user_id=desk.id)
    assert caught.value.field == "witnessed_by_user_id"
    for version, on, field in (("", date(2020, 1, 1), "form_version"),
                               ("v1", utcnow().date() + timedelta(days=1), "consented_on")):
        with pytest.raises(ValidationFailed) as caught:
            screening.record_consent(db, SYSTEM, patient_id=patient.id, form_version=version,
                                     consented_on=on, witnessed_by_user_id=doctor.id)
        assert caught.value.field == field
    recorded = consent(db, patient, doctor)
    assert screening.latest_consent(db, patient_id=patient.id) is recorded
    assert doctor in screening.list_witnesses(db) and desk not in screening.list_witnesses(db)
