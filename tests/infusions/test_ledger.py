"""Controlled-substance ledger: hand-worked inventory, witness rules, reversals, discrepancies."""

from __future__ import annotations

import pytest

from ketaflow.infusions.rules import (
    EntryKind,
    LedgerEntry,
    RuleError,
    discrepancies,
    inventory_by_lot,
    session_balances,
    validate_entry,
)

NURSE, WITNESS = 1, 2


def append(entries: list[LedgerEntry], kind: EntryKind, amount: float = 0.0, *,
           lot: str = "L1", session: int | None = 7, **extra: object) -> list[LedgerEntry]:
    entry = LedgerEntry(entry_id=len(entries) + 1, kind=kind, lot_number=lot, amount_mg=amount,
                        staff_id=NURSE, session_id=session, **extra)  # type: ignore[arg-type]
    validate_entry(entries, entry)
    return [*entries, entry]


def refusal(entries: list[LedgerEntry], kind: EntryKind, amount: float = 0.0,
            **extra: object) -> RuleError:
    with pytest.raises(RuleError) as error:
        append(entries, kind, amount, **extra)  # type: ignore[arg-type]
    return error.value


def received() -> list[LedgerEntry]:
    # One 10 mL vial of 50 mg/mL, counted in by a second person.
    return append([], EntryKind.RECEIVED, 500.0, session=None, witness_id=WITNESS)


def test_worked_session() -> None:
    entries = append(received(), EntryKind.DRAWN, 50.0)
    entries = append(entries, EntryKind.ADMINISTERED, 35.0)
    assert discrepancies(entries) == [session_balances(entries)[0]]
    assert session_balances(entries)[0].discrepancy_mg == pytest.approx(15.0)
    entries = append(entries, EntryKind.WASTED, 15.0, witness_id=WITNESS)
    assert inventory_by_lot(entries) == {"L1": 450.0}
    assert discrepancies(entries) == []
    assert discrepancies(append(entries, EntryKind.DRAWN, 10.0, session=8),
                         closed_sessions=[7]) == []


def test_waste_needs_a_different_witness() -> None:
    entries = append(received(), EntryKind.DRAWN, 50.0)
    error = refusal(entries, EntryKind.WASTED, 5.0)
    assert (error.field, str(error)) == ("witness_id", "waste needs a witness")
    assert refusal(entries, EntryKind.DRAWN, 5.0, witness_id=WITNESS).field == "witness_id"
    error = refusal(entries, EntryKind.WASTED, 5.0, witness_id=NURSE)
    assert error.field == "witness_id" and "different staff member" in str(error)


def test_cannot_draw_more_than_inventory_or_from_unknown_lot() -> None:
    entries = received()
    append(entries, EntryKind.DRAWN, 500.0)  # exactly all of it
    assert refusal(entries, EntryKind.DRAWN, 500.01).field == "amount_mg"
    assert refusal(entries, EntryKind.DRAWN, 5.0, lot="L2").field == "lot_number"


def test_cannot_account_for_more_than_drawn() -> None:
    entries = append(received(), EntryKind.DRAWN, 50.0)
    entries = append(entries, EntryKind.ADMINISTERED, 40.0)
    error = refusal(entries, EntryKind.WASTED, 10.5, witness_id=WITNESS)
    assert "exceed what was drawn" in str(error)


@pytest.mark.parametrize(("amount", "field"), [(0.0, "amount_mg"), (-1.0, "amount_mg"),
                                               (float("inf"), "amount_mg")])
def test_amount_must_be_positive(amount: float, field: str) -> None:
    assert refusal([], EntryKind.RECEIVED, amount, session=None,
                   witness_id=WITNESS).field == field


def test_draw_belongs_to_a_session_and_lot_required() -> None:
    assert refusal(received(), EntryKind.DRAWN, 5.0, session=None).field == "session_id"
    assert refusal([], EntryKind.RECEIVED, 5.0, lot=" ", session=None,
                   witness_id=WITNESS).field == "lot_number"


def test_reversal_corrects_without_editing() -> None:
    entries = append(received(), EntryKind.DRAWN, 50.0)
    entries = append(entries, EntryKind.ADMINISTERED, 53.0 - 3.0)
    mistaken = entries[-1]
    entries = append(entries, EntryKind.REVERSAL, lot="L1", reverses_id=mistaken.entry_id,
                     reason="typed 50 instead of 35")
    assert mistaken in entries  # the original stays
    entries = append(entries, EntryKind.ADMINISTERED, 35.0)
    assert session_balances(entries)[0].administered_mg == 35.0


def test_reversal_rules() -> None:
    entries = append(received(), EntryKind.DRAWN, 50.0)
    assert refusal(entries, EntryKind.REVERSAL, reverses_id=2).field == "reason"
    assert refusal(entries, EntryKind.REVERSAL, reverses_id=99, reason="x").field == "reverses_id"
    assert refusal(entries, EntryKind.REVERSAL, reverses_id=2, reason="x",
                   lot="L9").field == "lot_number"
    # Reversing the receipt would leave the drawn 50 mg below zero stock.
    assert "remaining inventory" in str(
        refusal(entries, EntryKind.REVERSAL, reverses_id=1, reason="x"))
    entries = append(entries, EntryKind.REVERSAL, reverses_id=2, reason="drawn in error")
    assert inventory_by_lot(entries) == {"L1": 500.0}
    assert "already been reversed" in str(
        refusal(entries, EntryKind.REVERSAL, reverses_id=2, reason="again"))
    assert "cannot itself be reversed" in str(
        refusal(entries, EntryKind.REVERSAL, reverses_id=3, reason="undo"))


def test_ids_never_reused() -> None:
    entries = received()
    duplicate = LedgerEntry(1, EntryKind.RECEIVED, "L1", 5.0, NURSE, witness_id=WITNESS)
    with pytest.raises(RuleError, match="append-only"):
        validate_entry(entries, duplicate)


def test_receipts_are_witnessed_by_someone_else_and_belong_to_no_session() -> None:
    error = refusal([], EntryKind.RECEIVED, 500.0, session=None)
    assert (error.field, str(error)) == ("witness_id", "receipt needs a witness")
    error = refusal([], EntryKind.RECEIVED, 500.0, session=None, witness_id=NURSE)
    assert error.field == "witness_id" and "recording the receipt" in str(error)
    error = refusal([], EntryKind.RECEIVED, 500.0, session=7, witness_id=WITNESS)
    assert error.field == "session_id"


def test_refusals_at_a_limit_say_the_limit() -> None:
    entries = append(received(), EntryKind.DRAWN, 480.0)
    assert "20 mg of L1 in stock" in str(refusal(entries, EntryKind.DRAWN, 25.0, session=8))
    entries = append(entries, EntryKind.ADMINISTERED, 470.0)
    error = refusal(entries, EntryKind.WASTED, 12.0, witness_id=WITNESS)
    assert error.field == "amount_mg" and "10 mg of L1 still open" in str(error)
