"""Admin pages for the audit log: filter by date, user and entity; export CSV."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from ketaflow.audit import service as audit_service
from ketaflow.auth.permissions import Permission, requires
from ketaflow.errors import ValidationFailed
from ketaflow.web.deps import get_db
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(prefix="/admin", include_in_schema=False, route_class=UnitOfWorkRoute)

DB = Annotated[Session, Depends(get_db)]
EXPORT_LIMIT = 100_000


def parse_filter(
    date_from: str = "",
    date_to: str = "",
    user: str = "",
    entity_type: str = "",
    entity_id: str = "",
) -> audit_service.AuditFilter:
    """Query-string filter shared by the page, the CSV export and the API."""
    return audit_service.AuditFilter(
        date_from=_date(date_from, "date_from"),
        date_to=_date(date_to, "date_to"),
        actor_username=user.strip().lower() or None,
        entity_type=entity_type.strip() or None,
        entity_id=entity_id.strip() or None,
    )


def _date(value: str, field: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed(f"{field} must be a date as YYYY-MM-DD", field=field) from None


AuditQuery = Annotated[audit_service.AuditFilter, Depends(parse_filter)]


@router.get("/audit")
@requires(Permission.AUDIT_READ)
def audit_page(request: Request, db: DB, flt: AuditQuery) -> Response:
    events = audit_service.list_events(db, flt, limit=500)
    return render(
        request, "audit/log.html", {"events": events, "flt": flt, "query": request.url.query}
    )


@router.get("/audit.csv")
@requires(Permission.AUDIT_READ)
def audit_csv(db: DB, flt: AuditQuery) -> Response:
    events = audit_service.list_events(db, flt, limit=EXPORT_LIMIT)
    return Response(
        audit_service.events_to_csv(events),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="ketaflow-audit.csv"'},
    )
