"""Portal links over the JSON API (a staff integration issues a link for a patient)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from ketaflow.auth.permissions import Permission, requires
from ketaflow.config import Settings
from ketaflow.portal import service
from ketaflow.portal.schemas import PortalLinkCreate, PortalLinkOut
from ketaflow.web.deps import audit_context, get_db, get_settings, require_principal
from ketaflow.web.routing import UnitOfWorkRoute

router = APIRouter(tags=["portal"], route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]


@router.post("/patients/{patient_id}/portal-links", response_model=PortalLinkOut,
             status_code=201)
@requires(Permission.ASSESSMENTS_WRITE)
def create_portal_link(request: Request, db: DB, patient_id: int, body: PortalLinkCreate,
                       settings: Annotated[Settings, Depends(get_settings)]) -> PortalLinkOut:
    issued = service.issue_portal_link(
        db, audit_context(request), settings, patient_id=patient_id,
        instruments=body.instruments, valid_hours=body.valid_hours, send_mail=body.send_mail,
        created_by_user_id=require_principal(request).user_id)
    return PortalLinkOut.of(issued)
