"""A site's day, cancellations, no-shows and the waiting list, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from ketaflow.booking import appointments, sites
from ketaflow.booking.models import Appointment, AppointmentKind, AppointmentState
from ketaflow.db import utcnow
from ketaflow.errors import Conflict, ValidationFailed
from tests.booking.test_sites import site_entry
from tests.patients.factories import make_patient
from tests.support.factories import SYSTEM


def book(db: Session, site_id: int, patient_id: int, starts_at: datetime,
         kind: AppointmentKind = AppointmentKind.INFUSION) -> Appointment:
    row = Appointment(patient_id=patient_id, site_id=site_id, kind=kind, starts_at=starts_at,
                      minutes=120)
    db.add(row)
    db.flush()
    return row


def test_the_day_is_the_sites_local_day_in_time_order(db: Session) -> None:
    site = sites.create_site(db, SYSTEM, entry=site_entry(timezone="America/New_York"))
    first, second = make_patient(db), make_patient(db)
    # 03:30 UTC on the 5th is 22:30 on the 4th in New York: the 4th's list, last line.
    late = book(db, site.id, first.id, datetime(2027, 1, 5, 3, 30, tzinfo=UTC))
    early = book(db, site.id, second.id, datetime(2027, 1, 4, 14, 0, tzinfo=UTC))
    book(db, site.id, second.id, datetime(2027, 1, 5, 14, 0, tzinfo=UTC))
    day = appointments.site_day(db, SYSTEM, site_id=site.id, day=date(2027, 1, 4))
    assert [row.appointment.id for row in day] == [early.id, late.id]
    assert day[0].local_start.hour == 9 and day[1].local_start.hour == 22
    assert day[0].patient.mrn == second.mrn


def test_a_cancellation_needs_a_reason_and_offers_the_slot_to_the_waiting_list(
        db: Session) -> None:
    site = sites.create_site(db, SYSTEM, entry=site_entry())
    booked, waiting = make_patient(db), make_patient(db)
    entry = appointments.add_to_waitlist(db, SYSTEM, patient_id=waiting.id, site_id=site.id,
                                         kind=AppointmentKind.INFUSION, note=None,
                                         added_by_user_id=None)
    row = book(db, site.id, booked.id, utcnow() + timedelta(days=2))
    with pytest.raises(ValidationFailed, match="Reason is required"):
        appointments.close_appointment(db, SYSTEM, appointment_id=row.id,
                                       state=AppointmentState.CANCELLED, reason=" ")
    appointments.close_appointment(db, SYSTEM, appointment_id=row.id,
                                   state=AppointmentState.CANCELLED, reason="Flu")
    assert (row.state, row.state_reason) == (AppointmentState.CANCELLED, "Flu")
    assert entry.offered_appointment_id == row.id
    with pytest.raises(Conflict, match="already cancelled"):
        appointments.close_appointment(db, SYSTEM, appointment_id=row.id,
                                       state=AppointmentState.NO_SHOW, reason="Did not come")


def test_a_no_show_frees_nothing_for_the_waiting_list(db: Session) -> None:
    site = sites.create_site(db, SYSTEM, entry=site_entry())
    booked, waiting = make_patient(db), make_patient(db)
    entry = appointments.add_to_waitlist(db, SYSTEM, patient_id=waiting.id, site_id=site.id,
                                         kind=AppointmentKind.INFUSION, note="mornings",
                                         added_by_user_id=None)
    row = book(db, site.id, booked.id, utcnow() - timedelta(hours=1))
    appointments.close_appointment(db, SYSTEM, appointment_id=row.id,
                                   state=AppointmentState.NO_SHOW, reason="Did not come")
    assert entry.offered_appointment_id is None
    with pytest.raises(ValidationFailed, match="cancelled or no-show"):
        appointments.close_appointment(db, SYSTEM, appointment_id=row.id,
                                       state=AppointmentState.ATTENDED, reason="x")
