"""Patient, Practitioner (a staff account) and Organization (the clinic profile)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Row

from ketaflow.auth.models import StaffUser
from ketaflow.clinic.models import ClinicProfile
from ketaflow.fhir.codes import IDENTIFIER_TYPE, MRN_SYSTEM, STAFF_SYSTEM, Resource, concept
from ketaflow.patients.models import Patient, PatientDemographics, Sex

# Sex assigned at birth as FHIR's administrative gender (intersex has no code of its own).
_GENDER = {Sex.FEMALE: "female", Sex.MALE: "male", Sex.INTERSEX: "other",
           Sex.UNKNOWN: "unknown"}
# Title words and post-nominal letters are not the family name of a staff member.
_TITLES = frozenset({"dr", "dr.", "mr", "mrs", "ms", "mx", "prof", "prof."})
_CREDENTIALS = frozenset({"rn", "md", "do", "np", "pa", "crna", "phd", "pharmd", "lpn", "aprn",
                          "msn", "bsn", "mbbs", "frcpc"})


def patient(row: Patient | Row[Any], current: PatientDemographics | Row[Any],
            others: Iterable[tuple[str, str]] = ()) -> Resource:
    """`others`: identifiers other systems gave the patient (kept from referrals). `row` and
    `current` may be one plain row with the columns of both (the Patient source's)."""
    resource: Resource = {
        "resourceType": "Patient",
        "identifier": [{
            "use": "usual",
            "type": concept(IDENTIFIER_TYPE, "MR", "Medical record number"),
            "system": MRN_SYSTEM,
            "value": row.mrn,
        }, *({"use": "secondary", "system": system, "value": value}
             for system, value in others)],
        "active": True,
        "name": [{"use": "official", "family": current.family_name,
                  "given": [current.given_name]}],
        "gender": _GENDER[current.sex],
        "birthDate": current.date_of_birth.isoformat(),
    }
    telecom = [{"system": "phone", "value": current.phone, "use": "home"}] if current.phone else []
    if current.email:
        telecom.append({"system": "email", "value": current.email})
    if telecom:
        resource["telecom"] = telecom
    if current.address:
        # Stored as one free-text block, so it is sent as text, not split into lines.
        resource["address"] = [{"use": "home", "text": current.address}]
    if current.emergency_contact_name:
        contact: Resource = {
            "relationship": [concept("http://terminology.hl7.org/CodeSystem/v2-0131", "C",
                                     "Emergency Contact")],
            "name": {"text": current.emergency_contact_name},
        }
        if current.emergency_contact_phone:
            contact["telecom"] = [{"system": "phone", "value": current.emergency_contact_phone}]
        resource["contact"] = [contact]
    return resource


def practitioner(user: StaffUser) -> Resource:
    return {
        "resourceType": "Practitioner",
        "identifier": [{"system": STAFF_SYSTEM, "value": str(user.id)}],
        "active": user.is_active,
        "name": [staff_name(user.full_name)],
    }


def staff_name(full_name: str) -> Resource:
    """The name as typed in `text`; family and given guessed from it (titles and post-nominal
    letters left out), since US Core asks for a family name and accounts keep one field."""
    words = [w for w in full_name.split() if w.lower() not in _TITLES]
    while len(words) > 1 and words[-1].lower().strip(",.") in _CREDENTIALS:
        words.pop()
    name: Resource = {"text": full_name, "family": words[-1] if words else full_name}
    if len(words) > 1:
        name["given"] = words[:-1]
    return name


def organization(profile: ClinicProfile) -> Resource:
    resource: Resource = {
        "resourceType": "Organization",
        "identifier": [{"system": "https://ketaflow.org/fhir/sid/organization",
                        "value": "clinic"}],
        "active": True,
        "name": profile.name,
    }
    if profile.phone:
        resource["telecom"] = [{"system": "phone", "value": profile.phone, "use": "work"}]
    if profile.address:
        resource["address"] = [{"use": "work", "text": profile.address}]
    return resource
