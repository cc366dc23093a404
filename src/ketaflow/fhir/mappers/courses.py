"""CarePlan: the treatment course (induction plan, dose per kg and cap), as US Core CarePlan
(assess-plan), with the generated narrative US Core requires."""

from __future__ import annotations

from html import escape

from ketaflow.courses.models import TreatmentCourse
from ketaflow.fhir.codes import Resource, concept, practitioner_id, reference

CAREPLAN_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/careplan-category"
_XHTML = "http://www.w3.org/1999/xhtml"


def summary(row: TreatmentCourse, status: str) -> str:
    """The plan in one sentence: no patient detail beyond the plan itself."""
    return (f"Ketamine infusion course: {row.infusion_count} infusions, "
            f"{row.frequency.label.lower()}, from {row.start_on.isoformat()}; "
            f"{row.dose_mg_per_kg:g} mg/kg up to {row.max_dose_mg:g} mg "
            f"(as {row.salt_form.value}). Course state: {row.state.value} ({status}).")


def care_plan(row: TreatmentCourse, status: str, ended: bool) -> Resource:
    """`ended`: the course reached a final state, at `state_changed_at`."""
    text = summary(row, status)
    period = {"start": row.start_on.isoformat()}
    if ended:
        period["end"] = row.state_changed_at.isoformat()
    resource: Resource = {
        "resourceType": "CarePlan",
        "text": {"status": "generated",
                 "div": f'<div xmlns="{_XHTML}"><p>{escape(text)}</p></div>'},
        "status": status,
        "intent": "plan",
        "category": [concept(CAREPLAN_CATEGORY, "assess-plan", "Assessment and Plan of Treatment")],
        "title": "Ketamine infusion course",
        "description": text,
        "subject": reference("Patient", row.patient_id),
        "period": period,
        "created": row.recorded_at.isoformat(),
    }
    if row.recorded_by_user_id is not None:
        resource["author"] = reference("Practitioner", practitioner_id(row.recorded_by_user_id))
    return resource
