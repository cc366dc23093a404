"""Alerts over the JSON API: the open worklist, a patient's alerts, acknowledgement."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from ketaflow.alerts import service
from ketaflow.alerts.schemas import AlertAcknowledge, AlertOut
from ketaflow.auth.permissions import Permission, requires
from ketaflow.web.deps import audit_context, get_db, require_principal
from ketaflow.web.openapi import problem
from ketaflow.web.routing import UnitOfWorkRoute

router = APIRouter(tags=["alerts"], route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]


@router.get("/alerts", response_model=list[AlertOut])
@requires(Permission.PATIENTS_CLINICAL_READ)
def open_alerts(request: Request, db: DB) -> list[AlertOut]:
    """Every open (unacknowledged) alert, most severe and newest first."""
    return [AlertOut.of(row.alert) for row in service.list_open_alerts(db, audit_context(request))]


@router.get("/patients/{patient_id}/alerts", response_model=list[AlertOut])
@requires(Permission.PATIENTS_CLINICAL_READ)
def patient_alerts(request: Request, db: DB, patient_id: int) -> list[AlertOut]:
    rows = service.list_patient_alerts(db, audit_context(request), patient_id=patient_id)
    return [AlertOut.of(row.alert) for row in rows]


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut,
             responses=problem(409, "The alert is already acknowledged."))
@requires(Permission.ALERTS_ACKNOWLEDGE)
def acknowledge(request: Request, db: DB, alert_id: int, body: AlertAcknowledge) -> AlertOut:
    alert = service.acknowledge_alert(db, audit_context(request), alert_id=alert_id,
                                      user_id=require_principal(request).user_id,
                                      note=body.note)
    return AlertOut.of(alert)
