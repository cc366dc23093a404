"""Mood links and entries on both databases: what is stored, what is refused, what the chart
and its warnings are made of."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.config import Settings
from ketaflow.db import utcnow
from ketaflow.errors import NotFound, ValidationFailed
from ketaflow.moodchart import service
from ketaflow.moodchart.models import MoodEntry
from ketaflow.patients import service as patients_service
from tests.assessments.factories import answers, record
from tests.patients.factories import make_patient, medication_input
from tests.support.factories import SYSTEM, make_user

ZONE = "UTC"


def entry(days_ago: int = 0, **changes: object) -> service.EntryInput:
    values: dict[str, object] = {"day": service.clinic_day(utcnow(), ZONE)
                                 - timedelta(days=days_ago), "depressed": 1, "elevated": 0,
                                 "irritable": 0, "anxious": 1, "sleep_h": 7.5}
    return service.EntryInput(**(values | changes))  # type: ignore[arg-type]


def test_a_link_records_entries_until_revoked(db: Session, settings: Settings) -> None:
    nurse = make_user(db)
    patient = make_patient(db)
    issued = service.issue_link(db, SYSTEM, base_url=settings.public_base_url,
                                patient_id=patient.id,
                                created_by_user_id=nurse.id)
    token = issued.url.rsplit("/", 1)[1]
    assert issued.url.startswith(settings.public_base_url.rstrip("/") + "/mood/")
    visit = service.visit(db, SYSTEM, token=token)
    assert visit.state is service.LinkState.OPEN
    first = service.record_entry(db, SYSTEM, patient_id=patient.id, data=entry(), zone=ZONE,
                                 link=visit.link)
    second = service.record_entry(db, SYSTEM, patient_id=patient.id, data=entry(depressed=3),
                                  zone=ZONE, link=visit.link)
    assert first.id != second.id and first.source == second.source == "patient"
    assert visit.link is not None and visit.link.last_used_at is not None
    service.revoke_link(db, SYSTEM, patient_id=patient.id, link_id=visit.link.id,
                        revoked_by_user_id=nurse.id)
    assert service.visit(db, SYSTEM, token=token).state is service.LinkState.REVOKED
    with pytest.raises(ValidationFailed) as refused:
        service.record_entry(db, SYSTEM, patient_id=patient.id, data=entry(), zone=ZONE,
                             link=visit.link)
    assert refused.value.field == "token"
    assert service.visit(db, SYSTEM, token="x" * 43).state is service.LinkState.UNKNOWN
    actions = db.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type.in_(("mood_link", "mood_entry")))).all()
    assert {"mood_link.create", "mood_entry.create", "mood_link.revoke"} <= set(actions)


@pytest.mark.parametrize(("changes", "field"), [
    ({"depressed": 4}, "depressed"), ({"irritable": -1}, "irritable"),
    ({"sleep_h": 24.5}, "sleep_h"), ({"life_event_impact": 5, "life_event": "x"},
                                      "life_event_impact"),
    ({"life_event": "moved house"}, "life_event_impact"), ({"note": "n" * 1001}, "note"),
])
def test_bad_reports_are_refused_naming_the_field_and_nothing_is_stored(
        db: Session, changes: dict[str, object], field: str) -> None:
    patient = make_patient(db)
    with pytest.raises(ValidationFailed) as refused:
        service.record_entry(db, SYSTEM, patient_id=patient.id, data=entry(**changes),
                             zone=ZONE)
    assert refused.value.field == field
    assert db.scalars(select(MoodEntry)).all() == []


def test_days_in_the_future_or_before_registration_are_refused(db: Session,
                                                               settings: Settings) -> None:
    patient = make_patient(db)
    with pytest.raises(ValidationFailed, match="in the future") as future:
        service.record_entry(db, SYSTEM, patient_id=patient.id, data=entry(-1), zone=ZONE)
    assert future.value.field == "day"
    with pytest.raises(ValidationFailed, match="on or after") as early:
        service.record_entry(db, SYSTEM, patient_id=patient.id, data=entry(1), zone=ZONE)
    assert early.value.field == "day"
    patient.created_at = utcnow() - timedelta(days=30)
    clinician = service.record_entry(db, SYSTEM, patient_id=patient.id, data=entry(20),
                                     zone=ZONE)
    assert clinician.source == "clinician"
    # Through the link, a patient fills in at most the last seven days.
    link = service.issue_link(db, SYSTEM, base_url=settings.public_base_url,
                              patient_id=patient.id,
                              created_by_user_id=make_user(db).id).link
    service.record_entry(db, SYSTEM, patient_id=patient.id, data=entry(7), zone=ZONE, link=link)
    with pytest.raises(ValidationFailed, match="on or after"):
        service.record_entry(db, SYSTEM, patient_id=patient.id, data=entry(8), zone=ZONE,
                             link=link)


def test_a_repeated_form_stores_one_entry(db: Session) -> None:
    patient = make_patient(db)
    key = "k" * 24
    first = service.record_entry(db, SYSTEM, patient_id=patient.id, data=entry(), zone=ZONE,
                                 form_key=key)
    again = service.record_entry(db, SYSTEM, patient_id=patient.id, data=entry(depressed=3),
                                 zone=ZONE, form_key=key)
    assert again.id == first.id and again.depressed == 1
    assert len(db.scalars(select(MoodEntry)).all()) == 1


def test_medications_taken_only_for_current_medications(db: Session) -> None:
    patient = make_patient(db)
    current = patients_service.add_medication(db, SYSTEM, patient_id=patient.id,
                                              medication=medication_input(drug_name="lithium"))
    stored = service.record_entry(db, SYSTEM, patient_id=patient.id, zone=ZONE,
                                  data=entry(medications_taken={current.id: True}))
    assert stored.medications_taken == {str(current.id): True}
    with pytest.raises(ValidationFailed) as refused:
        service.record_entry(db, SYSTEM, patient_id=patient.id, zone=ZONE,
                             data=entry(medications_taken={current.id + 999: False}))
    assert refused.value.field == "medications_taken"


def test_an_entry_in_error_is_kept_and_left_out_of_the_chart(db: Session) -> None:
    patient = make_patient(db)
    patient.created_at = utcnow() - timedelta(days=40)
    for days_ago in range(20, 0, -1):
        service.record_entry(db, SYSTEM, patient_id=patient.id, data=entry(days_ago,
                                                                           depressed=0),
                             zone=ZONE)
    # One severe day, typed for the wrong patient, lifts the recent level to 0.6 (usual 0).
    wrong = service.record_entry(db, SYSTEM, patient_id=patient.id, zone=ZONE,
                                 data=entry(0, depressed=3))
    nurse = make_user(db)
    view = service.chart_view(db, SYSTEM, patient_id=patient.id, days=30, zone=ZONE)
    assert [s.kind.value for s in view.signals] == ["relapse"]
    with pytest.raises(ValidationFailed) as no_reason:
        service.mark_entered_in_error(db, SYSTEM, patient_id=patient.id, entry_id=wrong.id,
                                      reason=" ", user_id=nurse.id)
    assert no_reason.value.field == "reason"
    service.mark_entered_in_error(db, SYSTEM, patient_id=patient.id, entry_id=wrong.id,
                                  reason="typed for the wrong patient", user_id=nurse.id)
    view = service.chart_view(db, SYSTEM, patient_id=patient.id, days=30, zone=ZONE)
    assert view.signals == [] and len(view.rows) == 21  # kept, but out of the warnings
    assert view.summaries[-1].day == entry(1).day
    assert view.svg.startswith('<svg id="life-chart" role="img"')
    with pytest.raises(NotFound):
        service.mark_entered_in_error(db, SYSTEM, patient_id=patient.id + 1, entry_id=wrong.id,
                                      reason="x", user_id=nurse.id)


def test_the_chart_marks_rating_warnings_and_refuses_an_odd_range(db: Session) -> None:
    patient = make_patient(db)
    patient.created_at = utcnow() - timedelta(days=10)
    service.record_entry(db, SYSTEM, patient_id=patient.id, data=entry(1), zone=ZONE)
    record(db, patient, make_user(db), "asrm", answers("asrm", [2, 2, 2, 1, 1]))
    view = service.chart_view(db, SYSTEM, patient_id=patient.id, days=30, zone=ZONE)
    assert [s.reason for s in view.signals] == ["possible manic switch: ASRM 8 (at least 6)"]
    with pytest.raises(ValidationFailed) as refused:
        service.chart_view(db, SYSTEM, patient_id=patient.id, days=31, zone=ZONE)
    assert refused.value.field == "days"
