"""The controlled-substance ledger over the JSON API (append-only; corrections are reversals)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, JsonValue
from sqlalchemy.orm import Session

from ketaflow.auth.permissions import Permission, requires
from ketaflow.clinic import service as clinic_service
from ketaflow.db import utcnow
from ketaflow.errors import ValidationFailed
from ketaflow.ids import RecordId
from ketaflow.infusions.api import IDEMPOTENCY, idempotent
from ketaflow.infusions.controlled import reconciliation
from ketaflow.infusions.controlled import service as ledger
from ketaflow.infusions.controlled.models import LedgerRow
from ketaflow.infusions.formulary import INFUSION_DRUGS
from ketaflow.infusions.rules import EntryKind
from ketaflow.infusions.schemas import InfusionDrugKey
from ketaflow.inputs import PlausibleDate, nonblank_pattern, one_of, positive, within
from ketaflow.web.deps import audit_context, get_db
from ketaflow.web.openapi import problem
from ketaflow.web.routing import UnitOfWorkRoute

router = APIRouter(prefix="/controlled", tags=["controlled substances"],
                   route_class=UnitOfWorkRoute)
T = TypeVar("T")
_VIAL_CONCENTRATIONS = sorted({c for drug in INFUSION_DRUGS
                               for c in drug.vial_concentrations_mg_per_ml})
DB = Annotated[Session, Depends(get_db)]


_TYPES = {"lot_number": {"type": "string", "pattern": nonblank_pattern()},
          "amount_mg": {"type": "number"}, "session_id": {"type": "integer"},
          "witness_user_id": {"type": "integer"}, "witness_password": {"type": "string"},
          "reverses_id": {"type": "integer"}, "reason": {"type": "string",
                                                       "pattern": nonblank_pattern()},
          "drug": {"type": "string"}, "concentration_mg_per_ml": {"type": "number"},
          "expiry_date": {"type": "string"}, "vial_count": {"type": "integer"},
          "vial_volume_ml": {"type": "number"}, "vial_mg": {"type": "number"}}
_NULL = {"type": "null"}


def _kind(kind: EntryKind, required: set[str], optional: frozenset[str] = frozenset(),
          **extra: Any) -> dict[str, Any]:
    """One kind of entry: the fields it needs, and null for those it does not take (which
    `_only` refuses when given)."""
    absent: dict[str, dict[str, Any]] = {
        name: _NULL for name in _TYPES if name not in required | optional}
    if kind is EntryKind.REVERSAL:
        absent["lot_number"] = {"type": "string", "maxLength": 0}  # taken from the entry
    return {"properties": {"kind": {"const": kind.value}, **absent,
                           **{name: _TYPES[name] for name in required}},
            "required": ["kind", *sorted(required)], **extra}


# A receipt gives the vial size as a volume or as mg, never both (`_mg_per_vial`).
_VIAL_SIZE = {"oneOf": [
    {"properties": {"vial_volume_ml": _TYPES["vial_volume_ml"], "vial_mg": _NULL},
     "required": ["vial_volume_ml"]},
    {"properties": {"vial_mg": _TYPES["vial_mg"], "vial_volume_ml": _NULL},
     "required": ["vial_mg"]}]}
_WITNESSED = {"witness_user_id", "witness_password"}
_ENTRY_KINDS: list[JsonValue] = [
    _kind(EntryKind.RECEIVED, {"lot_number", "drug", "expiry_date", "concentration_mg_per_ml",
                               "vial_count"} | _WITNESSED,
          frozenset({"vial_volume_ml", "vial_mg"}), allOf=[_VIAL_SIZE]),
    _kind(EntryKind.DRAWN, {"lot_number", "amount_mg", "session_id"},
          frozenset({"witness_password"})),
    _kind(EntryKind.ADMINISTERED, {"lot_number", "amount_mg", "session_id"},
          frozenset({"witness_password"})),
    _kind(EntryKind.WASTED, {"lot_number", "amount_mg", "session_id"} | _WITNESSED),
    _kind(EntryKind.REVERSAL, {"reverses_id", "reason"}, frozenset({"witness_password"})),
]


class EntryIn(BaseModel):
    # Which fields each kind takes and needs, so the schema says it (`_apply` refuses the rest).
    model_config = ConfigDict(extra="forbid", json_schema_extra={"oneOf": _ENTRY_KINDS})
    kind: EntryKind
    lot_number: str = Field(default="", max_length=64, description="required but for reversals")
    # Drawn, administered, wasted. A receipt's amount is vial_count x the vial size.
    amount_mg: Annotated[float, positive()] | None = None
    session_id: RecordId | None = None
    # Receipts and waste: another active nurse or prescriber.
    witness_user_id: RecordId | None = None
    # Needed for receipts and waste; never stored, echoed or part of the idempotency
    # fingerprint.
    witness_password: str | None = Field(default=None, max_length=256, exclude=True)
    reverses_id: RecordId | None = None
    reason: str | None = Field(default=None, max_length=1000)
    # Receipt details: a clinic formulary drug key, a listed vial concentration, the count and
    # either the volume or the mg per vial.
    drug: InfusionDrugKey | None = Field(default=None, examples=["ketamine_hcl"])
    concentration_mg_per_ml: Annotated[float, one_of(_VIAL_CONCENTRATIONS)] | None = Field(
        default=None, description="one the formulary lists for the drug's vials")
    expiry_date: PlausibleDate | None = Field(default=None, description="after today")
    vial_count: Annotated[int, within(1, ledger.MAX_VIALS_PER_RECEIPT)] | None = None
    vial_volume_ml: Annotated[float, positive()] | None = None
    vial_mg: Annotated[float, positive()] | None = None


class EntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: EntryKind
    lot_number: str
    amount_mg: float
    session_id: int | None
    staff_user_id: int
    witness_user_id: int | None
    reverses_id: int | None
    reason: str | None
    recorded_at: datetime


class BalanceOut(BaseModel):
    session_id: int
    lot_number: str
    drawn_mg: float
    administered_mg: float
    wasted_mg: float
    discrepancy_mg: float


# The body names the witness `witness_user_id`; the services (and the pages) say `witness_id`.
_API_FIELDS = {"witness_id": "witness_user_id"}


@contextmanager
def _api_field_names() -> Iterator[None]:
    try:
        yield
    except ValidationFailed as error:
        if error.field not in _API_FIELDS:
            raise
        error.field = _API_FIELDS[error.field]
        raise


def _only(body: EntryIn, allowed: set[str]) -> None:
    """Refuse fields the entry's kind does not take, rather than silently dropping them."""
    given = {name for name in body.model_fields_set if getattr(body, name) not in (None, "")}
    extra = sorted(given - allowed - {"kind", "witness_password"})
    if extra:
        raise ValidationFailed(f"a {body.kind.value} entry does not take {', '.join(extra)}",
                               field=extra[0])


