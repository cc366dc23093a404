"""A two-chair site with a nurse and a prescriber on shift on weekdays, for booking tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy.orm import Session

from ketaflow.auth.models import StaffUser
from ketaflow.booking import sites
from ketaflow.booking.models import Site
from ketaflow.config import Role
from ketaflow.db import utcnow
from tests.support.factories import SYSTEM, make_user

WEEKDAY_HOURS = {d: ("08:00", "18:00") for d in ("mon", "tue", "wed", "thu", "fri")}


@dataclass(frozen=True)
class Clinic:
    site: Site
    nurse: StaffUser
    prescriber: StaffUser
    first_monday: date


def next_monday(weeks_ahead: int = 1) -> date:
    today = utcnow().date()
    return today + timedelta(days=7 * weeks_ahead - today.weekday())


def make_clinic(db: Session, *, chairs: int = 2, weeks: int = 5, ratio: int = 2,
                zone: str = "America/New_York", prescriber: bool = True) -> Clinic:
    site = sites.create_site(db, SYSTEM, entry=sites.SiteEntry(
        code=f"S{next_monday().toordinal() % 1000}{chairs}", name="Lakeside",
        timezone=zone, opening_hours=WEEKDAY_HOURS, chairs=chairs, nurse_ratio=ratio))
    nurse = make_user(db, role=Role.NURSE, full_name="Nora Quist")
    doctor = make_user(db, role=Role.PRESCRIBER, full_name="Dr Paul Okoye")
    monday = next_monday()
    for offset in range(7 * weeks):
        day = monday + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        sites.add_shift(db, SYSTEM, staff_user_id=nurse.id, site_id=site.id, on=day,
                        starts=time(8), ends=time(18))
        if prescriber:
            sites.add_shift(db, SYSTEM, staff_user_id=doctor.id, site_id=site.id, on=day,
                            starts=time(8), ends=time(18))
    return Clinic(site, nurse, doctor, monday)
