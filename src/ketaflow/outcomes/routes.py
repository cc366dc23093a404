"""The outcomes dashboard page: filters in the query string (a GET form), one service call."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from ketaflow.auth.permissions import Permission, requires, role_has
from ketaflow.db import utcnow
from ketaflow.errors import KetaflowError
from ketaflow.moodchart.warnings import clinic_day
from ketaflow.outcomes import forms, service, view
from ketaflow.web import forms as web_forms
from ketaflow.web.deps import audit_context, get_db, require_principal
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(prefix="/outcomes", include_in_schema=False, route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]
_Text = Annotated[str, Query(max_length=40)]


@router.get("")
@requires(Permission.OUTCOMES_VIEW)
def outcomes_page(request: Request, db: DB, start: Annotated[str, Query(
        alias="from", max_length=40)] = "", to: _Text = "", site: _Text = "", type: _Text = "",
        prescriber: _Text = "") -> Response:
    form = {"from": start, "to": to, "site": site, "type": type, "prescriber": prescriber}
    today = clinic_day(utcnow(), web_forms.clinic_zone(request))
    last_month = today.replace(day=1) - timedelta(days=1)
    context: dict[str, object] = {"form": form, "options": service.filter_options(db),
                                  "type_labels": forms.TYPE_LABELS, "no_site": forms.NO_SITE,
                                  # the monthly report's picker: the last whole month first
                                  "monthly_form": {"month": f"{last_month:%Y-%m}", "site": ""},
                                  "monthly_max": f"{today:%Y-%m}"}
    try:
        filters = forms.parse_filters(db, form)
        board = service.outcome_dashboard(
            db, audit_context(request), filters=filters,
            small_cells=role_has(require_principal(request).role,
                                 Permission.OUTCOMES_SMALL_CELLS))
    except KetaflowError as exc:
        return render(request, "outcomes/dashboard.html",
                      {**context, "page": None, **web_forms.error_context(exc)},
                      status_code=exc.status_code)
    return render(request, "outcomes/dashboard.html", {**context, "page": view.page(board)})
