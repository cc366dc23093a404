"""Controlled-substance ledger use cases over the pure rules in `infusions.rules.ledger`.

Every entry is validated against all earlier entries of the same lot, under a lock on that lot,
so two nurses drawing from one lot at once cannot both pass the inventory check while draws
from different lots never wait for each other. Receipts and waste are witnessed by another
active nurse or prescriber, who confirms with their own password. Every id an entry refers to
(session, witness, reversed entry) must exist: a missing one is a 422 naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.auth import service as auth_service
from ketaflow.auth.models import StaffUser
from ketaflow.clinical import dates
from ketaflow.config import Role, Settings
from ketaflow.errors import TooManyAttempts, ValidationFailed
from ketaflow.infusions.controlled.models import LedgerRow
from ketaflow.infusions.formulary import INFUSION_DRUGS_BY_KEY, InfusionDrug
from ketaflow.infusions.models import InfusionSession
from ketaflow.infusions.rules import (
    EntryKind,
    LedgerEntry,
    RuleError,
    SessionBalance,
    discrepancies,
    inventory_by_lot,
    session_balances,
    validate_entry,
)
from ketaflow.infusions.rules.labels import label
from ketaflow.infusions.rules.ledger import WITNESSED
from ketaflow.infusions.rules.reconciliation import check_administered
from ketaflow.infusions.service._common import clinic_settings, load_session, now
from ketaflow.infusions.service.sessions import current_order
from ketaflow.infusions.summary import session_delivery

# `now` is the infusion clock (demo seeding sets it), so entries carry the time they describe.

ENTITY = "controlled_substance_entry"
# First key of the two-key PostgreSQL advisory lock on one lot (the second is hashtext(lot)).
# Arbitrary; the audit chain uses the one-key form, a separate key space, so they never meet.
_LOT_LOCK_NAMESPACE = 7_410_306
# A delivery larger than this many vials is a typo in the count (ketaflow house default).
MAX_VIALS_PER_RECEIPT = 50
# Witnesses must be clinical staff who handle the drug themselves.
WITNESS_ROLES = (Role.NURSE, Role.PRESCRIBER)


def lock_lot(db: Session, lot_number: str) -> None:
    """Hold the lot until the transaction ends. PostgreSQL: a transaction-scoped advisory lock
    keyed by the lot, so only entries of the same lot wait. SQLite already serialises writers
    (every transaction begins IMMEDIATE, `ketaflow.db`)."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:namespace, hashtext(:lot))"),
                   {"namespace": _LOT_LOCK_NAMESPACE, "lot": lot_number})


def _as_entry(row: LedgerRow) -> LedgerEntry:
    return LedgerEntry(entry_id=row.id, kind=row.kind, lot_number=row.lot_number,
                       amount_mg=row.amount_mg, staff_id=row.staff_user_id,
                       session_id=row.session_id, witness_id=row.witness_user_id,
                       reverses_id=row.reverses_id, reason=row.reason)


def _entries(db: Session, lot_number: str | None = None) -> list[LedgerEntry]:
    query = select(LedgerRow).order_by(LedgerRow.id)
    if lot_number is not None:
        query = query.where(LedgerRow.lot_number == lot_number)
    return [_as_entry(row) for row in db.scalars(query)]


@dataclass(frozen=True)
class EntryInput:
    kind: EntryKind
    lot_number: str
    amount_mg: float = 0.0
    session_id: int | None = None
    witness_user_id: int | None = None
    reverses_id: int | None = None
    reason: str | None = None
    drug: str | None = None
    concentration_mg_per_ml: float | None = None
    expiry_date: date | None = None


def max_receipt_mg(drug: InfusionDrug | None = None) -> float:
    """The largest plausible delivery: MAX_VIALS_PER_RECEIPT of the largest vial."""
    largest = max(d.largest_vial_mg for d in INFUSION_DRUGS_BY_KEY.values()) \
        if drug is None else drug.largest_vial_mg
    return MAX_VIALS_PER_RECEIPT * largest