_RECEIPT = {"lot_number", "drug", "concentration_mg_per_ml", "expiry_date", "vial_count",
            "vial_volume_ml", "vial_mg", "witness_user_id"}
_MOVEMENT = {"lot_number", "amount_mg", "session_id"}


def _apply(db: Session, request: Request, body: EntryIn) -> LedgerRow:
    ctx, settings = audit_context(request), request.app.state.settings
    password = body.witness_password or ""
    if body.kind is EntryKind.RECEIVED:
        _only(body, _RECEIPT)
        return ledger.receive_vials(db, ctx, settings, receipt=ledger.Receipt(
            lot_number=body.lot_number, drug=body.drug or "",
            expiry_date=_required(body.expiry_date, "expiry_date"),
            concentration_mg_per_ml=_required(body.concentration_mg_per_ml,
                                              "concentration_mg_per_ml"),
            vial_count=_required(body.vial_count, "vial_count"),
            vial_volume_ml=body.vial_volume_ml, vial_mg=body.vial_mg),
            witness_id=body.witness_user_id, witness_password=password)
    if body.kind is EntryKind.WASTED:
        _only(body, _MOVEMENT | {"witness_user_id"})
        return ledger.waste(db, ctx, settings, lot_number=body.lot_number,
                            amount_mg=_required(body.amount_mg, "amount_mg"),
                            session_id=body.session_id, witness_id=body.witness_user_id,
                            witness_password=password)
    if body.kind is EntryKind.REVERSAL:
        _only(body, {"reverses_id", "reason"})
        return ledger.reverse(db, ctx, entry_id=body.reverses_id, reason=body.reason)
    _only(body, _MOVEMENT)
    use_case = ledger.draw if body.kind is EntryKind.DRAWN else ledger.administer
    return use_case(db, ctx, lot_number=body.lot_number,
                    amount_mg=_required(body.amount_mg, "amount_mg"),
                    session_id=body.session_id)


def _required(value: T | None, field: str) -> T:
    if value is None:
        raise ValidationFailed(f"{field} is required for this kind of entry", field=field)
    return value


@router.post("/entries", response_model=EntryOut, status_code=201, openapi_extra=IDEMPOTENCY,
             responses=problem(429, "Too many wrong witness passwords for the witness's "
                                    "account; wait before trying again."))
@requires(Permission.CONTROLLED_SUBSTANCES)
def add_entry(request: Request, db: DB, body: EntryIn) -> JSONResponse:
    """Each kind goes through its own use case: receipts and waste are witnessed (the witness
    confirms with their password), draws need a session in progress, reversals a reason."""
    def call() -> EntryOut:
        with _api_field_names():
            return EntryOut.model_validate(_apply(db, request, body))
    return idempotent(request, db, body, 201, call)


