"""The lot an order is prepared from, and the ledger reconciled with the infusion record. Pure.

An order names a lot the controlled-substance ledger holds: its receipt gives the drug and the
expiry, and its vials must be able to make the order's concentration (the same strength run
undiluted, or diluted to a weaker bag: a bag can never be stronger than its vials). The lot must
be in date on the infusion day and hold enough for the ordered dose, after what is already drawn
for other sessions (the ledger's inventory).

Reconciliation compares, per session, what the ledger says was administered with the dose the
infusion record shows delivered (rates x running time, pauses out; `rules.delivery`), and the
drug drawn with what was administered plus wasted. Per lot, the period's movements add up to its
balance: opening + received - drawn + adjustments (reversals put drawn drug back into stock or
take a reversed receipt out of it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

from ketaflow.infusions.rules.ledger import TOLERANCE_MG, EntryKind, LedgerEntry
from ketaflow.infusions.rules.problems import RuleError

# Field labels as the order form reads them.
LOT_LABEL = "Lot"
EXPIRY_LABEL = "Expiry date"


@dataclass(frozen=True)
class LotStock:
    """A lot as the ledger holds it: what its first receipt recorded, and its balance."""

    lot_number: str
    drug: str | None
    concentration_mg_per_ml: float | None  # of the vials as supplied
    expiry_date: date | None
    balance_mg: float  # received - drawn (reversals undone), as the ledger computes it


def usable_on(lot: LotStock, day: date) -> bool:
    """Offered for an order on `day`: a receipt with its details, stock left, in date."""
    return (lot.drug is not None and lot.concentration_mg_per_ml is not None
            and lot.expiry_date is not None and lot.expiry_date >= day
            and lot.balance_mg > TOLERANCE_MG)


def _check_product(lot: LotStock, drug: str | None, concentration_mg_per_ml: float) -> str:
    if lot.drug is None or lot.concentration_mg_per_ml is None or lot.expiry_date is None:
        raise RuleError(f"{LOT_LABEL}: the receipt of lot {lot.lot_number} does not record its "
                        "drug, concentration and expiry, so it cannot be checked against an "
                        "order", field="lot_number")
    if drug is not None and drug != lot.drug:
        raise RuleError(f"{LOT_LABEL}: lot {lot.lot_number} is {lot.drug}, not the ordered "
                        f"{drug}", field="lot_number")
    if concentration_mg_per_ml > lot.concentration_mg_per_ml + 1e-9:
        raise RuleError(f"Concentration: {concentration_mg_per_ml:g} mg/mL cannot be made from "
                        f"lot {lot.lot_number}'s {lot.concentration_mg_per_ml:g} mg/mL vials (a "
                        "bag is never stronger than its vials)",
                        field="concentration_mg_per_ml")
    return lot.drug


def unknown_lot(lot_number: str) -> RuleError:
    return RuleError(f"{LOT_LABEL}: no stock of lot {lot_number} has been received in the "
                     "controlled-substance ledger", field="lot_number")


def check_order_lot(lot: LotStock | None, *, lot_number: str, drug: str | None,
                    concentration_mg_per_ml: float, expiry_date: date | None,
                    needed_mg: float, own_open_mg: float, day: date) -> LotStock:
    """The lot an order may be prepared from, or RuleError naming the field. `drug` and
    `expiry_date` None: taken from the receipt; given, they must match it. `own_open_mg` is
    drug already drawn from the lot for this session and not yet administered or wasted (it is
    out of the balance but still there for this patient)."""
    if lot is None:
        raise unknown_lot(lot_number)
    _check_product(lot, drug, concentration_mg_per_ml)
    assert lot.expiry_date is not None  # checked with the product
    if expiry_date is not None and expiry_date != lot.expiry_date:
        raise RuleError(f"{EXPIRY_LABEL}: lot {lot.lot_number} expires on "
                        f"{lot.expiry_date.isoformat()} per its receipt, not "
                        f"{expiry_date.isoformat()}", field="expiry_date")
    if lot.expiry_date < day:
        raise RuleError(f"{EXPIRY_LABEL}: lot {lot.lot_number} expired on "
                        f"{lot.expiry_date.isoformat()}, before the infusion day "
                        f"{day.isoformat()}", field="expiry_date")
    available = lot.balance_mg + max(own_open_mg, 0.0)
    if needed_mg > available + TOLERANCE_MG:
        raise RuleError(f"{LOT_LABEL}: lot {lot.lot_number} holds {max(available, 0.0):g} mg, "
                        f"less than the ordered {needed_mg:g} mg", field="lot_number")
    return lot


def check_administered(*, amount_mg: float, already_mg: float, delivered_mg: float,
                       tolerance_mg: float) -> None:
    """The ledger may not record more administered for a session than the infusion record
    shows delivered so far (with the clinic's reconciliation tolerance)."""
    total = already_mg + amount_mg
    if total > delivered_mg + tolerance_mg + TOLERANCE_MG:
        raise RuleError(
            f"Amount (mg): {total:g} mg administered in all would exceed the "
            f"{delivered_mg:.1f} mg the infusion record shows delivered so far (rate x running "
            f"time, pauses out; tolerance {tolerance_mg:g} mg). Record what was given when the "
            "pump has delivered it", field="amount_mg")


@dataclass(frozen=True)
class SessionReconciliation:
    session_id: int
    lots: tuple[str, ...]
    drawn_mg: float
    administered_mg: float
    wasted_mg: float
    delivered_mg: float  # per the infusion record (0 when it never started)
    closed: bool         # discharged or aborted: nothing more will be recorded
    tolerance_mg: float

    @property
    def discrepancy_mg(self) -> float:
        """Administered per the ledger minus delivered per the record."""
        return self.administered_mg - self.delivered_mg

    @property
    def unaccounted_mg(self) -> float:
        """Drawn minus (administered + wasted)."""
        return self.drawn_mg - self.administered_mg - self.wasted_mg

    @property
    def delivery_flagged(self) -> bool:
        return self.closed and abs(self.discrepancy_mg) > self.tolerance_mg + TOLERANCE_MG

    @property
    def accounting_flagged(self) -> bool:
        return self.closed and abs(self.unaccounted_mg) > TOLERANCE_MG

    @property
    def flagged(self) -> bool:
        return self.delivery_flagged or self.accounting_flagged


def _weights(entries: Sequence[LedgerEntry]) -> dict[int, float]:
    """1 for every entry that counts, 0 once reversed."""
    reversed_ids = {e.reverses_id for e in entries if e.kind is EntryKind.REVERSAL}
    return {e.entry_id: 0.0 if e.entry_id in reversed_ids else 1.0 for e in entries}


def reconcile_sessions(entries: Sequence[LedgerEntry], *, delivered_mg: dict[int, float],
                       closed: Collection[int], tolerance_mg: float
                       ) -> list[SessionReconciliation]:
    """One line per session in `delivered_mg` (the sessions the report covers), with the
    ledger's totals for it over every lot."""
    weight = _weights(entries)
    sums: dict[int, dict[EntryKind, float]] = defaultdict(lambda: defaultdict(float))
    lots: dict[int, set[str]] = defaultdict(set)
    for entry in entries:
        if entry.session_id in delivered_mg and entry.kind not in (
                EntryKind.REVERSAL, EntryKind.RECEIVED):
            sums[entry.session_id][entry.kind] += weight[entry.entry_id] * entry.amount_mg
            lots[entry.session_id].add(entry.lot_number)
    return [SessionReconciliation(
        session_id, tuple(sorted(lots[session_id])), sums[session_id][EntryKind.DRAWN],
        sums[session_id][EntryKind.ADMINISTERED], sums[session_id][EntryKind.WASTED],
        delivered, session_id in closed, tolerance_mg)
        for session_id, delivered in sorted(delivered_mg.items())]


@dataclass(frozen=True)
class LotMovement:
    lot_number: str
    opening_mg: float
    received_mg: float
    drawn_mg: float
    administered_mg: float
    wasted_mg: float
    adjusted_mg: float  # reversals: + drug back into stock, - a receipt taken out

    @property
    def balance_mg(self) -> float:
        return self.opening_mg + self.received_mg - self.drawn_mg + self.adjusted_mg


_STOCK_SIGN = {EntryKind.RECEIVED: 1.0, EntryKind.DRAWN: -1.0}


def _stock_effect(entry: LedgerEntry, by_id: dict[int, LedgerEntry]) -> float:
    """What the entry did to the lot's stock when it was made."""
    if entry.kind is EntryKind.REVERSAL:
        target = by_id.get(entry.reverses_id or -1)
        return 0.0 if target is None else -_STOCK_SIGN.get(target.kind, 0.0) * target.amount_mg
    return _STOCK_SIGN.get(entry.kind, 0.0) * entry.amount_mg


def lot_movements(entries: Sequence[LedgerEntry], *, before: Collection[int],
                  during: Collection[int]) -> list[LotMovement]:
    """Per lot: the opening balance (entries in `before`) and the movements of the entries in
    `during` (ids), each counted as it was made; a reversal is an adjustment when it is made."""
    by_id = {e.entry_id: e for e in entries}
    opening: dict[str, float] = defaultdict(float)
    moved: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for entry in entries:
        lot = entry.lot_number
        if entry.entry_id in before:
            opening[lot] += _stock_effect(entry, by_id)
        elif entry.entry_id in during:
            key = "adjusted" if entry.kind is EntryKind.REVERSAL else entry.kind.value
            moved[lot][key] += (_stock_effect(entry, by_id) if key == "adjusted"
                                else entry.amount_mg)
    return [LotMovement(lot, opening[lot], moved[lot]["received"], moved[lot]["drawn"],
                        moved[lot]["administered"], moved[lot]["wasted"], moved[lot]["adjusted"])
            for lot in sorted(set(opening) | set(moved))]