def witness_user(db: Session, ctx: AuditContext, witness_id: int | None) -> StaffUser:
    """Another active nurse or prescriber: never the recorder, never admin, front desk or
    research staff (they do not handle the drug)."""
    if witness_id is None:
        raise ValidationFailed("choose a witness", field="witness_id")
    if witness_id == ctx.actor_user_id:
        raise ValidationFailed("the witness must be a different staff member from the one "
                               "recording the entry", field="witness_id")
    witness = db.get(StaffUser, witness_id)
    if witness is None or not witness.is_active or witness.role not in WITNESS_ROLES:
        raise ValidationFailed("the witness must be an active nurse or prescriber",
                               field="witness_id")
    return witness


def _check_references(db: Session, ctx: AuditContext, entry: EntryInput) -> None:
    """Ids the entry names must exist (422 naming the field, never a database error)."""
    if entry.session_id is not None and db.get(InfusionSession, entry.session_id) is None:
        raise ValidationFailed("Session is not an infusion session", field="session_id")
    if entry.witness_user_id is not None:
        witness_user(db, ctx, entry.witness_user_id)


def _lot_and_amount(db: Session, entry: EntryInput) -> tuple[str, float]:
    if entry.kind is not EntryKind.REVERSAL:
        return entry.lot_number.strip(), entry.amount_mg
    # A reversal cancels the whole entry it names, on that entry's lot (rows never change,
    # so reading it before the lock is safe).
    target = db.get(LedgerRow, entry.reverses_id) if entry.reverses_id else None
    if target is None:
        raise ValidationFailed("the entry to reverse does not exist", field="reverses_id")
    return target.lot_number, target.amount_mg


def record_entry(db: Session, ctx: AuditContext, *, entry: EntryInput,
                 witness_confirmed: bool = False,
                 also_check: Callable[[], None] | None = None) -> LedgerRow:
    """Validate against every earlier entry of the lot and append. Receipts and waste go through
    `receive_vials` and `waste`, which confirm the witness's password first. `also_check` runs
    after the ledger's own rules, under the lot's lock, before the row is added."""
    if ctx.actor_user_id is None:
        raise ValidationFailed("ledger entries need a signed-in staff member", field="staff")
    what = WITNESSED.get(entry.kind)
    if what is not None and not witness_confirmed:
        raise ValidationFailed(f"{what} needs the witness to confirm with their password",
                               field="witness_password")
    _check_references(db, ctx, entry)
    lot, amount = _lot_and_amount(db, entry)
    if entry.kind is EntryKind.RECEIVED and math.isfinite(amount) \
            and amount > max_receipt_mg():
        raise ValidationFailed(f"Amount (mg) exceeds the largest plausible receipt of "
                               f"{max_receipt_mg():g} mg", field="amount_mg")
    lock_lot(db, lot)
    # Real ids come from the database; -1 cannot clash with any of them.
    candidate = LedgerEntry(entry_id=-1, kind=entry.kind, lot_number=lot, amount_mg=amount,
                            staff_id=ctx.actor_user_id, session_id=entry.session_id,
                            witness_id=entry.witness_user_id, reverses_id=entry.reverses_id,
                            reason=entry.reason)
    try:
        validate_entry(_entries(db, lot), candidate)
    except RuleError as error:
        raise ValidationFailed(error.message, field=error.field) from error
    if also_check is not None:
        also_check()
    row = LedgerRow(kind=entry.kind, lot_number=lot, amount_mg=amount,
                    session_id=entry.session_id, staff_user_id=ctx.actor_user_id,
                    witness_user_id=entry.witness_user_id, reverses_id=entry.reverses_id,
                    reason=entry.reason, drug=entry.drug,
                    concentration_mg_per_ml=entry.concentration_mg_per_ml,
                    expiry_date=entry.expiry_date, recorded_at=now())
    db.add(row)
    db.flush()
    record_event(db, ctx, action=f"controlled.{entry.kind.value}", entity_type=ENTITY,
                 entity_id=row.id, detail={"session_id": entry.session_id})
    return row


