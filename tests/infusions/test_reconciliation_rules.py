"""The pure reconciliation rules: a lot's balance from its movements, the order's lot checks."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketaflow.infusions.rules import (
    EntryKind,
    LedgerEntry,
    RuleError,
    inventory_by_lot,
    validate_entry,
)
from ketaflow.infusions.rules.ledger import TOLERANCE_MG, WITNESSED
from ketaflow.infusions.rules.reconciliation import (
    LotStock,
    check_administered,
    check_order_lot,
    lot_movements,
    reconcile_sessions,
)

ledger_step = st.tuples(
    st.sampled_from(list(EntryKind)),
    st.sampled_from(["L1", "L2"]),
    st.floats(min_value=0.01, max_value=600, allow_nan=False),
    st.integers(1, 3),            # session
    st.integers(1, 40),           # entry to reverse
)


def _valid_entries(steps: list[tuple[EntryKind, str, float, int, int]]) -> list[LedgerEntry]:
    """The entries of `steps` the ledger rules accept, in order (as the service appends)."""
    entries: list[LedgerEntry] = []
    for kind, lot, amount, session, target in steps:
        entry = LedgerEntry(entry_id=len(entries) + 1, kind=kind, lot_number=lot,
                            amount_mg=amount, staff_id=1,
                            session_id=None if kind is EntryKind.RECEIVED else session,
                            witness_id=2 if kind in WITNESSED else None,
                            reverses_id=target, reason="fix")
        try:
            validate_entry(entries, entry)
        except RuleError:
            continue
        entries.append(entry)
    return entries


@settings(max_examples=300)
@given(st.lists(ledger_step, max_size=40), st.integers(0, 40))
def test_balance_is_received_minus_drawn_plus_reversals_whatever_the_period(
        steps: list[tuple[EntryKind, str, float, int, int]], split: int) -> None:
    """Balance = opening + received - drawn + adjustments (reversals counted when made) agrees
    with the ledger's inventory (reversed entries zeroed), wherever the period starts."""
    entries = _valid_entries(steps)
    ids = [e.entry_id for e in entries]
    before, during = set(ids[:split]), set(ids[split:])
    movements = {m.lot_number: m for m in lot_movements(entries, before=before, during=during)}
    stock = inventory_by_lot(entries)
    for lot, on_hand in stock.items():
        assert movements[lot].balance_mg == pytest.approx(on_hand, abs=1e-6)
    # And from first principles: received - drawn, plus what reversals gave back to stock.
    by_id = {e.entry_id: e for e in entries}

    def back_to_stock(reversal: LedgerEntry) -> float:
        target = by_id[reversal.reverses_id or 0]
        return {EntryKind.DRAWN: target.amount_mg,
                EntryKind.RECEIVED: -target.amount_mg}.get(target.kind, 0.0)

    for lot, movement in movements.items():
        mine = [e for e in entries if e.lot_number == lot]
        expected = (sum(e.amount_mg for e in mine if e.kind is EntryKind.RECEIVED)
                    - sum(e.amount_mg for e in mine if e.kind is EntryKind.DRAWN)
                    + sum(back_to_stock(e) for e in mine if e.kind is EntryKind.REVERSAL))
        assert movement.balance_mg == pytest.approx(expected, abs=1e-6)
        assert movement.balance_mg >= -TOLERANCE_MG


def test_lot_movements_count_a_period_only() -> None:
    e = [LedgerEntry(1, EntryKind.RECEIVED, "L", 500, 1, witness_id=2),
         LedgerEntry(2, EntryKind.DRAWN, "L", 40, 1, session_id=7),
         LedgerEntry(3, EntryKind.DRAWN, "L", 35, 1, session_id=8),
         LedgerEntry(4, EntryKind.REVERSAL, "L", 0, 1, session_id=8, reverses_id=3,
                     reason="wrong session")]
    [movement] = lot_movements(e, before={1, 2}, during={3, 4})
    assert (movement.opening_mg, movement.received_mg, movement.drawn_mg,
            movement.adjusted_mg, movement.balance_mg) == (460, 0, 35, 35, 460)


