"""Audit trail over the JSON API (admins): list events and verify the hash chain."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from ketaflow.audit import chain
from ketaflow.audit import service as audit_service
from ketaflow.audit.routes import parse_filter
from ketaflow.auth.permissions import Permission, requires
from ketaflow.inputs import DATE_PATTERN
from ketaflow.web.deps import get_db
from ketaflow.web.routing import UnitOfWorkRoute

router = APIRouter(prefix="/audit", tags=["audit"], route_class=UnitOfWorkRoute)


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    actor_user_id: int | None
    actor_username: str
    actor_role: str
    action: str
    entity_type: str
    entity_id: str | None
    outcome: str
    client_address: str | None
    request_id: str | None
    detail: str
    mac: str | None


class ChainReportOut(BaseModel):
    ok: bool
    events_checked: int
    unsealed: int
    checkpoints_checked: int
    first_broken_id: int | None
    reason: str | None


Day = Annotated[date | None, Query(json_schema_extra={"pattern": DATE_PATTERN})]


def api_filter(date_from: Day = None, date_to: Day = None, user: str = "",
               entity_type: str = "", entity_id: str = "") -> audit_service.AuditFilter:
    """The pages' filter (`ketaflow.audit.routes.parse_filter`) with typed dates, so the
    schema says what a date must look like."""
    return parse_filter(date_from=date_from.isoformat() if date_from else "",
                        date_to=date_to.isoformat() if date_to else "", user=user,
                        entity_type=entity_type, entity_id=entity_id)


@router.get("/events", response_model=list[AuditEventOut])
@requires(Permission.AUDIT_READ)
def list_events(
    db: Annotated[Session, Depends(get_db)],
    flt: Annotated[audit_service.AuditFilter, Depends(api_filter)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEventOut]:
    events = audit_service.list_events(db, flt, limit=limit)
    return [AuditEventOut.model_validate(ev) for ev in events]


@router.get("/verify", response_model=ChainReportOut)
@requires(Permission.AUDIT_READ)
def verify(request: Request, db: Annotated[Session, Depends(get_db)]) -> ChainReportOut:
    """Verify the whole trail against the latest checkpoints (the server's file and the
    database's own); see docs/audit-trail.md for what is detected."""
    settings = request.app.state.settings
    path = settings.audit_checkpoint_file
    checkpoints = chain.read_checkpoint_file(path) if path.exists() else []
    latest = chain.latest_checkpoint(db)
    report = chain.verify(db, checkpoints=checkpoints + ([latest] if latest else []))
    return ChainReportOut(ok=report.ok, events_checked=report.events_checked,
                          unsealed=report.unsealed, checkpoints_checked=report.checkpoints_checked,
                          first_broken_id=report.first_broken_id, reason=report.reason)