def inventory(db: Session) -> dict[str, float]:
    return inventory_by_lot(_entries(db))


def ledger_rows(db: Session, ctx: AuditContext) -> list[LedgerRow]:
    rows = list(db.scalars(select(LedgerRow).order_by(LedgerRow.id)))
    record_event(db, ctx, action="controlled.read", entity_type=ENTITY,
                 detail={"session_ids": sorted({r.session_id for r in rows
                                                if r.session_id is not None})})
    return rows


def open_balances(db: Session) -> list[SessionBalance]:
    """Drawn, administered and wasted per session and lot, for every session."""
    return session_balances(_entries(db))


def discrepancy_report(db: Session, *, closed_sessions: Iterable[int] | None = None
                       ) -> list[SessionBalance]:
    """Sessions whose drawn drug is not accounted for (administered + wasted)."""
    if closed_sessions is None:
        closed_sessions = db.scalars(select(InfusionSession.id).where(
            InfusionSession.active_patient_id.is_(None),
            InfusionSession.started_at.is_not(None)))
    return discrepancies(_entries(db), closed_sessions=list(closed_sessions))


def read_discrepancies(db: Session, ctx: AuditContext) -> list[SessionBalance]:
    """The discrepancy report as the API shows it: sessions (of patients), so audited."""
    found = discrepancy_report(db)
    record_event(db, ctx, action="controlled.discrepancies.read", entity_type=ENTITY,
                 detail={"session_ids": sorted({b.session_id for b in found})})
    return found


# ---------------------------------------------------------------- use cases behind the pages


class WitnessRefused(ValidationFailed):
    """The witness did not confirm (wrong password). The refusal has already been audited in
    the caller's session, so the caller must keep (commit) it rather than roll it back."""

    keep_changes = True  # the failed attempt stays recorded for the throttle and the audit


class WitnessThrottled(TooManyAttempts):
    """Too many wrong witness passwords for the account: 429, like a throttled sign-in (the
    attempt is audited and counted, so it is kept like a refusal)."""

    keep_changes = True


@dataclass(frozen=True)
class Receipt:
    lot_number: str
    drug: str  # a clinic formulary key (ketaflow.infusions.formulary)
    expiry_date: date
    concentration_mg_per_ml: float
    vial_count: int
    # Exactly one of the two: the labelled volume per vial, or the labelled mg per vial.
    vial_volume_ml: float | None = None
    vial_mg: float | None = None


def _positive(value: float | None, field: str) -> float:
    if value is None or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        raise ValidationFailed(f"{label(field)} must be a positive number", field=field)
    return value


def _formulary_drug(key: str) -> InfusionDrug:
    drug = INFUSION_DRUGS_BY_KEY.get((key or "").strip())
    if drug is None:
        raise ValidationFailed("Drug must be one of the clinic formulary: "
                               + ", ".join(INFUSION_DRUGS_BY_KEY), field="drug")
    return drug


def _vial_concentration(drug: InfusionDrug, value: float) -> float:
    concentration = _positive(value, "concentration_mg_per_ml")
    if not any(abs(concentration - c) <= 1e-9 for c in drug.vial_concentrations_mg_per_ml):
        listed = ", ".join(f"{c:g}" for c in drug.vial_concentrations_mg_per_ml)
        raise ValidationFailed(f"Concentration for {drug.name} vials must be one of "
                               f"{listed} mg/mL", field="concentration_mg_per_ml")
    return concentration


def _mg_per_vial(receipt: Receipt, drug: InfusionDrug) -> float:
    if (receipt.vial_volume_ml is None) == (receipt.vial_mg is None):
        raise ValidationFailed("give either Volume per vial (mL) or mg per vial (not both)",
                               field="vial_volume_ml")
    if receipt.vial_mg is not None:
        field, per_vial = "vial_mg", _positive(receipt.vial_mg, "vial_mg")
    else:
        field = "vial_volume_ml"
        per_vial = _positive(receipt.vial_volume_ml, field) * receipt.concentration_mg_per_ml
    if per_vial > drug.largest_vial_mg + 1e-9:
        raise ValidationFailed(f"{label(field)}: a vial holds at most {drug.largest_vial_mg:g} mg "
                               f"of {drug.name}", field=field)
    return per_vial


