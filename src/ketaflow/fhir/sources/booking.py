"""Sources of Appointment, Location and Group (the booking domain)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from ketaflow.booking.models import Appointment, AppointmentState, Site
from ketaflow.fhir import search
from ketaflow.fhir.codes import Resource, us_core
from ketaflow.fhir.mappers import booking

APPOINTMENT_STATUS = "http://hl7.org/fhir/appointmentstatus"
# A move keeps the earlier row with a later one replacing it: the earlier booking is cancelled.
_STATUS = {AppointmentState.BOOKED: "booked", AppointmentState.ATTENDED: "fulfilled",
           AppointmentState.NO_SHOW: "noshow", AppointmentState.CANCELLED: "cancelled",
           AppointmentState.MOVED: "cancelled"}
STATUS_SQL = case(_STATUS, value=Appointment.state)


def _appointments(query: Select[Any]) -> Select[Any]:
    return query.select_from(Appointment)


def _load_appointments(session: Session, ids: Sequence[int]) -> Mapping[int, Resource]:
    rows = session.execute(select(Appointment, STATUS_SQL, Site.name)
                           .join(Site, Site.id == Appointment.site_id)
                           .where(Appointment.id.in_(ids))).all()
    return {row.id: booking.appointment(row, status, site) for row, status, site in rows}


# Base R4: US Core has no Appointment profile.
# The row keeps no time of its state changes, so _lastUpdated is the booking time.
APPOINTMENT = search.Source(
    key="appointment", row=Appointment.id, updated=Appointment.booked_at,
    base=_appointments, load=_load_appointments, profile=None, prefix="appointment-",
    filters={"patient": search.references(Appointment.patient_id),
             "date": search.date_filter(Appointment.starts_at),
             "status": search.column_tokens(STATUS_SQL, APPOINTMENT_STATUS)},
)


def _sites(query: Select[Any]) -> Select[Any]:
    return query.select_from(Site)


def _load_sites(session: Session, ids: Sequence[int]) -> Mapping[int, Resource]:
    return {site.id: booking.location(site)
            for site in session.scalars(select(Site).where(Site.id.in_(ids)))}


LOCATION = search.Source(
    key="site", row=Site.id, updated=Site.created_at, base=_sites, load=_load_sites,
    profile=us_core("location"), prefix=booking.LOCATION_PREFIX,
    # Names are matched without case (ASCII letters only, as for staff names).
    filters={"name": search.name_words(func.lower(" " + Site.name + " ")),
             "identifier": search.column_tokens(Site.code, booking.SITE_SYSTEM)},
)


def site_members(site_id: Any) -> Select[Any]:
    """The patients of a site's Group: those with an appointment there (one row each)."""
    return (select(Appointment.patient_id).where(Appointment.site_id == site_id)
            .group_by(Appointment.patient_id))


def _load_groups(session: Session, ids: Sequence[int]) -> Mapping[int, Resource]:
    members: dict[int, list[int]] = {site_id: [] for site_id in ids}
    for site_id, patient_id in session.execute(
            select(Appointment.site_id, Appointment.patient_id)
            .where(Appointment.site_id.in_(ids)).distinct()
            .order_by(Appointment.site_id, Appointment.patient_id)):
        members[site_id].append(patient_id)
    return {site.id: booking.group(site, members[site.id])
            for site in session.scalars(select(Site).where(Site.id.in_(ids)))}


# Membership changes with each booking: the Group was last updated at its newest booking.
_GROUP_UPDATED = func.coalesce(
    select(func.max(Appointment.booked_at)).where(Appointment.site_id == Site.id)
    .correlate(Site).scalar_subquery(), Site.created_at)

GROUP = search.Source(
    key="group", row=Site.id, updated=_GROUP_UPDATED, base=_sites,
    load=_load_groups, profile=None, prefix=booking.LOCATION_PREFIX,
    filters={"name": search.name_words(func.lower(" Patients of " + Site.name + " ")),
             "identifier": search.column_tokens(Site.code, booking.SITE_SYSTEM)},
)
