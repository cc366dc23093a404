"""Patient pages: forms re-render with messages (422) keeping input; roles see what they may."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.auth.permissions import Permission
from ketaflow.config import Role
from ketaflow.patients import sections
from tests.patients.factories import make_patient
from tests.web.helpers import committed_user, csrf, sign_in

FORM = {
    "given_name": "Perpetua",
    "family_name": "Fabricata",
    "date_of_birth": "1990-02-03",
    "sex": "female",
    "phone": "+1 555 0142",
}


def _signed_in(client: TestClient, db: Session, role: Role) -> None:
    user = committed_user(db, role)
    assert sign_in(client, user.username) == 303


def _post(client: TestClient, path: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post(path, data={**data, "csrf_token": csrf(client)})


def _patient(db: Session, **overrides: object) -> int:
    patient = make_patient(db, **overrides)
    db.commit()
    return patient.id


def test_register_form_keeps_input_and_marks_the_field(
    app_client: TestClient, app_db: Session
) -> None:
    _signed_in(app_client, app_db, Role.FRONT_DESK)
    page = _post(app_client, "/patients", {**FORM, "date_of_birth": "2999-01-01"})
    assert page.status_code == 422
    assert 'id="e-date_of_birth"' in page.text and "cannot be in the future" in page.text
    assert 'value="Fabricata"' in page.text and 'value="+1 555 0142"' in page.text
    assert re.search(r'<option value="female"\s+selected', page.text)
    missing_sex = _post(app_client, "/patients", {**FORM, "sex": ""})
    assert missing_sex.status_code == 422 and 'id="e-sex"' in missing_sex.text
    done = _post(app_client, "/patients", FORM)
    assert done.status_code == 303
    patient_page = app_client.get(done.headers["location"])
    assert patient_page.status_code == 200 and "Patient registered." in patient_page.text
    assert "FABRICATA, Perpetua" in patient_page.text
    # Front desk: demographics only, no clinical sections or links.
    assert "Clinical information is visible to clinical staff only." in patient_page.text
    for clinical in ('id="medications"', 'id="diagnosis"', "Add weight"):
        assert clinical not in patient_page.text
    pid = done.headers["location"].split("/")[2].split("?")[0]
    assert app_client.get(f"/patients/{pid}/medications/new").status_code == 403
    # The same name and date of birth again: refused until confirmed as a different person.
    namesake = _post(app_client, "/patients", {**FORM, "mrn": "X-1"})
    assert namesake.status_code == 422 and 'id="e-confirm_same_person"' in namesake.text
    duplicate = _post(app_client, "/patients", {**FORM, "mrn": "X-1",
                                                "confirm_same_person": "yes"})
    assert duplicate.status_code == 303
    again = _post(app_client, "/patients", {**FORM, "mrn": "x-1"})
    assert again.status_code == 422 and 'id="e-mrn"' in again.text
    assert "already in use" in again.text


def test_nurse_records_the_clinical_record_through_the_forms(
    app_client: TestClient, app_db: Session
) -> None:
    pid = _patient(app_db)
    _signed_in(app_client, app_db, Role.NURSE)
    base = f"/patients/{pid}"
    for path in ("measurements", "allergies", "diagnosis", "medications", "trials"):
        assert app_client.get(f"{base}/{path}/new").status_code == 200, path

    no_unit = _post(app_client, f"{base}/measurements", {"weight": "160"})
    assert no_unit.status_code == 422 and 'id="e-weight_unit"' in no_unit.text
    assert 'value="160"' in no_unit.text
    ok = _post(app_client, f"{base}/measurements", {"weight": "160", "weight_unit": "lb"})
    assert ok.status_code == 303

    bad_dates = _post(
        app_client,
        f"{base}/medications",
        {
            "drug_name": "lorazepam",
            "dose_amount": "2",
            "dose_unit": "mg/day",
            "start_date": "2025-03-01",
            "stop_date": "2025-01-01",
        },
    )
    assert bad_dates.status_code == 422 and 'id="e-stop_date"' in bad_dates.text
    assert 'value="lorazepam"' in bad_dates.text
    assert (
        _post(
            app_client,
            f"{base}/medications",
            {
                "drug_name": "lorazepam",
                "dose_amount": "2",
                "dose_unit": "mg/day",
                "start_date": "2025-03-01",
                "adherence": "good",
            },
        ).status_code
        == 303
    )
    assert (
        _post(
            app_client,
            f"{base}/diagnosis",
            {
                "bipolar_type": "bipolar_ii",
                "current_episode": "depressed",
                "severity": "moderate",
                "psychosis_history": "no",
                "substance_use": "none",
                "suicide_attempts": "0",
            },
        ).status_code
        == 303
    )
    assert (
        _post(
            app_client,
            f"{base}/trials",
            {
                "drug_name": "quetiapine",
                "dose_mg_per_day": "300",
                "duration_weeks": "8",
                "adherence_verified": "yes",
                "response": "none",
            },
        ).status_code
        == 303
    )
    assert (
        _post(
            app_client, f"{base}/allergies", {"substance": "latex", "severity": "mild"}
        ).status_code
        == 303
    )

    page = app_client.get(base).text
    assert "72.6 kg" in page and "entered 160 lb" in page
    assert "≈ 20 mg/day diazepam" in page
    assert "Benzodiazepine and Z-drug load: 20 mg/day diazepam-equivalent" in page
    assert "linked to a weaker ketamine response in one retrospective study of unipolar" in page
    assert "Ashton CH" in page and "Cut-off: Andrashko et al., Front Psychiatry 2020;11:844" in page
    assert "F31.81" in page and "83225003" in page  # SNOMED CT bipolar II
    assert "does not meet the ISBD 2025 definition" in page
    assert "latex" in page

    # A diagnosis revision needs a reason; the form keeps the choices made.
    revise = _post(
        app_client,
        f"{base}/diagnosis",
        {
            "bipolar_type": "bipolar_i",
            "current_episode": "depressed",
            "severity": "severe",
            "psychosis_history": "no",
            "substance_use": "none",
            "suicide_attempts": "0",
        },
    )
    assert revise.status_code == 422 and 'id="e-reason"' in revise.text
    assert re.search(r'<option value="severe"\s+selected', revise.text)

    med_id = re.search(r"/medications/(\d+)/stop", page).group(1)  # type: ignore[union-attr]
    early = _post(app_client, f"{base}/medications/{med_id}/stop", {"stop_date": "2020-01-01"})
    assert early.status_code == 422 and "before the start date" in early.text
    stopped = _post(app_client, f"{base}/medications/{med_id}/stop", {"stop_date": "2025-06-01"})
    assert stopped.status_code == 303
    assert "Z-drug load" not in app_client.get(base).text


def test_search_list_and_navigation(app_client: TestClient, app_db: Session) -> None:
    _patient(app_db, given_name="Hortensia", family_name="Imaginaria")
    _patient(app_db, given_name="Bartholomew", family_name="Inventato")
    _signed_in(app_client, app_db, Role.NURSE)
    home = app_client.get("/").text
    assert 'href="/patients"' in home and "<h2>Patients</h2>" in home
    listing = app_client.get("/patients", params={"q": "imagin"}).text
    assert "IMAGINARIA, Hortensia" in listing and "INVENTATO" not in listing
    assert "1 match" in listing
    assert "No patient matches" in app_client.get("/patients", params={"q": "zzz"}).text
    everyone = app_client.get("/patients").text
    assert "Most recently registered" in everyone and "INVENTATO" in everyone


@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.ADMIN])
def test_roles_without_patient_access(app_client: TestClient, app_db: Session, role: Role) -> None:
    pid = _patient(app_db)
    _signed_in(app_client, app_db, role)
    assert 'href="/patients"' not in app_client.get("/").text
    for path in ("/patients", f"/patients/{pid}", "/patients/new", f"/patients/{pid}/history"):
        assert app_client.get(path).status_code == 403, path


def test_patient_page_read_is_audited_and_unknown_ids_are_404(
    app_client: TestClient, app_db: Session
) -> None:
    pid = _patient(app_db)
    _signed_in(app_client, app_db, Role.PRESCRIBER)
    assert app_client.get(f"/patients/{pid}").status_code == 200
    assert app_client.get(f"/patients/{pid + 50}").status_code == 404
    assert app_client.get(f"/patients/{pid + 50}/trials/new").status_code == 404
    missing = _post(app_client, f"/patients/{pid + 50}/trials", {"drug_name": "x"})
    assert missing.status_code == 404
    app_db.expire_all()
    reads = list(app_db.scalars(select(AuditEvent).where(AuditEvent.action == "patient.read")))
    assert [(e.entity_id, e.actor_role) for e in reads] == [(str(pid), "prescriber")]


def test_amend_page_keeps_history(app_client: TestClient, app_db: Session) -> None:
    pid = _patient(app_db, given_name="Ottoline", family_name="Oldname")
    _signed_in(app_client, app_db, Role.FRONT_DESK)
    form = app_client.get(f"/patients/{pid}/edit").text
    assert 'value="Oldname"' in form
    data = {
        **FORM,
        "given_name": "Ottoline",
        "family_name": "Newname",
        "date_of_birth": "1985-04-12",
    }
    no_reason = _post(app_client, f"/patients/{pid}/edit", data)
    assert no_reason.status_code == 422 and 'value="Newname"' in no_reason.text
    done = _post(app_client, f"/patients/{pid}/edit", {**data, "reason": "deed poll"})
    assert done.status_code == 303
    history = app_client.get(f"/patients/{pid}/history").text
    assert "OLDNAME" in history and "NEWNAME" in history and "deed poll" in history
    assert "superseded" in history


def test_registered_sections_show_for_permitted_roles_only(
    app_client: TestClient, app_db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sections, "SECTIONS", [])
    sections.register_section("patients/_allergies.html", Permission.PATIENTS_CLINICAL_READ, 5)
    sections.register_section("patients/_allergies.html", Permission.PATIENTS_CLINICAL_READ, 5)
    assert len(sections.SECTIONS) == 1
    pid = _patient(app_db)
    _signed_in(app_client, app_db, Role.NURSE)
    assert app_client.get(f"/patients/{pid}").text.count('id="allergies"') == 2
