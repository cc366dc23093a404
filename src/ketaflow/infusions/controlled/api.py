"""The controlled-substance ledger over the JSON API (append-only; corrections are reversals)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from ketaflow.auth.permissions import Permission, requires
from ketaflow.infusions.api import IDEMPOTENCY, idempotent
from ketaflow.infusions.controlled import service as ledger
from ketaflow.infusions.rules import EntryKind
from ketaflow.web.deps import audit_context, get_db
from ketaflow.web.routing import UnitOfWorkRoute

router = APIRouter(prefix="/controlled", tags=["controlled substances"],
                   route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: EntryKind
    lot_number: str = Field(default="", max_length=64)
    amount_mg: float = 0.0
    session_id: int | None = None
    witness_user_id: int | None = None
    # Needed for waste; never stored, echoed or part of the idempotency fingerprint.
    witness_password: str | None = Field(default=None, max_length=256, exclude=True)
    reverses_id: int | None = None
    reason: str | None = None
    drug: str | None = Field(default=None, max_length=100)
    concentration_mg_per_ml: float | None = None
    expiry_date: date | None = None


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


@router.post("/entries", response_model=EntryOut, status_code=201, openapi_extra=IDEMPOTENCY)
@requires(Permission.CONTROLLED_SUBSTANCES)
def add_entry(request: Request, db: DB, body: EntryIn) -> JSONResponse:
    def call() -> EntryOut:
        ctx = audit_context(request)
        if body.kind is EntryKind.WASTED:
            row = ledger.waste(db, ctx, request.app.state.settings, lot_number=body.lot_number,
                               amount_mg=body.amount_mg, session_id=body.session_id,
                               witness_id=body.witness_user_id,
                               witness_password=body.witness_password or "")
        else:
            row = ledger.record_entry(db, ctx, entry=ledger.EntryInput(**body.model_dump()))
        return EntryOut.model_validate(row)
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
def discrepancies(db: DB) -> list[BalanceOut]:
    return [BalanceOut(session_id=b.session_id, lot_number=b.lot_number, drawn_mg=b.drawn_mg,
                       administered_mg=b.administered_mg, wasted_mg=b.wasted_mg,
                       discrepancy_mg=round(b.discrepancy_mg, 3))
            for b in ledger.discrepancy_report(db)]