def test_sessions_are_flagged_only_once_closed_and_beyond_the_tolerance() -> None:
    e = [LedgerEntry(1, EntryKind.RECEIVED, "L", 500, 1, witness_id=2),
         LedgerEntry(2, EntryKind.DRAWN, "L", 35, 1, session_id=1),
         LedgerEntry(3, EntryKind.ADMINISTERED, "L", 35, 1, session_id=1),
         LedgerEntry(4, EntryKind.DRAWN, "L", 35, 1, session_id=2),
         LedgerEntry(5, EntryKind.ADMINISTERED, "L", 30, 1, session_id=2),
         LedgerEntry(6, EntryKind.DRAWN, "L", 35, 1, session_id=3)]
    lines = {r.session_id: r for r in reconcile_sessions(
        e, delivered_mg={1: 34.6, 2: 35.0, 3: 10.0}, closed={1, 2}, tolerance_mg=0.5)}
    assert not lines[1].flagged  # 0.4 mg apart: within the tolerance
    assert lines[2].delivery_flagged and lines[2].accounting_flagged
    assert lines[2].discrepancy_mg == -5 and lines[2].unaccounted_mg == 5
    assert not lines[3].flagged  # still running: nothing to flag yet


LOT = LotStock("K-1", "ketamine_hcl", 50.0, date(2027, 1, 31), balance_mg=100.0)
DAY = date(2027, 1, 10)


def _check(lot: LotStock | None = LOT, **changes: object) -> LotStock:
    values: dict[str, object] = {"lot_number": "K-1", "drug": "ketamine_hcl",
                                 "concentration_mg_per_ml": 1.0, "expiry_date": None,
                                 "needed_mg": 35.0, "own_open_mg": 0.0, "day": DAY}
    values.update(changes)
    return check_order_lot(lot, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("lot", "changes", "field", "words"), [
    (None, {}, "lot_number", "no stock of lot K-1"),
    (LOT, {"drug": "esketamine"}, "lot_number", "not the ordered esketamine"),
    (LotStock("K-1", "ketamine_hcl", 1.0, date(2027, 1, 31), 100), {
        "concentration_mg_per_ml": 2.0}, "concentration_mg_per_ml", "cannot be made"),
    (LOT, {"expiry_date": date(2027, 2, 1)}, "expiry_date", "expires on 2027-01-31"),
    (LOT, {"day": date(2027, 2, 1)}, "expiry_date", "expired on 2027-01-31"),
    (LOT, {"needed_mg": 100.5}, "lot_number", "holds 100 mg, less than the ordered 100.5"),
])
def test_order_lot_refusals_name_the_field(lot: LotStock | None, changes: dict[str, object],
                                           field: str, words: str) -> None:
    with pytest.raises(RuleError) as refused:
        _check(lot, **changes)
    assert refused.value.field == field and words in refused.value.message


def test_order_lot_edges() -> None:
    assert _check(day=date(2027, 1, 31)) is LOT  # usable on its expiry day
    assert _check(needed_mg=100.0) is LOT
    assert _check(needed_mg=120.0, own_open_mg=20.0) is LOT  # drawn for this patient already
    assert _check(concentration_mg_per_ml=50.0) is LOT  # the vials' own strength


def test_administered_never_ahead_of_delivered() -> None:
    check_administered(amount_mg=35.4, already_mg=0, delivered_mg=35.0, tolerance_mg=0.5)
    with pytest.raises(RuleError) as refused:
        # The report: 36 mg "administered" after 1.1 min at 52.5 mL/h of 1 mg/mL.
        check_administered(amount_mg=36, already_mg=0, delivered_mg=52.5 * 1.1 / 60,
                           tolerance_mg=0.5)
    assert refused.value.field == "amount_mg" and "0.96 mg" not in refused.value.message
    assert "1.0 mg the infusion record shows delivered" in refused.value.message
    with pytest.raises(RuleError):
        check_administered(amount_mg=10, already_mg=30, delivered_mg=35.0, tolerance_mg=0.5)
