"""Single visits with a prescriber and no chair, on both databases."""

from __future__ import annotations

from datetime import datetime, time

import pytest
from sqlalchemy.orm import Session

from ketaflow.booking import visits
from ketaflow.booking.models import AppointmentKind
from ketaflow.booking.service import local_instant
from ketaflow.errors import Conflict, ValidationFailed
from tests.booking.factories import Clinic, make_clinic
from tests.patients.factories import make_patient
from tests.support.factories import SYSTEM


def at(clinic: Clinic, hour: int, minute: int = 0) -> datetime:
    from zoneinfo import ZoneInfo

    return local_instant(clinic.first_monday, time(hour, minute), ZoneInfo(clinic.site.timezone))


def test_a_visit_takes_the_free_prescriber_and_refuses_what_cannot_be(db: Session) -> None:
    clinic = make_clinic(db)
    first, second = make_patient(db, email="a@example.org"), make_patient(db)
    visit = visits.book_visit(db, SYSTEM, patient_id=first.id, site_id=clinic.site.id,
                              kind=AppointmentKind.SCREENING, starts_at=at(clinic, 9),
                              booked_by_user_id=None)
    assert (visit.minutes, visit.staff_user_id, visit.chair_id) == (60, clinic.prescriber.id,
                                                                    None)
    # The only prescriber is seeing the first patient until 10:00.
    with pytest.raises(Conflict, match="no prescriber is free"):
        visits.book_visit(db, SYSTEM, patient_id=second.id, site_id=clinic.site.id,
                          kind=AppointmentKind.FOLLOW_UP, starts_at=at(clinic, 9, 30),
                          booked_by_user_id=None)
    back_to_back = visits.book_visit(db, SYSTEM, patient_id=second.id, site_id=clinic.site.id,
                                     kind=AppointmentKind.FOLLOW_UP, starts_at=at(clinic, 10),
                                     booked_by_user_id=None)
    assert back_to_back.minutes == 30
    with pytest.raises(Conflict, match="another appointment"):
        visits.book_visit(db, SYSTEM, patient_id=first.id, site_id=clinic.site.id,
                          kind=AppointmentKind.FOLLOW_UP, starts_at=at(clinic, 9, 30),
                          booked_by_user_id=None)
    with pytest.raises(ValidationFailed, match="not open for the whole visit"):
        visits.book_visit(db, SYSTEM, patient_id=second.id, site_id=clinic.site.id,
                          kind=AppointmentKind.SCREENING, starts_at=at(clinic, 17, 30),
                          booked_by_user_id=None)
    with pytest.raises(ValidationFailed, match="screening or a follow-up"):
        visits.book_visit(db, SYSTEM, patient_id=second.id, site_id=clinic.site.id,
                          kind=AppointmentKind.INFUSION, starts_at=at(clinic, 12),
                          booked_by_user_id=None)
