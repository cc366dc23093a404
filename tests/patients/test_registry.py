"""Registry rules: registration, MRNs, validation, search, amendments and audited reads."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.errors import Conflict, NotFound, ValidationFailed
from ketaflow.patients import service
from ketaflow.patients.models import PatientDemographics, Sex
from tests.patients.factories import demographics, make_patient
from tests.support.factories import SYSTEM


def _events(db: Session, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _all_audit_text(db: Session) -> str:
    return " ".join(f"{e.entity_id} {e.detail}" for e in db.scalars(select(AuditEvent)))


def test_register_generates_mrn_from_id_and_audits_without_identifiers(db: Session) -> None:
    patient = make_patient(db, given_name="Zelda", family_name="Quimby")
    assert patient.mrn == f"KF-{patient.id:06d}"
    (event,) = _events(db, "patient.register")
    assert event.entity_type == "patient" and event.entity_id == str(patient.id)
    assert json.loads(event.detail) == {"mrn_generated": True}
    text = _all_audit_text(db).lower()
    for secret in ("zelda", "quimby", patient.mrn.lower(), "1985", "example.org"):
        assert secret not in text


def test_entered_mrn_is_normalised_and_duplicates_are_refused(db: Session) -> None:
    first = make_patient(db, mrn=" ab-1234 ")
    assert first.mrn == "AB-1234"
    with pytest.raises(Conflict, match="medical-record number is already in use") as err:
        make_patient(db, mrn="AB-1234")
    assert err.value.field == "mrn"
    with pytest.raises(Conflict):
        make_patient(db, mrn="ab-1234")


@pytest.mark.parametrize("mrn", ["KF-000001", "kf-42"])
def test_generated_mrn_namespace_is_reserved(db: Session, mrn: str) -> None:
    with pytest.raises(ValidationFailed, match="generated") as err:
        make_patient(db, mrn=mrn)
    assert err.value.field == "mrn"


def test_malformed_mrn_is_refused(db: Session) -> None:
    with pytest.raises(ValidationFailed, match="1-32 letters") as err:
        make_patient(db, mrn="A#B")
    assert err.value.field == "mrn"


def test_generated_mrns_are_unique(db: Session) -> None:
    mrns = {make_patient(db).mrn for _ in range(3)}
    assert len(mrns) == 3


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"date_of_birth": date.today() + timedelta(days=2)}, "date_of_birth", "in the future"),
        ({"date_of_birth": date(1899, 12, 31)}, "date_of_birth", "after 1900"),
        ({"given_name": "  "}, "given_name", "Given name is required"),
        ({"family_name": ""}, "family_name", "Family name is required"),
        ({"family_name": "x" * 101}, "family_name", "at most 100"),
        ({"email": "not-an-address"}, "email", "not a valid address"),
        ({"phone": "call me"}, "phone", "digits"),
        ({"emergency_contact_phone": "12"}, "emergency_contact_phone", "digits"),
    ],
)
def test_bad_demographics_are_refused_naming_the_field(
    db: Session, overrides: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(ValidationFailed, match=message) as err:
        service.register_patient(db, SYSTEM, demographics=demographics(**overrides))
    assert err.value.field == field
    # The message names the rule, never the value typed.
    for value in overrides.values():
        if isinstance(value, str) and value.strip():
            assert value not in err.value.detail


def test_search_by_partial_name_mrn_and_birth_date(db: Session) -> None:
    ada = make_patient(db, given_name="Ada", family_name="Lovelace-Byron", mrn="H-77")
    make_patient(db, given_name="Adam", family_name="Smithers", date_of_birth=date(1970, 1, 2))
    make_patient(db, given_name="Ruth", family_name="Lovell")

    def names(query: str) -> list[str]:
        return [s.demographics.given_name for s in service.search_patients(db, SYSTEM, query=query)]

    assert names("LOVE") == ["Ada", "Ruth"]
    assert names("ada love") == ["Ada"]
    assert names("ada") == ["Ada", "Adam"]
    assert names("h-77") == ["Ada"]
    assert names("1970-01-02") == ["Adam"]
    assert names("%") == [] and names("_") == []
    assert names("nobody") == []
    assert [s.patient.id for s in service.search_patients(db, SYSTEM, query="h-77")] == [ada.id]


def test_search_is_audited_with_the_ids_shown_never_the_query(db: Session) -> None:
    patient = make_patient(db, given_name="Quentin", family_name="Zeppelin")
    service.search_patients(db, SYSTEM, query="zeppelin")
    (event,) = _events(db, "patient.search")
    assert json.loads(event.detail) == {"results": 1, "patient_ids": [patient.id]}
    assert "zeppelin" not in event.detail.lower()


def test_amendment_keeps_history_and_supersedes(db: Session) -> None:
    patient = make_patient(db, given_name="Ada", family_name="Lovelace", phone="+1 555 0100")
    amended = service.amend_demographics(
        db,
        SYSTEM,
        patient_id=patient.id,
        demographics=demographics(given_name="Ada", family_name="King", phone="+1 555 0199"),
        reason="married name; new phone",
    )
    assert amended.version == 2 and amended.amendment_reason == "married name; new phone"
    history = service.demographics_history(db, SYSTEM, patient_id=patient.id)
    assert [(v.version, v.family_name) for v in history] == [(1, "Lovelace"), (2, "King")]
    assert history[0].superseded_at is not None and history[1].superseded_at is None
    assert history[0].phone == "+1 555 0100"
    (event,) = _events(db, "patient.amend")
    assert json.loads(event.detail) == {"fields": ["family_name", "phone"], "version": 2}
    found = service.search_patients(db, SYSTEM, query="king")
    assert [s.patient.id for s in found] == [patient.id]
    assert service.search_patients(db, SYSTEM, query="lovelace") == []
    record = service.read_patient(db, SYSTEM, patient_id=patient.id, clinical=False)
    assert record.demographics.family_name == "King"


def test_amendment_needs_a_reason_and_a_change(db: Session) -> None:
    patient = make_patient(db, family_name="Same")
    with pytest.raises(ValidationFailed, match="reason") as err:
        service.amend_demographics(
            db, SYSTEM, patient_id=patient.id, demographics=demographics(family_name="X"), reason=""
        )
    assert err.value.field == "reason"
    with pytest.raises(ValidationFailed, match="nothing was changed"):
        service.amend_demographics(
            db,
            SYSTEM,
            patient_id=patient.id,
            demographics=demographics(family_name="Same"),
            reason="typo",
        )
    with pytest.raises(ValidationFailed, match="in the future"):
        service.amend_demographics(
            db,
            SYSTEM,
            patient_id=patient.id,
            demographics=demographics(family_name="Same", date_of_birth=date(2999, 1, 1)),
            reason="typo",
        )
    versions = db.scalars(
        select(PatientDemographics).where(PatientDemographics.patient_id == patient.id)
    )
    assert len(list(versions)) == 1


def test_amending_or_reading_an_unknown_patient_is_not_found(db: Session) -> None:
    with pytest.raises(NotFound):
        service.amend_demographics(
            db, SYSTEM, patient_id=999, demographics=demographics(), reason="x"
        )
    with pytest.raises(NotFound):
        service.read_patient(db, SYSTEM, patient_id=999, clinical=True)


def test_reading_a_patient_is_audited_with_its_scope(db: Session) -> None:
    patient = make_patient(db, sex=Sex.INTERSEX)
    record = service.read_patient(db, SYSTEM, patient_id=patient.id, clinical=False)
    assert record.clinical is None and record.demographics.sex is Sex.INTERSEX
    full = service.read_patient(db, SYSTEM, patient_id=patient.id, clinical=True)
    assert full.clinical is not None and full.clinical.diagnosis is None
    reads = _events(db, "patient.read")
    assert [(e.entity_id, json.loads(e.detail)) for e in reads] == [
        (str(patient.id), {"scope": "demographics"}),
        (str(patient.id), {"scope": "clinical"}),
    ]
    assert reads[0].actor_username == SYSTEM.actor_username
