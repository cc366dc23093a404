"""CarePlan: the treatment course (induction plan, dose per kg and cap), as US Core CarePlan
(assess-plan), with the generated narrative US Core requires; Consent: the off-label treatment
consent a course is started under."""

from __future__ import annotations

from html import escape

from ketaflow.courses.models import TreatmentCourse
from ketaflow.fhir.codes import Resource, concept, practitioner_id, reference
from ketaflow.screening.models import Consent

CAREPLAN_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/careplan-category"
_XHTML = "http://www.w3.org/1999/xhtml"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_FORM = "https://ketaflow.org/fhir/consent-form/"


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


def consent(row: Consent) -> Resource:
    """Consent rows are never revoked or replaced (a new consent is a new row): active. The
    policy is the clinic's consent form in the version signed; R4 has no witness element, so the
    witness is not sent (the record keeps who it was)."""
    return {
        "resourceType": "Consent",
        "status": "active",
        "scope": concept(CONSENT_SCOPE, "treatment", "Treatment"),
        "category": [{"text": "Off-label informed consent for ketamine treatment"}],
        "patient": reference("Patient", row.patient_id),
        "dateTime": row.consented_on.isoformat(),
        "performer": [reference("Patient", row.patient_id)],
        "organization": [reference("Organization", "clinic")],
        "policy": [{"uri": f"{CONSENT_FORM}{row.form_version}"}],
        "policyRule": {"text": f"Clinic consent form, version {row.form_version}"},
        "provision": {"type": "permit", "period": {"start": row.consented_on.isoformat()}},
    }
