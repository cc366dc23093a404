"""CarePlan (each treatment course) and Consent on the seeded clinic, both databases: checked
against the course and consent rows, statuses mapped here independently, searched by patient,
category, status and date with prefixes."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from ketaflow.clinical.course_plan import CourseState
from ketaflow.config import Role
from ketaflow.courses.models import TreatmentCourse
from ketaflow.screening.models import Consent
from tests.fhir.conftest import Clinic, fresh, ids

C = CourseState


def plan_status(row: TreatmentCourse) -> str:
    return {C.PAUSED: "on-hold", C.COMPLETED: "completed", C.STOPPED: "revoked"}.get(
        row.state, "active")


def courses(clinic: Clinic) -> list[TreatmentCourse]:
    fresh(clinic)
    return list(clinic.db.scalars(select(TreatmentCourse).order_by(TreatmentCourse.id)))


def test_care_plans_are_the_courses(clinic: Clinic) -> None:
    rows = courses(clinic)
    found = {r["id"]: r for r in clinic.resources("/CarePlan")}
    assert set(found) == {f"course-{row.id}" for row in rows}
    for row in rows:
        resource = found[f"course-{row.id}"]
        assert resource["status"] == plan_status(row)
        assert resource["intent"] == "plan"
        assert resource["subject"]["reference"] == f"Patient/{row.patient_id}"
        assert resource["period"]["start"] == row.start_on.isoformat()
        assert ("end" in resource["period"]) == (row.state in (C.COMPLETED, C.STOPPED))
        div = resource["text"]["div"]
        assert div.startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
        assert f"{row.infusion_count} infusions" in div and f"{row.dose_mg_per_kg:g} mg/kg" in div


def test_care_plan_search_by_patient_category_status_and_date(clinic: Clinic) -> None:
    rows = courses(clinic)
    patient = rows[0].patient_id
    mine = {f"course-{r.id}" for r in rows if r.patient_id == patient}
    assert ids(clinic.resources("/CarePlan", patient=str(patient))) == mine
    category = "http://hl7.org/fhir/us/core/CodeSystem/careplan-category|assess-plan"
    assert ids(clinic.resources("/CarePlan", patient=str(patient), category=category)) == mine
    assert clinic.resources("/CarePlan", patient=str(patient), category="careteam") == []
    for status in {plan_status(r) for r in rows}:
        assert ids(clinic.resources("/CarePlan", status=status)) == {
            f"course-{r.id}" for r in rows if plan_status(r) == status}
    starts = sorted({r.start_on for r in rows})
    pivot = starts[len(starts) // 2]

    def on(prefix: str, day: date) -> set[str]:
        return ids(clinic.resources("/CarePlan", date=f"{prefix}{day.isoformat()}"))

    assert on("ge", pivot) == {f"course-{r.id}" for r in rows if r.start_on >= pivot}
    assert on("lt", pivot) == {f"course-{r.id}" for r in rows if r.start_on < pivot}
    assert on("", pivot) == {f"course-{r.id}" for r in rows if r.start_on == pivot}
    assert on("gt", pivot) == {f"course-{r.id}" for r in rows if r.start_on > pivot}
    assert on("le", pivot - timedelta(days=1)) == on("lt", pivot)


def test_care_plan_is_clinical(clinic: Clinic) -> None:
    assert clinic.get("/CarePlan", Role.FRONT_DESK).status_code == 403
    bundle: dict[str, Any] = clinic.ok("/CarePlan", Role.NURSE, _include="CarePlan:patient",
                                       _count="5")
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert kinds == {"CarePlan", "Patient"}


def test_consents_are_the_treatment_consents(clinic: Clinic) -> None:
    fresh(clinic)
    rows = list(clinic.db.scalars(select(Consent).order_by(Consent.id)))
    found = {r["id"]: r for r in clinic.resources("/Consent")}
    assert set(found) == {f"consent-{row.id}" for row in rows}
    for row in rows:
        resource = found[f"consent-{row.id}"]
        assert resource["patient"]["reference"] == f"Patient/{row.patient_id}"
        assert resource["dateTime"] == row.consented_on.isoformat()
        assert row.form_version in resource["policyRule"]["text"]
    assert ids(clinic.resources("/Consent", status="active", scope="treatment")) == set(found)
    assert clinic.resources("/Consent", status="inactive") == []
    pivot = sorted(r.consented_on for r in rows)[len(rows) // 2]
    assert ids(clinic.resources("/Consent", date=f"le{pivot.isoformat()}")) == {
        f"consent-{r.id}" for r in rows if r.consented_on <= pivot}
    assert ids(clinic.resources("/Consent", date=f"gt{pivot.isoformat()}")) == {
        f"consent-{r.id}" for r in rows if r.consented_on > pivot}
    patient = rows[0].patient_id
    assert ids(clinic.resources("/Consent", patient=str(patient))) == {
        f"consent-{r.id}" for r in rows if r.patient_id == patient}
    # Each course points at the consent it was started under, and that consent is served.
    course = clinic.db.scalars(select(TreatmentCourse)).first()
    assert course is not None and f"consent-{course.consent_id}" in found
    assert clinic.get("/Consent", Role.FRONT_DESK).status_code == 403