def _check_same_product(db: Session, receipt: Receipt) -> None:
    """A lot number names one product: a later delivery of it must match the first."""
    first = db.scalar(select(LedgerRow).where(
        LedgerRow.lot_number == receipt.lot_number.strip(),
        LedgerRow.kind == EntryKind.RECEIVED).order_by(LedgerRow.id).limit(1))
    if first is not None and first.concentration_mg_per_ml is not None and abs(
            first.concentration_mg_per_ml - receipt.concentration_mg_per_ml) > 1e-9:
        raise ValidationFailed("Concentration differs from earlier receipts of this "
                               "lot", field="concentration_mg_per_ml")


def receipt_entry(db: Session, receipt: Receipt, *, witness_id: int | None,
                  today: date | None = None) -> EntryInput:
    """The RECEIVED entry for a delivery, after checking it against the formulary: drug and
    vial concentration listed, 1 to MAX_VIALS_PER_RECEIPT vials, each no larger than the
    drug's largest vial, expiry plausible."""
    if not receipt.lot_number.strip():
        raise ValidationFailed("Lot number is required", field="lot_number")
    drug = _formulary_drug(receipt.drug)
    dates.expiry_date(receipt.expiry_date, today=today or now().date(), label="Expiry date")
    concentration = _vial_concentration(drug, receipt.concentration_mg_per_ml)
    if isinstance(receipt.vial_count, bool) or not 1 <= receipt.vial_count \
            <= MAX_VIALS_PER_RECEIPT:
        raise ValidationFailed(f"Number of vials must be from 1 to {MAX_VIALS_PER_RECEIPT}",
                               field="vial_count")
    per_vial = _mg_per_vial(receipt, drug)
    _check_same_product(db, receipt)
    # The vial count and size are kept in the note: the count is what the DEA form asks for.
    note = f"{receipt.vial_count} vial(s) x {per_vial:g} mg ({per_vial / concentration:g} mL)"
    return EntryInput(EntryKind.RECEIVED, receipt.lot_number, receipt.vial_count * per_vial,
                      witness_user_id=witness_id, reason=note, drug=drug.key,
                      concentration_mg_per_ml=concentration, expiry_date=receipt.expiry_date)


def receive_vials(db: Session, ctx: AuditContext, settings: Settings, *, receipt: Receipt,
                  witness_id: int | None, witness_password: str,
                  today: date | None = None) -> LedgerRow:
    """Stock coming in, counted by the recorder and a witness who confirms with their
    password (checked last, so a typo in the delivery does not count against them)."""
    entry = receipt_entry(db, receipt, witness_id=witness_id, today=today)
    _confirm_witness(db, ctx, settings, witness_id, witness_password)
    return record_entry(db, ctx, entry=entry, witness_confirmed=True)


def draw(db: Session, ctx: AuditContext, *, lot_number: str, amount_mg: float,
         session_id: int | None) -> LedgerRow:
    if session_id is None:
        raise ValidationFailed("choose the session the drug is drawn for", field="session_id")
    record = db.get(InfusionSession, session_id)
    if record is None or record.status.is_final:
        # Drawing for a finished session would be drug leaving stock with no patient to get it.
        raise ValidationFailed("Session must be a session that is still in progress",
                               field="session_id")
    return record_entry(db, ctx, entry=EntryInput(EntryKind.DRAWN, lot_number, amount_mg,
                                                  session_id=session_id))


