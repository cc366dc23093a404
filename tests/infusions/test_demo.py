"""Demo sessions: completed ones discharged with signed notes, one in progress, ledger balanced."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from ketaflow.infusions import service
from ketaflow.infusions.controlled import reconciliation
from ketaflow.infusions.controlled import service as ledger
from ketaflow.infusions.demo import DEMO_LOT, seed_sessions
from ketaflow.infusions.rules import SessionStatus
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
