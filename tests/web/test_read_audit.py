"""Every page and API response that shows patient data writes a read audit event (ids only).

The test walks every GET route of the clinical domains (patients, screening, courses,
infusions with the controlled-substance log, assessments, alerts), pages and JSON alike, with
one seeded patient who has a record in each, and checks that each response added a successful
audit event naming that patient or one of their records. A new route is covered as soon as its
router is mounted; a route that shows no patient data must be listed in NO_PATIENT_DATA.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaflow.alerts.models import Alert
from ketaflow.assessments import service as assessments
from ketaflow.audit.models import AuditEvent
from ketaflow.config import Role
from ketaflow.courses import service as courses
from ketaflow.infusions import service as infusions
from ketaflow.infusions.controlled import service as ledger
from ketaflow.infusions.rules import SessionAction
from ketaflow.patients import service as patients
from ketaflow.patients.models import AllergySeverity
from ketaflow.screening import service as screening
from ketaflow.web.app import API_PREFIX, mounted_routers
from tests.assessments.factories import phq9
from tests.infusions.factories import Clinic, ctx_for, given_and_discharged, stock
from tests.patients.factories import medication_input
from tests.screening.factories import (
    consent,
    entry,
    make_patient,
    monday_ahead,
    signed_screening,
)
from tests.support.factories import SYSTEM
from tests.web.helpers import api_token, committed_user, flush_audit, sign_in

DOMAINS = ("patients", "screening", "courses", "infusions", "assessments", "alerts",
           "moodchart")
# GET routes of those domains that show no patient data, and why.
NO_PATIENT_DATA = {
    "/patients/new": "an empty registration form",
    "/infusions/assets/chair.css": "a stylesheet",
    "/controlled/assets/ledger.css": "a stylesheet",
    f"{API_PREFIX}/fhir/Questionnaire/{{instrument}}": "an instrument's questions",
    f"{API_PREFIX}/controlled/inventory": "stock per lot, no sessions or patients",
    # Reached only with the patient's own token (not walkable here); each open is audited
    # with the link's patient id (mood_link.open, tests/moodchart).
    "/mood/{token}": "the patient's own entry page",
    "/mood/{token}/done": "a thank-you page",
}


# Pages of an infusion that has ended (refused with 409 before): walked with the given session.
AFTER_THE_INFUSION = frozenset({"/infusions/sessions/{session_id}/discharge-instructions.pdf"})


@dataclass(frozen=True)
class Seeded:
    patient_id: int
    screening_id: int
    course_id: int
    session_id: int
    assessment_id: int
    alert_id: int
    aborted_session_id: int
    measurement_id: int = 0
    medication_id: int = 0
    given_session_id: int = 0  # an infusion given and discharged, for its printouts

    def path(self, template: str) -> str:
        session_id = (self.given_session_id if template in AFTER_THE_INFUSION
                      else self.session_id)
        return template.format(patient_id=self.patient_id, screening_id=self.screening_id,
                               course_id=self.course_id, session_id=session_id,
                               assessment_id=self.assessment_id, alert_id=self.alert_id,
                               measurement_id=self.measurement_id,
                               medication_id=self.medication_id)


def _seed(db: Session) -> tuple[Seeded, str, str]:
    """A patient with demographics, clinical record, a signed screening and a draft amendment,
    consent, a course with an open session, a rating with an alert, and ledger entries."""
    doctor = committed_user(db, Role.PRESCRIBER)
    nurse = committed_user(db, Role.NURSE)
    doctor_ctx, nurse_ctx = ctx_for(doctor), ctx_for(nurse)
    patient = make_patient(db, adequate_trials=2)
    pid = patient.id
    weighed = patients.record_measurement(db, nurse_ctx, patient_id=pid, weight=70,
                                          weight_unit="kg")
    patients.record_allergy(db, nurse_ctx, patient_id=pid, substance="latex", reaction=None,
                            severity=AllergySeverity.MILD)
    taken = patients.add_medication(db, nurse_ctx, patient_id=pid,
                                    medication=medication_input())
    signed = signed_screening(db, patient, doctor)
    consent(db, patient, doctor)
    draft = screening.amend_screening(db, doctor_ctx, screening_id=signed.id,
                                      reason="weight re-measured")
    screening.update_screening(db, doctor_ctx, screening_id=draft.id, entry=entry())
    course = courses.plan_course(db, doctor_ctx, patient_id=pid,
                                 entry=courses.CourseEntry(start_on=monday_ahead()))
    # A session that started and was aborted with drug drawn but not given: a discrepancy on
    # the controlled-substance log. Then the open session the chair-side pages show.
    stock(db, Clinic(nurse, doctor, nurse_ctx, doctor_ctx), "AUDIT-1", 100)
    aborted = infusions.open_session(db, nurse_ctx, course_id=course.id)
    ledger.draw(db, nurse_ctx, lot_number="AUDIT-1", amount_mg=40, session_id=aborted.id)
    aborted.started_at = datetime.now(UTC)
    infusions.apply_action(db, nurse_ctx, session_id=aborted.id, action=SessionAction.ABORT,
                           reason="pump fault")
    given = given_and_discharged(db, Clinic(nurse, doctor, nurse_ctx, doctor_ctx), course)
    session = infusions.open_session(db, nurse_ctx, course_id=course.id)
    rating = assessments.record_assessment(
        db, SYSTEM, patient_id=pid, instrument_id="phq9", answers=phq9(12, 2),
        rater=assessments.Rater.staff(nurse.id), rated_at=datetime.now(UTC))
    alert = db.scalars(select(Alert).where(Alert.patient_id == pid)).first()
    assert alert is not None  # item 9 above 0 opens one
    db.commit()
    seeded = Seeded(pid, draft.id, course.id, session.id, rating.id, alert.id, aborted.id,
                    weighed.id, taken.id, given)
    return seeded, doctor.username, api_token(db, doctor)


def _get_routes() -> list[str]:
    found = []
    for router, prefix in mounted_routers():
        for route in router.routes:
            if not isinstance(route, APIRoute) or "GET" not in route.methods:
                continue
            if route.endpoint.__module__.split(".")[1] in DOMAINS:
                found.append(prefix + route.path)
    return found


def _names_the_patient(event: AuditEvent, seeded: Seeded) -> bool:
    detail = json.loads(event.detail)
    if event.entity_type == "patient" and event.entity_id == str(seeded.patient_id):
        return True
    if event.entity_type == "infusion_session" and event.entity_id in {
            str(seeded.session_id), str(seeded.given_session_id)}:
        return True
    sessions = {seeded.session_id, seeded.aborted_session_id, seeded.given_session_id}
    return (detail.get("patient_id") == seeded.patient_id
            or seeded.patient_id in detail.get("patient_ids", [])
            or bool(sessions & set(detail.get("session_ids", []))))


def test_the_walk_covers_the_clinical_domains() -> None:
    routes = set(_get_routes())
    for expected in ("/patients", "/patients/{patient_id}", "/screenings/{screening_id}",
                     "/courses/{course_id}", "/infusions/sessions/{session_id}",
                     "/assessments/{assessment_id}", "/alerts", "/controlled",
                     f"{API_PREFIX}/patients/{{patient_id}}/alerts"):
        assert expected in routes
    assert set(NO_PATIENT_DATA) <= routes


@pytest.fixture
def walk(app_client: TestClient, app_db: Session) -> tuple[Seeded, str]:
    seeded, username, token = _seed(app_db)
    assert sign_in(app_client, username) == 303
    return seeded, token


def test_every_get_that_shows_patient_data_is_audited(app_client: TestClient, app_db: Session,
                                                      walk: tuple[Seeded, str]) -> None:
    seeded, token = walk
    unaudited, failed = [], []
    for template in _get_routes():
        if template in NO_PATIENT_DATA:
            continue
        before = app_db.scalar(select(func.max(AuditEvent.id))) or 0
        app_db.commit()
        headers = {"Authorization": f"Bearer {token}"} if template.startswith(API_PREFIX) else {}
        response = app_client.get(seeded.path(template), headers=headers)
        if response.status_code != 200:
            failed.append((template, response.status_code))
            continue
        # Reads a page repeats by itself (the chair page's live status, every 5 s) are
        # counted in the audit buffer and written in batches: write them out first.
        flush_audit(app_client.app)
        events = app_db.scalars(select(AuditEvent).where(
            AuditEvent.id > before, AuditEvent.outcome == "success")).all()
        app_db.commit()
        if not any(_names_the_patient(event, seeded) for event in events):
            unaudited.append(template)
    assert failed == []
    assert unaudited == [], unaudited


def test_patient_search_records_which_patients_it_showed(app_client: TestClient,
                                                         app_db: Session,
                                                         walk: tuple[Seeded, str]) -> None:
    seeded, token = walk
    for path, headers in (("/patients?q=Screening", {}),
                          (f"{API_PREFIX}/patients?q=Screening",
                           {"Authorization": f"Bearer {token}"})):
        assert app_client.get(path, headers=headers).status_code == 200
        event = app_db.scalars(select(AuditEvent).where(
            AuditEvent.action == "patient.search").order_by(AuditEvent.id.desc())).first()
        app_db.commit()
        assert event is not None
        detail = json.loads(event.detail)
        assert detail["patient_ids"] == [seeded.patient_id] and detail["results"] == 1
        # The query (a name) and the names shown are never recorded.
        assert "Screening" not in event.detail and "Testa" not in event.detail