def delivered_mg(record: InfusionSession, at: datetime) -> float:
    """The dose the infusion record shows delivered up to `at`, in mg as labelled (the
    ledger's unit): rates x running time, pauses out. 0 before an order or a start."""
    order = current_order(record)
    if order is None or record.started_at is None:
        return 0.0
    return session_delivery(record, order, until=at).dose_mg_as_labelled


def _check_delivered(db: Session, session_id: int | None, amount_mg: float) -> None:
    """Administered in all (every lot) may not run ahead of what the pump has delivered."""
    if session_id is None or not math.isfinite(amount_mg) or amount_mg <= 0:
        return  # the entry rules name these fields
    record = db.get(InfusionSession, session_id)
    if record is None:
        return  # `_check_references` refuses it, naming the field
    stamp = now()
    already = sum(b.administered_mg for b in session_balances(_session_entries(db, session_id))
                  if b.session_id == session_id)
    tolerance = clinic_settings(db, stamp).reconciliation_tolerance_mg
    try:
        check_administered(amount_mg=amount_mg, already_mg=already,
                           delivered_mg=delivered_mg(load_session(db, session_id), stamp),
                           tolerance_mg=tolerance)
    except RuleError as error:
        raise ValidationFailed(error.message, field=error.field) from error


def _session_entries(db: Session, session_id: int) -> list[LedgerEntry]:
    """The session's entries and the reversals of them (a reversal row carries the session)."""
    query = select(LedgerRow).where(LedgerRow.session_id == session_id).order_by(LedgerRow.id)
    return [_as_entry(row) for row in db.scalars(query)]


def administer(db: Session, ctx: AuditContext, *, lot_number: str, amount_mg: float,
               session_id: int | None) -> LedgerRow:
    """Sessions do not write to the ledger themselves, so this is the only administered entry;
    the rules refuse more than was drawn, which stops a second recording of the same dose, and
    more than the infusion record shows delivered so far (with the clinic's tolerance)."""
    # Checked under the lot's lock, after the ledger's own rules (more than drawn is the
    # plainer refusal), so two nurses recording the same dose cannot both pass it.
    return record_entry(db, ctx, entry=EntryInput(EntryKind.ADMINISTERED, lot_number,
                                                  amount_mg, session_id=session_id),
                        also_check=lambda: _check_delivered(db, session_id, amount_mg))


def _confirm_witness(db: Session, ctx: AuditContext, settings: Settings,
                     witness_id: int | None, password: str) -> None:
    witness = witness_user(db, ctx, witness_id)
    # The sign-in check, throttle included: failures count against the witness's account.
    result = auth_service.authenticate(db, ctx, settings, username=witness.username,
                                       password=password, action="controlled.witness")
    if result.status is auth_service.LoginStatus.THROTTLED:
        raise WitnessThrottled("too many wrong witness passwords; try again later",
                               field="witness_password")
    if result.user is None:
        raise WitnessRefused("the witness password is wrong", field="witness_password")


def waste(db: Session, ctx: AuditContext, settings: Settings, *, lot_number: str,
          amount_mg: float, session_id: int | None, witness_id: int | None,
          witness_password: str) -> LedgerRow:
    """Waste needs a second member of staff who confirms with their own password."""
    _confirm_witness(db, ctx, settings, witness_id, witness_password)
    return record_entry(db, ctx, entry=EntryInput(
        EntryKind.WASTED, lot_number, amount_mg, session_id=session_id,
        witness_user_id=witness_id), witness_confirmed=True)


def reverse(db: Session, ctx: AuditContext, *, entry_id: int | None,
            reason: str | None) -> LedgerRow:
    """Cancel an earlier entry with a new one; the original row stays as it was."""
    if entry_id is None:
        raise ValidationFailed("choose the entry to reverse", field="reverses_id")
    target = db.get(LedgerRow, entry_id)
    if target is None:
        raise ValidationFailed("the entry to reverse does not exist", field="reverses_id")
    return record_entry(db, ctx, entry=EntryInput(
        EntryKind.REVERSAL, target.lot_number, session_id=target.session_id,
        reverses_id=entry_id, reason=(reason or "").strip() or None))
