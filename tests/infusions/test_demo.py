"""Demo sessions: completed ones discharged with signed notes, one in progress, ledger balanced."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from ketaflow.errors import Conflict
from ketaflow.infusions import service
from ketaflow.infusions.controlled import reconciliation
from ketaflow.infusions.controlled import service as ledger
from ketaflow.infusions.demo import CLINIC_DAY, DEMO_LOT, seed_clinic_day, seed_sessions
from ketaflow.infusions.rules import SessionAction, SessionStatus
from ketaflow.infusions.service._common import clock_at
from tests.infusions.factories import make_clinic, make_course
from tests.support.factories import SYSTEM


def test_seed_sessions(db: Session) -> None:
    assert seed_sessions(db, SYSTEM) == []  # no active course yet: nothing to add
    clinic = make_clinic(db)
    make_course(db, clinic)
    make_course(db, clinic, weight_kg=82)
    ids = seed_sessions(db, SYSTEM)
    records = [service.get_session(db, clinic.nurse_ctx, session_id=i) for i in ids]
    assert [r.status for r in records] == [SessionStatus.DISCHARGED] * 4 + [SessionStatus.RUNNING]
    done = records[0]
    assert len(done.vitals) == 9 and done.notes[0].signed_at is not None
    assert done.discharge is not None and done.discharge.override_reason is None
    assert len(records[-1].vitals) == 3
    assert ledger.discrepancy_report(db, closed_sessions=ids[:-1]) == []
    # 70 kg and 82 kg at 0.5 mg/kg, twice each, and the session in progress.
    assert ledger.inventory(db)[DEMO_LOT] == 2000 - 2 * 35 - 2 * 41 - 35


def test_seed_clinic_day_has_a_session_in_each_state(db: Session) -> None:
    clinic = make_clinic(db)
    make_course(db, clinic)
    seed_sessions(db, SYSTEM)  # receives the lot the day draws from
    courses = [make_course(db, clinic) for _ in CLINIC_DAY]
    ids = seed_clinic_day(db, SYSTEM, courses)
    assert list(ids) == list(CLINIC_DAY)
    records = {state: service.get_session(db, clinic.nurse_ctx, session_id=i)
               for state, i in ids.items()}
    status = {state: r.status for state, r in records.items()}
    S = SessionStatus
    assert status == {"planned": S.PLANNED, "prechecks": S.PRECHECKS, "running": S.RUNNING,
                      "paused-hold": S.PAUSED, "overrun": S.RUNNING, "stopped-early": S.STOPPED,
                      "observation": S.OBSERVATION, "discharged": S.DISCHARGED}
    # Pre-checks done: the pump may start.
    assert service.precheck_status(db, clinic.nurse_ctx, records["prechecks"]).problems == ()

    def open_codes(state: str) -> list[tuple[str, str]]:
        record = service.load_session(db, ids[state])
        return [(a.level.value, a.code) for a in record.alerts if a.acknowledged_at is None]

    assert open_codes("running") == [] and open_codes("observation") == []
    assert ("hold", "bp-severe-repeat") in open_codes("paused-hold")
    with pytest.raises(Conflict):
        service.apply_action(db, clinic.nurse_ctx, session_id=ids["paused-hold"],
                             action=SessionAction.RESUME)
    # The overrun: past its 40 minutes, alarmed once however often it is looked at.
    overrun = [("stop", "overrun-volume"), ("hold", "overrun-duration")]
    assert open_codes("overrun") == overrun
    service.chair_view(db, clinic.nurse_ctx, session_id=ids["overrun"])
    assert open_codes("overrun") == overrun
    live = service.live_view(db, clinic.nurse_ctx, session_id=ids["overrun"])
    assert live.running_min is not None and live.running_min > 45
    # Stopped early, with its reason on the stop.
    stop = next(e for e in records["stopped-early"].events
                if e.detail.get("action") == "stop")
    assert stop.detail["early"] is True and "nausea" in (stop.reason or "")
    done = records["discharged"]
    assert done.notes[0].signed_at is not None and done.discharge is not None
    # Today: everything within the last two hours, nothing in the future.
    moment = service.now()
    for record in records.values():
        assert moment - timedelta(hours=2) <= record.opened_at <= moment


def test_the_clinic_day_seeds_just_after_midnight(db: Session) -> None:
    # Sessions then open yesterday evening, a calendar day before the lot was received: their
    # orders take the lot's expiry from the receipt (a CI run at 00:20 UTC once failed here).
    clinic = make_clinic(db)
    make_course(db, clinic)
    midnight = service.now().replace(hour=0, minute=20, second=0, microsecond=0)
    with clock_at(midnight):
        seed_sessions(db, SYSTEM)
        ids = seed_clinic_day(db, SYSTEM, [make_course(db, clinic) for _ in CLINIC_DAY])
    records = [service.load_session(db, i) for i in ids.values()]
    assert min(r.opened_at for r in records).date() < midnight.date()
    expiries = {o.expiry_date for r in records for o in r.orders}
    assert len(expiries) == 1


def test_demo_orders_use_inventory_lots_and_one_session_is_flagged(db: Session) -> None:
    clinic = make_clinic(db)
    make_course(db, clinic)
    ids = seed_sessions(db, SYSTEM)
    records = [service.get_session(db, clinic.nurse_ctx, session_id=i) for i in ids]
    assert {o.lot_number for r in records for o in r.orders} == {DEMO_LOT}
    today = service.now().date()
    report = reconciliation.build_report(db, start=today - timedelta(days=10), end=today,
                                         timezone="UTC")
    assert [s.line.session_id for s in report.sessions] == ids
    # Session 2 (three days ago) logged 5 mg as wasted that the pump record shows delivered.
    assert [(s.line.session_id, round(s.line.discrepancy_mg)) for s in report.flagged] == [
        (ids[1], -5)]
    assert not report.flagged[0].line.accounting_flagged
