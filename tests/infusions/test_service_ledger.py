"""Controlled-substance ledger through the service on both databases: append-only rows."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ketaflow.config import Settings
from ketaflow.errors import ValidationFailed
from ketaflow.infusions.controlled import service as ledger
from ketaflow.infusions.controlled.models import LedgerImmutableError, LedgerRow
from ketaflow.infusions.rules import EntryKind
from tests.infusions.factories import infused, make_clinic, ready_to_start, stock
from tests.support.factories import DEFAULT_PASSWORD


def test_session_accounting_and_discrepancy_report(db: Session, settings: Settings) -> None:
    clinic = make_clinic(db)
    stock(db, clinic, "LOT-1", 500)
    record = infused(db, clinic, ready_to_start(db, clinic, lot="LOT-1"))
    E = ledger.EntryInput
    ledger.record_entry(db, clinic.nurse_ctx, entry=E(EntryKind.DRAWN, "LOT-1", 50,
                                                      session_id=record.id))
    ledger.record_entry(db, clinic.nurse_ctx, entry=E(EntryKind.ADMINISTERED, "LOT-1", 35,
                                                      session_id=record.id))
    assert ledger.inventory(db) == {"LOT-1": 450.0}
    report = ledger.discrepancy_report(db, closed_sessions=[record.id])
    assert [(b.session_id, b.discrepancy_mg) for b in report] == [(record.id, 15.0)]
    # Waste is only recorded through `waste`, which confirms the witness's password.
    with pytest.raises(ValidationFailed) as error:
        ledger.record_entry(db, clinic.nurse_ctx, entry=E(EntryKind.WASTED, "LOT-1", 15,
                                                          session_id=record.id,
                                                          witness_user_id=clinic.prescriber.id))
    assert error.value.field == "witness_password"
    with pytest.raises(ValidationFailed) as error:
        ledger.waste(db, clinic.nurse_ctx, settings, lot_number="LOT-1", amount_mg=15,
                     session_id=record.id, witness_id=clinic.nurse.id,
                     witness_password=DEFAULT_PASSWORD)
    assert error.value.field == "witness_id"
    ledger.waste(db, clinic.nurse_ctx, settings, lot_number="LOT-1", amount_mg=15,
                 session_id=record.id, witness_id=clinic.prescriber.id,
                 witness_password=DEFAULT_PASSWORD)
    assert ledger.discrepancy_report(db, closed_sessions=[record.id]) == []


def test_corrections_are_reversals_and_rows_are_immutable(db: Session) -> None:
    clinic = make_clinic(db)
    stock(db, clinic, "LOT-2", 100)
    received = db.scalars(select(LedgerRow).where(LedgerRow.lot_number == "LOT-2")).one()
    with pytest.raises(ValidationFailed) as error:
        ledger.record_entry(db, clinic.nurse_ctx, entry=ledger.EntryInput(
            EntryKind.REVERSAL, "", reverses_id=received.id))
    assert error.value.field == "reason"
    ledger.record_entry(db, clinic.nurse_ctx, entry=ledger.EntryInput(
        EntryKind.REVERSAL, "", reverses_id=received.id, reason="wrong lot keyed"))
    assert ledger.inventory(db) == {"LOT-2": 0.0}
    received.amount_mg = 1000
    with pytest.raises(LedgerImmutableError):
        db.flush()
    db.rollback()
    with pytest.raises(LedgerImmutableError):
        db.execute(update(LedgerRow).values(amount_mg=1))


def test_draw_beyond_stock_refused(db: Session) -> None:
    clinic = make_clinic(db)
    stock(db, clinic, "LOT-3", 40)
    record = ready_to_start(db, clinic, lot="LOT-3")
    with pytest.raises(ValidationFailed) as error:
        ledger.record_entry(db, clinic.nurse_ctx, entry=ledger.EntryInput(
            EntryKind.DRAWN, "LOT-3", 41, session_id=record.id))
    assert error.value.field == "amount_mg"
