"""Appointment and Location on the seeded clinic (both databases): checked against the
calendar's rows, statuses mapped here independently, searched by patient, date prefixes and
status; the front desk, who books, may read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from ketaflow.booking.models import Appointment, AppointmentState, Site
from ketaflow.config import Role
from tests.fhir.conftest import Clinic, fresh, ids

A = AppointmentState


def appointment_status(row: Appointment) -> str:
    return {A.BOOKED: "booked", A.ATTENDED: "fulfilled", A.NO_SHOW: "noshow"}.get(
        row.state, "cancelled")


def appointments(clinic: Clinic) -> list[Appointment]:
    fresh(clinic)
    return list(clinic.db.scalars(select(Appointment).order_by(Appointment.id)))


def test_appointments_are_the_bookings(clinic: Clinic) -> None:
    rows = appointments(clinic)
    found = {r["id"]: r for r in clinic.resources("/Appointment", Role.FRONT_DESK)}
    assert set(found) == {f"appointment-{row.id}" for row in rows}
    for row in rows:
        resource = found[f"appointment-{row.id}"]
        assert resource["status"] == appointment_status(row)
        assert datetime.fromisoformat(resource["start"]) == row.starts_at
        assert datetime.fromisoformat(resource["end"]) == row.starts_at + timedelta(
            minutes=row.minutes)
        actors = [p["actor"]["reference"] for p in resource["participant"]]
        assert actors[:2] == [f"Patient/{row.patient_id}", f"Location/site-{row.site_id}"]
        if row.staff_user_id is not None:
            assert f"Practitioner/staff-{row.staff_user_id}" in actors
        assert ("cancelationReason" in resource) == (row.state in (A.CANCELLED, A.MOVED))
    assert any(r.state is A.MOVED for r in rows), "the demo moves one booking"


def test_appointment_search_by_patient_date_and_status(clinic: Clinic) -> None:
    rows = appointments(clinic)
    patient = rows[0].patient_id
    mine = [r for r in rows if r.patient_id == patient]
    assert ids(clinic.resources("/Appointment", patient=str(patient))) == {
        f"appointment-{r.id}" for r in mine}
    starts = sorted(r.starts_at for r in rows)
    pivot = starts[len(starts) // 2]
    at = pivot.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    cut = pivot.replace(microsecond=0)
    assert ids(clinic.resources("/Appointment", date=f"ge{at}")) == {
        f"appointment-{r.id}" for r in rows if r.starts_at >= cut}
    assert ids(clinic.resources("/Appointment", date=f"lt{at}")) == {
        f"appointment-{r.id}" for r in rows if r.starts_at < cut}
    for status in {appointment_status(r) for r in rows}:
        assert ids(clinic.resources("/Appointment", status=status)) == {
            f"appointment-{r.id}" for r in rows if appointment_status(r) == status}


def test_appointment_include_patient_from_participants(clinic: Clinic) -> None:
    rows = appointments(clinic)
    patient = rows[0].patient_id
    bundle = clinic.ok("/Appointment", Role.FRONT_DESK, patient=str(patient),
                       _include="Appointment:patient")
    included = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "include"]
    assert [(r["resourceType"], r["id"]) for r in included] == [("Patient", str(patient))]


def test_locations_are_the_sites_and_appointments_point_at_them(clinic: Clinic) -> None:
    fresh(clinic)
    sites = list(clinic.db.scalars(select(Site)))
    found = {r["id"]: r for r in clinic.resources("/Location", Role.FRONT_DESK)}
    assert set(found) == {f"site-{s.id}" for s in sites}
    for site in sites:
        resource = found[f"site-{site.id}"]
        assert resource["name"] == site.name
        days = {h["daysOfWeek"][0]: (h["openingTime"], h["closingTime"])
                for h in resource["hoursOfOperation"]}
        assert days == {d: (f"{o}:00", f"{c}:00") for d, (o, c) in site.opening_hours.items()}
    north = next(s for s in sites if s.code == "NORTH")
    assert ids(clinic.resources("/Location", name="north")) == {f"site-{north.id}"}
    assert ids(clinic.resources("/Location", identifier="SOUTH")) == {
        f"site-{s.id}" for s in sites if s.code == "SOUTH"}
    some = clinic.ok("/Appointment", _count="1")["entry"][0]["resource"]
    location = next(p["actor"]["reference"] for p in some["participant"]
                    if p["actor"]["reference"].startswith("Location/"))
    assert clinic.ok(f"/{location}", Role.FRONT_DESK)["resourceType"] == "Location"


def test_researcher_reads_neither(clinic: Clinic) -> None:
    assert clinic.get("/Appointment", Role.RESEARCHER).status_code == 403
    assert clinic.get("/Location", Role.RESEARCHER).status_code == 403
