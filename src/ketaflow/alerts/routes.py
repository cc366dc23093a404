"""Alert pages: the open-alerts worklist (and its home-page fragment) and acknowledgement."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from ketaflow.alerts import service
from ketaflow.auth.permissions import Permission, requires
from ketaflow.errors import KetaflowError
from ketaflow.web.deps import audit_context, get_db, require_principal
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(prefix="/alerts", include_in_schema=False, route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]


def _alerts_page(request: Request, db: Session, status_code: int = 200, **context: object
                 ) -> Response:
    rows = service.list_open_alerts(db, audit_context(request))
    return render(request, "alerts/list.html", {"rows": rows, **context},
                  status_code=status_code)


@router.get("")
@requires(Permission.PATIENTS_CLINICAL_READ)
def alerts_page(request: Request, db: DB, done: int = 0) -> Response:
    return _alerts_page(request, db, notice="Alert acknowledged." if done else None)


@router.get("/_open")
@requires(Permission.PATIENTS_CLINICAL_READ)
def open_alerts_fragment(request: Request, db: DB) -> Response:
    rows = service.list_open_alerts(db, audit_context(request))
    return render(request, "alerts/_open.html", {"rows": rows})


@router.post("/{alert_id}/acknowledge")
@requires(Permission.ALERTS_ACKNOWLEDGE)
def acknowledge(request: Request, db: DB, alert_id: int,
                note: Annotated[str, Form()] = "", back: Annotated[str, Form()] = "") -> Response:
    try:
        alert = service.acknowledge_alert(db, audit_context(request), alert_id=alert_id,
                                          user_id=require_principal(request).user_id, note=note)
    except KetaflowError as exc:
        return _alerts_page(request, db, status_code=422, error=exc.detail,
                            error_field=exc.field, failed_alert_id=alert_id, note=note)
    if back == "mood":
        return RedirectResponse(f"/patients/{alert.patient_id}/mood#alerts", status_code=303)
    if back == "patient":
        return RedirectResponse(f"/patients/{alert.patient_id}/assessments#alerts",
                                status_code=303)
    return RedirectResponse("/alerts?done=1", status_code=303)
