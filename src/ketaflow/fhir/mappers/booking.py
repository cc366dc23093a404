"""Appointment (the clinic calendar's bookings), Location (a site where infusions are
given) and Group (a site's patients, for group-level `$export`), from the booking domain's
rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from ketaflow.booking.models import Appointment, AppointmentKind, AppointmentState, Site
from ketaflow.fhir.codes import Resource, practitioner_id, reference

SITE_SYSTEM = "https://ketaflow.org/fhir/sid/site"
LOCATION_PREFIX = "site-"
_SERVICE = {AppointmentKind.SCREENING: "Eligibility screening",
            AppointmentKind.INFUSION: "Ketamine infusion",
            AppointmentKind.FOLLOW_UP: "Follow-up visit"}
# Why a booking no longer stands, by state (the desk's typed reason is not sent: free text
# may name people).
_CANCELLED_BECAUSE = {AppointmentState.CANCELLED: "Cancelled",
                      AppointmentState.MOVED: "Moved to another time (a later booking "
                                              "replaces it)"}


def location_id(site_id: int) -> str:
    return f"{LOCATION_PREFIX}{site_id}"


def _participant(actor: dict[str, str]) -> Resource:
    return {"actor": actor, "required": "required", "status": "accepted"}


def appointment(row: Appointment, status: str, site_name: str) -> Resource:
    description = _SERVICE[row.kind]
    if row.infusion_number is not None:
        description = f"{description} {row.infusion_number}"
    participants = [_participant(reference("Patient", row.patient_id)),
                    _participant(reference("Location", location_id(row.site_id), site_name))]
    if row.staff_user_id is not None:
        participants.append(_participant(reference("Practitioner",
                                                   practitioner_id(row.staff_user_id))))
    resource: Resource = {
        "resourceType": "Appointment",
        "status": status,
        "serviceType": [{"text": _SERVICE[row.kind]}],
        "description": description,
        "start": row.starts_at.isoformat(),
        "end": (row.starts_at + timedelta(minutes=row.minutes)).isoformat(),
        "minutesDuration": row.minutes,
        "created": row.booked_at.isoformat(),
        "participant": participants,
    }
    if row.state in _CANCELLED_BECAUSE:
        resource["cancelationReason"] = {"text": _CANCELLED_BECAUSE[row.state]}
    return resource


def location(site: Site) -> Resource:
    """A site: its opening hours as the calendar keeps them (site-local, zone named)."""
    return {
        "resourceType": "Location",
        "identifier": [{"system": SITE_SYSTEM, "value": site.code}],
        "status": "active",
        "name": site.name,
        "description": f"Infusion site (times in {site.timezone})",
        "mode": "instance",
        "managingOrganization": reference("Organization", "clinic"),
        "hoursOfOperation": [
            {"daysOfWeek": [day], "openingTime": f"{hours[0]}:00",
             "closingTime": f"{hours[1]}:00"}
            for day, hours in site.opening_hours.items()],
    }


def group(site: Site, patient_ids: Sequence[int]) -> Resource:
    """A site's patients: everyone with an appointment booked there (in any state), so a
    registry or a payer can take one site's records with `Group/{id}/$export`."""
    return {
        "resourceType": "Group",
        "identifier": [{"system": SITE_SYSTEM, "value": site.code}],
        "active": True,
        "type": "person",
        "actual": True,
        "name": f"Patients of {site.name}",
        "managingEntity": reference("Organization", "clinic"),
        "quantity": len(patient_ids),
        "member": [{"entity": reference("Patient", pid)} for pid in patient_ids],
    }
