"""Lots as the ledger holds them, for the order form and the order's checks.

Reads only, and imports no infusion use case, so signing an order (`infusions.service`) can
check its lot here without an import cycle through `controlled.service`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.infusions.controlled.models import LedgerRow
from ketaflow.infusions.formulary import drug_name
from ketaflow.infusions.rules import EntryKind, LedgerEntry, inventory_by_lot, session_balances
from ketaflow.infusions.rules.reconciliation import LotStock, usable_on


def as_entry(row: LedgerRow) -> LedgerEntry:
    return LedgerEntry(entry_id=row.id, kind=row.kind, lot_number=row.lot_number,
                       amount_mg=row.amount_mg, staff_id=row.staff_user_id,
                       session_id=row.session_id, witness_id=row.witness_user_id,
                       reverses_id=row.reverses_id, reason=row.reason)


def _receipts(db: Session, lot_number: str | None = None) -> dict[str, LedgerRow]:
    """The first receipt of each lot (a lot number names one product: later receipts match
    it, `controlled.service._check_same_product`)."""
    query = select(LedgerRow).where(LedgerRow.kind == EntryKind.RECEIVED).order_by(LedgerRow.id)
    if lot_number is not None:
        query = query.where(LedgerRow.lot_number == lot_number)
    first: dict[str, LedgerRow] = {}
    for row in db.scalars(query):
        first.setdefault(row.lot_number, row)
    return first


def _stock(receipt: LedgerRow, balance_mg: float) -> LotStock:
    return LotStock(receipt.lot_number, receipt.drug, receipt.concentration_mg_per_ml,
                    receipt.expiry_date, balance_mg)


def lot_stock(db: Session, lot_number: str, *, session_id: int | None = None
              ) -> tuple[LotStock | None, float]:
    """The lot (None if never received) and what is drawn from it for `session_id` and still
    open (neither administered nor wasted)."""
    receipt = _receipts(db, lot_number).get(lot_number)
    if receipt is None:
        return None, 0.0
    entries = [as_entry(r) for r in db.scalars(
        select(LedgerRow).where(LedgerRow.lot_number == lot_number).order_by(LedgerRow.id))]
    own = sum(b.discrepancy_mg for b in session_balances(entries)
              if b.session_id == session_id and session_id is not None)
    return _stock(receipt, inventory_by_lot(entries).get(lot_number, 0.0)), own


@dataclass(frozen=True)
class LotChoice:
    stock: LotStock

    @property
    def value(self) -> str:
        return self.stock.lot_number

    @property
    def drug_name(self) -> str:
        return drug_name(self.stock.drug or "")

    @property
    def label(self) -> str:
        """Lot, expiry and stock first: a select shows only the start of a long option."""
        lot = self.stock
        return (f"{lot.lot_number} · expires {lot.expiry_date} · {lot.balance_mg:g} mg in "
                f"stock · {self.drug_name} {lot.concentration_mg_per_ml or 0:g} mg/mL vials")


def order_lots(db: Session, *, day: date) -> list[LotChoice]:
    """Lots an order on `day` may name: received with their details, stock left, in date;
    soonest expiry first (use the oldest stock first)."""
    receipts = _receipts(db)
    balances = inventory_by_lot([as_entry(r) for r in db.scalars(
        select(LedgerRow).order_by(LedgerRow.id))])
    stocks = [_stock(receipt, balances.get(lot, 0.0)) for lot, receipt in receipts.items()]
    usable = [s for s in stocks if usable_on(s, day)]
    return [LotChoice(s) for s in sorted(usable, key=lambda s: (s.expiry_date, s.lot_number))]
