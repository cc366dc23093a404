"""Controlled-substance ledger (US Schedule III): per-lot entries, inventory and discrepancies.

Entries are append-only: a mistake is corrected with a REVERSAL entry that cancels an earlier
entry, never by editing it. Amounts are mg of drug as the vial is labelled. A draw takes drug out
of the lot's stock; what was drawn for a session is then administered or wasted. Receipts and
waste need a second staff member as witness (who they may be, and their password, is the
service's to check); other entries take none. Inventory per lot = received - drawn (reversals
undo). Refusals that hit a limit say the limit (mg still in stock, mg still open).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from ketaflow.infusions.rules.problems import RuleError

# Floating-point sums of amounts in mg are compared to a microgram.
TOLERANCE_MG = 1e-3


class EntryKind(StrEnum):
    RECEIVED = "received"
    DRAWN = "drawn"
    ADMINISTERED = "administered"
    WASTED = "wasted"
    REVERSAL = "reversal"


@dataclass(frozen=True)
class LedgerEntry:
    entry_id: int
    kind: EntryKind
    lot_number: str
    amount_mg: float
    staff_id: int
    session_id: int | None = None
    witness_id: int | None = None
    reverses_id: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class SessionBalance:
    session_id: int
    lot_number: str
    drawn_mg: float
    administered_mg: float
    wasted_mg: float

    @property
    def discrepancy_mg(self) -> float:
        """Drawn minus (administered + wasted); zero when the drug is accounted for."""
        return self.drawn_mg - self.administered_mg - self.wasted_mg

    @property
    def balanced(self) -> bool:
        return abs(self.discrepancy_mg) <= TOLERANCE_MG


def _effective(entries: Sequence[LedgerEntry]) -> list[tuple[LedgerEntry, float]]:
    """Each non-reversal entry with its sign-adjusted weight (0 once reversed)."""
    reversed_ids = {e.reverses_id for e in entries if e.kind is EntryKind.REVERSAL}
    return [(e, 0.0 if e.entry_id in reversed_ids else 1.0)
            for e in entries if e.kind is not EntryKind.REVERSAL]


def inventory_by_lot(entries: Sequence[LedgerEntry]) -> dict[str, float]:
    stock: dict[str, float] = defaultdict(float)
    for entry, weight in _effective(entries):
        if entry.kind is EntryKind.RECEIVED:
            stock[entry.lot_number] += weight * entry.amount_mg
        elif entry.kind is EntryKind.DRAWN:
            stock[entry.lot_number] -= weight * entry.amount_mg
        else:
            stock.setdefault(entry.lot_number, 0.0)
    return dict(stock)


def session_balances(entries: Sequence[LedgerEntry]) -> list[SessionBalance]:
    sums: dict[tuple[int, str], dict[EntryKind, float]] = defaultdict(lambda: defaultdict(float))
    for entry, weight in _effective(entries):
        if entry.session_id is not None and entry.kind is not EntryKind.RECEIVED:
            sums[(entry.session_id, entry.lot_number)][entry.kind] += weight * entry.amount_mg
    return [SessionBalance(session_id, lot, kinds[EntryKind.DRAWN],
                           kinds[EntryKind.ADMINISTERED], kinds[EntryKind.WASTED])
            for (session_id, lot), kinds in sorted(sums.items())]


def discrepancies(entries: Sequence[LedgerEntry],
                  closed_sessions: Iterable[int] | None = None) -> list[SessionBalance]:
    """Sessions (all, or only the closed ones given) whose drug is not accounted for."""
    closed = None if closed_sessions is None else set(closed_sessions)
    return [b for b in session_balances(entries)
            if not b.balanced and (closed is None or b.session_id in closed)]


def _check_shape(entry: LedgerEntry) -> None:
    if not entry.lot_number.strip():
        raise RuleError("Lot number is required", field="lot_number")
    if entry.kind is EntryKind.REVERSAL:
        if entry.reverses_id is None:
            raise RuleError("a reversal must name the entry it reverses", field="reverses_id")
        if not (entry.reason and entry.reason.strip()):
            raise RuleError("a reversal needs a reason", field="reason")
        return
    if isinstance(entry.amount_mg, bool) or not math.isfinite(entry.amount_mg) \
            or entry.amount_mg <= 0:
        raise RuleError("Amount (mg) must be a positive number", field="amount_mg")
    if entry.kind is EntryKind.RECEIVED and entry.session_id is not None:
        raise RuleError("a receipt adds to stock and belongs to no session", field="session_id")
    if entry.kind is not EntryKind.RECEIVED and entry.session_id is None:
        raise RuleError(f"a {entry.kind.value} entry must belong to a session", field="session_id")
    _check_witness(entry)


# Entries a second person watches: stock coming in, and drug destroyed.
WITNESSED = {EntryKind.RECEIVED: "receipt", EntryKind.WASTED: "waste"}


def _check_witness(entry: LedgerEntry) -> None:
    what = WITNESSED.get(entry.kind)
    if what is None:
        if entry.witness_id is not None:
            raise RuleError(f"a {entry.kind.value} entry takes no witness", field="witness_id")
        return
    if entry.witness_id is None:
        raise RuleError(f"{what} needs a witness", field="witness_id")
    if entry.witness_id == entry.staff_id:
        raise RuleError(f"the witness must be a different staff member from the one "
                        f"recording the {what}", field="witness_id")


def _with(entries: Sequence[LedgerEntry], entry: LedgerEntry) -> list[LedgerEntry]:
    return [*entries, entry]


def _open_mg(entries: Sequence[LedgerEntry], lot: str, session_id: int | None) -> float:
    """Drawn but not yet administered or wasted, for the session on the lot."""
    return sum(b.discrepancy_mg for b in session_balances(entries)
               if b.session_id == session_id and b.lot_number == lot)


def _check_balances(before: Sequence[LedgerEntry], after: list[LedgerEntry], lot: str,
                    session_id: int | None) -> None:
    if inventory_by_lot(after).get(lot, 0.0) < -TOLERANCE_MG:
        stock = max(inventory_by_lot(before).get(lot, 0.0), 0.0)
        raise RuleError(f"Amount (mg) exceeds the lot's remaining inventory: {stock:g} mg of "
                        f"{lot} in stock", field="amount_mg")
    if _open_mg(after, lot, session_id) < -TOLERANCE_MG:
        still_open = max(_open_mg(before, lot, session_id), 0.0)
        raise RuleError(f"administered plus wasted would exceed what was drawn for this "
                        f"session: {still_open:g} mg of {lot} still open", field="amount_mg")


def validate_entry(entries: Sequence[LedgerEntry], entry: LedgerEntry) -> None:
    """Raise RuleError (naming the field) unless `entry` may be appended to `entries`."""
    _check_shape(entry)
    if any(e.entry_id == entry.entry_id for e in entries):
        raise RuleError("entry ids are never reused (the ledger is append-only)", field="entry_id")
    if entry.kind is EntryKind.REVERSAL:
        target = next((e for e in entries if e.entry_id == entry.reverses_id), None)
        if target is None:
            raise RuleError("the entry to reverse does not exist", field="reverses_id")
        if target.kind is EntryKind.REVERSAL:
            raise RuleError("a reversal cannot itself be reversed; add a new entry",
                            field="reverses_id")
        if any(e.reverses_id == target.entry_id for e in entries):
            raise RuleError("that entry has already been reversed", field="reverses_id")
        if target.lot_number != entry.lot_number:
            raise RuleError("a reversal must be on the same lot", field="lot_number")
        _check_balances(entries, _with(entries, entry), target.lot_number, target.session_id)
        return
    if entry.kind is not EntryKind.RECEIVED and entry.lot_number not in inventory_by_lot(entries):
        raise RuleError("no stock of that lot has been received", field="lot_number")
    _check_balances(entries, _with(entries, entry), entry.lot_number, entry.session_id)
