"""Sites, chairs and shifts on both databases: what is stored and what is refused."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.booking import sites
from ketaflow.config import Role
from ketaflow.errors import Conflict, ValidationFailed
from tests.support.factories import SYSTEM, make_user

MONDAY = date(2027, 1, 4)
HOURS = {"mon": ("08:00", "18:00"), "tue": ("08:00", "18:00")}


def site_entry(**changes: object) -> sites.SiteEntry:
    values: dict[str, object] = {"code": "A", "name": "Main street", "timezone":
                                 "America/New_York", "opening_hours": HOURS, "chairs": 4}
    return sites.SiteEntry(**(values | changes))  # type: ignore[arg-type]


def test_a_site_gets_numbered_chairs_and_an_audit_event(db: Session) -> None:
    site = sites.create_site(db, SYSTEM, entry=site_entry())
    assert [c.number for c in sites.chairs(db, site.id)] == [1, 2, 3, 4]
    assert site.nurse_ratio == 2
    assert db.scalar(select(AuditEvent.action).where(AuditEvent.entity_type == "site")) == (
        "site.create")
    with pytest.raises(Conflict):
        sites.create_site(db, SYSTEM, entry=site_entry(name="Other"))


def test_every_bad_site_field_is_named_at_once(db: Session) -> None:
    with pytest.raises(ValidationFailed) as refused:
        sites.create_site(db, SYSTEM, entry=site_entry(
            code="a b", timezone="Mars/Base", chairs=0, nurse_ratio=9,
            opening_hours={"mon": ("18:00", "08:00")}))
    fields = {p.field for p in refused.value.problems}
    assert fields == {"code", "timezone", "chairs", "nurse_ratio", "open_mon"}


def test_shifts_must_fit_opening_hours_and_not_overlap(db: Session) -> None:
    site = sites.create_site(db, SYSTEM, entry=site_entry())
    nurse = make_user(db, role=Role.NURSE)
    sites.add_shift(db, SYSTEM, staff_user_id=nurse.id, site_id=site.id, on=MONDAY,
                    starts=time(8), ends=time(12))
    # Back to back is not an overlap.
    sites.add_shift(db, SYSTEM, staff_user_id=nurse.id, site_id=site.id, on=MONDAY,
                    starts=time(12), ends=time(16))
    cases = [
        ({"starts": time(11), "ends": time(13)}, "overlaps"),
        ({"starts": time(7, 30), "ends": time(9)}, "inside opening hours 08:00 to 18:00"),
        ({"starts": time(17), "ends": time(18, 30)}, "inside opening hours"),
        ({"starts": time(10), "ends": time(9)}, "after its start"),
        ({"on": date(2027, 1, 6), "starts": time(9), "ends": time(10)}, "closed on Wed"),
    ]
    for change, words in cases:
        values = {"on": MONDAY} | change
        with pytest.raises(ValidationFailed) as refused:
            sites.add_shift(db, SYSTEM, staff_user_id=nurse.id, site_id=site.id, **values)
        assert words in refused.value.detail
    assert len(sites.shifts(db, site.id, MONDAY, MONDAY)) == 2


def test_a_closure_day_refuses_shifts_and_leave_keeps_the_shift(db: Session) -> None:
    site = sites.create_site(db, SYSTEM, entry=site_entry())
    nurse = make_user(db, role=Role.NURSE)
    tuesday = date(2027, 1, 5)
    sites.add_closure(db, SYSTEM, site_id=site.id, on=tuesday, reason="Staff training")
    with pytest.raises(ValidationFailed, match="closed on Tue"):
        sites.add_shift(db, SYSTEM, staff_user_id=nurse.id, site_id=site.id, on=tuesday,
                        starts=time(9), ends=time(12))
    shift = sites.add_shift(db, SYSTEM, staff_user_id=nurse.id, site_id=site.id, on=MONDAY,
                            starts=time(9), ends=time(12))
    sites.cancel_shift(db, SYSTEM, shift_id=shift.id, reason="Annual leave")
    assert sites.shifts(db, site.id, MONDAY, MONDAY) == []
    assert shift.cancel_reason == "Annual leave"


def test_only_nurses_and_prescribers_take_shifts(db: Session) -> None:
    site = sites.create_site(db, SYSTEM, entry=site_entry())
    desk = make_user(db, role=Role.FRONT_DESK)
    with pytest.raises(ValidationFailed, match="nurse or a prescriber"):
        sites.add_shift(db, SYSTEM, staff_user_id=desk.id, site_id=site.id, on=MONDAY,
                        starts=time(9), ends=time(12))