@router.get("/entries", response_model=list[EntryOut])
@requires(Permission.CONTROLLED_SUBSTANCES)
def list_entries(request: Request, db: DB) -> list[EntryOut]:
    return [EntryOut.model_validate(r) for r in ledger.ledger_rows(db, audit_context(request))]


@router.get("/inventory", response_model=dict[str, float])
@requires(Permission.CONTROLLED_SUBSTANCES)
def inventory(db: DB) -> dict[str, float]:
    return {lot: round(mg, 3) for lot, mg in ledger.inventory(db).items()}


@router.get("/discrepancies", response_model=list[BalanceOut])
@requires(Permission.CONTROLLED_SUBSTANCES)
def discrepancies(request: Request, db: DB) -> list[BalanceOut]:
    return [BalanceOut(session_id=b.session_id, lot_number=b.lot_number, drawn_mg=b.drawn_mg,
                       administered_mg=b.administered_mg, wasted_mg=b.wasted_mg,
                       discrepancy_mg=round(b.discrepancy_mg, 3))
            for b in ledger.read_discrepancies(db, audit_context(request))]


class ReconciledSessionOut(BaseModel):
    session_id: int
    infusion_start: datetime
    status: str
    patient_id: int | None
    patient_name: str | None
    date_of_birth: date | None
    mrn: str | None
    order_lot: str | None
    ledger_lots: list[str]
    drawn_mg: float
    administered_mg: float
    wasted_mg: float
    delivered_mg: float = Field(description="per the infusion record: rates x running time, "
                                "pauses out, mg as labelled")
    discrepancy_mg: float = Field(description="administered minus delivered")
    unaccounted_mg: float = Field(description="drawn minus (administered + wasted)")
    closed: bool
    flagged: bool
    flags: list[str]


class LotMovementOut(BaseModel):
    lot_number: str
    opening_mg: float
    received_mg: float
    drawn_mg: float
    administered_mg: float
    wasted_mg: float
    adjusted_mg: float = Field(description="reversals: + back into stock, - taken out")
    balance_mg: float


class ReconciliationOut(BaseModel):
    date_from: date
    date_to: date
    timezone: str
    tolerance_mg: float
    sessions: list[ReconciledSessionOut]
    lots: list[LotMovementOut]


def _session_out(line: reconciliation.SessionLine, tolerance_mg: float
                 ) -> ReconciledSessionOut:
    who, r = line.patient, line.line
    return ReconciledSessionOut(
        session_id=r.session_id, infusion_start=line.day_at, status=line.status,
        patient_id=None if who is None else who.patient_id,
        patient_name=None if who is None else who.full_name,
        date_of_birth=None if who is None else who.date_of_birth,
        mrn=None if who is None else who.mrn, order_lot=line.order_lot,
        ledger_lots=list(r.lots), drawn_mg=round(r.drawn_mg, 3),
        administered_mg=round(r.administered_mg, 3), wasted_mg=round(r.wasted_mg, 3),
        delivered_mg=round(r.delivered_mg, 3), discrepancy_mg=round(r.discrepancy_mg, 3),
        unaccounted_mg=round(r.unaccounted_mg, 3), closed=r.closed, flagged=r.flagged,
        flags=reconciliation.flags(line, tolerance_mg))


@router.get("/reconciliation", response_model=ReconciliationOut)
@requires(Permission.CONTROLLED_SUBSTANCES)
def reconciliation_report(request: Request, db: DB, date_from: date | None = None,
                          date_to: date | None = None) -> ReconciliationOut:
    """The ledger reconciled with the infusion records for a range of clinic days (default:
    the last 30): per session, administered against delivered and drawn against administered
    plus wasted; per lot, the period's movements and balance."""
    zone = clinic_service.effective_timezone(db, request.app.state.settings)
    start, end = reconciliation.report_range(
        date_from, date_to, utcnow().astimezone(ZoneInfo(zone)).date())
    report = reconciliation.read_report(db, audit_context(request), start=start, end=end,
                                        timezone=zone)
    return ReconciliationOut(
        date_from=report.start, date_to=report.end, timezone=report.timezone,
        tolerance_mg=report.tolerance_mg,
        sessions=[_session_out(s, report.tolerance_mg) for s in report.sessions],
        lots=[LotMovementOut(lot_number=lot.lot_number, opening_mg=round(lot.opening_mg, 3),
                             received_mg=round(lot.received_mg, 3),
                             drawn_mg=round(lot.drawn_mg, 3),
                             administered_mg=round(lot.administered_mg, 3),
                             wasted_mg=round(lot.wasted_mg, 3),
                             adjusted_mg=round(lot.adjusted_mg, 3),
                             balance_mg=round(lot.balance_mg, 3)) for lot in report.lots])
