"""Re-planning a week after a nurse's leave, on both databases: the infusions she watched
are listed, kept at their time with a nurse on shift, the old rows kept as "moved"; with no
nurse free they are listed to move; a proposal made before another change is refused."""

from __future__ import annotations

import json
from datetime import time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.booking import replan, service, sites
from ketaflow.booking.models import Appointment, AppointmentState, StaffShift
from ketaflow.config import Role
from ketaflow.errors import Conflict
from tests.booking.factories import Clinic, make_clinic
from tests.patients.factories import make_patient
from tests.support.factories import SYSTEM, make_user


def _two_on_monday(db: Session, clinic: Clinic) -> list[Appointment]:
    """Two patients' first infusions on the first Monday, both watched by Nora."""
    booked = []
    for family in ("Arendt", "Basu"):
        patient = make_patient(db, family_name=family)
        ask = service.SeriesAsk(patient_id=patient.id, site_id=clinic.site.id, count=1,
                                earliest_on=clinic.first_monday)
        proposal = service.propose_series(db, ask=ask)
        booked += service.book_series(db, SYSTEM, ask=ask, option=0, version=proposal.version,
                                      booked_by_user_id=None)
    assert {a.staff_user_id for a in booked} == {clinic.nurse.id}
    return booked


def _leave(db: Session, clinic: Clinic) -> None:
    shift = db.scalar(select(StaffShift).where(StaffShift.staff_user_id == clinic.nurse.id,
                                               StaffShift.on == clinic.first_monday))
    assert shift is not None
    sites.cancel_shift(db, SYSTEM, shift_id=shift.id, reason="sick")


def test_a_nurse_on_shift_takes_the_infusions_of_the_nurse_on_leave(db: Session) -> None:
    clinic = make_clinic(db)
    booked = _two_on_monday(db, clinic)
    cover = make_user(db, role=Role.NURSE, full_name="Cora Lind")
    sites.add_shift(db, SYSTEM, staff_user_id=cover.id, site_id=clinic.site.id,
                    on=clinic.first_monday, starts=time(8), ends=time(18))
    assert replan.propose(db, site_id=clinic.site.id, week_start=clinic.first_monday).items == ()
    _leave(db, clinic)
    assert replan.broken_on(db, site_id=clinic.site.id, day=clinic.first_monday) == 2
    plan = replan.propose(db, site_id=clinic.site.id, week_start=clinic.first_monday)
    assert [i.appointment.id for i in plan.changes] == [a.id for a in booked]
    assert {(i.nurse_name, i.was_nurse) for i in plan.changes} == {("Cora Lind", "Nora Quist")}
    assert all("its nurse is not on shift throughout" in i.problems for i in plan.changes)
    done = replan.apply(db, SYSTEM, site_id=clinic.site.id, week_start=clinic.first_monday,
                        version=plan.version, booked_by_user_id=None)
    assert len(done.changes) == 2
    for old in booked:
        db.refresh(old)
        assert old.state is AppointmentState.MOVED and "rota change" in (old.state_reason or "")
        new = db.scalar(select(Appointment).where(Appointment.replaces_id == old.id))
        assert new is not None and new.state is AppointmentState.BOOKED
        assert (new.starts_at, new.series_id, new.staff_user_id) == (
            old.starts_at, old.series_id, cover.id)
    assert replan.propose(db, site_id=clinic.site.id, week_start=clinic.first_monday).items == ()
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "appointment.week_replan"))
    assert event is not None and sorted(json.loads(event.detail)["moved"]) == sorted(
        a.id for a in booked)


def test_with_no_nurse_free_the_infusions_are_listed_to_move(db: Session) -> None:
    clinic = make_clinic(db)
    booked = _two_on_monday(db, clinic)
    _leave(db, clinic)
    plan = replan.propose(db, site_id=clinic.site.id, week_start=clinic.first_monday)
    assert plan.changes == () and [i.appointment.id for i in plan.to_move] == [
        a.id for a in booked]
    with pytest.raises(Conflict):
        replan.apply(db, SYSTEM, site_id=clinic.site.id, week_start=clinic.first_monday,
                     version=plan.version, booked_by_user_id=None)


def test_a_proposal_made_before_another_change_is_refused(db: Session) -> None:
    clinic = make_clinic(db)
    _two_on_monday(db, clinic)
    cover = make_user(db, role=Role.NURSE, full_name="Cora Lind")
    sites.add_shift(db, SYSTEM, staff_user_id=cover.id, site_id=clinic.site.id,
                    on=clinic.first_monday, starts=time(8), ends=time(18))
    _leave(db, clinic)
    plan = replan.propose(db, site_id=clinic.site.id, week_start=clinic.first_monday)
    sites.add_shift(db, SYSTEM, staff_user_id=cover.id, site_id=clinic.site.id,
                    on=clinic.first_monday + timedelta(days=1), starts=time(8),
                    ends=time(12))
    with pytest.raises(Conflict):
        replan.apply(db, SYSTEM, site_id=clinic.site.id, week_start=clinic.first_monday,
                     version=plan.version, booked_by_user_id=None)
