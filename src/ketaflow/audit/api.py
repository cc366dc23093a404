"""Audit trail over the JSON API (admins): list events and verify the hash chain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from ketaflow.audit import chain
from ketaflow.audit import service as audit_service
from ketaflow.audit.routes import AuditQuery
from ketaflow.auth.permissions import Permission, requires
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


@router.get("/events", response_model=list[AuditEventOut])
@requires(Permission.AUDIT_READ)
def list_events(
    db: Annotated[Session, Depends(get_db)],
    flt: AuditQuery,
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
